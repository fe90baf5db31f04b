package labels

import (
	"fmt"
	"math"

	"github.com/segvolapp/segvol/viewer/volume"
)

// Brush is the paint and erase tool, sized in mm.
type Brush struct {
	RadiusMM float64
	// Plane, when set, makes the brush a disc in the plane of a view;
	// without it the brush is a sphere.
	Plane *Plane
	// Range, when set, limits the brush to voxels whose image value (real,
	// HU for CT) lies in [Range[0], Range[1]].
	Range *[2]float64
}

// Plane is a view's plane in patient space (LPS, mm).
type Plane struct {
	Point, Normal [3]float64
}

// tolerance keeps voxels lying on the brush's surface (up to rounding)
// inside it, so a 10 mm brush on a 2 mm grid always reaches the 5th voxel.
const tolerance = 1e-6

// Paint writes segment v into the voxels of brush b centred at centre
// (LPS, mm; a disc brush is centred at its projection on the plane),
// following the draw-over setting and sparing locked segments.
func (m *LabelMap) Paint(b Brush, centre [3]float64, v uint8) (Change, error) {
	if v == 0 {
		return m.Erase(b, centre, 0)
	}
	return m.edit("paint", func(w *writer) error {
		if err := m.checkSegment(v); err != nil {
			return err
		}
		return m.brushVoxels(b, centre, func(n int) { w.set(n, v) })
	})
}

// Erase sets to background the voxels of brush b that belong to segment
// only, or to any unlocked segment when only is 0.
func (m *LabelMap) Erase(b Brush, centre [3]float64, only uint8) (Change, error) {
	return m.edit("erase", func(w *writer) error {
		return m.brushVoxels(b, centre, func(n int) {
			if only == 0 || m.vox[n] == only {
				w.set(n, 0)
			}
		})
	})
}

// brushVoxels calls fn with the offset of every voxel of the brush, in
// increasing order. A voxel is in a sphere when its centre lies within the
// radius; in a disc when, besides, it is the voxel the renderers draw where
// the plane crosses its column along the index axis most aligned with the
// normal, so the disc is one voxel thick on any grid and lies on the
// voxels a view of that plane shows.
func (m *LabelMap) brushVoxels(b Brush, centre [3]float64, fn func(n int)) error {
	r := b.RadiusMM
	if !(r > 0) || math.IsInf(r, 0) {
		return fmt.Errorf("labels: brush radius %g mm", r)
	}
	toIndex, err := m.geom.WorldToIndexMatrix()
	if err != nil {
		return fmt.Errorf("labels: %w", err)
	}
	var normal [3]float64
	var step float64
	if b.Plane != nil {
		normal = unit(b.Plane.Normal)
		if normal == ([3]float64{}) {
			return fmt.Errorf("labels: brush plane has no normal")
		}
		off := dot(sub(centre, b.Plane.Point), normal)
		for c := range 3 {
			centre[c] -= off * normal[c]
		}
		// step: how far the plane moves along the normal for one step of
		// the index axis most aligned with it, signed.
		for a := range 3 {
			if d := dot(m.geom.Axes[a], normal); math.Abs(d) > math.Abs(step) {
				step = d
			}
		}
	}
	inRange, err := m.rangeTest(b.Range)
	if err != nil {
		return err
	}
	var ci [3]float64
	var lo, hi [3]int
	for a := range 3 {
		row := toIndex[a]
		ci[a] = row[0]*centre[0] + row[1]*centre[1] + row[2]*centre[2] + row[3]
		// How far index a can move within a ball of radius r.
		reach := (r + tolerance) * math.Sqrt(row[0]*row[0]+row[1]*row[1]+row[2]*row[2])
		lo[a] = max(int(math.Ceil(ci[a]-reach)), 0)
		hi[a] = min(int(math.Floor(ci[a]+reach)), m.dims[a]-1)
		if lo[a] > hi[a] {
			return nil // the brush lies outside the grid
		}
	}
	r2 := (r + tolerance) * (r + tolerance)
	ax := m.geom.Axes
	for k := lo[2]; k <= hi[2]; k++ {
		for j := lo[1]; j <= hi[1]; j++ {
			// d is the offset from the centre of voxel (lo[0], j, k).
			var d [3]float64
			for c := range 3 {
				d[c] = (float64(lo[0])-ci[0])*ax[0][c] + (float64(j)-ci[1])*ax[1][c] + (float64(k)-ci[2])*ax[2][c]
			}
			n := lo[0] + m.dims[0]*(j+m.dims[1]*k)
			for i := lo[0]; i <= hi[0]; i, n = i+1, n+1 {
				in, dd := true, dot(d, d)
				if b.Plane != nil {
					dn := dot(d, normal)
					// The plane crosses this voxel's column t steps away
					// from its centre; the renderers draw the voxel whose
					// cell [-1/2, 1/2) holds the crossing, ties going up.
					t := -dn / step
					in = t >= -0.5-tolerance && t < 0.5-tolerance
					dd -= dn * dn
				}
				if in && dd <= r2 && inRange(n) {
					fn(n)
				}
				for c := range 3 {
					d[c] += ax[0][c]
				}
			}
		}
	}
	return nil
}

// rangeTest is the intensity limit of a brush: true everywhere without one.
func (m *LabelMap) rangeTest(rg *[2]float64) (func(n int) bool, error) {
	if rg == nil {
		return func(int) bool { return true }, nil
	}
	if m.img == nil {
		return nil, fmt.Errorf("labels: an intensity range needs the image")
	}
	lo, hi := rg[0], rg[1]
	if lo > hi {
		lo, hi = hi, lo
	}
	value := realValue(m.img)
	return func(n int) bool { v := value(n); return v >= lo && v <= hi }, nil
}

// realValue reads the image's real value at an offset with the type switch
// done once, not per voxel.
func realValue(img *volume.Volume) func(n int) float64 {
	s, c := img.Slope, img.Intercept
	switch d := img.Data.(type) {
	case []uint8:
		return func(n int) float64 { return float64(d[n])*s + c }
	case []int8:
		return func(n int) float64 { return float64(d[n])*s + c }
	case []uint16:
		return func(n int) float64 { return float64(d[n])*s + c }
	case []int16:
		return func(n int) float64 { return float64(d[n])*s + c }
	case []uint32:
		return func(n int) float64 { return float64(d[n])*s + c }
	case []int32:
		return func(n int) float64 { return float64(d[n])*s + c }
	case []float32:
		return func(n int) float64 { return float64(d[n])*s + c }
	case []float64:
		return func(n int) float64 { return d[n]*s + c }
	}
	return func(int) float64 { return math.NaN() }
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

func sub(a, b [3]float64) [3]float64 { return [3]float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }

func unit(a [3]float64) [3]float64 {
	l := math.Sqrt(dot(a, a))
	if l == 0 || math.IsNaN(l) || math.IsInf(l, 0) {
		return [3]float64{}
	}
	return [3]float64{a[0] / l, a[1] / l, a[2] / l}
}
