#!/usr/bin/env bash
# The SBOM of the shipped library: CycloneDX 1.5 JSON of lgt-ffi (liblgt_ffi, what the phones
# link) for aarch64-unknown-linux-gnu, its normal dependencies (build scripts' dependencies
# left out), made by cargo-cyclonedx from Cargo.lock.
#   .ci/sbom.sh --write   writes docs/sbom/lgt-ffi.cdx.json
#   .ci/sbom.sh           checks that the committed one lists exactly the components (purls,
#                         hence names and versions) the library is built from now
set -euo pipefail
cd "$(dirname "$0")/.."
committed=docs/sbom/lgt-ffi.cdx.json
# Without its thin LTO (as .ci/run installs its tools): built faster, the same SBOM.
command -v cargo-cyclonedx >/dev/null ||
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo install cargo-cyclonedx --locked
cargo cyclonedx -q --manifest-path bindings/ffi/Cargo.toml -f json --spec-version 1.5 \
  --target aarch64-unknown-linux-gnu --no-build-deps --override-filename lgt-ffi.cdx
fresh=$(mktemp)
mv bindings/ffi/lgt-ffi.cdx.json "$fresh"
# cargo-cyclonedx writes one for some other members of the workspace too: not ours to keep.
find . -path ./target -prune -o -name lgt-ffi.cdx.json -not -path "./$committed" -print0 | xargs -0 rm -f
# Its references name the checkout's absolute path: made relative, so the file does not say
# where it was generated.
sed -i "s#file://$(pwd)#file://.#g" "$fresh"
if [ "${1:-}" = --write ]; then
  mv "$fresh" "$committed"
  echo "wrote $committed"
  exit 0
fi
python3 - "$committed" "$fresh" <<'PY'
import json, sys
def purls(path):
    bom = json.load(open(path))
    return {c["purl"] for c in bom["components"]}, bom["metadata"]["component"]["name"]
(old, name), (new, _) = purls(sys.argv[1]), purls(sys.argv[2])
print(f"SBOM of {name}: {len(new)} components (CycloneDX 1.5, aarch64-unknown-linux-gnu)")
if old != new:
    for p in sorted(new - old): print("  not in the committed SBOM:", p)
    for p in sorted(old - new): print("  no longer built from:", p)
    print(f"the committed {sys.argv[1]} is stale: run .ci/sbom.sh --write")
    sys.exit(1)
print(f"{sys.argv[1]} lists exactly these")
PY
rm -f "$fresh"
