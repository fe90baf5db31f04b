#!/usr/bin/env bash
# Proves the SegVol export without the real weights (models/segvol/README.md):
# random checkpoints with the real key names and shapes in both published
# layouts, the strict key check (a missing key must fail), the export, then
# from Go through ONNX Runtime: each graph against PyTorch on the same random
# inputs (text_encoder.onnx too, with the CLI's `models text`), and a whole
# zoom-out-zoom-in on the sample CT, from a box and from a free phrase.
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
"$py" models/segvol/make_checkpoint.py --out "$work/pytorch_model.bin" --encoder-depth "$depth"
"$py" models/segvol/make_checkpoint.py --out "$work/SegVol_v1.pth" --layout github --no-clip --encoder-depth "$depth"
"$py" -W ignore models/segvol/export.py --checkpoint "$work/SegVol_v1.pth" --encoder-depth "$depth" --check-only

echo "== a checkpoint with a key missing must be refused"
"$py" - "$work/pytorch_model.bin" "$work/broken.bin" <<'PY'
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
  "$py" -W ignore models/segvol/export.py --checkpoint "$work/pytorch_model.bin" --out "$work/models" \
  --encoder-depth "$depth" --fixtures "$work/fixtures"
ls -l "$work/models"

echo "== Go through ONNX Runtime: graphs against PyTorch, zoom-out-zoom-in on the sample"
export SEGVOL_MODELS="$work/models" SEGVOL_FIXTURES="$work/fixtures"
/usr/bin/time -f "go test: %e s wall, peak RSS %M KB" \
  "$GO" test -count=1 -v -run 'TestGraphsMatchPyTorch|TestTextEncoderMatchesPyTorch|TestZoomOutZoomIn' ./models/segvol/
echo "== the CLI on the sample: segvol segment --backend segvol"
"$GO" run ./cmd/segvol segment --image assets/sample/example_ct_sm.nii.gz --box 20,20,5,100,80,25 \
  --point 60,50,15 --backend segvol --device cpu --models "$work/models" --out "$work/mask.nii.gz"
echo "== any phrase: segvol segment --text, segvol models text (against PyTorch's vectors)"
"$GO" run ./cmd/segvol segment --image assets/sample/example_ct_sm.nii.gz --text "liver tumour" \
  --backend segvol --device cpu --models "$work/models" --out "$work/text.nii.gz"
"$GO" test -count=1 -v -run 'TestModelsTextMatchesPyTorch' ./cmd/segvol/
if [ "${1:-}" = --bench ]; then
  "$GO" test -count=1 -run '^$' -bench 'Encoder|Decoder|Text' -benchtime 3x ./models/segvol/
fi
