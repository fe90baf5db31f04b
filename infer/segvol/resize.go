package segvol

import (
	"math"

	"github.com/segvolapp/segvol/internal/parallel"
)

// exactMap is torch's 'nearest-exact' source index for each of out
// destination indices: min(floor((dst+0.5)*scale), in-1) with scale =
// in/out in float32, the product in double and floored as a float, as
// ATen's upsample kernels compute it.
func exactMap(in, out int) []int {
	scale := float32(in) / float32(out)
	m := make([]int, out)
	for dst := range m {
		p := (float64(dst) + 0.5) * float64(scale)
		m[dst] = min(int(math.Floor(float64(float32(p)))), in-1)
	}
	return m
}

// legacyMap is torch's legacy 'nearest' source index: floor(dst*scale) in
// float32, with the same upper clamp; ATen copies when in == out and halves
// when out == 2*in without float arithmetic.
func legacyMap(in, out int) []int {
	scale := float32(in) / float32(out)
	m := make([]int, out)
	for dst := range m {
		switch {
		case in == out:
			m[dst] = dst
		case out == 2*in:
			m[dst] = dst >> 1
		default:
			m[dst] = min(int(math.Floor(float64(float32(dst)*scale))), in-1)
		}
	}
	return m
}

// resample gathers src through one index map per axis (D, H, W) into buf,
// or into a new slice when buf is too small.
func resample(src *volume3, maps [3][]int, buf []float32) *volume3 {
	out := &volume3{dims: [3]int{len(maps[0]), len(maps[1]), len(maps[2])}}
	n := out.dims[0] * out.dims[1] * out.dims[2]
	if cap(buf) < n {
		buf = make([]float32, n)
	}
	out.data = buf[:n]
	parallel.For(out.dims[0], func(lo, hi int) {
		o := lo * out.dims[1] * out.dims[2]
		for _, d := range maps[0][lo:hi] {
			for _, h := range maps[1] {
				row := src.data[(d*src.dims[1]+h)*src.dims[2]:][:src.dims[2]]
				dst := out.data[o : o+len(maps[2])]
				for x, w := range maps[2] {
					dst[x] = row[w]
				}
				o += len(maps[2])
			}
		}
	})
	return out
}

// preimage returns the destination range whose sources fall in [lo,hi] of
// a monotone index map; when the resize skips that whole range it returns
// the destination whose source is nearest (ties to the lower one), so a
// prompt is never lost.
func preimage(m []int, lo, hi int) (int, int) {
	a, b := -1, -1
	for dst, src := range m {
		if src >= lo && src <= hi {
			if a < 0 {
				a = dst
			}
			b = dst
		}
	}
	if a >= 0 {
		return a, b
	}
	best := 0
	for dst, src := range m {
		if dist(src, lo, hi) < dist(m[best], lo, hi) {
			best = dst
		}
	}
	return best, best
}

// dist is how far x lies outside [lo,hi].
func dist(x, lo, hi int) int { return max(lo-x, x-hi, 0) }
