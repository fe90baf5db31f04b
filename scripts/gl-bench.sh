#!/bin/sh
# Runs render/gl's tests and the 3-view benchmark (render/cpu and render/gl in
# one run, so compare their ratio) under Xvfb with Mesa's llvmpipe.
set -e
cd "$(dirname "$0")/.."
xvfb-run -a go test -count=1 ./render/gl/
xvfb-run -a go test -count=1 -run '^$' -bench Render3Views -benchtime "${BENCHTIME:-30x}" ./render/gl/
