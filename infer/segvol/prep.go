package segvol

import (
	"errors"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/segvolapp/segvol/infer"
	"github.com/segvolapp/segvol/internal/parallel"
)

// norm is SegVol's intensity normalisation, a monotone map of a real voxel
// value into [0,1] fixed by statistics of the whole image.
type norm struct {
	slope, intercept float64 // stored -> real
	lo, hi           float64 // clipping bounds: foreground percentiles 0.05 and 99.95
	mu, sd           float64 // foreground mean and population std, before clipping
	smin, span       float64 // min-max of the standardised image
}

// errNoForeground is returned for images with no voxel above their mean.
var errNoForeground = errors.New("image is constant: no voxel lies above its mean, nothing to segment")

// apply maps a real value to [0,1]: clip, standardise, min-max.
func (n *norm) apply(real float64) float64 {
	return (n.standard(real) - n.smin) / n.span
}

func (n *norm) standard(real float64) float64 {
	return (min(max(real, n.lo), n.hi) - n.mu) / max(n.sd, 1e-8)
}

// newNorm computes the statistics in float64 on real values (stored*slope+
// intercept), as numpy does on a float64 array.
func newNorm(img infer.Image) (*norm, error) {
	switch v := img.Voxels.(type) {
	case []uint8:
		return normHist(v, img.Slope, img.Intercept, 0)
	case []int8:
		return normHist(v, img.Slope, img.Intercept, -128)
	case []uint16:
		return normHist(v, img.Slope, img.Intercept, 0)
	case []int16:
		return normHist(v, img.Slope, img.Intercept, -32768)
	case []uint32:
		return normSort(v, img.Slope, img.Intercept)
	case []int32:
		return normSort(v, img.Slope, img.Intercept)
	case []float32:
		return normSort(v, img.Slope, img.Intercept)
	case []float64:
		return normSort(v, img.Slope, img.Intercept)
	}
	return nil, errors.New("unsupported voxel type")
}

type number interface {
	~uint8 | ~int8 | ~uint16 | ~int16 | ~uint32 | ~int32 | ~float32 | ~float64
}

type small interface {
	~uint8 | ~int8 | ~uint16 | ~int16
}

// ranked is the foreground in ascending real order: n values, the k-th
// smallest, and every value with its multiplicity.
type ranked struct {
	n    int
	at   func(k int) float64
	each func(fn func(v float64, count int))
}

// normHist ranks 8- and 16-bit voxels with a histogram: linear time and no
// copy of the foreground.
func normHist[T small](v []T, slope, icpt float64, base int) (*norm, error) {
	n := &norm{slope: slope, intercept: icpt}
	hist := make([]int, 65536)
	var mu sync.Mutex
	parallel.For(len(v), func(lo, hi int) {
		part := make([]int, len(hist))
		for _, e := range v[lo:hi] {
			part[int(e)-base]++
		}
		mu.Lock()
		for b, c := range part {
			hist[b] += c
		}
		mu.Unlock()
	})
	var sum float64
	for b, c := range hist {
		if c > 0 {
			sum += float64(c) * n.real(float64(b+base))
		}
	}
	thr := sum / float64(len(v))
	// Bins in ascending real order (a negative slope reverses them).
	var bins []int
	for b, c := range hist {
		if c > 0 && n.real(float64(b+base)) > thr {
			bins = append(bins, b)
		}
	}
	if slope < 0 {
		slices.Reverse(bins)
	}
	cum := make([]int, len(bins)+1)
	for x, b := range bins {
		cum[x+1] = cum[x] + hist[b]
	}
	r := ranked{n: cum[len(bins)]}
	r.at = func(k int) float64 {
		x := sort.Search(len(bins), func(x int) bool { return cum[x+1] > k })
		return n.real(float64(bins[x] + base))
	}
	r.each = func(fn func(float64, int)) {
		for _, b := range bins {
			fn(n.real(float64(b+base)), hist[b])
		}
	}
	// The image's extremes in real values are its outermost filled bins.
	first := slices.IndexFunc(hist, func(c int) bool { return c > 0 })
	last := len(hist) - 1
	for hist[last] == 0 {
		last--
	}
	a, b := n.real(float64(first+base)), n.real(float64(last+base))
	return n.finish(r, [2]float64{min(a, b), max(a, b)})
}

// normSort ranks 32-bit and float voxels by sorting a copy of the
// foreground in its native type.
func normSort[T number](v []T, slope, icpt float64) (*norm, error) {
	n := &norm{slope: slope, intercept: icpt}
	var sum float64
	for _, e := range v {
		sum += n.real(float64(e))
	}
	thr := sum / float64(len(v))
	var fg []T
	for _, e := range v {
		if n.real(float64(e)) > thr {
			fg = append(fg, e)
		}
	}
	slices.Sort(fg)
	if slope < 0 {
		slices.Reverse(fg)
	}
	r := ranked{n: len(fg), at: func(k int) float64 { return n.real(float64(fg[k])) }}
	r.each = func(fn func(float64, int)) {
		for _, e := range fg {
			fn(n.real(float64(e)), 1)
		}
	}
	return n.finish(r, extremes(v, n))
}

func (n *norm) real(stored float64) float64 { return stored*n.slope + n.intercept }

// extremes returns the smallest and largest real values of the image.
func extremes[T number](v []T, n *norm) [2]float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, e := range v {
		r := n.real(float64(e))
		lo = min(lo, r)
		hi = max(hi, r)
	}
	return [2]float64{lo, hi}
}

