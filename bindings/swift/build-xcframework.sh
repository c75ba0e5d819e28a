#!/usr/bin/env bash
# Builds LgtCoreFFI.xcframework (static liblgt_ffi for iOS devices and simulators) for
# Package.swift. Needs a Mac with Xcode and the Rust iOS targets:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
# Not run on the project's Linux machines (no Apple toolchain).
set -euo pipefail
cd "$(dirname "$0")/../.."

for target in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
  cargo build -p lgt-ffi --release --target "$target"
done

simulator=target/ios-simulator/liblgt_ffi.a
mkdir -p "$(dirname "$simulator")"
lipo -create \
  target/aarch64-apple-ios-sim/release/liblgt_ffi.a \
  target/x86_64-apple-ios/release/liblgt_ffi.a \
  -output "$simulator"

out=bindings/swift/LgtCoreFFI.xcframework
rm -rf "$out"
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/liblgt_ffi.a -headers bindings/swift/ffi-headers \
  -library "$simulator" -headers bindings/swift/ffi-headers \
  -output "$out"
echo "built $out"
