package render

import (
	"fmt"
	"math"
)

// Grid is the voxel index of every output pixel of a frame in fixed point:
// along index axis a, pixel (x, y) samples the continuous index
// (O[a] + U[a]*x + V[a]*y) / 2^Frac. Renderers evaluate it in exact int32
// arithmetic, so that all of them pick the same voxel, ties half-way
// between two voxels included, whatever their floating-point precision.
//
// Nearest sampling takes voxel n = (index + 2^(Frac-1)) >> Frac (an
// arithmetic shift, which floors negative indices); the pixel is inside the
// volume iff 0 <= n < Dims on every axis. Linear sampling clamps the index
// to [0, (Dims-1) << Frac], takes base voxel b = min(index >> Frac, Dims-2)
// (0 on a one-voxel axis) and the weight of b+1, (index - b<<Frac) / 2^Frac;
// it draws the pixels that nearest sampling finds inside.
type Grid struct {
	O, U, V [3]int32
	Frac    uint
}

const (
	// maxFrac bounds the fractional bits: 1/65536 of a voxel per pixel step
	// is far below anything a 16-bit image can show.
	maxFrac = 16
	// minFrac keeps the position error of a whole row (about Width steps,
	// each off by up to 2^-(Frac+1) voxel) within a few voxels even for a
	// plane millions of voxels away; planes that need fewer bits are refused.
	minFrac = 8
	// indexLimit bounds |O| + |U|*x + |V|*y, so that neither a term nor a
	// partial sum overflows int32, nor index + 2^(Frac-1).
	indexLimit = 1 << 30
)

// NewGrid places a w x h frame of plane p in volume v's index space. Frac is
// the largest number of fractional bits, at most 16, for which no index of
// the frame can reach 2^30; a plane so far out or so coarse that fewer than
// 8 bits remain is an error.
func NewGrid(p Plane, v *Volume, w, h int) (Grid, error) {
	m := &v.WorldToIndex
	var o, u, vv [3]float64
	bound := 0.0 // the largest |index| of the frame, in voxels, over-estimated
	for a := 0; a < 3; a++ {
		o[a] = m[a][0]*p.Origin[0] + m[a][1]*p.Origin[1] + m[a][2]*p.Origin[2] + m[a][3]
		u[a] = m[a][0]*p.U[0] + m[a][1]*p.U[1] + m[a][2]*p.U[2]
		vv[a] = m[a][0]*p.V[0] + m[a][1]*p.V[1] + m[a][2]*p.V[2]
		bound = max(bound, math.Abs(o[a])+math.Abs(u[a])*float64(w-1)+math.Abs(vv[a])*float64(h-1))
	}
	// Rounding each of O, U and V to a unit of 2^-Frac adds up to half a
	// unit per term: (1 + (w-1) + (h-1)) / 2 units in all.
	slack := float64(w+h-1) / 2
	g := Grid{Frac: maxFrac}
	for ; g.Frac >= minFrac; g.Frac-- {
		if bound*float64(int64(1)<<g.Frac)+slack < indexLimit {
			break
		}
	}
	if g.Frac < minFrac { // NaN and infinite bounds end here too
		return Grid{}, fmt.Errorf("render: a %dx%d frame of this plane reaches voxel index %.3g, too far out to sample", w, h, bound)
	}
	scale := float64(int64(1) << g.Frac)
	for a := 0; a < 3; a++ {
		g.O[a] = int32(math.Round(o[a] * scale))
		g.U[a] = int32(math.Round(u[a] * scale))
		g.V[a] = int32(math.Round(vv[a] * scale))
	}
	return g, nil
}

// Index is the fixed-point index of pixel (x, y) along axis a.
func (g *Grid) Index(a, x, y int) int32 {
	return g.O[a] + g.U[a]*int32(x) + g.V[a]*int32(y)
}

// Nearest is the voxel whose cell holds a fixed-point index.
func (g *Grid) Nearest(index int32) int32 {
	return (index + 1<<(g.Frac-1)) >> g.Frac
}

// Voxel is the voxel that nearest sampling draws at pixel (x, y), which
// may lie outside the volume: what every tool acting on "the voxel under
// the pointer" must act on.
func (g *Grid) Voxel(x, y int) [3]int {
	var n [3]int
	for a := range 3 {
		n[a] = int(g.Nearest(g.Index(a, x, y)))
	}
	return n
}

// NearestVoxel is Nearest for a floating-point index: the voxel whose cell
// [n-1/2, n+1/2) holds it, ties going up as in the renderers.
func NearestVoxel(index float64) int { return int(math.Floor(index + 0.5)) }
