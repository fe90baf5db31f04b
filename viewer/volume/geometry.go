package volume

import (
	"errors"
	"fmt"
	"math"
)

// Geometry places the voxel grid in DICOM patient coordinates (LPS, mm).
//
// Axes[a] is the step in mm, in LPS, of one voxel along index axis a
// (0: column i, 1: row j, 2: slice k). The three are orthogonal for an
// ordinary acquisition; a gantry-tilted CT keeps its true, sheared slice
// axis here rather than being forced onto an orthogonal grid, so every voxel
// stays where the scanner put it.
type Geometry struct {
	Origin [3]float64    // LPS position of the centre of voxel (0,0,0)
	Axes   [3][3]float64 // LPS step vector of each index axis
}

// NewGeometry builds a geometry from an origin, voxel spacing and unit
// direction cosines (dir[a] is the LPS direction of index axis a).
func NewGeometry(origin, spacing [3]float64, dir [3][3]float64) Geometry {
	var g Geometry
	g.Origin = origin
	for a := 0; a < 3; a++ {
		for c := 0; c < 3; c++ {
			g.Axes[a][c] = dir[a][c] * spacing[a]
		}
	}
	return g
}

// Identity is 1 mm voxels along L, P and S with the origin at 0.
func Identity() Geometry {
	return NewGeometry([3]float64{}, [3]float64{1, 1, 1}, [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}})
}

// Spacing is the length in mm of each index step.
func (g Geometry) Spacing() [3]float64 {
	var s [3]float64
	for a := 0; a < 3; a++ {
		s[a] = norm(g.Axes[a])
	}
	return s
}

// Direction is the unit LPS direction of each index axis.
func (g Geometry) Direction() [3][3]float64 {
	var d [3][3]float64
	for a := 0; a < 3; a++ {
		n := norm(g.Axes[a])
		if n == 0 {
			continue
		}
		for c := 0; c < 3; c++ {
			d[a][c] = g.Axes[a][c] / n
		}
	}
	return d
}

// Sheared reports whether the index axes are not mutually orthogonal (a
// gantry tilt or a sheared NIfTI sform), to within 1e-4 of a right angle.
func (g Geometry) Sheared() bool {
	d := g.Direction()
	for a := 0; a < 3; a++ {
		for b := a + 1; b < 3; b++ {
			if math.Abs(dot(d[a], d[b])) > 1e-4 {
				return true
			}
		}
	}
	return false
}

// IndexToWorld maps a (fractional) voxel index to an LPS position in mm.
func (g Geometry) IndexToWorld(p [3]float64) [3]float64 {
	w := g.Origin
	for a := 0; a < 3; a++ {
		for c := 0; c < 3; c++ {
			w[c] += g.Axes[a][c] * p[a]
		}
	}
	return w
}

// WorldToIndex maps an LPS position in mm to a fractional voxel index.
func (g Geometry) WorldToIndex(w [3]float64) ([3]float64, error) {
	inv, err := g.inverse()
	if err != nil {
		return [3]float64{}, err
	}
	d := [3]float64{w[0] - g.Origin[0], w[1] - g.Origin[1], w[2] - g.Origin[2]}
	var p [3]float64
	for a := 0; a < 3; a++ {
		p[a] = inv[a][0]*d[0] + inv[a][1]*d[1] + inv[a][2]*d[2]
	}
	return p, nil
}

// ErrSingular is returned for a geometry whose axes do not span 3D space.
var ErrSingular = errors.New("geometry: index axes are degenerate")

// inverse returns the matrix that takes an LPS offset to index steps:
// row a of the result dotted with an offset gives index a.
func (g Geometry) inverse() ([3][3]float64, error) {
	// M has the axes as columns: w = M p. Its inverse rows are cross products
	// of the columns divided by the determinant.
	a, b, c := g.Axes[0], g.Axes[1], g.Axes[2]
	det := dot(a, cross(b, c))
	for _, v := range []float64{a[0], a[1], a[2], b[0], b[1], b[2], c[0], c[1], c[2]} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return [3][3]float64{}, fmt.Errorf("%w: non-finite axis", ErrSingular)
		}
	}
	scale := norm(a) * norm(b) * norm(c)
	if scale == 0 || math.Abs(det) < 1e-9*scale {
		return [3][3]float64{}, ErrSingular
	}
	r0, r1, r2 := cross(b, c), cross(c, a), cross(a, b)
	for i := 0; i < 3; i++ {
		r0[i] /= det
		r1[i] /= det
		r2[i] /= det
	}
	return [3][3]float64{r0, r1, r2}, nil
}

// Affine is the 4x4 index-to-LPS matrix (row-major: world = A * [i j k 1]).
func (g Geometry) Affine() [4][4]float64 {
	var m [4][4]float64
	for r := 0; r < 3; r++ {
		for a := 0; a < 3; a++ {
			m[r][a] = g.Axes[a][r]
		}
		m[r][3] = g.Origin[r]
	}
	m[3][3] = 1
	return m
}

// AffineRAS is the 4x4 index-to-RAS matrix as NIfTI's sform stores it: the
// LPS affine with its x and y rows negated.
func (g Geometry) AffineRAS() [4][4]float64 {
	m := g.Affine()
	for c := 0; c < 4; c++ {
		m[0][c] = -m[0][c]
		m[1][c] = -m[1][c]
	}
	// -0 prints as "-0" in JSON and tables; keep it clean.
	for r := 0; r < 2; r++ {
		for c := 0; c < 4; c++ {
			if m[r][c] == 0 {
				m[r][c] = 0
			}
		}
	}
	return m
}

// FromAffineRAS is the geometry of a NIfTI-style index-to-RAS matrix.
func FromAffineRAS(m [4][4]float64) Geometry {
	var g Geometry
	for a := 0; a < 3; a++ {
		g.Axes[a] = [3]float64{-m[0][a], -m[1][a], m[2][a]}
	}
	g.Origin = [3]float64{-m[0][3], -m[1][3], m[2][3]}
	return g
}

// Orientation is the three-letter code of the patient direction each index
// axis increases towards, by its dominant component, e.g. "LPS" for a
// standard axial DICOM series and "RAS" for a NIfTI stored in RAS order.
func (g Geometry) Orientation() string {
	pos := [3]byte{'L', 'P', 'S'}
	neg := [3]byte{'R', 'A', 'I'}
	out := make([]byte, 3)
	for a := 0; a < 3; a++ {
		best, bi := -1.0, 0
		for c := 0; c < 3; c++ {
			if v := math.Abs(g.Axes[a][c]); v > best {
				best, bi = v, c
			}
		}
		if g.Axes[a][bi] >= 0 {
			out[a] = pos[bi]
		} else {
			out[a] = neg[bi]
		}
	}
	return string(out)
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

func norm(a [3]float64) float64 { return math.Sqrt(dot(a, a)) }

func cross(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

// WorldToIndexMatrix is the 3x4 matrix that takes an LPS position (x, y, z,
// 1) to a fractional voxel index, the form renderers step through.
func (g Geometry) WorldToIndexMatrix() ([3][4]float64, error) {
	inv, err := g.inverse()
	if err != nil {
		return [3][4]float64{}, err
	}
	var m [3][4]float64
	for a := 0; a < 3; a++ {
		copy(m[a][:3], inv[a][:])
		m[a][3] = -dot(inv[a], g.Origin)
	}
	return m, nil
}
