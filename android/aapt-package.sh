#!/usr/bin/env bash
# Compiles the app's resources for the Maven build (android/pom.xml runs it): the manifest and
# res/ into a resource APK, which Robolectric loads as the app's resources (binary mode), and
# R.java for the compiler. Gradle's build does this itself with aapt2; this is Debian's aapt.
#
#   aapt-package.sh AAPT FRAMEWORK_RES_APK APP_MAIN_DIR R_JAVA_DIR OUT_APK
set -euo pipefail
aapt=$1 framework=$2 main=$3 r_dir=$4 out=$5

if ! command -v "$aapt" >/dev/null || [ ! -f "$framework" ]; then
  echo "aapt or $framework missing: apt-get install aapt android-framework-res" >&2
  exit 1
fi
# The source manifest has no package attribute (Gradle takes the namespace from the build
# file); aapt and Robolectric need it, so they get a copy that has it.
manifest="$(dirname "$out")/AndroidManifest.xml"
mkdir -p "$r_dir" "$(dirname "$out")"
sed 's|<manifest |<manifest package="cn.lgt.app" |' "$main/AndroidManifest.xml" > "$manifest"
"$aapt" package -f -m \
  -M "$manifest" -S "$main/res" -I "$framework" \
  -J "$r_dir" -F "$out" \
  --min-sdk-version 28 --target-sdk-version 35 --version-code 1 --version-name 0.1.0
