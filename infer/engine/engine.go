// Package engine picks the segmentation engine a user asked for — SegVol
// through ONNX Runtime when its models are installed, else the embedded
// default — so that the CLI and the viewer choose the same way.
package engine

import (
	"fmt"
	"os"

	"github.com/segvolapp/segvol/infer"
	"github.com/segvolapp/segvol/infer/classic"
	"github.com/segvolapp/segvol/infer/ort"
	"github.com/segvolapp/segvol/infer/segvol"
)

// Options say which engine to use.
type Options struct {
	Backend string // auto (default), classic or segvol
	Models  string // SegVol models folder; empty for segvol.DefaultDir
	Device  string // auto, cpu, cuda, directml or coreml (SegVol only)
	// Library is the ONNX Runtime library chosen in the settings (or on
	// the command line); empty to search (infer/ort.Open), e.g. for the
	// CUDA build that scripts/fetch-ort.sh gpu fetches.
	Library string
	// Tokenizer is the CLIP tokenizer.json (its bytes) for a models folder
	// without one: the programs pass assets/clip.TokenizerJSON, which infer
	// must not import. Needed only with text_encoder.onnx. A string, so
	// that Options stay comparable.
	Tokenizer string
}

// Info describes the engine chosen, for a status line.
type Info struct {
	Backend string // "segvol" or "classic"
	Device  string // the execution provider ("CPU", "CUDA ..."), "CPU" for classic
	Runtime string // "ONNX Runtime 1.30.0", or "" for classic
	Models  string // the models folder looked at (even when it was absent)
	// Fallback, with auto, says why SegVol could not be used.
	Fallback error
}

// ErrUnknownBackend is wrapped by the error of an unknown backend name.
var ErrUnknownBackend = fmt.Errorf("unknown backend")

// Open returns the engine of o. With auto, SegVol runs when its models and
// ONNX Runtime are there; otherwise the embedded default does, and
// Info.Fallback says why.
func Open(o Options) (infer.Segmenter, Info, error) {
	dir := o.Models
	if dir == "" {
		if d, err := segvol.DefaultDir(); err == nil {
			dir = d
		}
	}
	classicInfo := Info{Backend: "classic", Device: "CPU", Models: dir}
	switch o.Backend {
	case "classic":
		return classic.Segmenter{}, classicInfo, nil
	case "segvol", "auto", "":
		s, info, err := loadSegVol(dir, o)
		if err == nil || o.Backend == "segvol" {
			return s, info, err
		}
		classicInfo.Fallback = err
		return classic.Segmenter{}, classicInfo, nil
	}
	return nil, Info{}, fmt.Errorf("%w %q (auto, classic or segvol)", ErrUnknownBackend, o.Backend)
}

func loadSegVol(dir string, o Options) (infer.Segmenter, Info, error) {
	info := Info{Backend: "segvol", Models: dir}
	if dir == "" {
		return nil, info, fmt.Errorf("%w: no models folder (none given and no user folder)", segvol.ErrNoModels)
	}
	// Look for the models before loading a 20 MB library for nothing.
	if _, err := os.Stat(dir); err != nil {
		return nil, info, fmt.Errorf("%w: no models folder %s", segvol.ErrNoModels, dir)
	}
	rt, err := ort.Open(ort.Options{Device: o.Device, LibPath: o.Library})
	if err != nil {
		return nil, info, err
	}
	s, err := segvol.Load(dir, rt, []byte(o.Tokenizer))
	if err != nil {
		return nil, info, err
	}
	info.Device, info.Runtime = rt.Provider(), "ONNX Runtime "+rt.Version()
	return s, info, nil
}
