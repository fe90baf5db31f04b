package viewer

import (
	"fmt"
	"math"
	"slices"
	"strings"

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

// DragWindow is the window after a drag of (dx, dy) screen pixels that
// began at window from, as ITK-SNAP and Slicer do it: right widens, down
// raises the level. A pixel moves it by 1/512 of the value range, so a
// drag across a view spans the useful range whatever the modality.
func (s *Session) DragWindow(from volume.Window, dx, dy float64) {
	lo, hi := s.Volume.Range()
	step := math.Max((hi-lo)/512, 1e-3)
	s.SetWindow(from.Center+dy*step, from.Width+dx*step)
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
