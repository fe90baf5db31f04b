#!/usr/bin/env bash
# Proves the SegVol export without the real weights (models/segvol/README.md):
# random checkpoints with the real key names and shapes, the CLIP tower
# included, in both published layouts (and one without the tower), the strict key check (a missing key must fail), the export, the
# graph templates (made again, they must equal assets/segvol byte for byte),
# the Go installer on both checkpoints, then from Go through ONNX Runtime:
# each graph, exported and installed, against PyTorch on the same random
# inputs (text_encoder.onnx too, with the CLI's `models text`), and a whole
# zoom-out-zoom-in on the sample CT, from a box and from a free phrase
# (with the exported and the installed models).
#
#   scripts/test-export.sh [--bench]
#
# SEGVOL_TEST_DEPTH: encoder blocks of the random model (2 by default, for
# CI; 12 is the full-size model). --bench also runs the Go benchmarks of one
# encoder and one decoder call.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
GO=${GO:-go}
py=/usr/bin/python3 # Debian's python3-torch and python3-onnx
depth=${SEGVOL_TEST_DEPTH:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== random checkpoints (encoder depth $depth)"
mkdir "$work/hf" # a Hugging Face folder
"$py" models/segvol/make_checkpoint.py --out "$work/hf/pytorch_model.bin" --encoder-depth "$depth"
"$py" models/segvol/make_checkpoint.py --out "$work/SegVol_v1.pth" --layout github --encoder-depth "$depth" --seed 1
# Without the CLIP tower: installed, it must get no text graph.
"$py" models/segvol/make_checkpoint.py --out "$work/noclip.pth" --layout github --no-clip --encoder-depth "$depth" --seed 2
"$py" -W ignore models/segvol/export.py --checkpoint "$work/noclip.pth" --encoder-depth "$depth" --check-only

echo "== a checkpoint with a key missing must be refused"
"$py" - "$work/hf/pytorch_model.bin" "$work/broken.bin" <<'PY'
import sys, torch
state = torch.load(sys.argv[1])
del state["model.mask_decoder.iou_token.weight"]
torch.save(state, sys.argv[2])
PY
if "$py" -W ignore models/segvol/export.py --checkpoint "$work/broken.bin" --encoder-depth "$depth" --check-only 2>"$work/err"; then
  echo "test-export: the broken checkpoint was accepted" >&2
  exit 1
fi
cat "$work/err"

echo "== export"
/usr/bin/time -f "export: %e s wall, peak RSS %M KB" \
  "$py" -W ignore models/segvol/export.py --checkpoint "$work/hf/pytorch_model.bin" --out "$work/models" \
  --encoder-depth "$depth" --fixtures "$work/fixtures"
ls -l "$work/models"
"$py" -W ignore models/segvol/export.py --checkpoint "$work/SegVol_v1.pth" --out "$work/models-github" \
  --encoder-depth "$depth" --fixtures "$work/fixtures-github"

echo "== graph templates: made again with other stand-in weights, they must equal assets/segvol"
/usr/bin/time -f "templates: %e s wall, peak RSS %M KB" \
  "$py" -W ignore models/segvol/templates.py --out "$work/regen" --seed 1
for f in assets/segvol/*.onnx assets/segvol/templates.json; do
  cmp "$f" "$work/regen/$(basename "$f")" || { echo "test-export: $f differs from what templates.py makes now: remake it (assets/segvol/README.md)" >&2; exit 1; }
done
if [ "$depth" != 12 ]; then
  "$py" -W ignore models/segvol/templates.py --out "$work/templates" --encoder-depth "$depth"
  export SEGVOL_TEMPLATES="$work/templates"
fi

echo "== the Go installer on both checkpoints (cp of the same files for comparison)"
/usr/bin/time -f "cp: %e s wall" cp "$work/hf/pytorch_model.bin" "$work/SegVol_v1.pth" "$work/regen/"
export SEGVOL_INSTALL_FROM="$work/hf $work/SegVol_v1.pth $work/noclip.pth" SEGVOL_INSTALL_TO="$work/installed"
"$GO" test -count=1 -c -o "$work/modelcheck.test" ./models/segvol/
# The test binary runs in its package's folder, as go test runs it.
(cd models/segvol && /usr/bin/time -f "install: %e s wall, peak RSS %M KB" "$work/modelcheck.test" -test.v -test.run '^TestInstall$')

echo "== Go through ONNX Runtime: graphs against PyTorch, zoom-out-zoom-in on the sample"
# Each layout against its own export's PyTorch outputs: the four graphs
# (the text graph's categories against the export's vectors, as the
# installer writes none). The checkpoint without the CLIP tower gets no
# text graph.
export SEGVOL_MODELS="$work/models" SEGVOL_FIXTURES="$work/fixtures"
for pair in "models fixtures" "installed/hf fixtures" "models-github fixtures-github" "installed/SegVol_v1.pth fixtures-github"; do
  set -- $pair
  models="$work/$1" ref="$work/models"
  [ "$2" = fixtures ] || ref="$work/models-github"
  echo "-- $models"
  (cd models/segvol && SEGVOL_MODELS="$models" SEGVOL_FIXTURES="$work/$2" SEGVOL_TEXT_TABLE="$ref" \
    /usr/bin/time -f "go test: %e s wall, peak RSS %M KB" \
    "$work/modelcheck.test" -test.v -test.run 'TestGraphsMatchPyTorch|TestZoomOutZoomIn|TestTextEncoderMatchesPyTorch')
done
for f in text_encoder.onnx text_weights.bin; do
  [ -e "$work/installed/SegVol_v1.pth/$f" ] || { echo "test-export: no $f installed from the GitHub checkpoint with the CLIP tower" >&2; exit 1; }
  [ ! -e "$work/installed/noclip.pth/$f" ] || { echo "test-export: $f installed from a checkpoint without the CLIP tower" >&2; exit 1; }
done
# No category vectors there: the CLI's phrase below must go through the graph.
[ ! -e "$work/installed/hf/text_embeddings.json" ] || { echo "test-export: the installer wrote text_embeddings.json" >&2; exit 1; }
echo "== the CLI on the sample with the installed models: segvol segment --backend segvol"
"$GO" run ./cmd/segvol segment --image assets/sample/example_ct_sm.nii.gz --box 20,20,5,100,80,25 \
  --point 60,50,15 --backend segvol --device cpu --models "$work/installed/hf" --out "$work/mask.nii.gz"
echo "== any phrase: segvol segment --text (exported and installed), segvol models text (against PyTorch's vectors)"
for models in "$work/models" "$work/installed/hf"; do
  "$GO" run ./cmd/segvol segment --image assets/sample/example_ct_sm.nii.gz --text "liver tumour" \
    --backend segvol --device cpu --models "$models" --out "$work/text.nii.gz"
done
"$GO" test -count=1 -v -run 'TestModelsTextMatchesPyTorch' ./cmd/segvol/
if [ "${1:-}" = --bench ]; then
  "$GO" test -count=1 -run '^$' -bench 'Encoder|Decoder|Text' -benchtime 3x ./models/segvol/
fi
