// Package rendertest builds the scenes that the renderers' tests draw and
// compare: closed surfaces whose pictures are known exactly, and volumes
// with shapes in them.
package rendertest

import (
	"image/color"
	"math"

	"github.com/segvolapp/segvol/render"
)

// Box is the closed surface of the box lo..hi (LPS mm): 8 corners, 12
// triangles counter-clockwise seen from outside, no normals (flat shaded).
func Box(lo, hi [3]float32, label uint8, c color.NRGBA) render.Surface {
	s := render.Surface{Label: label, Color: c, Revision: 1}
	for n := range 8 {
		for a := range 3 {
			v := lo[a]
			if n>>a&1 == 1 {
				v = hi[a]
			}
			s.Positions = append(s.Positions, v)
		}
	}
	// Each face's corners in order counter-clockwise from outside: corner n
	// has bit a set where it lies at hi on axis a.
	faces := [6][4]uint32{
		{0, 4, 6, 2}, // -x
		{1, 3, 7, 5}, // +x
		{0, 1, 5, 4}, // -y
		{2, 6, 7, 3}, // +y
		{0, 2, 3, 1}, // -z
		{4, 5, 7, 6}, // +z
	}
	for _, f := range faces {
		s.Indices = append(s.Indices, f[0], f[1], f[2], f[0], f[2], f[3])
	}
	return s
}

// Sphere is a UV sphere of radius r (mm) about c with per-vertex outward
// normals: rings x segments quads, closed at the poles.
func Sphere(c [3]float64, r float64, rings, segments int, label uint8, col color.NRGBA) render.Surface {
	s := render.Surface{Label: label, Color: col, Revision: 1}
	for i := 0; i <= rings; i++ {
		th := math.Pi * float64(i) / float64(rings)
		for j := 0; j < segments; j++ {
			ph := 2 * math.Pi * float64(j) / float64(segments)
			n := [3]float64{math.Sin(th) * math.Cos(ph), math.Sin(th) * math.Sin(ph), math.Cos(th)}
			for a := range 3 {
				s.Positions = append(s.Positions, float32(c[a]+r*n[a]))
				s.Normals = append(s.Normals, float32(n[a]))
			}
		}
	}
	at := func(i, j int) uint32 { return uint32(i*segments + j%segments) }
	for i := 0; i < rings; i++ {
		for j := 0; j < segments; j++ {
			a, b, cc, d := at(i, j), at(i+1, j), at(i+1, j+1), at(i, j+1)
			s.Indices = append(s.Indices, a, b, cc, a, cc, d)
		}
	}
	return s
}

// Ball is a volume of dims voxels of spacing mm, identity direction, origin
// at 0, holding out everywhere and in within radius mm of centre (LPS mm).
func Ball(dims [3]int, spacing, centre [3]float64, radius float64, in, out int16) *render.Volume {
	data := make([]int16, dims[0]*dims[1]*dims[2])
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				d := 0.0
				for a, x := range [3]int{i, j, k} {
					e := float64(x)*spacing[a] - centre[a]
					d += e * e
				}
				v := out
				if d <= radius*radius {
					v = in
				}
				data[i+dims[0]*(j+dims[1]*k)] = v
			}
		}
	}
	return &render.Volume{Dims: dims, Voxels: data, Slope: 1, Intercept: 0,
		WorldToIndex: [3][4]float64{{1 / spacing[0], 0, 0, 0}, {0, 1 / spacing[1], 0, 0}, {0, 0, 1 / spacing[2], 0}}}
}
