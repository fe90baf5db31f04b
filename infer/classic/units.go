package classic

import (
	"math"
	"slices"
)

// airHU: an image with real values below it holds air, so it is a CT in
// Hounsfield units; MR, PET and most parametric maps are non-negative.
const airHU = -500.0

// bandBins is the histogram resolution at which the target's band is found.
const bandBins = 64

// toPseudoHU rescales the working values of an image that is not in HU
// (MR, PET) so that the engine's HU tuning applies: the intensity band that
// best tells the target from its surroundings maps onto the soft-tissue
// window [softLo, softHi]. The target is what fills the middle of the box
// (or the positive clicks' neighbourhood) and the surroundings what lies on
// the region's rim, as with MedSAM's box prompt: the band is the run of
// histogram bins where the centre's share most exceeds the rim's.
func (w *work) toPseudoHU() {
	centre, rim := w.centreAndRim()
	var vals []float32
	for m := range w.len() {
		if w.inRegion(m) {
			vals = append(vals, w.v[m])
		}
	}
	slices.Sort(vals)
	vlo, vhi := float64(vals[len(vals)/200]), float64(vals[len(vals)-1-len(vals)/200])
	lo, hi := vlo, vhi
	if vhi > vlo {
		bin := func(x float32) int {
			return min(bandBins-1, max(0, int((float64(x)-vlo)/(vhi-vlo)*bandBins)))
		}
		var diff [bandBins]float64
		for _, m := range centre {
			diff[bin(w.v[m])] += 1 / float64(len(centre))
		}
		for _, m := range rim {
			diff[bin(w.v[m])] -= 1 / float64(len(rim))
		}
		// Kadane: the contiguous run of bins with the largest sum.
		best, bestA, bestB := 0.0, -1, -1
		sum, a := 0.0, 0
		for b, d := range diff {
			if sum <= 0 {
				sum, a = 0, b
			}
			sum += d
			if sum > best {
				best, bestA, bestB = sum, a, b
			}
		}
		if bestA >= 0 {
			width := (vhi - vlo) / bandBins
			lo, hi = vlo+float64(bestA)*width, vlo+float64(bestB+1)*width
		}
	}
	scale := 1.0
	if hi > lo {
		scale = (softHi - softLo) / (hi - lo)
	}
	for m, x := range w.v {
		w.v[m] = float32(softLo + (float64(x)-lo)*scale)
	}
}

// centreAndRim are the working voxels that stand for the target and for
// its surroundings. With a box: the region's inner half along every axis,
// and its outer tenth. Without one: the positive clicks' neighbourhoods,
// and the outer tenth of the region they widen.
func (w *work) centreAndRim() (centre, rim []int) {
	var lo, hi [3]int
	for a := range 3 {
		lo[a], hi[a] = w.inSpan(a)
	}
	for m := range w.len() {
		if !w.inRegion(m) {
			continue
		}
		c := [3]int{}
		c[0], c[1], c[2] = w.coords(m)
		d := 0.0 // 0 at the region's centre, 1 on its faces
		for a := range 3 {
			if hi[a] > lo[a] {
				d = max(d, math.Abs(2*float64(c[a]-lo[a])/float64(hi[a]-lo[a])-1))
			}
		}
		if d >= 0.8 {
			rim = append(rim, m)
		}
		if w.hasBox && d <= 0.5 {
			centre = append(centre, m)
		}
	}
	if !w.hasBox {
		for _, c := range w.clicks {
			if c.Positive {
				w.ball(w.index(c.I, c.J, c.K), clickMM, func(q int) { centre = append(centre, q) })
			}
		}
	}
	return centre, rim
}
