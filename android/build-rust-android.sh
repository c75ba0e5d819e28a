#!/usr/bin/env bash
# Builds the core (liblgt_ffi.so) for the four Android ABIs into app/src/main/jniLibs, for
# the Gradle build. NEVER RUN on the project's machines: it needs the Android NDK
# (ANDROID_NDK_HOME) and cargo-ndk, neither reachable there.
#
#   rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android i686-linux-android
#   cargo install cargo-ndk
#   android/build-rust-android.sh            (release; --debug for a debug build)
set -euo pipefail
cd "$(dirname "$0")/.."

profile=(--release)
if [[ "${1:-}" == "--debug" ]]; then profile=(); fi

# minSdk 28 (app/build.gradle.kts) is the platform level the NDK links against.
cargo ndk \
  -t arm64-v8a -t armeabi-v7a -t x86_64 -t x86 \
  --platform 28 \
  -o android/app/src/main/jniLibs \
  build -p lgt-ffi "${profile[@]}"
