"""The public API of the bindings is listed in bindings/api/lgt_ffi.api.txt; a change to it
must update that file (and so shows up in review)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "api"))

import list_api  # noqa: E402

LISTED = os.path.join(os.path.dirname(list_api.__file__), "lgt_ffi.api.txt")


def test_the_api_matches_its_listing():
    with open(LISTED, encoding="utf-8") as f:
        listed = f.read()
    current = list_api.listing()
    assert current == listed, (
        "the FFI API changed: review the change, then run "
        "`python3 bindings/api/list_api.py > bindings/api/lgt_ffi.api.txt`"
    )


def test_the_phone_api_holds_no_list_publisher():
    """Building and signing watchlists is the server's job (crate `lgt-publisher`): the
    phone's API can import and check a list, never make one."""
    names = {
        line.split('"')[1].lower()
        for line in list_api.listing().splitlines()
        if line.strip().startswith("name: \"")
    }
    assert "import_list" in names
    server_side = {"publish", "publisher", "build", "sign", "keygen", "snapshot", "delta"}
    assert not {n for n in names if server_side & set(n.split("_"))}
