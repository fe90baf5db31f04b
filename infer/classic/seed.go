package classic

import (
	"math"

	"github.com/segvolapp/segvol/infer"
	"github.com/segvolapp/segvol/infer/morph"
)

// seed marks foreground and background seeds and fits the intensity model.
func (w *work) seed(p infer.Prompt) {
	n := w.len()
	w.seeds = make([]uint8, n)
	for m := range n {
		if !w.inRegion(m) {
			w.seeds[m] = bgSeed
		}
	}
	w.mu, w.sd = math.NaN(), 20
	if p.Box != nil {
		w.autoSeed()
	}
	if math.IsNaN(w.mu) {
		// No box (Validate then asks for a positive click): the first
		// positive click's neighbourhood is the model.
		for _, c := range w.clicks {
			if c.Positive {
				w.mu, w.sd = w.stats(w.index(c.I, c.J, c.K), clickMM)
				break
			}
		}
	}
	if w.auto >= 0 {
		w.growCore()
	}
	for _, m := range w.core {
		w.seeds[m] = fgSeed
	}
	for m := range n {
		if w.seeds[m] == unknown && math.Abs(float64(w.v[m])-w.mu) > max(outlierK*w.sd, outlierHU) {
			w.seeds[m] = bgSeed
		}
	}
	// Clicks come last and in order: the user's word beats every guess.
	for _, c := range w.clicks {
		label := bgSeed
		if c.Positive {
			label = fgSeed
		}
		for _, m := range w.clickRegion(c) {
			w.seeds[m] = label
		}
	}
}

// autoSeed finds the deepest soft-tissue voxel near the box centre: the
// centre itself often lies outside the organ.
func (w *work) autoSeed() {
	n := w.len()
	soft := make([]uint8, n)
	for m := range n {
		if w.inRegion(m) && w.v[m] >= softLo && w.v[m] <= softHi {
			soft[m] = 1
		}
	}
	depth := morph.EDT(soft, w.g, w.sp, true)
	var centre [3]float64
	for a := range 3 {
		lo, hi := w.inSpan(a)
		centre[a] = float64(lo+hi) / 2
	}
	best, bestScore := -1, math.Inf(-1)
	for m, d := range depth {
		if soft[m] == 0 {
			continue
		}
		i, j, k := w.coords(m)
		off := [3]float64{float64(i) - centre[0], float64(j) - centre[1], float64(k) - centre[2]}
		dist := math.Sqrt(sq(off[0]*w.sp[0]) + sq(off[1]*w.sp[1]) + sq(off[2]*w.sp[2]))
		if s := math.Sqrt(d) - 0.25*dist; s > bestScore {
			best, bestScore = m, s
		}
	}
	if best < 0 {
		// No soft tissue in the box (a CT box in lung or bone): the box's
		// centre is the seed and its neighbourhood the model.
		w.auto = w.index(int(centre[0]), int(centre[1]), int(centre[2]))
		w.mu, w.sd = w.stats(w.auto, clickMM)
		return
	}
	w.auto = best
	w.mu, w.sd = w.stats(best, min(math.Sqrt(depth[best]), 10))
}

func sq(x float64) float64 { return x * x }

// stats is the mean and standard deviation (at least 6 HU) of the region's
// voxels within r mm of m.
func (w *work) stats(m int, r float64) (mu, sd float64) {
	var s, s2, cnt float64
	w.ball(m, r, func(q int) {
		if w.inRegion(q) {
			x := float64(w.v[q])
			s, s2, cnt = s+x, s2+x*x, cnt+1
		}
	})
	if cnt == 0 {
		return float64(w.v[m]), 20
	}
	mu = s / cnt
	return mu, max(6, math.Sqrt(max(0, s2/cnt-mu*mu)))
}

// ball calls fn for every working voxel within r mm of m (m itself always).
func (w *work) ball(m int, r float64, fn func(int)) {
	i0, j0, k0 := w.coords(m)
	var ext [3]int
	for a := range 3 {
		ext[a] = int(r / w.sp[a])
	}
	for k := max(0, k0-ext[2]); k <= min(w.g[2]-1, k0+ext[2]); k++ {
		for j := max(0, j0-ext[1]); j <= min(w.g[1]-1, j0+ext[1]); j++ {
			for i := max(0, i0-ext[0]); i <= min(w.g[0]-1, i0+ext[0]); i++ {
				d := sq(float64(i-i0)*w.sp[0]) + sq(float64(j-j0)*w.sp[1]) + sq(float64(k-k0)*w.sp[2])
				if d <= r*r {
					fn(w.index(i, j, k))
				}
			}
		}
	}
}

