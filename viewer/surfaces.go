package viewer

import (
	"cmp"
	"context"
	"image/color"
	"math"
	"slices"
	"sync"
	"time"

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
	light *lightCopies
	// budget is the light copies' triangles in all; 0 is LightBudget
	// (tests lower it to lighten a small map).
	budget int
}

// LightBudget is the triangles, over all segments, of the light copies the
// 3D view draws while the mouse moves: a rasteriser's cost is per
// triangle, and 5M of them (60 structures of a 512x512x300 map) took 0.8 s
// a frame on the CPU.
const LightBudget = 300_000

// lightCopies are lighter copies of the surfaces (mesh.Cluster), built in
// the background, each for the Revision of the surface it lightens.
type lightCopies struct {
	mu       sync.Mutex
	copies   map[uint8]render.Surface
	want     []render.Surface // the latest surfaces, to lighten
	fraction float64          // of their triangles to remove
	changed  time.Time        // when want last differed from the surfaces before
	running  bool
	done     chan struct{} // closed when the running build ends
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
	ss.lighten(out)
	return out
}

// Light is ss (as Update returned them) with each surface replaced by its
// light copy where that has been built for the surface's revision: fewer
// than LightBudget triangles in all, for the frames drawn while the mouse
// moves. Surfaces whose copy is not ready yet come whole.
func (ss *Surfaces) Light(full []render.Surface) []render.Surface {
	out := make([]render.Surface, len(full))
	copy(out, full)
	if ss.light == nil {
		return out
	}
	ss.light.mu.Lock()
	defer ss.light.mu.Unlock()
	for i, s := range out {
		if c, ok := ss.light.copies[s.Label]; ok && c.Revision == s.Revision {
			out[i].Positions, out[i].Normals, out[i].Indices = c.Positions, c.Normals, c.Indices
			out[i].Revision = c.Revision | lightRevision
		}
	}
	return out
}

// lightRevision marks a light copy's Revision, so that a renderer keeping
// a copy of each mesh (render/gl) tells it from the full one.
const lightRevision = 1 << 63

// WaitLight waits for the light copies under way, if any.
func (ss *Surfaces) WaitLight() {
	if ss.light == nil {
		return
	}
	ss.light.mu.Lock()
	done := ss.light.done
	ss.light.mu.Unlock()
	if done != nil {
		<-done
	}
}

// lighten starts building, in the background, the light copies that the
// surfaces out lack, when their triangles exceed LightBudget: each
// surface of more than lightKeep triangles keeps the share of the budget
// its triangles have of the total. One build runs at a time, on the
// latest surfaces given.
func (ss *Surfaces) lighten(out []render.Surface) {
	total := 0
	for _, s := range out {
		total += len(s.Indices) / 3
	}
	budget := cmp.Or(ss.budget, LightBudget)
	if total <= budget {
		return
	}
	if ss.light == nil {
		ss.light = &lightCopies{copies: map[uint8]render.Surface{}}
	}
	lc := ss.light
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if !slices.EqualFunc(lc.want, out, sameSurface) {
		lc.changed = time.Now()
	}
	// A copy: the caller colours out's elements (ColorSurfaces).
	lc.want, lc.fraction = slices.Clone(out), 1-float64(budget)/float64(total)
	if !lc.running {
		lc.running, lc.done = true, make(chan struct{})
		go lc.run()
	}
}

// lightKeep is the size below which a surface is drawn whole while moving:
// decimating it would save little and lose its shape.
const lightKeep = 1000

// lightQuiet is how long the surfaces must stay unchanged before their
// light copies are built: while the user paints, each stroke rebuilds a
// segment, and lightening it again on the other core made the next
// stroke's rebuild 1.6x slower (BenchmarkSurfacesAfterStroke/liver-light);
// the copies are for turning the view, which comes after the painting.
const lightQuiet = time.Second

func sameSurface(a, b render.Surface) bool { return a.Label == b.Label && a.Revision == b.Revision }

// run builds the copies lc.want lacks, one at a time, until none is left,
// once the surfaces have been quiet for lightQuiet.
func (lc *lightCopies) run() {
	for {
		lc.mu.Lock()
		if wait := lightQuiet - time.Since(lc.changed); wait > 0 {
			lc.mu.Unlock()
			time.Sleep(wait)
			continue
		}
		var todo *render.Surface
		for i := range lc.want {
			s := &lc.want[i]
			if c, ok := lc.copies[s.Label]; len(s.Indices)/3 > lightKeep && (!ok || c.Revision != s.Revision) {
				todo = s
				break
			}
		}
		if todo == nil {
			lc.running = false
			close(lc.done)
			lc.mu.Unlock()
			return
		}
		s, fraction := *todo, lc.fraction
		lc.mu.Unlock()
		m := mesh.Cluster(mesh.Mesh{Label: s.Label, Positions: s.Positions, Normals: s.Normals, Triangles: s.Indices}, fraction)
		lc.mu.Lock()
		lc.copies[s.Label] = render.Surface{Label: s.Label, Positions: m.Positions, Normals: m.Normals, Indices: m.Triangles, Revision: s.Revision}
		lc.mu.Unlock()
	}
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
