package mesh

import (
	"math"

	"github.com/segvolapp/segvol/internal/parallel"
)

// smoothIterations is the order of the filter polynomial: 3D Slicer's 20.
const smoothIterations = 20

// smooth applies Taubin's windowed sinc filter (Taubin, Zhang and Golub,
// "Optimal surface smoothing as filter design", 1996) to a closed mesh in
// place, as vtkWindowedSincPolyDataFilter does: a polynomial in M = (I +
// W)/2, W taking each vertex to the mean of its neighbours, that
// approximates an ideal low-pass with a Hamming window. Unlike repeated
// averaging it keeps the low frequencies (the shape and its volume) and
// removes the staircase of the voxels.
//
// A frequency k in 0..2 of the Laplacian I - W is cos θ = 1 - k/2 for M;
// the filter is Σ c_i T_i(M), T_i the Chebyshev polynomials (T_i(cos θ) =
// cos iθ) and c_i the windowed Fourier coefficients of the pass band
// θ < θ_pb + σ, with σ set (as VTK sets it) so that the response at the
// pass band's edge is 1. The mesh is centred first on its constant
// component (the degree-weighted mean, W's left eigenvector), so that
// the filter's gain at k = 0, not exactly 1, cannot scale it.
func smooth(pos []float64, tri []uint32, passBand float64, n int) {
	nv := len(pos) / 3
	if nv == 0 || n < 1 {
		return
	}
	// Each undirected edge of a closed, consistently oriented mesh is one
	// directed edge a->b of exactly one triangle: those are a's
	// neighbours, each once.
	first := make([]int32, nv+1)
	for _, a := range tri {
		first[a+1]++
	}
	for v := range nv {
		first[v+1] += first[v]
	}
	nb := make([]uint32, len(tri))
	fill := append([]int32(nil), first[:nv]...)
	for t := 0; t < len(tri); t += 3 {
		for e := range 3 {
			a, b := tri[t+e], tri[t+(e+1)%3]
			nb[fill[a]] = b
			fill[a]++
		}
	}

	coef := sincCoefficients(passBand, n)
	var mean [3]float64
	for v := range nv {
		d := float64(first[v+1] - first[v])
		for a := range 3 {
			mean[a] += d * pos[3*v+a]
		}
	}
	for a := range 3 {
		mean[a] /= float64(len(tri))
	}
	for p := range pos {
		pos[p] -= mean[p%3]
	}

	// apply sets dst = 2*M*x - prev (prev nil: M*x) and acc += c*dst.
	// The terms are float32, centred coordinates in mm (1e-5 mm steps),
	// which halves the memory each pass reads; the sum stays float64.
	apply := func(dst, x, prev []float32, acc []float64, c float64) {
		parallel.For(nv, func(lo, hi int) {
			for v := lo; v < hi; v++ {
				var sx, sy, sz float32
				for _, u := range nb[first[v]:first[v+1]] {
					q := x[3*u : 3*u+3 : 3*u+3]
					sx += q[0]
					sy += q[1]
					sz += q[2]
				}
				// M*x = (x + W*x)/2
				s := 0.5 / float32(first[v+1]-first[v])
				p := x[3*v : 3*v+3 : 3*v+3]
				mx, my, mz := 0.5*p[0]+sx*s, 0.5*p[1]+sy*s, 0.5*p[2]+sz*s
				d := dst[3*v : 3*v+3 : 3*v+3]
				if prev == nil {
					d[0], d[1], d[2] = mx, my, mz
				} else {
					r := prev[3*v : 3*v+3 : 3*v+3]
					d[0], d[1], d[2] = 2*mx-r[0], 2*my-r[1], 2*mz-r[2]
				}
				a := acc[3*v : 3*v+3 : 3*v+3]
				a[0] += c * float64(d[0])
				a[1] += c * float64(d[1])
				a[2] += c * float64(d[2])
			}
		})
	}
	x0 := make([]float32, len(pos))
	for i, p := range pos {
		x0[i] = float32(p)
		pos[i] = coef[0] * p
	}
	x1 := make([]float32, len(pos))
	x2 := make([]float32, len(pos))
	apply(x1, x0, nil, pos, coef[1])
	for i := 2; i <= n; i++ {
		apply(x2, x1, x0, pos, coef[i])
		x0, x1, x2 = x1, x2, x0
	}
	for p := range pos {
		pos[p] += mean[p%3]
	}
}

// sincCoefficients are the n+1 windowed sinc Chebyshev coefficients for
// the pass band, its edge θ_pb moved by σ (Newton's method on σ) until
// the filter's response at θ_pb is 1 within 1e-3.
func sincCoefficients(passBand float64, n int) []float64 {
	thetaPB := math.Acos(1 - 0.5*passBand)
	coef := make([]float64, n+1)
	set := func(sigma float64) {
		for i := range coef {
			w := 0.54 + 0.46*math.Cos(float64(i)*math.Pi/float64(n+1))
			if i == 0 {
				coef[i] = w * (thetaPB + sigma) / math.Pi
			} else {
				coef[i] = 2 * w * math.Sin(float64(i)*(thetaPB+sigma)) / (float64(i) * math.Pi)
			}
		}
	}
	// response is the filter at θ_pb: Σ c_i cos(i θ_pb), and its
	// derivative with respect to σ.
	response := func(sigma float64) (f, df float64) {
		for i := range coef {
			w := 0.54 + 0.46*math.Cos(float64(i)*math.Pi/float64(n+1))
			c := math.Cos(float64(i) * thetaPB)
			if i == 0 {
				f += w * (thetaPB + sigma) / math.Pi * c
				df += w / math.Pi * c
			} else {
				f += 2 * w * math.Sin(float64(i)*(thetaPB+sigma)) / (float64(i) * math.Pi) * c
				df += 2 * w * math.Cos(float64(i)*(thetaPB+sigma)) / math.Pi * c
			}
		}
		return f, df
	}
	sigma := 0.0
	for range 500 {
		f, df := response(sigma)
		if math.Abs(f-1) < 1e-3 || df == 0 {
			break
		}
		sigma -= (f - 1) / df
	}
	set(sigma)
	return coef
}
