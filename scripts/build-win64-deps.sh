#!/usr/bin/env bash
# Builds the C libraries the Windows viewer links (OpenJPEG, CharLS,
# libdeflate) as static mingw-w64 libraries into third_party/win64/ (ignored
# by git), from Debian's source tarballs, so that the Windows build decodes
# with the same code as the Linux one.
#
#   scripts/build-win64-deps.sh
#
# The upstream (.orig) tarballs come from Debian's pool, pinned by the
# SHA-256 that Debian's Sources index gives. OpenJPEG and libdeflate are
# bookworm's versions; CharLS is trixie's 2.4.2 (same 2.4 API and ABI as
# bookworm's 2.4.1), because the mirror no longer serves bookworm's 2.4.1
# tarball. Needs cmake, curl and gcc/g++-mingw-w64-x86-64. A finished build
# (its stamp lists the pins) is left alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/third_party/win64"
src="$root/.cache/win64-src"
toolchain="$root/packaging/mingw-w64.cmake"
pool=${DEBIAN_MIRROR:-http://deb.debian.org/debian}/pool/main

# path SHA-256
tarballs="o/openjpeg2/openjpeg2_2.5.0.orig.tar.xz 007e19d772c8b6b22e35379630b06ff3549e49ba719d96453607a36ad7b4de73
c/charls/charls_2.4.2.orig.tar.gz d1c2c35664976f1e43fec7764d72755e6a50a80f38eca70fcc7553cad4fe19d9
libd/libdeflate/libdeflate_1.14.orig.tar.gz 89e7df898c37c3427b0f39aadcf733731321a278771d20fc553f92da8d4808ac"

if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$tarballs" ]; then
  echo "build-win64-deps: $out is built"
  exit 0
fi
rm -rf "$out"
mkdir -p "$src" "$out"

# fetch PATH SHA256: the tarball, downloaded once into .cache and checked;
# prints the folder it unpacks to.
fetch() {
  local path=$1 want=$2 f got
  f="$src/$(basename "$path")"
  if [ ! -f "$f" ] || [ "$(sha256sum "$f" | cut -d' ' -f1)" != "$want" ]; then
    curl -fsSL -o "$f.part" "$pool/$path"
    mv "$f.part" "$f"
  fi
  got=$(sha256sum "$f" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    echo "build-win64-deps: $path has SHA-256 $got, pinned $want; refusing it" >&2
    exit 1
  fi
  local d="$src/$(basename "$path" | sed 's/\.orig\.tar\..*//')"
  rm -rf "$d"; mkdir -p "$d"
  tar -xf "$f" -C "$d" --strip-components=1
  echo "$d"
}

jobs=$(nproc)
cmake_build() { # DIR CMAKE-ARGS...
  local dir=$1; shift
  cmake -S "$dir" -B "$dir/build-win64" -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$out" -DBUILD_SHARED_LIBS=OFF "$@" >/dev/null
  cmake --build "$dir/build-win64" -j "$jobs" >/dev/null
  cmake --install "$dir/build-win64" >/dev/null
}

while read -r path sum; do
  d=$(fetch "$path" "$sum")
  case "$path" in
    */openjpeg2_*) # the library only (the codec tools want libtiff/libpng)
      cmake_build "$d" -DBUILD_CODEC=OFF -DBUILD_STATIC_LIBS=ON -DBUILD_TESTING=OFF ;;
    */charls_*)
      cmake_build "$d" -DCHARLS_BUILD_TESTS=OFF -DCHARLS_BUILD_SAMPLES=OFF \
        -DCHARLS_BUILD_FUZZ_TEST=OFF -DCHARLS_INSTALL=ON ;;
    */libdeflate_*) # a plain Makefile; its Windows static library is an ordinary ar archive
      make -C "$d" -j "$jobs" CC=x86_64-w64-mingw32-gcc AR=x86_64-w64-mingw32-ar \
        TARGET_MACHINE=x86_64-w64-mingw32 libdeflatestatic.lib >/dev/null
      mkdir -p "$out/lib" "$out/include"
      cp "$d/libdeflatestatic.lib" "$out/lib/libdeflate.a"
      cp "$d/libdeflate.h" "$out/include/" ;;
  esac
done <<<"$tarballs"

echo "$tarballs" >"$out/.stamp"
echo "build-win64-deps: static OpenJPEG, CharLS and libdeflate for Windows x64 in $out"
