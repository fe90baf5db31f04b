package viewer

import (
	"image/color"
	"math"

	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/viewer/volume"
)

// SurfaceBuilder builds the closed surface of one label of a label map
// (indexed i + dims[0]*(j + dims[1]*k), placed by g) in patient space, all
// of whose voxels lie in the inclusive index box lo..hi (so that a builder
// reads that box alone), with Label set; colours are the caller's.
type SurfaceBuilder func(lab []uint8, dims [3]int, g volume.Geometry, label uint8, lo, hi [3]int) render.Surface

// BuildSurface is the surface extraction the 3D view and `segvol render
// --view 3d` use: the hook for the mesh engine (mesh/: smooth, closed
// surfaces), with VoxelFaces standing in until it is there.
var BuildSurface SurfaceBuilder = VoxelFaces

// Surfaces keeps the surfaces of a label map's labels up to date,
// rebuilding after a change only the labels that had or have voxels in
// the changed box.
type Surfaces struct {
	dims  [3]int
	geom  volume.Geometry
	rev   uint64 // the render.Labels revision built from
	valid bool
	built map[uint8]*builtSurface
	count uint64 // builds, for each surface's Revision
}

type builtSurface struct {
	s      render.Surface
	lo, hi [3]int // the label's voxels' bounding box
}

// Update brings the surfaces up to l (read during the call) in the grid
// dims, g, and returns them ordered by label.
func (ss *Surfaces) Update(l *render.Labels, dims [3]int, g volume.Geometry) []render.Surface {
	if !ss.valid || ss.dims != dims || ss.geom != g || l.Changed == nil {
		ss.rebuild(l.Data, dims, g)
	} else if l.Revision != ss.rev {
		lo, hi, ok := l.Changed(ss.rev)
		if !ok {
			ss.rebuild(l.Data, dims, g)
		} else {
			ss.refresh(l.Data, lo, hi)
		}
	}
	ss.rev, ss.valid = l.Revision, true
	out := make([]render.Surface, 0, len(ss.built))
	for v := range 256 {
		if b := ss.built[uint8(v)]; b != nil {
			out = append(out, b.s)
		}
	}
	return out
}

// rebuild builds every label's surface.
func (ss *Surfaces) rebuild(lab []uint8, dims [3]int, g volume.Geometry) {
	ss.dims, ss.geom, ss.built = dims, g, map[uint8]*builtSurface{}
	boxes := labelBoxes(lab, dims, [3]int{}, [3]int{dims[0] - 1, dims[1] - 1, dims[2] - 1})
	for v, b := range boxes {
		ss.build(lab, uint8(v), b)
	}
}

// refresh rebuilds the labels with voxels in the box lo..hi now, and
// those whose surface reached into it before.
func (ss *Surfaces) refresh(lab []uint8, lo, hi [3]int) {
	for a := range 3 {
		lo[a], hi[a] = max(lo[a], 0), min(hi[a], ss.dims[a]-1)
		if hi[a] < lo[a] {
			return
		}
	}
	touched := map[uint8][2][3]int{} // label: the region that holds all of it now
	for v, b := range labelBoxes(lab, ss.dims, lo, hi) {
		if b.ok {
			touched[uint8(v)] = [2][3]int{lo, hi}
		}
	}
	for v, b := range ss.built {
		if overlaps(b.lo, b.hi, lo, hi) {
			touched[v] = [2][3]int{}
		}
	}
	for v := range touched {
		// The label now lies within its old box and the changed one.
		rlo, rhi := lo, hi
		if b := ss.built[v]; b != nil {
			for a := range 3 {
				rlo[a], rhi[a] = min(rlo[a], b.lo[a]), max(rhi[a], b.hi[a])
			}
		}
		delete(ss.built, v)
		ss.build(lab, v, labelBoxes(lab, ss.dims, rlo, rhi)[v])
	}
}

func (ss *Surfaces) build(lab []uint8, v uint8, b box) {
	if v == 0 || !b.ok {
		return
	}
	ss.count++
	s := BuildSurface(lab, ss.dims, ss.geom, v, b.lo, b.hi)
	s.Label, s.Revision = v, ss.count
	ss.built[v] = &builtSurface{s: s, lo: b.lo, hi: b.hi}
}

// box is an inclusive index box; ok is false for an empty one.
type box struct {
	lo, hi [3]int
	ok     bool
}

// labelBoxes is the bounding box of each label's voxels within lo..hi.
func labelBoxes(lab []uint8, dims [3]int, lo, hi [3]int) *[256]box {
	var out [256]box
	for k := lo[2]; k <= hi[2]; k++ {
		for j := lo[1]; j <= hi[1]; j++ {
			row := dims[0] * (j + dims[1]*k)
			for i := lo[0]; i <= hi[0]; i++ {
				v := lab[row+i]
				if v == 0 {
					continue
				}
				b := &out[v]
				p := [3]int{i, j, k}
				if !b.ok {
					b.lo, b.hi, b.ok = p, p, true
					continue
				}
				for a := range 3 {
					b.lo[a], b.hi[a] = min(b.lo[a], p[a]), max(b.hi[a], p[a])
				}
			}
		}
	}
	return &out
}

func overlaps(alo, ahi, blo, bhi [3]int) bool {
	for a := range 3 {
		if ahi[a] < blo[a] || bhi[a] < alo[a] {
			return false
		}
	}
	return true
}

// AllSurfaces builds the surface of every label of a label map at once,
// for a picture made once (segvol render --view 3d).
func AllSurfaces(lab []uint8, dims [3]int, g volume.Geometry) []render.Surface {
	var ss Surfaces
	return ss.Update(&render.Labels{Data: lab}, dims, g)
}

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

// VoxelFaces is the crudest closed surface of a label: every face between
// a voxel of the label and one of another label (or the outside), as two
// triangles wound counter-clockwise seen from outside. It is exact (its
// enclosed volume is the voxels') but blocky and large.
func VoxelFaces(lab []uint8, dims [3]int, g volume.Geometry, v uint8, lo, hi [3]int) render.Surface {
	s := render.Surface{Label: v}
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
	for k := lo[2]; k <= hi[2]; k++ {
		for j := lo[1]; j <= hi[1]; j++ {
			for i := lo[0]; i <= hi[0]; i++ {
				n := i + nx*j + nxy*k
				if lab[n] != v {
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
	return s
}
