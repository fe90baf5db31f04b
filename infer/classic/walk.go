package classic

import (
	"context"
	"math"

	"github.com/segvolapp/segvol/infer"
	"github.com/segvolapp/segvol/infer/morph"
	"github.com/segvolapp/segvol/internal/parallel"
)

// walk solves the random walker with an intensity prior: the probability x
// of the target minimises the sum over face edges of w·(x_a-x_b)² plus,
// per voxel, prior·(l·(x-1)² + (1-l)·x²), where l is the voxel's
// likelihood under the target's intensity model; seeds are fixed. The prior
// makes a box alone useful and the system well conditioned. Conjugate
// gradients with a Jacobi preconditioner solve it.
func (w *work) walk(ctx context.Context) error {
	n := w.len()
	stride := [3]int{1, w.g[0], w.g[0] * w.g[1]}
	// Edge weights along each axis, scaled by 1/spacing² as a Laplacian is.
	var ew [3][]float32
	minSp := min(w.sp[0], w.sp[1], w.sp[2])
	for a := range 3 {
		ew[a] = make([]float32, n)
		scale := sq(minSp / w.sp[a])
		for m := range n {
			if (m/stride[a])%w.g[a] == w.g[a]-1 {
				continue
			}
			d := float64(w.v[m]-w.v[m+stride[a]]) / edgeHU
			ew[a][m] = float32(scale * math.Exp(-d*d/2))
		}
	}
	w.x = make([]float32, n)
	var free []int32
	like := make([]float32, n)
	for m := range n {
		d := (float64(w.v[m]) - w.mu) / (2 * w.sd)
		like[m] = float32(math.Exp(-d * d / 2))
		switch w.seeds[m] {
		case fgSeed:
			w.x[m] = 1
		case unknown:
			free = append(free, int32(m))
		}
	}
	if len(free) == 0 {
		return nil
	}
	// Diagonal and right-hand side of the free voxels' system.
	diag := make([]float32, n)
	b := make([]float32, n)
	for _, m := range free {
		var dg, rhs float32
		for a := range 3 {
			s := stride[a]
			c := (int(m) / s) % w.g[a]
			if c > 0 {
				wt := ew[a][int(m)-s]
				dg += wt
				if w.seeds[int(m)-s] == fgSeed {
					rhs += wt
				}
			}
			if c < w.g[a]-1 {
				wt := ew[a][m]
				dg += wt
				if w.seeds[int(m)+s] == fgSeed {
					rhs += wt
				}
			}
		}
		diag[m] = dg + prior
		b[m] = rhs + prior*like[m]
		w.x[m] = like[m]
	}
	// apply computes y = A·p over the free voxels; p is zero at the seeds.
	apply := func(y, p []float32) {
		for _, m := range free {
			s := diag[m] * p[m]
			if m > 0 {
				s -= ew[0][m-1] * p[m-1]
			}
			s -= ew[0][m] * safe(p, int(m)+1)
			for a := 1; a < 3; a++ {
				st := int32(stride[a])
				if m >= st {
					s -= ew[a][m-st] * p[m-st]
				}
				s -= ew[a][m] * safe(p, int(m+st))
			}
			y[m] = s
		}
	}
	r := make([]float32, n)
	z := make([]float32, n)
	p := make([]float32, n)
	ap := make([]float32, n)
	// Seeds take part through b only: a copy of x that is zero at them.
	xf := make([]float32, n)
	for _, m := range free {
		xf[m] = w.x[m]
	}
	apply(ap, xf)
	var rz, bnorm float64
	for _, m := range free {
		r[m] = b[m] - ap[m]
		z[m] = r[m] / diag[m]
		p[m] = z[m]
		rz += float64(r[m] * z[m])
		bnorm += float64(b[m] * b[m])
	}
	tol := cgTol * cgTol * bnorm
	for it := 0; it < cgMaxIter; it++ {
		if it%16 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		apply(ap, p)
		var pap float64
		for _, m := range free {
			pap += float64(p[m] * ap[m])
		}
		if pap <= 0 {
			break
		}
		alpha := float32(rz / pap)
		var rr, rzNew float64
		for _, m := range free {
			xf[m] += alpha * p[m]
			r[m] -= alpha * ap[m]
			z[m] = r[m] / diag[m]
			rr += float64(r[m] * r[m])
			rzNew += float64(r[m] * z[m])
		}
		if rr <= tol {
			break
		}
		beta := float32(rzNew / rz)
		rz = rzNew
		for _, m := range free {
			p[m] = z[m] + beta*p[m]
		}
	}
	for _, m := range free {
		w.x[m] = xf[m]
	}
	return nil
}

