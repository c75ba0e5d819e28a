#!/usr/bin/env bash
# The declared minimum Rust versions are true: for each workspace package, the highest
# `rust-version` declared by any package it builds with (normal, build and, for the workspace's
# own packages, dev dependencies, on this host's platform, as resolved by Cargo.lock) must not
# exceed the package's own. Only the installed toolchain exists here, so this reads the
# declarations instead of building with an old compiler. Prints one line per package; exits 1
# if any declaration is too low (or missing).
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/^host: //p')
cargo metadata --format-version 1 --locked --filter-platform "$host" | python3 -c '
import json, sys

meta = json.load(sys.stdin)
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
members = set(meta["workspace_members"])


def version(text):
    """"1.85" and "1.85.0" as a comparable tuple; None for no declaration."""
    if not text:
        return None
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def needs(root):
    """The highest rust-version among the packages root builds with, and who declares it."""
    best, who = None, None
    seen, todo = {root}, [(root, True)]
    while todo:
        package, is_root = todo.pop()
        declared = version(packages[package].get("rust_version"))
        # Another workspace package declares what is being checked here: look through it.
        if package not in members and declared and (best is None or declared > best):
            best, who = declared, packages[package]
        for dep in nodes[package]["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            # Dev dependencies build only for the package under test itself.
            if not is_root and kinds <= {"dev"}:
                continue
            if dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                todo.append((dep["pkg"], False))
    return best, who


failed = 0
for member in sorted(members, key=lambda m: packages[m]["name"]):
    package = packages[member]
    declared = version(package.get("rust_version"))
    best, who = needs(member)
    name, shown = package["name"], package.get("rust_version") or "(none)"
    if best is None:
        print(f"{name}: declares {shown}; no dependency declares one: ok")
        continue
    need = ".".join(map(str, best))
    verdict = "ok" if declared and declared >= best else "TOO LOW"
    failed += verdict != "ok"
    by = who["name"] + " " + who["version"]
    print(f"{name}: declares {shown}; needs {need} ({by}): {verdict}")
if failed:
    print(f"{failed} package(s) declare a rust-version lower than their dependencies need")
    sys.exit(1)
'
