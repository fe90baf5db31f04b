#!/usr/bin/env bash
# Cross-compiles the Windows x64 programs here with mingw-w64 and packages
# them into dist/, with ONNX Runtime (onnxruntime.dll, DirectML.dll) beside
# the exes, where infer/ort finds it with no configuration:
#   dist/segvol-VERSION-windows-amd64.zip        the folder, to unpack anywhere
#   dist/segvol-VERSION-windows-amd64-setup.exe  the NSIS installer (Start-menu
#                                                entry, uninstaller)
# The JPEG 2000 / JPEG-LS decoders and libdeflate are linked statically from
# scripts/build-win64-deps.sh; libstdc++ (CharLS is C++) and libgcc are
# linked statically too, so the exes need only Windows' own DLLs.
set -euo pipefail
source "$(dirname "$0")/package-lib.sh"

ort=$(ort_dir windows-amd64)
"$root/scripts/build-win64-deps.sh"
w="$root/third_party/win64"
tmp=$(mktemp -d)
syso="$root/cmd/segvol-viewer/zz_rsrc_windows_amd64.syso"
trap 'rm -rf "$tmp" "$syso"' EXIT
mkdir -p "$dist"
name="segvol-$APP_VERSION-windows-amd64"
out="$tmp/$name"
mkdir -p "$out"

# The icon and the manifest (per-monitor DPI awareness) as a resource object
# in the viewer's package for this build only (go build -overlay takes no
# .syso; the name keeps it out of other platforms' builds meanwhile).
convert "$APP_ICON" -define icon:auto-resize=256,128,64,48,32,16 "$out/segvol.ico"
sed -e "s/@ID@/$APP_ID/" -e "s/@VERSION4@/$APP_VERSION.$APP_BUILD/" \
  "$root/packaging/windows/segvol.manifest.in" >"$tmp/segvol.manifest"
printf '1 ICON "%s"\n1 24 "%s"\n' "$out/segvol.ico" "$tmp/segvol.manifest" >"$tmp/segvol.rc"
x86_64-w64-mingw32-windres -O coff -o "$syso" "$tmp/segvol.rc"

export CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc CXX=x86_64-w64-mingw32-g++
export PKG_CONFIG_LIBDIR="$w/lib/pkgconfig" CGO_CFLAGS="-O2 -I$w/include -DOPJ_STATIC -DCHARLS_STATIC" CGO_LDFLAGS="-L$w/lib"
build_programs "$out" "-extldflags '-static -lstdc++'" -H=windowsgui
cp "$ort/onnxruntime.dll" "$ort/DirectML.dll" "$out/"
cat "$root"/assets/licenses/*.txt | sed 's/$/\r/' >"$out/LICENSES.txt"

zip="$dist/$name.zip"
rm -f "$zip"
(cd "$tmp" && zip -qr -9 "$zip" "$name")
setup="$dist/$name-setup.exe"
makensis -V2 -DVERSION="$APP_VERSION" -DSRC="$out" -DOUT="$setup" "$root/packaging/windows/segvol.nsi"

for f in "$zip" "$setup"; do
  echo "package-windows: $f ($(du -h "$f" | cut -f1))"
done
