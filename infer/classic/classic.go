// Package classic is the embedded default segmenter: it needs no weights.
// From a box and/or clicks it grows a conservative core from a seed, marks
// the outside of the box, intensity outliers and negative clicks as
// background, and lets a random walker with an intensity prior decide the
// rest, on a grid coarse enough to stay interactive.
package classic

import (
	"context"
	"errors"
	"fmt"

	"github.com/segvolapp/segvol/infer"
)

// ErrText is returned for text prompts, which need a language model.
var ErrText = errors.New("the embedded default cannot segment by name; install the SegVol model (see the models folder in the documentation) or draw a box or click the structure")

// Segmenter is the classical engine. The zero value is ready to use.
type Segmenter struct{}

// Name is "classic".
func (Segmenter) Name() string { return "classic" }

// Tuning, measured on the sample CT (see the package test).
const (
	workVoxels = 200_000 // the random walker's grid is made coarser beyond this
	marginMM   = 6.0     // band around the box kept as background seeds
	softLo     = -20.0   // HU range of the soft tissue a seed must sit in
	softHi     = 120.0
	coreK      = 1.5  // core: within coreK standard deviations of the seed's mean
	outlierK   = 3.5  // background: beyond outlierK deviations (and outlierHU)
	outlierHU  = 60.0 //
	clickMM    = 6.0  // radius of the seed region a click stands for
	edgeHU     = 12.0 // intensity step at which an edge weight drops to e^-1/2
	prior      = 0.02 // weight of the intensity prior against the edges
	cgTol      = 1e-3
	cgMaxIter  = 300
)

// Segment returns the mask in img's grid. Without a box the working region
// is the positive clicks and Previous, widened; with one, the result stays
// inside the box. The mask outside the working region is Previous's.
func (s Segmenter) Segment(ctx context.Context, img infer.Image, p infer.Prompt, progress infer.Progress) ([]uint8, error) {
	progress, err := infer.Begin(img, p, progress)
	if err != nil {
		return nil, err
	}
	if p.Text != "" {
		return nil, fmt.Errorf("text prompt %q: %w", p.Text, ErrText)
	}
	progress(0, "preparing")
	w, err := newWork(img, p)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	progress(0.2, "seeding")
	w.seed(p)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	progress(0.3, "random walker")
	if err := w.walk(ctx); err != nil {
		return nil, err
	}
	progress(0.8, "cleaning")
	w.clean()
	progress(0.9, "upsampling")
	out := make([]uint8, img.Len())
	if p.Previous != nil {
		copy(out, p.Previous)
	}
	w.paste(img, out)
	progress(1, "done")
	return out, nil
}
