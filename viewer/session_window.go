package viewer

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/segvolapp/segvol/viewer/mpr"
	"github.com/segvolapp/segvol/viewer/volume"
)

// CTPresets are the usual CT windows, in HU.
var CTPresets = []volume.Window{
	{Name: "Soft tissue", Center: 40, Width: 400},
	{Name: "Brain", Center: 40, Width: 80},
	{Name: "Liver", Center: 60, Width: 160},
	{Name: "Lung", Center: -600, Width: 1500},
	{Name: "Bone", Center: 300, Width: 1500},
}

// autoName is the preset computed from the intensities.
const autoName = "Auto (1st-99th percentile)"

// Window is the current display window (real values).
func (s *Session) Window() volume.Window { return s.window }

// Presets are the windows offered: for CT the usual ones, then those the
// file carries, then one from the intensity percentiles. The first is the
// default.
func (s *Session) Presets() []volume.Window { return s.presets }

// SetWindow sets the display window; widths below 1 become 1 so the ramp
// never collapses.
func (s *Session) SetWindow(center, width float64) {
	w := volume.Window{Center: center, Width: math.Max(width, 1)}
	for _, p := range s.presets {
		if p.Center == w.Center && p.Width == w.Width {
			w.Name = p.Name
		}
	}
	if w == s.window {
		return
	}
	s.window = w
	s.notify(Change{What: WindowChanged, Views: allViews})
}

// ApplyPreset selects a preset by name and reports whether it exists.
func (s *Session) ApplyPreset(name string) bool {
	for _, p := range s.presets {
		if p.Name == name {
			s.SetWindow(p.Center, p.Width)
			return true
		}
	}
	return false
}

// DragWindow is the window after a drag of (dx, dy) screen pixels in view
// o that began at window from: right widens, down raises the level, as in
// ITK-SNAP and Slicer. A drag the view's height moves either by the
// study's useful range (1st to 99th percentile, the auto window's width):
// the span of the data whatever the modality, at a pace that the eye can
// follow (1/512 of the full range per pixel took W from 1500 to 604 in
// 100 pixels on CT). The result is rounded to the range's precision, so
// a CT window reads 1499, not 1499.999.
func (s *Session) DragWindow(o mpr.Orientation, from volume.Window, dx, dy float64) {
	step := s.usefulRange / float64(max(s.views[o].Height, 1))
	q := windowQuantum(s.usefulRange)
	round := func(x float64) float64 { return math.Round(x/q) * q }
	s.SetWindow(round(from.Center+dy*step), round(from.Width+dx*step))
}

// windowQuantum is the precision a window over a range of values is set
// to: 1 for a range of a thousand or so (HU), finer for small ones
// (parametric maps), coarser for large ones.
func windowQuantum(span float64) float64 {
	if !(span > 0) {
		return 1e-3
	}
	return math.Pow(10, math.Floor(math.Log10(span/1000)))
}

// isCT: the modality when there is one; otherwise a signed range reaching
// air (-1000 HU and below) and bone looks like Hounsfield units.
func isCT(v *volume.Volume) bool {
	if m := strings.ToUpper(v.Meta.Modality); m != "" {
		return m == "CT"
	}
	lo, hi := v.Range()
	return lo <= -900 && lo >= -4000 && hi >= 300
}

// DefaultWindow is the window a study opens with: the first of Presets.
func DefaultWindow(v *volume.Volume) volume.Window { return presetsFor(v, isCT(v))[0] }

func presetsFor(v *volume.Volume, ct bool) []volume.Window {
	var out []volume.Window
	if ct {
		out = append(out, CTPresets...)
	}
	for i, w := range v.Meta.Windows {
		if !(w.Width > 0) {
			continue
		}
		if w.Name == "" {
			w.Name = fmt.Sprintf("From file %d", i+1)
		}
		out = append(out, w)
	}
	lo, hi := percentiles(v, 0.01, 0.99)
	auto := volume.Window{Name: autoName, Center: (lo + hi) / 2, Width: math.Max(hi-lo, 1)}
	// Without the CT windows, the file's own come first, then auto.
	return append(out, auto)
}

// percentiles are the p and q quantiles of the real values, read from at
// most 1<<16 voxels spread evenly through the volume so that a large study
// costs no more than a small one.
func percentiles(v *volume.Volume, p, q float64) (lo, hi float64) {
	n := v.Len()
	stride := max(1, n/(1<<16))
	sample := make([]float64, 0, n/stride+1)
	for i := 0; i < n; i += stride {
		if x := v.Value(i); !math.IsNaN(x) {
			sample = append(sample, x)
		}
	}
	if len(sample) == 0 {
		return 0, 1
	}
	slices.Sort(sample)
	at := func(f float64) float64 { return sample[int(f*float64(len(sample)-1))] }
	return at(p), at(q)
}