// safe reads p[i], or 0 past its end (the weight there is 0 anyway).
func safe(p []float32, i int) float32 {
	if i < len(p) {
		return p[i]
	}
	return 0
}

// clean thresholds x, keeps the parts joined to a foreground seed and
// fills enclosed holes; x is then nudged to agree with the mask so that
// upsampling it keeps the cleaned shape with a smooth surface.
func (w *work) clean() {
	n := w.len()
	w.mask = make([]uint8, n)
	for m := range n {
		if w.seeds[m] == fgSeed || (w.seeds[m] == unknown && w.x[m] > 0.5) {
			w.mask[m] = 1
		}
	}
	labels, sizes := morph.Components(w.mask, w.g, morph.Faces)
	keep := make([]bool, len(sizes)+1)
	for m := range n {
		if w.seeds[m] == fgSeed {
			keep[labels[m]] = true
		}
	}
	for m, l := range labels {
		if !keep[l] {
			w.mask[m] = 0
		}
	}
	morph.FillHoles(w.mask, w.g)
	for m := range n {
		if w.mask[m] != 0 {
			w.x[m] = max(w.x[m], 0.75)
		} else {
			w.x[m] = min(w.x[m], 0.25)
		}
	}
}

// paste writes the mask into out over the box (or click region): directly
// on the native grid, else by trilinear interpolation of x from the block
// centres, which smooths the staircase of the coarse grid.
func (w *work) paste(img infer.Image, out []uint8) {
	var lo, hi [3]int
	for a := range 3 {
		lo[a], hi[a] = -1, -1
		for c, in := range w.in[a] {
			if in {
				if lo[a] < 0 {
					lo[a] = w.roi.Min[a] + c*w.f[a]
				}
				hi[a] = min(w.roi.Min[a]+(c+1)*w.f[a]-1, w.roi.Max[a])
			}
		}
	}
	// Per axis, each fine index's two block neighbours and weight.
	type tap struct {
		c0, c1 int
		t      float32
	}
	taps := func(a int) []tap {
		out := make([]tap, hi[a]-lo[a]+1)
		for i := range out {
			pos := (float64(lo[a]+i-w.roi.Min[a]) - float64(w.f[a]-1)/2) / float64(w.f[a])
			c0 := int(math.Floor(pos))
			t := pos - float64(c0)
			if c0 < 0 {
				c0, t = 0, 0
			}
			if c0 >= w.g[a]-1 {
				c0, t = w.g[a]-1, 0
			}
			out[i] = tap{c0, min(c0+1, w.g[a]-1), float32(t)}
		}
		return out
	}
	tx, ty, tz := taps(0), taps(1), taps(2)
	// Runs of fine columns between the same two block centres: where both
	// lie on one side of 0.5, the whole run does too.
	type run struct{ start, end, c0, c1 int }
	var runs []run
	for i, x := range tx {
		if len(runs) > 0 && runs[len(runs)-1].c0 == x.c0 {
			runs[len(runs)-1].end = i + 1
			continue
		}
		runs = append(runs, run{i, i + 1, x.c0, x.c1})
	}
	plane := w.g[0] * w.g[1]
	// Fine slices are independent: split them over the CPUs.
	parallel.For(len(tz), func(k0, k1 int) {
		row := make([]float32, w.g[0])
		for k := k0; k < k1; k++ {
			z := tz[k]
			for j, y := range ty {
				// Interpolate across rows and slices once per block column.
				r00, r01 := z.c0*plane+y.c0*w.g[0], z.c0*plane+y.c1*w.g[0]
				r10, r11 := z.c1*plane+y.c0*w.g[0], z.c1*plane+y.c1*w.g[0]
				for c := range w.g[0] {
					a := w.x[r00+c] + y.t*(w.x[r01+c]-w.x[r00+c])
					b := w.x[r10+c] + y.t*(w.x[r11+c]-w.x[r10+c])
					row[c] = a + z.t*(b-a)
				}
				dst := out[img.Offset(lo[0], lo[1]+j, lo[2]+k):]
				for _, r := range runs {
					a, b := row[r.c0], row[r.c1]
					if (a > 0.5) == (b > 0.5) {
						var v uint8
						if a > 0.5 {
							v = 1
						}
						seg := dst[r.start:r.end]
						for i := range seg {
							seg[i] = v
						}
						continue
					}
					for i := r.start; i < r.end; i++ {
						var v uint8
						if a+tx[i].t*(b-a) > 0.5 {
							v = 1
						}
						dst[i] = v
					}
				}
			}
		}
	})
}
