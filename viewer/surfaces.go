package viewer

import (
	"image/color"
	"math"

	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/viewer/volume"
)

// SurfaceBuilder builds the closed surface of every label present in a
// label map (indexed i + dims[0]*(j + dims[1]*k), placed by g) in patient
// space, one render.Surface per label value with Label set; colours are
// the caller's.
type SurfaceBuilder func(lab []uint8, dims [3]int, g volume.Geometry) []render.Surface

// BuildSurfaces is the surface extraction the 3D view and `segvol render
// --view 3d` use: the hook for the mesh engine (mesh/: smooth, closed
// surfaces), with VoxelFaces standing in until it is there.
var BuildSurfaces SurfaceBuilder = VoxelFaces

// ColorSurfaces gives each surface the colour of its label in colors
// (indexed by label value, as render.Labels'; alpha is the opacity, 0
// hides it); labels beyond colors are hidden.
func ColorSurfaces(ss []render.Surface, colors []color.NRGBA) {
	for i := range ss {
		c := color.NRGBA{}
		if v := int(ss[i].Label); v < len(colors) {
			c = colors[v]
		}
		ss[i].Color = c
	}
}

// SurfaceColors is the colour of each label's surface in the 3D view: its
// segment's colour at the segment's opacity where it is visible, whatever
// the slice overlay's opacity (which only tints the slices); the preview
// opaque in its colour.
func (e *Editor) SurfaceColors() []color.NRGBA {
	colors := make([]color.NRGBA, 256)
	for _, sg := range e.labels.Segments() {
		if sg.Visible {
			c := sg.Color
			c.A = uint8(math.Round(255 * sg.Opacity))
			colors[sg.Value] = c
		}
	}
	if e.preview != nil {
		colors[PreviewValue] = PreviewColor
		colors[PreviewValue].A = 255
	}
	return colors
}

// VoxelFaces is the crudest closed surface of each label: every face
// between a voxel of the label and one of another label (or the outside),
// as two triangles wound counter-clockwise seen from outside. It is exact
// (its enclosed volume is the voxels') but blocky and large.
func VoxelFaces(lab []uint8, dims [3]int, g volume.Geometry) []render.Surface {
	var out [256]*render.Surface
	nx, nxy := dims[0], dims[0]*dims[1]
	// The index-space corners of each face of a voxel, counter-clockwise
	// seen from outside in a right-handed grid; bit a of a corner is +1/2
	// along axis a, else -1/2.
	faces := [6][4]uint8{
		{0, 4, 6, 2}, {1, 3, 7, 5}, // -i, +i
		{0, 1, 5, 4}, {2, 6, 7, 3}, // -j, +j
		{0, 2, 3, 1}, {4, 5, 7, 6}, // -k, +k
	}
	a := g.Axes
	det := a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) - a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) + a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
	if det < 0 { // a left-handed grid mirrors the winding
		for f := range faces {
			faces[f][1], faces[f][3] = faces[f][3], faces[f][1]
		}
	}
	var corner [8][3]float64 // offset of each corner from the voxel centre
	for c := range 8 {
		for ax := range 3 {
			h := -0.5
			if c>>ax&1 == 1 {
				h = 0.5
			}
			for r := range 3 {
				corner[c][r] += h * a[ax][r]
			}
		}
	}
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				n := i + nx*j + nxy*k
				v := lab[n]
				if v == 0 {
					continue
				}
				differs := [6]bool{
					i == 0 || lab[n-1] != v, i == dims[0]-1 || lab[n+1] != v,
					j == 0 || lab[n-nx] != v, j == dims[1]-1 || lab[n+nx] != v,
					k == 0 || lab[n-nxy] != v, k == dims[2]-1 || lab[n+nxy] != v,
				}
				centre := g.IndexToWorld([3]float64{float64(i), float64(j), float64(k)})
				for f, d := range differs {
					if !d {
						continue
					}
					s := out[v]
					if s == nil {
						s = &render.Surface{Label: v}
						out[v] = s
					}
					base := uint32(len(s.Positions) / 3)
					for _, c := range faces[f] {
						for r := range 3 {
							s.Positions = append(s.Positions, float32(centre[r]+corner[c][r]))
						}
					}
					s.Indices = append(s.Indices, base, base+1, base+2, base, base+2, base+3)
				}
			}
		}
	}
	var ss []render.Surface
	for _, s := range out {
		if s != nil {
			ss = append(ss, *s)
		}
	}
	return ss
}
