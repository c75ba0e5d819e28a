#!/usr/bin/env bash
# Builds the host library of the FFI facade and generates the Kotlin, Swift and Python
# bindings from it (UniFFI library mode: the metadata is read from the built library).
#
#   bindings/generate.sh            debug build (what the tests use)
#   bindings/generate.sh --release  release build
#
# Three UniFFI namespaces live in the one library: lgt_ffi (the facade: the store object
# FieldCore, errors, shell traits; bindings/ffi/uniffi.toml), lgt_core (the core's records and
# enums; core/uniffi.toml) and lgt_common (the types shared with the server: identity kinds,
# code tables, the dwelling, the permit machine; common/uniffi.toml).
#
# Output:
#   bindings/kotlin/target/generated/   Kotlin sources, packages cn.lgt.core, cn.lgt.core.types
#                                       and cn.lgt.common (compiled by the Maven project)
#   bindings/python/generated/          lgt_ffi.py, lgt_core.py and lgt_common.py with the host
#                                       library beside them
#   bindings/swift/Sources/LgtCore/, bindings/swift/ffi-headers/   Swift (every namespace in
#                                       the one Swift module LgtCore) and the C headers of the
#                                       one C module LgtCoreFFI (committed: Xcode users build
#                                       without this script)
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
# lgt_ffi.py imports lgt_core.py and lgt_common.py as modules beside it (external_packages).
cp "$library" bindings/python/generated/

swift_tmp=$(mktemp -d)
trap 'rm -rf "$swift_tmp"' EXIT
generate swift "$swift_tmp"
rm -rf bindings/swift/Sources/LgtCore bindings/swift/ffi-headers
mkdir -p bindings/swift/Sources/LgtCore bindings/swift/ffi-headers
# Every namespace's Swift goes into the one Swift module LgtCore (their helpers are
# fileprivate; the shared C structs are guarded in each header).
cp "$swift_tmp"/*.swift bindings/swift/Sources/LgtCore/
cp "$swift_tmp"/*.h bindings/swift/ffi-headers/
# Every namespace declares the C module LgtCoreFFI in a module map of its own: Xcode takes one,
# listing every header (the facade's first, then the others in name order).
{
  echo "module LgtCoreFFI {"
  for header in LgtCoreFFI.h $(cd "$swift_tmp" && LC_ALL=C ls -1 *.h | grep -vx LgtCoreFFI.h); do
    echo "    header \"$header\""
  done
  sed -n '/^ *export \*/,$p' "$swift_tmp/LgtCoreFFI.modulemap"
} > bindings/swift/ffi-headers/module.modulemap

echo "generated from $library"
