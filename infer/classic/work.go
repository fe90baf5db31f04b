package classic

import (
	"math"

	"github.com/segvolapp/segvol/infer"
)

// Seed labels on the working grid.
const (
	unknown uint8 = iota
	fgSeed
	bgSeed
)

// work is one interaction on the working grid: the region of interest
// (the box or the clicks, widened by a background band), block-averaged by
// f along each axis.
type work struct {
	roi    infer.Box     // fine voxels covered by the grid
	in     [3][]bool     // per axis: does working voxel c lie in the box (or click region)
	f, g   [3]int        // block size, grid dims
	sp     [3]float64    // working spacing, mm
	v      []float32     // smoothed real values (HU for CT)
	seeds  []uint8       // unknown, fgSeed or bgSeed
	x      []float32     // random-walker probability of the target
	mask   []uint8       // final working-grid mask
	mu, sd float64       // intensity model of the target
	core   []int32       // the grown core, after any cut by negative clicks
	auto   int           // the automatic seed, -1 when none
	clicks []infer.Point // clicks in working-grid indices
	hasBox bool          // the region is the user's box
}

func newWork(img infer.Image, p infer.Prompt) (*work, error) {
	w := &work{auto: -1, hasBox: p.Box != nil}
	var region infer.Box
	widen := 0.0
	switch {
	case p.Box != nil:
		region = *p.Box
	default:
		// No box: the clicks and the mask being refined, widened, bound the
		// search.
		region = infer.Box{Min: img.Dims, Max: [3]int{-1, -1, -1}}
		widen = 20
	}
	grow := func(c [3]int) {
		for a := range 3 {
			region.Min[a] = min(region.Min[a], c[a])
			region.Max[a] = max(region.Max[a], c[a])
		}
	}
	for _, pt := range p.Points {
		if pt.Positive {
			grow([3]int{pt.I, pt.J, pt.K})
		}
	}
	if p.Box == nil && p.Previous != nil {
		n := 0
		for k := range img.Dims[2] {
			for j := range img.Dims[1] {
				for i := range img.Dims[0] {
					if p.Previous[n] != 0 {
						grow([3]int{i, j, k})
					}
					n++
				}
			}
		}
	}
	if region.Max[0] < 0 {
		return nil, infer.ErrNoPrompt
	}
	for a := range 3 {
		m := int(math.Ceil(widen / img.Spacing[a]))
		region.Min[a] = max(0, region.Min[a]-m)
		region.Max[a] = min(img.Dims[a]-1, region.Max[a]+m)
	}
	// Pick the block size from the region, then add the background band of
	// at least one working voxel.
	w.f = blockSize(region, img.Spacing)
	for a := range 3 {
		m := max(w.f[a], int(math.Ceil(marginMM/img.Spacing[a])))
		w.roi.Min[a] = max(0, region.Min[a]-m)
		w.roi.Max[a] = min(img.Dims[a]-1, region.Max[a]+m)
		w.sp[a] = img.Spacing[a] * float64(w.f[a])
	}
	w.v, w.g = img.BlockMean(w.roi, w.f)
	for a := range 3 {
		w.in[a] = make([]bool, w.g[a])
		any := false
		for c := range w.g[a] {
			centre := w.roi.Min[a] + c*w.f[a] + (w.f[a]-1)/2
			w.in[a][c] = centre >= region.Min[a] && centre <= region.Max[a]
			any = any || w.in[a][c]
		}
		if !any { // a region thinner than one block keeps the block it is in
			w.in[a][((region.Min[a]+region.Max[a])/2-w.roi.Min[a])/w.f[a]] = true
		}
	}
	w.smooth()
	for _, pt := range p.Points {
		// A negative click outside the grid (only positive ones widen it)
		// marks what is background already.
		if !w.roi.Contains(pt.I, pt.J, pt.K) {
			continue
		}
		w.clicks = append(w.clicks, infer.Point{I: (pt.I - w.roi.Min[0]) / w.f[0], J: (pt.J - w.roi.Min[1]) / w.f[1],
			K: (pt.K - w.roi.Min[2]) / w.f[2], Positive: pt.Positive})
	}
	if !img.HasBelow(airHU) {
		w.toPseudoHU()
	}
	return w, nil
}

// blockSize is the smallest isotropic-ish block that brings the region
// under workVoxels: the working spacing grows until it fits.
func blockSize(r infer.Box, sp [3]float64) [3]int {
	f := [3]int{1, 1, 1}
	t := min(sp[0], sp[1], sp[2])
	for {
		n := 1
		for a := range 3 {
			f[a] = max(1, int(math.Round(t/sp[a])))
			n *= (r.Max[a] - r.Min[a] + f[a]) / f[a]
		}
		if n <= workVoxels {
			return f
		}
		t *= 1.1
	}
}

func (w *work) len() int              { return w.g[0] * w.g[1] * w.g[2] }
func (w *work) index(i, j, k int) int { return i + w.g[0]*(j+w.g[1]*k) }
func (w *work) coords(n int) (i, j, k int) {
	return n % w.g[0], (n / w.g[0]) % w.g[1], n / (w.g[0] * w.g[1])
}

// inSpan is the first and last working voxel along axis a inside the box
// (or click region); newWork makes sure there is one.
func (w *work) inSpan(a int) (lo, hi int) {
	lo, hi = -1, -1
	for c, in := range w.in[a] {
		if in {
			if lo < 0 {
				lo = c
			}
			hi = c
		}
	}
	return lo, hi
}

func (w *work) inRegion(n int) bool {
	i, j, k := w.coords(n)
	return w.in[0][i] && w.in[1][j] && w.in[2][k]
}

// smooth applies a [1 2 1]/4 kernel along each axis: noise would otherwise
// pick the seed and cut the edges.
func (w *work) smooth() {
	tmp := make([]float32, len(w.v))
	stride := [3]int{1, w.g[0], w.g[0] * w.g[1]}
	for a := range 3 {
		if w.g[a] < 3 {
			continue
		}
		s := stride[a]
		for n := range w.v {
			c := (n / s) % w.g[a]
			lo, hi := n-s, n+s
			if c == 0 {
				lo = n
			}
			if c == w.g[a]-1 {
				hi = n
			}
			tmp[n] = (w.v[lo] + 2*w.v[n] + w.v[hi]) / 4
		}
		w.v, tmp = tmp, w.v
	}
}
