#!/usr/bin/env bash
# Prints the path of a Go toolchain new enough for go.mod. Debian ships Go
# 1.19, too old to build this module or to fetch a newer toolchain itself, so
# where none is installed the release that go.mod names is taken from the Go
# module proxy (the same archive GOTOOLCHAIN=auto would fetch) into .cache/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
want=$(awk '/^go /{print $2}' "$root/go.mod")
for g in go /usr/local/go/bin/go "$root/.cache/go/bin/go"; do
  if command -v "$g" >/dev/null 2>&1; then
    have=$("$g" env GOVERSION 2>/dev/null | sed 's/^go//')
    if [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -1)" = "$want" ]; then
      command -v "$g"; exit 0
    fi
  fi
done
arch=$(uname -m); case "$arch" in x86_64) arch=amd64;; aarch64) arch=arm64;; esac
os=$(uname -s | tr A-Z a-z)
proxy=${GOPROXY:-https://proxy.golang.org}; proxy=${proxy%%,*}
[ "$proxy" = direct ] || [ "$proxy" = off ] && proxy=https://proxy.golang.org
url="$proxy/golang.org/toolchain/@v/v0.0.1-go$want.$os-$arch.zip"
echo "fetching Go $want from the module proxy" >&2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
command -v curl >/dev/null && command -v unzip >/dev/null || "$root/scripts/apt-deps.sh" curl unzip ca-certificates >&2
curl -fsSL -o "$tmp/go.zip" "$url"
rm -rf "$root/.cache/go"; mkdir -p "$root/.cache"
unzip -q "$tmp/go.zip" -d "$tmp/x"
mv "$tmp/x/golang.org/toolchain@v0.0.1-go$want.$os-$arch" "$root/.cache/go"
chmod +x "$root/.cache/go/bin/"* "$root/.cache/go/pkg/tool/"*/* 2>/dev/null || true
echo "$root/.cache/go/bin/go"
