#!/usr/bin/env bash
# Fetches a pinned ONNX Runtime shared library into third_party/onnxruntime/
# (ignored by git), where infer/ort finds it for tests and dev builds.
#
#   scripts/fetch-ort.sh [TARGET]...     TARGET: linux-amd64, linux-arm64,
#                                        windows-amd64, darwin-arm64, gpu;
#                                        the host's platform when none
#
# The libraries come from npm packages, whose tarballs are content-addressed
# and cached by npm (~/.npm/_cacache): after the first fetch this works
# offline, and a target already extracted and unchanged is left alone.
#
# CPU (all platforms): onnxruntime-node 1.30.0, Microsoft's own build. Per
#   target it holds Linux x64/arm64 libonnxruntime.so.1, Windows x64
#   onnxruntime.dll with DirectML.dll (the DirectML provider is built in), and
#   macOS arm64 libonnxruntime.1.dylib (CoreML built in).
# gpu (Linux x64): ONNX Runtime 1.29.0 from asus4's onnxruntime-unity packages,
#   the core library from com.github.asus4.onnxruntime 0.4.9 and the CUDA 13 and
#   TensorRT 10 providers from com.github.asus4.onnxruntime.linux-x64-gpu 0.4.9
#   (about 330 MB). The CUDA provider needs the CUDA 13 runtime, cuBLAS and
#   cuRAND (and cuDNN 9 for convolutions) installed on the machine.
#   That core library has no built-in CUDA provider ("CUDA execution provider
#   is not enabled in this build"); its CUDA library is a plugin provider
#   (CreateEpFactories), which infer/ort attaches through ONNX Runtime's
#   EP-device API (infer/ort/epdevice.go).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest_root="$root/third_party/onnxruntime"

CPU_VERSION=1.30.0
CPU_PKG=onnxruntime-node@1.30.0
CPU_SHA256=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
GPU_VERSION=1.29.0-gpu
GPU_CORE_PKG=com.github.asus4.onnxruntime@0.4.9
GPU_CORE_SHA256=e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d
GPU_EP_PKG=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
GPU_EP_SHA256=2b459e0c17f340c92970c10ed86de4f37a3009f93c14053e6ad4334cbb6be412

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fetch PKG SHA256: prints the path of the package's tarball once its SHA-256
# matches the pinned one.
fetch() {
  local pkg=$1 want=$2 dir got
  dir="$tmp/$(echo "$pkg" | tr '@/' '__')"
  mkdir -p "$dir"
  command -v npm >/dev/null || "$root/scripts/apt-deps.sh" npm >&2
  (cd "$dir" && npm pack --prefer-offline --silent "$pkg" >/dev/null)
  local tgz
  tgz=$(ls "$dir"/*.tgz)
  got=$(sha256sum "$tgz" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    echo "fetch-ort: $pkg tarball has SHA-256 $got, pinned $want; refusing it" >&2
    exit 1
  fi
  echo "$tgz"
}

# extract TGZ OUTDIR MEMBER...: copies the named tarball members (paths under
# package/) into OUTDIR, flat.
extract() {
  local tgz=$1 out=$2; shift 2
  local x="$tmp/x.$RANDOM"
  mkdir -p "$x" "$out"
  tar -xzf "$tgz" -C "$x" "${@/#/package/}"
  for m in "$@"; do cp "$x/package/$m" "$out/"; done
  rm -rf "$x"
}

# The stamp lists each extracted file with its SHA-256 and the tarballs'
# pins, so a finished target is verified without the network.
verified() {
  local out=$1 pins=$2
  [ -f "$out/.stamp" ] && [ "$(head -1 "$out/.stamp")" = "# $pins" ] &&
    (cd "$out" && tail -n +2 .stamp | sha256sum --quiet -c - >/dev/null 2>&1)
}

stamp() {
  local out=$1 pins=$2
  (cd "$out" && { echo "# $pins"; sha256sum $(ls | grep -v '^\.stamp$'); } >.stamp.new && mv .stamp.new .stamp)
}

cpu_target() {
  local target=$1 members
  case "$target" in
    linux-amd64) members="bin/napi-v6/linux/x64/libonnxruntime.so.1" ;;
    linux-arm64) members="bin/napi-v6/linux/arm64/libonnxruntime.so.1" ;;
    windows-amd64) members="bin/napi-v6/win32/x64/onnxruntime.dll bin/napi-v6/win32/x64/DirectML.dll" ;;
    darwin-arm64) members="bin/napi-v6/darwin/arm64/libonnxruntime.1.dylib" ;;
    *) echo "fetch-ort: unknown target $target" >&2; exit 2 ;;
  esac
  local out="$dest_root/$CPU_VERSION/$target"
  if verified "$out" "$CPU_SHA256"; then
    echo "fetch-ort: $out is present and verified"
    return
  fi
  rm -rf "$out"
  local tgz
  tgz=$(fetch "$CPU_PKG" "$CPU_SHA256")
  # shellcheck disable=SC2086
  extract "$tgz" "$out" $members
  stamp "$out" "$CPU_SHA256"
  echo "fetch-ort: ONNX Runtime $CPU_VERSION ($target) in $out"
}

gpu_target() {
  local out="$dest_root/$GPU_VERSION/linux-amd64" pins="$GPU_CORE_SHA256 $GPU_EP_SHA256"
  if verified "$out" "$pins"; then
    echo "fetch-ort: $out is present and verified"
    return
  fi
  rm -rf "$out"
  local core ep
  core=$(fetch "$GPU_CORE_PKG" "$GPU_CORE_SHA256")
  ep=$(fetch "$GPU_EP_PKG" "$GPU_EP_SHA256")
  extract "$core" "$out" Plugins/Linux/x64/libonnxruntime.so
  extract "$ep" "$out" Plugins/Linux/x64/libonnxruntime_providers_shared.so \
    Plugins/Linux/x64/libonnxruntime_providers_cuda.so Plugins/Linux/x64/libonnxruntime_providers_tensorrt.so
  stamp "$out" "$pins"
  echo "fetch-ort: ONNX Runtime $GPU_VERSION (CUDA, TensorRT) in $out"
}

if [ $# -eq 0 ]; then
  os=$(uname -s | tr A-Z a-z); arch=$(uname -m)
  case "$arch" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
  set -- "$os-$arch"
fi
for t in "$@"; do
  if [ "$t" = gpu ]; then gpu_target; else cpu_target "$t"; fi
done