// finish sets the percentiles, moments and the min-max of the standardised
// image, which as a monotone map takes them at the image's extreme values.
func (n *norm) finish(r ranked, ext [2]float64) (*norm, error) {
	if r.n == 0 {
		return nil, errNoForeground
	}
	n.lo = percentile(r, 0.05)
	n.hi = percentile(r, 99.95)
	var sum float64
	r.each(func(v float64, c int) { sum += float64(c) * v })
	n.mu = sum / float64(r.n)
	var ss float64
	r.each(func(v float64, c int) { d := v - n.mu; ss += float64(c) * d * d })
	n.sd = math.Sqrt(ss / float64(r.n))
	n.smin = n.standard(ext[0])
	n.span = max(n.standard(ext[1])-n.smin, 1e-8)
	return n, nil
}

// percentile is numpy's default ('linear') percentile p (0..100) of the
// ranked values, including its two-sided interpolation.
func percentile(r ranked, p float64) float64 {
	virtual := float64(r.n-1) * (p / 100)
	prev := math.Floor(virtual)
	gamma := virtual - prev
	k := int(prev)
	a := r.at(k)
	b := r.at(min(k+1, r.n-1))
	diff := b - a
	if gamma >= 0.5 {
		return b - diff*(1-gamma)
	}
	return a + diff*gamma
}

// volume3 is a float32 volume in [D,H,W] order (C order, W fastest).
type volume3 struct {
	data []float32
	dims [3]int // D, H, W
}

func (v *volume3) at(d, h, w int) float32 { return v.data[(d*v.dims[1]+h)*v.dims[2]+w] }

// prepared is the normalised image cropped to the bounding box of its
// voxels above 0, with the crop's start. The image's flat order i + I*(j +
// J*k) is already C order over [k,j,i], so the axis swap to [D,H,W] is only
// a renaming: (d,h,w) = (k,j,i).
type prepared struct {
	volume3
	origin [3]int // D, H, W
}

// prepare normalises and crops img (validated by the caller).
func prepare(img infer.Image) (*prepared, error) {
	n, err := newNorm(img)
	if err != nil {
		return nil, err
	}
	switch v := img.Voxels.(type) {
	case []uint8:
		return cropNorm(v, img.Dims, table[uint8](n, 0))
	case []int8:
		return cropNorm(v, img.Dims, table[int8](n, -128))
	case []uint16:
		return cropNorm(v, img.Dims, table[uint16](n, 0))
	case []int16:
		return cropNorm(v, img.Dims, table[int16](n, -32768))
	case []uint32:
		return cropNorm(v, img.Dims, direct[uint32](n))
	case []int32:
		return cropNorm(v, img.Dims, direct[int32](n))
	case []float32:
		return cropNorm(v, img.Dims, direct[float32](n))
	default:
		return cropNorm(img.Voxels.([]float64), img.Dims, direct[float64](n))
	}
}

// direct normalises a row of stored values into out.
func direct[T number](n *norm) func(row []T, out []float64) {
	return func(row []T, out []float64) {
		out = out[:len(row)]
		for x, e := range row {
			out[x] = n.apply(n.real(float64(e)))
		}
	}
}

// table is direct for 8- and 16-bit values, by lookup: the same numbers,
// computed once per possible value.
func table[T small](n *norm, base int) func(row []T, out []float64) {
	t := make([]float64, 65536)
	for x := range t {
		t[x] = n.apply(n.real(float64(x + base)))
	}
	return func(row []T, out []float64) {
		out = out[:len(row)]
		for x, e := range row {
			out[x] = t[int(e)-base]
		}
	}
}

// cropNorm crops v to the bounding box of its voxels that f normalises
// above 0 and normalises the crop; the slices are split across the CPUs.
func cropNorm[T number](v []T, dims [3]int, f func(row []T, out []float64)) (*prepared, error) {
	empty := [2][3]int{{dims[2], dims[1], dims[0]}, {-1, -1, -1}}
	lo, hi := empty[0], empty[1]
	var mu sync.Mutex
	parallel.For(dims[2], func(k0, k1 int) {
		plo, phi := empty[0], empty[1] // not lo, hi: other workers write them
		norm := make([]float64, dims[0])
		for k := k0; k < k1; k++ {
			for j := range dims[1] {
				f(v[dims[0]*(j+dims[1]*k):][:dims[0]], norm)
				// Only the row's first and last foreground voxels move the box.
				first := slices.IndexFunc(norm, func(x float64) bool { return x > 0 })
				if first < 0 {
					continue
				}
				last := len(norm) - 1
				for !(norm[last] > 0) { // not <= 0: NaN is not foreground
					last--
				}
				plo = [3]int{min(plo[0], k), min(plo[1], j), min(plo[2], first)}
				phi = [3]int{max(phi[0], k), max(phi[1], j), max(phi[2], last)}
			}
		}
		mu.Lock()
		for a := range 3 {
			lo[a], hi[a] = min(lo[a], plo[a]), max(hi[a], phi[a])
		}
		mu.Unlock()
	})
	if hi[0] < 0 {
		return nil, errNoForeground
	}
	p := &prepared{origin: lo}
	p.dims = [3]int{hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1}
	p.data = make([]float32, p.dims[0]*p.dims[1]*p.dims[2])
	parallel.For(p.dims[0], func(d0, d1 int) {
		norm := make([]float64, p.dims[2])
		for d := d0; d < d1; d++ {
			for h := range p.dims[1] {
				f(v[lo[2]+dims[0]*(lo[1]+h+dims[1]*(lo[0]+d)):][:p.dims[2]], norm)
				out := p.data[(d*p.dims[1]+h)*p.dims[2]:][:p.dims[2]]
				for w, x := range norm {
					out[w] = float32(x)
				}
			}
		}
	})
	return p, nil
}
