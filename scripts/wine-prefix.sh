#!/usr/bin/env bash
# Installs Debian's Wine and makes one 64-bit Wine prefix in DIR for the
# Windows package tests (packaging/wine_test.go), so Wine's slow first start
# is paid once per run:
#   scripts/wine-prefix.sh DIR      then WINEPREFIX=DIR wine ...
# Only wine64: the installer is a 64-bit NSIS program like the others, and
# some machines (CI's among them) cannot run i386 code, where wine32's loader
# fails with "Exec format error". Debian 12's Wine 8
# lacks bcryptprimitives.dll, which Go 1.22+ programs load before main: a
# stand-in built here from packaging/windows/wine/bcryptprimitives.c goes into
# the prefix's system32 (tests only; never packaged).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:?usage: scripts/wine-prefix.sh DIR}

"$root/scripts/apt-deps.sh" wine wine64 gcc-mingw-w64-x86-64 xvfb xauth

mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
export WINEPREFIX=$prefix WINEDEBUG=-all
# No Mono or Gecko download prompts: nothing here needs .NET or a browser.
export WINEDLLOVERRIDES="mscoree,mshtml="
start=$(date +%s)
# wineboot opens no window with these overrides, but wine's user32 still
# wants a display: a private Xvfb for the boot only.
xvfb-run -a sh -c 'wineboot --init && wineserver --wait'
dll="$prefix/drive_c/windows/system32/bcryptprimitives.dll"
x86_64-w64-mingw32-gcc -O2 -shared -s -o "$dll" "$root/packaging/windows/wine/bcryptprimitives.c" -ladvapi32
echo "wine-prefix: $(wine --version) prefix in $prefix ($(($(date +%s) - start)) s)"
