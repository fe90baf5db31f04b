#!/usr/bin/env bash
# Builds dist/SegVol.app and dist/segvol-VERSION-macos-arm64.zip on a Mac
# (Apple silicon; cgo needs Apple's SDK, so it cannot be cross-built here).
# ONNX Runtime (libonnxruntime.1.dylib, CoreML inside) sits next to the
# executable in Contents/MacOS, where infer/ort looks first after its
# settings. The codecs come from Homebrew (openjpeg, charls, libdeflate):
# Homebrew's dylibs are copied into Contents/Frameworks and the references
# rewritten, so the .app runs on a Mac without Homebrew. The bundle is
# signed ad hoc (codesign -s -), not notarised.
set -euo pipefail
source "$(dirname "$0")/package-lib.sh"
if [ "$(uname -s)" != Darwin ] || [ "$(uname -m)" != arm64 ]; then
  echo "package-macos: builds only on an Apple-silicon Mac (this is $(uname -s) $(uname -m)); the GitHub workflow .github/workflows/macos.yml does it on a macOS runner" >&2
  exit 1
fi

ort=$(ort_dir darwin-arm64)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$dist"
app="$dist/$APP_NAME.app"
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources" "$app/Contents/Frameworks"
brew=$(brew --prefix)
export CGO_ENABLED=1 MACOSX_DEPLOYMENT_TARGET=13.3 CGO_CFLAGS="-O2 -I$brew/include" CGO_LDFLAGS="-L$brew/lib"
build_programs "$app/Contents/MacOS"
cp "$ort/libonnxruntime.1.dylib" "$app/Contents/MacOS/"
cat "$root"/assets/licenses/*.txt >"$app/Contents/Resources/LICENSES.txt"
sed -e "s/@NAME@/$APP_NAME/g" -e "s/@ID@/$APP_ID/g" -e "s/@VERSION@/$APP_VERSION/g" -e "s/@BUILD@/$APP_BUILD/g" \
  "$root/packaging/macos/Info.plist.in" >"$app/Contents/Info.plist"
set=$tmp/icon.iconset
mkdir -p "$set"
for s in 16 32 128 256; do
  sips -z $s $s "$APP_ICON" --out "$set/icon_${s}x${s}.png" >/dev/null
  sips -z $((2 * s)) $((2 * s)) "$APP_ICON" --out "$set/icon_${s}x${s}@2x.png" >/dev/null
done
iconutil -c icns "$set" -o "$app/Contents/Resources/icon.icns"

# bundle FILE: copies the Homebrew dylibs FILE links (and theirs) into
# Frameworks and points FILE at the copies.
bundle() {
  local f=$1 dep base
  for dep in $(otool -L "$f" | awk 'NR>1 {print $1}' | grep -E '^(/opt/homebrew|/usr/local)/'); do
    base=$(basename "$dep")
    if [ ! -f "$app/Contents/Frameworks/$base" ]; then
      cp "$dep" "$app/Contents/Frameworks/$base"
      chmod u+w "$app/Contents/Frameworks/$base"
      install_name_tool -id "@rpath/$base" "$app/Contents/Frameworks/$base"
      bundle "$app/Contents/Frameworks/$base"
    fi
    install_name_tool -change "$dep" "@rpath/$base" "$f"
  done
}
for exe in segvol-viewer segvol; do
  bundle "$app/Contents/MacOS/$exe"
  install_name_tool -add_rpath @executable_path/../Frameworks "$app/Contents/MacOS/$exe"
done
for lib in "$app"/Contents/Frameworks/*.dylib; do
  [ -e "$lib" ] && install_name_tool -add_rpath @loader_path "$lib" 2>/dev/null || true
done
codesign --force --deep -s - "$app"

zip="$dist/segvol-$APP_VERSION-macos-arm64.zip"
rm -f "$zip"
(cd "$dist" && ditto -c -k --keepParent "$APP_NAME.app" "$zip")
for f in "$app" "$zip"; do
  echo "package-macos: $f ($(du -sh "$f" | cut -f1))"
done
