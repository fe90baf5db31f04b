package render

import (
	"math"

	"github.com/segvolapp/segvol/internal/parallel"
)

// BlockSize is the edge, in voxels, of the blocks that ray casting skips
// whole when nothing in them can show.
const BlockSize = 8

// Blocks holds the smallest and largest real value that trilinear sampling
// can return anywhere in each block of a volume: block b along an axis
// covers the fractional indices [8b-1/2, 8b+7.5), whose samples read voxels
// 8b-1 .. 8b+8. A ray caster steps over a block whose range the transfer
// function makes transparent (or, for a MIP, whose largest value is no
// brighter than what the ray has found), and its picture does not change.
type Blocks struct {
	Dims     [3]int
	Min, Max []float32 // indexed i + Dims[0]*(j + Dims[1]*k)
}

// NewBlocks computes the blocks of v.
func NewBlocks(v *Volume) Blocks {
	var b Blocks
	for a := range 3 {
		b.Dims[a] = (v.Dims[a] + BlockSize - 1) / BlockSize
	}
	n := b.Dims[0] * b.Dims[1] * b.Dims[2]
	b.Min, b.Max = make([]float32, n), make([]float32, n)
	get := valueReader(v)
	parallel.For(b.Dims[2], func(k0, k1 int) {
		for k := k0; k < k1; k++ {
			for j := range b.Dims[1] {
				for i := range b.Dims[0] {
					lo, hi := math.Inf(1), math.Inf(-1)
					blk := [3]int{i, j, k}
					var from, to [3]int
					for a := range 3 {
						from[a] = max(blk[a]*BlockSize-1, 0)
						to[a] = min(blk[a]*BlockSize+BlockSize, v.Dims[a]-1)
					}
					for z := from[2]; z <= to[2]; z++ {
						for y := from[1]; y <= to[1]; y++ {
							o := v.Dims[0] * (y + v.Dims[1]*z)
							for x := from[0]; x <= to[0]; x++ {
								s := get(o + x)
								lo, hi = math.Min(lo, s), math.Max(hi, s)
							}
						}
					}
					// The range of the real values: the rescale may flip it.
					lo, hi = lo*v.Slope+v.Intercept, hi*v.Slope+v.Intercept
					if lo > hi {
						lo, hi = hi, lo
					}
					bi := i + b.Dims[0]*(j+b.Dims[1]*k)
					b.Min[bi], b.Max[bi] = float32(math.Nextafter(lo, math.Inf(-1))), float32(math.Nextafter(hi, math.Inf(1)))
				}
			}
		}
	})
	return b
}

// valueReader reads the stored value of voxel n of a slice render.Check
// accepted.
func valueReader(v *Volume) func(n int) float64 {
	switch d := v.Voxels.(type) {
	case []int16:
		return func(n int) float64 { return float64(d[n]) }
	case []uint16:
		return func(n int) float64 { return float64(d[n]) }
	case []uint8:
		return func(n int) float64 { return float64(d[n]) }
	case []int8:
		return func(n int) float64 { return float64(d[n]) }
	case []int32:
		return func(n int) float64 { return float64(d[n]) }
	case []uint32:
		return func(n int) float64 { return float64(d[n]) }
	case []float32:
		return func(n int) float64 { return float64(d[n]) }
	}
	d := v.Voxels.([]float64)
	return func(n int) float64 { return d[n] }
}

// Block is the block holding fractional index idx (clamped to the volume's
// blocks), as an offset into Min and Max.
func (b *Blocks) Block(idx [3]float64) (n int, blk [3]int) {
	for a := range 3 {
		blk[a] = min(max(int(math.Floor((idx[a]+0.5)/BlockSize)), 0), b.Dims[a]-1)
	}
	return blk[0] + b.Dims[0]*(blk[1]+b.Dims[1]*blk[2]), blk
}

// Exit is the ray parameter where the ray o + t*d (index space) leaves
// block blk.
func Exit(blk [3]int, o, d [3]float64) float64 {
	t := math.Inf(1)
	for a := range 3 {
		lo := float64(blk[a]*BlockSize) - 0.5
		switch {
		case d[a] > 0:
			t = math.Min(t, (lo+BlockSize-o[a])/d[a])
		case d[a] < 0:
			t = math.Min(t, (lo-o[a])/d[a])
		}
	}
	return t
}

// Visible reports whether any value in [lo, hi] has some opacity.
func (t *Transfer) Visible(lo, hi float64) bool {
	u := func(v float64) float64 {
		return math.Min(math.Max((v-t.Lo)/(t.Hi-t.Lo)*(TransferSize-1), 0), TransferSize-1)
	}
	i0, i1 := int(math.Floor(u(lo))), int(math.Ceil(u(hi)))
	// visible[i] counts the entries below i with opacity.
	return t.visible[i1+1]-t.visible[i0] > 0
}
