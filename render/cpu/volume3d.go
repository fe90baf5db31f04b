package cpu

import (
	"math"

	"github.com/segvolapp/segvol/render"
)

// volumeSampler reads a volume at fractional indices for the 3D renders:
// trilinear, as render/gl's texture sampling, on the native voxels.
type volumeSampler struct {
	v    *render.Volume
	m    [3][4]float64
	dims [3]int
	hi   [3]float64 // dims - 1
	axes trilinearAxes
}

// fixedOne is one voxel in the fixed-point indices of the slice renderer's
// trilinear sampling, which the 3D renders share.
const fixedOne = 1 << fixedFrac

const fixedFrac = 16

func newVolumeSampler(v *render.Volume) *volumeSampler {
	s := &volumeSampler{v: v, m: v.WorldToIndex, dims: v.Dims, axes: newTrilinearAxes(v.Dims, fixedFrac)}
	for a := range 3 {
		s.hi[a] = float64(v.Dims[a] - 1)
	}
	return s
}

// index is the fractional index of a patient position, and whether it lies
// in a voxel of the volume.
func (s *volumeSampler) index(p [3]float64) ([3]float64, bool) {
	var idx [3]float64
	in := true
	for a := range 3 {
		r := &s.m[a]
		idx[a] = r[0]*p[0] + r[1]*p[1] + r[2]*p[2] + r[3]
		in = in && idx[a] >= -0.5 && idx[a] < float64(s.dims[a])-0.5
	}
	return idx, in
}

// ray is a ray in index space: o + t*d, t in mm along the world ray.
type ray struct{ o, d [3]float64 }

func (s *volumeSampler) ray(o, d [3]float64) ray {
	var r ray
	r.o, _ = s.index(o)
	for a := range 3 {
		m := &s.m[a]
		r.d[a] = m[0]*d[0] + m[1]*d[1] + m[2]*d[2]
	}
	return r
}

func (r *ray) at(t float64) [3]float64 {
	return [3]float64{r.o[0] + t*r.d[0], r.o[1] + t*r.d[1], r.o[2] + t*r.d[2]}
}

// clip is the part [t0, t1] of a ray inside the volume's box.
func (s *volumeSampler) clip(r *ray) (t0, t1 float64, ok bool) {
	t0, t1 = math.Inf(-1), math.Inf(1)
	for a := range 3 {
		lo, hi := -0.5, float64(s.dims[a])-0.5
		if r.d[a] == 0 {
			if r.o[a] < lo || r.o[a] >= hi {
				return 0, 0, false
			}
			continue
		}
		ta, tb := (lo-r.o[a])/r.d[a], (hi-r.o[a])/r.d[a]
		if ta > tb {
			ta, tb = tb, ta
		}
		t0, t1 = max(t0, ta), min(t1, tb)
	}
	return t0, t1, t0 < t1
}

// nearest is the offset of the voxel holding a fractional index inside.
func (s *volumeSampler) nearest(idx [3]float64) int {
	var n [3]int
	for a := range 3 {
		n[a] = min(max(render.NearestVoxel(idx[a]), 0), s.dims[a]-1)
	}
	return n[0] + s.dims[0]*(n[1]+s.dims[1]*n[2])
}

// value is the real value at a fractional index, trilinear between voxel
// centres and constant beyond the outer ones, to 1/65536 of a voxel.
func (s *volumeSampler) value(idx [3]float64) float64 {
	var f [3]int32
	for a := range 3 {
		// Clamped first: the fixed-point index must not overflow.
		f[a] = int32(math.Round(min(max(idx[a], -1), s.hi[a]+1) * fixedOne))
	}
	t, fi, fj, fk := &s.axes, f[0], f[1], f[2]
	var st float64
	switch d := s.v.Voxels.(type) {
	case []int16:
		st = trilinear(t, d, fi, fj, fk)
	case []uint16:
		st = trilinear(t, d, fi, fj, fk)
	case []uint8:
		st = trilinear(t, d, fi, fj, fk)
	case []int8:
		st = trilinear(t, d, fi, fj, fk)
	case []int32:
		st = trilinear(t, d, fi, fj, fk)
	case []uint32:
		st = trilinear(t, d, fi, fj, fk)
	case []float32:
		st = trilinear(t, d, fi, fj, fk)
	case []float64:
		st = trilinear(t, d, fi, fj, fk)
	}
	return st*s.v.Slope + s.v.Intercept
}

// gradient is the unit direction in patient space in which the value
// grows fastest at a fractional index (central differences of one voxel),
// the normal of the tissue boundary there for shading.
func (s *volumeSampler) gradient(idx [3]float64) ([3]float64, bool) {
	var g [3]float64
	for a := range 3 {
		lo, hi := idx, idx
		lo[a]--
		hi[a]++
		g[a] = (s.value(hi) - s.value(lo)) / 2
	}
	// d value/d world = M^T d value/d index.
	var w [3]float64
	for c := range 3 {
		w[c] = s.m[0][c]*g[0] + s.m[1][c]*g[1] + s.m[2][c]*g[2]
	}
	n := math.Sqrt(w[0]*w[0] + w[1]*w[1] + w[2]*w[2])
	if n == 0 {
		return w, false
	}
	return [3]float64{w[0] / n, w[1] / n, w[2] / n}, true
}
