// Package segvol carries the SegVol graph templates inside the programs: the
// ONNX graphs of models/segvol/export.py with the weights left out, which
// infer/segvol/install fills from a checkpoint without Python. See README.md.
package segvol

import "embed"

// Templates holds templates.json and the three graph files.
//
//go:embed templates.json *.onnx
var Templates embed.FS