// growCore grows from the automatic seed through face neighbours within
// coreK deviations of the model, peels one layer off (the rim is where
// neighbours leak in), and cuts away what negative clicks claim.
func (w *work) growCore() {
	n := w.len()
	in := make([]uint8, n)
	lim := coreK * w.sd
	in[w.auto] = 1
	queue := []int{w.auto}
	for len(queue) > 0 {
		m := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		w.neighbours(m, func(q int) {
			if in[q] == 0 && w.inRegion(q) && math.Abs(float64(w.v[q])-w.mu) <= lim {
				in[q] = 1
				queue = append(queue, q)
			}
		})
	}
	depth := morph.EDT(in, w.g, w.sp, true)
	rim := sq(max(w.sp[0], w.sp[1], w.sp[2]))
	peeled := make([]uint8, n)
	for m, d := range depth {
		if d > rim {
			peeled[m] = 1
		}
	}
	peeled[w.auto] = 1
	labels, _ := morph.Components(peeled, w.g, morph.Faces)
	keep := labels[w.auto]
	for m, l := range labels {
		if l == keep {
			w.core = append(w.core, int32(m))
		}
	}
	w.cutCore(labels, keep)
}

// cutCore removes the core within clickMM of each negative click and
// keeps what stays joined to the automatic seed or a positive click: a leak
// through a neck goes, the rest of the core stays. A negative click on the
// automatic seed drops the core: the seed was wrong.
func (w *work) cutCore(labels []int32, keep int32) {
	in := make([]uint8, w.len())
	for _, m := range w.core {
		in[m] = 1
	}
	cut := false
	for _, c := range w.clicks {
		if m := w.index(c.I, c.J, c.K); !c.Positive && labels[m] == keep {
			cut = true
			w.ball(m, clickMM, func(q int) { in[q] = 0 })
		}
	}
	if !cut {
		return
	}
	if in[w.auto] == 0 {
		w.core = nil
		return
	}
	parts, _ := morph.Components(in, w.g, morph.Faces)
	ok := map[int32]bool{parts[w.auto]: true}
	for _, c := range w.clicks {
		if m := w.index(c.I, c.J, c.K); c.Positive && parts[m] != 0 {
			ok[parts[m]] = true
		}
	}
	kept := w.core[:0]
	for _, m := range w.core {
		if ok[parts[m]] {
			kept = append(kept, m)
		}
	}
	w.core = kept
}

// clickRegion is what a click stands for: the voxels within clickMM of it,
// connected to it through similar intensity.
func (w *work) clickRegion(c infer.Point) []int {
	start := w.index(c.I, c.J, c.K)
	near := map[int]bool{}
	w.ball(start, max(clickMM, min(w.sp[0], w.sp[1], w.sp[2])), func(q int) { near[q] = true })
	ref, lim := float64(w.v[start]), max(2.5*w.sd, 25)
	out := []int{start}
	seen := map[int]bool{start: true}
	for h := 0; h < len(out); h++ {
		w.neighbours(out[h], func(q int) {
			if near[q] && !seen[q] && math.Abs(float64(w.v[q])-ref) <= lim {
				seen[q] = true
				out = append(out, q)
			}
		})
	}
	return out
}

// neighbours calls fn for the face neighbours of m inside the grid.
func (w *work) neighbours(m int, fn func(int)) {
	i, j, k := w.coords(m)
	if i > 0 {
		fn(m - 1)
	}
	if i < w.g[0]-1 {
		fn(m + 1)
	}
	if j > 0 {
		fn(m - w.g[0])
	}
	if j < w.g[1]-1 {
		fn(m + w.g[0])
	}
	if k > 0 {
		fn(m - w.g[0]*w.g[1])
	}
	if k < w.g[2]-1 {
		fn(m + w.g[0]*w.g[1])
	}
}
