#!/usr/bin/env bash
# Builds the host library of the FFI facade and generates the Kotlin, Swift and Python
# bindings from it (UniFFI library mode: the metadata is read from the built library).
#
#   bindings/generate.sh            debug build (what the tests use)
#   bindings/generate.sh --release  release build
#
# Output:
#   bindings/kotlin/target/generated/   Kotlin sources (compiled by the Maven project)
#   bindings/python/generated/          lgt_ffi.py with the host library beside it
#   bindings/swift/Sources/LgtCore/, bindings/swift/ffi-headers/   Swift and the C header
#                                       (committed: Xcode users build without this script)
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
cargo_profile=()
if [[ "${1:-}" == "--release" ]]; then
  profile=release
  cargo_profile=(--release)
fi

case "$(uname -s)" in
  Darwin) lib_file=liblgt_ffi.dylib ;;
  *) lib_file=liblgt_ffi.so ;;
esac

cargo build --quiet -p lgt-ffi "${cargo_profile[@]}"
cargo build --quiet -p uniffi-bindgen
# The tests play the server side: `lgt` signs watchlists, `lgt-server` is the sync server.
cargo build --quiet -p lgt-cli -p lgt-server
# Cargo's output directory: CARGO_TARGET_DIR when set (a shared or separate build), else target/.
target_dir="${CARGO_TARGET_DIR:-target}"
library="$target_dir/$profile/$lib_file"
bindgen="$target_dir/debug/uniffi-bindgen"

generate() {
  local language=$1 out=$2
  rm -rf "$out"
  mkdir -p "$out"
  "$bindgen" generate "$library" --language "$language" --out-dir "$out" --no-format >/dev/null
}

generate kotlin bindings/kotlin/target/generated
generate python bindings/python/generated
cp "$library" bindings/python/generated/

swift_tmp=$(mktemp -d)
trap 'rm -rf "$swift_tmp"' EXIT
generate swift "$swift_tmp"
mkdir -p bindings/swift/Sources/LgtCore bindings/swift/ffi-headers
cp "$swift_tmp/LgtCore.swift" bindings/swift/Sources/LgtCore/
cp "$swift_tmp/LgtCoreFFI.h" bindings/swift/ffi-headers/
cp "$swift_tmp/LgtCoreFFI.modulemap" bindings/swift/ffi-headers/module.modulemap

echo "generated from $library"
