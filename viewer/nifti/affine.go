package nifti

import "math"

// mat4 is a row-major index-to-RAS affine, as NIfTI's sform stores it.
type mat4 = [4][4]float64

// bestAffine chooses the index-to-RAS matrix the way nibabel's
// get_best_affine does: the sform when its code is set, else the qform when
// its code is set, else a scaling-only matrix centred on the grid.
func (h *header) bestAffine() mat4 {
	switch {
	case h.sformCode > 0:
		return h.sform()
	case h.qformCode > 0:
		return h.qform()
	}
	return h.fallback()
}

func (h *header) sform() mat4 {
	var m mat4
	copy(m[:3], h.srow[:])
	m[3][3] = 1
	return m
}

// qform builds the affine from the quaternion, the voxel sizes and qfac.
func (h *header) qform() mat4 {
	b, c, d := h.quatern[0], h.quatern[1], h.quatern[2]
	a2 := 1 - (b*b + c*c + d*d)
	a := 0.0
	if a2 > 0 {
		a = math.Sqrt(a2)
	} else {
		// Rounding pushed b,c,d past unit length: a 180-degree rotation.
		n := math.Sqrt(b*b + c*c + d*d)
		b, c, d = b/n, c/n, d/n
	}
	r := quatToMat(a, b, c, d)
	// nibabel treats any pixdim[0] other than -1 as 1 (it "fixes" it on load).
	qfac := 1.0
	if h.pixdim[0] == -1 {
		qfac = -1
	}
	zoom := [3]float64{h.pixdim[1], h.pixdim[2], qfac * h.pixdim[3]}
	var m mat4
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			m[i][j] = r[i][j] * zoom[j]
		}
		m[i][3] = h.qoffset[i]
	}
	m[3][3] = 1
	return m
}

// fallback is nibabel's affine for a header with neither form: voxel sizes
// on the diagonal, x flipped (radiological Analyze convention), and the
// grid's centre at the origin.
func (h *header) fallback() mat4 {
	var m mat4
	for i := 0; i < 3; i++ {
		zoom := 1.0
		if i < h.ndim {
			zoom = h.pixdim[i+1]
		}
		if i == 0 {
			zoom = -zoom
		}
		m[i][i] = zoom
		m[i][3] = -float64(h.dim[i]-1) / 2 * zoom
	}
	m[3][3] = 1
	return m
}

// quatToMat is the rotation of the unit quaternion (a, b, c, d).
func quatToMat(a, b, c, d float64) [3][3]float64 {
	return [3][3]float64{
		{a*a + b*b - c*c - d*d, 2 * (b*c - a*d), 2 * (b*d + a*c)},
		{2 * (b*c + a*d), a*a + c*c - b*b - d*d, 2 * (c*d - a*b)},
		{2 * (b*d - a*c), 2 * (c*d + a*b), a*a + d*d - b*b - c*c},
	}
}

// qformOf is the qform that best represents an affine: voxel sizes, qfac,
// and the quaternion of the rotation nearest to the (possibly sheared)
// direction matrix. The sform written beside it stays exact.
func qformOf(m mat4) (quat [3]float64, zooms [3]float64, qfac float64) {
	var r [3][3]float64
	for j := 0; j < 3; j++ {
		zooms[j] = math.Sqrt(m[0][j]*m[0][j] + m[1][j]*m[1][j] + m[2][j]*m[2][j])
		for i := 0; i < 3; i++ {
			r[i][j] = m[i][j] / zooms[j]
		}
	}
	qfac = 1
	if det3(r) < 0 { // a left-handed grid: flip k so the rest is a rotation
		qfac = -1
		for i := 0; i < 3; i++ {
			r[i][2] = -r[i][2]
		}
	}
	q := nearestRotation(r)
	_, b, c, d := matToQuat(q)
	return [3]float64{b, c, d}, zooms, qfac
}

// nearestRotation is the orthogonal polar factor of a non-singular matrix,
// by Newton's iteration X <- (X + X^-T)/2, which converges quadratically.
func nearestRotation(x [3][3]float64) [3][3]float64 {
	for it := 0; it < 100; it++ {
		inv, ok := inverse3(x)
		if !ok {
			break
		}
		var next [3][3]float64
		change := 0.0
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				next[i][j] = (x[i][j] + inv[j][i]) / 2
				change = math.Max(change, math.Abs(next[i][j]-x[i][j]))
			}
		}
		x = next
		if change < 1e-15 {
			break
		}
	}
	return x
}

// matToQuat is the unit quaternion of a rotation matrix, with a >= 0 since
// NIfTI stores only b, c, d and recomputes a as the positive root.
func matToQuat(r [3][3]float64) (a, b, c, d float64) {
	tr := r[0][0] + r[1][1] + r[2][2]
	// Branch on the largest of the four to divide by a value well away from 0.
	switch {
	case tr > 0:
		s := 2 * math.Sqrt(1+tr)
		a, b, c, d = s/4, (r[2][1]-r[1][2])/s, (r[0][2]-r[2][0])/s, (r[1][0]-r[0][1])/s
	case r[0][0] >= r[1][1] && r[0][0] >= r[2][2]:
		s := 2 * math.Sqrt(1+r[0][0]-r[1][1]-r[2][2])
		a, b, c, d = (r[2][1]-r[1][2])/s, s/4, (r[0][1]+r[1][0])/s, (r[0][2]+r[2][0])/s
	case r[1][1] >= r[2][2]:
		s := 2 * math.Sqrt(1+r[1][1]-r[0][0]-r[2][2])
		a, b, c, d = (r[0][2]-r[2][0])/s, (r[0][1]+r[1][0])/s, s/4, (r[1][2]+r[2][1])/s
	default:
		s := 2 * math.Sqrt(1+r[2][2]-r[0][0]-r[1][1])
		a, b, c, d = (r[1][0]-r[0][1])/s, (r[0][2]+r[2][0])/s, (r[1][2]+r[2][1])/s, s/4
	}
	if a < 0 {
		a, b, c, d = -a, -b, -c, -d
	}
	return a, b, c, d
}

func det3(m [3][3]float64) float64 {
	return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
}

func inverse3(m [3][3]float64) ([3][3]float64, bool) {
	det := det3(m)
	if det == 0 || math.IsNaN(det) || math.IsInf(det, 0) {
		return m, false
	}
	var inv [3][3]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			// Cofactor of m[j][i] (transposed adjugate), cyclic indices.
			j1, j2 := (j+1)%3, (j+2)%3
			i1, i2 := (i+1)%3, (i+2)%3
			inv[i][j] = (m[j1][i1]*m[j2][i2] - m[j1][i2]*m[j2][i1]) / det
		}
	}
	return inv, true
}
