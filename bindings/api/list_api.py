"""Lists the public API of the FFI library from UniFFI's own metadata, in a stable order.

It reads the metadata that `uniffi-bindgen` extracts from the built library (the same that
drives the Kotlin, Swift and Python output: every function, object, method, record field,
enum variant, error and foreign trait, with exact types) and drops what is not API:
docstrings, checksums and the uniffi.toml text.

    bindings/generate.sh && python3 bindings/api/list_api.py > bindings/api/lgt_ffi.api.txt

`bindings/python/tests/test_api_surface.py` fails when the listing differs from the file.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
LIBRARY = os.environ.get("LGT_FFI_LIBRARY", os.path.join(TARGET, "debug", "liblgt_ffi.so"))
BINDGEN = os.path.join(TARGET, "debug", "uniffi-bindgen")
# Fields whose value is not API; each may span several lines (`Some(\n ... \n),`).
DROPPED = re.compile(r"^(\s*)(docstring|checksum|config_toml|id|orig_name): ")


def listing():
    dump = subprocess.run(
        [BINDGEN, "pipeline", "--library", LIBRARY, "python", "--pass", "initial", "--no-diff"],
        check=True, capture_output=True, text=True,
    ).stdout
    out, skip_until = [], None
    for line in dump.splitlines()[1:]:
        if skip_until is not None:
            if line.startswith(skip_until):
                skip_until = None
            continue
        match = DROPPED.match(line)
        if match:
            if line.rstrip().endswith("("):
                skip_until = match.group(1) + ")"
            continue
        out.append(line.rstrip())
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(listing())
