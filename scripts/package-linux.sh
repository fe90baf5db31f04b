#!/usr/bin/env bash
# Builds the Linux x64 packages into dist/, each with ONNX Runtime inside:
#   dist/segvol-VERSION-linux-amd64.tar.xz  the layout of `fyne package -os linux`
#       (usr/local/bin, share/applications, share/pixmaps) plus usr/local/lib/segvol,
#       where the programs and libonnxruntime.so.1 sit side by side, and a
#       Makefile to install it;
#   dist/segvol_VERSION-BUILD_amd64.deb  /opt/segvol (programs and library),
#       /usr/bin links, the menu entry and icon; Depends from dpkg-shlibdeps.
# infer/ort finds the library next to the executable (after resolving the
# /usr/bin links), so neither needs any configuration.
set -euo pipefail
source "$(dirname "$0")/package-lib.sh"

ort=$(ort_dir linux-amd64)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$dist"
build_programs "$tmp/bin"
desktop() { sed -e "s/@NAME@/$APP_NAME/g" -e "s/@ID@/$APP_ID/g" "$root/packaging/linux/segvol.desktop.in"; }

# The tarball.
t="$tmp/tar"
mkdir -p "$t/usr/local/lib/segvol" "$t/usr/local/bin" "$t/usr/local/share/applications" "$t/usr/local/share/pixmaps"
cp "$tmp/bin/segvol-viewer" "$tmp/bin/segvol" "$ort/libonnxruntime.so.1" "$t/usr/local/lib/segvol/"
ln -s ../lib/segvol/segvol-viewer "$t/usr/local/bin/segvol-viewer"
ln -s ../lib/segvol/segvol "$t/usr/local/bin/segvol"
desktop >"$t/usr/local/share/applications/$APP_ID.desktop"
cp "$APP_ICON" "$t/usr/local/share/pixmaps/$APP_ID.png"
sed "s/@ID@/$APP_ID/g" "$root/packaging/linux/Makefile" >"$t/Makefile"
cat "$root"/assets/licenses/*.txt >"$t/usr/local/lib/segvol/LICENSES.txt"
tarball="$dist/segvol-$APP_VERSION-linux-amd64.tar.xz"
tar -C "$t" --owner=0 --group=0 -cJf "$tarball" Makefile usr

# The .deb.
d="$tmp/deb"
mkdir -p "$d/DEBIAN" "$d/opt/segvol" "$d/usr/bin" "$d/usr/share/applications" \
  "$d/usr/share/icons/hicolor/256x256/apps" "$d/usr/share/doc/segvol"
cp "$tmp/bin/segvol-viewer" "$tmp/bin/segvol" "$ort/libonnxruntime.so.1" "$d/opt/segvol/"
ln -s /opt/segvol/segvol-viewer "$d/usr/bin/segvol-viewer"
ln -s /opt/segvol/segvol "$d/usr/bin/segvol"
desktop >"$d/usr/share/applications/$APP_ID.desktop"
cp "$APP_ICON" "$d/usr/share/icons/hicolor/256x256/apps/$APP_ID.png"
cat "$root"/assets/licenses/*.txt >"$d/usr/share/doc/segvol/copyright"
# dpkg-shlibdeps wants a source package around the binaries it reads.
mkdir -p "$tmp/src/debian"
printf 'Source: segvol\n\nPackage: segvol\nArchitecture: amd64\n' >"$tmp/src/debian/control"
depends=$(cd "$tmp/src" && dpkg-shlibdeps -O -e"$d/opt/segvol/segvol-viewer" -e"$d/opt/segvol/segvol" \
  -e"$d/opt/segvol/libonnxruntime.so.1" 2>/dev/null | sed 's/^shlibs:Depends=//')
# GLFW dlopens these X extensions at start, so dpkg-shlibdeps cannot see them.
depends="$depends, libx11-xcb1, libxcursor1, libxi6, libxinerama1, libxrandr2, libxrender1, libxxf86vm1"
sed -e "s/@VERSION@/$APP_VERSION-$APP_BUILD/" -e "s/@SIZE@/$(du -sk "$d" | cut -f1)/" \
  -e "s/@DEPENDS@/$depends/" "$root/packaging/deb/control.in" >"$d/DEBIAN/control"
chmod -R u+rwX,go+rX,go-w "$d"
deb="$dist/segvol_$APP_VERSION-${APP_BUILD}_amd64.deb"
dpkg-deb --root-owner-group -Zxz --build "$d" "$deb" >/dev/null

for f in "$tarball" "$deb"; do
  echo "package-linux: $f ($(du -h "$f" | cut -f1))"
done
echo "package-linux: Depends: $depends"
