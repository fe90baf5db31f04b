# Shared by scripts/package-*.sh (sourced, not run): the app's metadata from
# FyneApp.toml and the release build of the programs with that metadata in.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GO=${GO:-go}
dist="$root/dist"

# meta KEY: a value of FyneApp.toml's [Details] table (flat "Key = value" lines).
meta() {
  awk -F' *= *' -v k="$1" '/^\[/{d=($0=="[Details]")} d && $1~"^ *"k"$" {gsub(/"/,"",$2); print $2}' "$root/FyneApp.toml"
}
APP_ID=$(meta ID)
APP_NAME=$(meta Name)
APP_VERSION=$(meta Version)
APP_BUILD=$(meta Build)
APP_ICON="$root/$(meta Icon)"

# metadata_overlay DIR: writes a go build -overlay file that adds to the
# viewer's main package what `fyne package` generates there (the metadata,
# icon included), so the source tree is left untouched; prints its path.
metadata_overlay() {
  local dir=$1
  {
    echo "package main"
    echo
    echo 'import ("fyne.io/fyne/v2"; fyneapp "fyne.io/fyne/v2/app")'
    echo
    echo "func init() {"
    printf '\ticon := []byte{'
    od -An -v -tx1 "$APP_ICON" | tr -s ' \n' ' ' | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'
    echo "}"
    printf '\tfyneapp.SetMetadata(fyne.AppMetadata{ID: "%s", Name: "%s", Version: "%s", Build: %d, Release: true,\n' \
      "$APP_ID" "$APP_NAME" "$APP_VERSION" "$APP_BUILD"
    printf '\t\tIcon: fyne.NewStaticResource("%s", icon)})\n' "$(basename "$APP_ICON")"
    echo "}"
  } >"$dir/zz_metadata.go"
  printf '{"Replace": {"%s": "%s"}}\n' "$root/cmd/segvol-viewer/zz_fyne_metadata.go" "$dir/zz_metadata.go" >"$dir/overlay.json"
  echo "$dir/overlay.json"
}

# build_programs OUTDIR [LDFLAGS [VIEWER LDFLAGS]]: the viewer (with the
# metadata) and the CLI, stripped, for the GOOS/GOARCH and cgo settings in
# the environment.
build_programs() {
  local out=$1 ld="-s -w ${2:-}" gui=${3:-} tmp ext="" rc=0
  tmp=$(mktemp -d)
  [ "$($GO env GOOS)" = windows ] && ext=.exe
  (cd "$root" &&
    $GO build -overlay "$(metadata_overlay "$tmp")" -ldflags "$ld $gui" -o "$out/segvol-viewer$ext" ./cmd/segvol-viewer &&
    $GO build -ldflags "$ld" -o "$out/segvol$ext" ./cmd/segvol) || rc=$?
  rm -rf "$tmp"
  return $rc
}

# ort_dir TARGET: the verified ONNX Runtime folder of a `make ort` target.
ort_dir() {
  "$root/scripts/fetch-ort.sh" "$1" >&2
  local v
  v=$(sed -n 's/^const PinnedVersion = "\(.*\)"/\1/p' "$root"/infer/ort/*.go | head -1)
  echo "$root/third_party/onnxruntime/$v/$1"
}
