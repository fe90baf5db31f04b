package viewer

import (
	"context"
	"image/color"
	"math"

	"github.com/segvolapp/segvol/mesh"
	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/viewer/volume"
)

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
	s := MeshSurface(lab, ss.dims, ss.geom, v, b.lo, b.hi)
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

// MeshSurface is the surface of label v, all of whose voxels lie in the
// inclusive index box lo..hi, in the map lab (indexed i + dims[0]*(j +
// dims[1]*k), placed by g), as 3D Slicer shows it (package mesh:
// marching cubes, then windowed sinc smoothing at Slicer's default factor),
// closed, in patient space. Only the box lo..hi is read: it is copied out
// with a voxel of background around it where the map has one, so that the
// surface is the one the whole map would give, and placed by g moved to
// the box.
func MeshSurface(lab []uint8, dims [3]int, g volume.Geometry, v uint8, lo, hi [3]int) render.Surface {
	var n [3]int
	for a := range 3 {
		lo[a], hi[a] = max(lo[a]-1, 0), min(hi[a]+1, dims[a]-1)
		n[a] = hi[a] - lo[a] + 1
	}
	sub := make([]uint8, n[0]*n[1]*n[2])
	for k := range n[2] {
		for j := range n[1] {
			row := lo[0] + dims[0]*(lo[1]+j+dims[1]*(lo[2]+k))
			copy(sub[n[0]*(j+n[1]*k):][:n[0]], lab[row:row+n[0]])
		}
	}
	m := g.Affine()
	origin := g.IndexToWorld([3]float64{float64(lo[0]), float64(lo[1]), float64(lo[2])})
	for r := range 3 {
		m[r][3] = origin[r]
	}
	// Extract fails only on a grid that does not match its labels or a
	// cancelled context, neither of which this one can be.
	ms, err := mesh.Extract(context.Background(), mesh.Grid{Labels: sub, Dims: n, IndexToWorld: m},
		mesh.Options{Labels: []uint8{v}, Smoothing: mesh.DefaultSmoothing})
	if err != nil || len(ms) == 0 {
		return render.Surface{Label: v}
	}
	return render.Surface{Label: v, Positions: ms[0].Positions, Normals: ms[0].Normals, Indices: ms[0].Triangles}
}
