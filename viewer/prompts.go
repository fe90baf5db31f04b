package viewer

import (
	"errors"
	"math"

	"github.com/segvolapp/segvol/infer"
	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/viewer/mpr"
)

// Point is a click prompt, placed in patient space (LPS, mm).
type Point struct {
	ID       int
	World    [3]float64
	Positive bool
}

// Box is the 3D box prompt in fractional voxel indices. A drag in a view
// gives the two index axes of its plane; the third comes from a drag in
// another view or, until then, a depth around the slice (Guessed).
type Box struct {
	Lo, Hi  [3]float64
	Set     [3]bool
	Guessed int // the axis whose extent is a default depth; -1 for none
}

// Complete reports whether the box has all three extents (one may be a
// guessed depth).
func (b *Box) Complete() bool { return b != nil && b.Set[0] && b.Set[1] && b.Set[2] }

// ScreenMarker is a prompt point as it appears in one view.
type ScreenMarker struct {
	ID       int
	X, Y     float64
	Positive bool
}

// DefaultBoxDepthMM is the depth given to a box drawn in one view only.
const DefaultBoxDepthMM = 40

// Points are the click prompts in the order they were placed.
func (e *Editor) Points() []Point { return append([]Point(nil), e.points...) }

// Box is the box prompt, or nil.
func (e *Editor) Box() *Box {
	if e.box == nil {
		return nil
	}
	b := *e.box
	return &b
}

// Text is the structure name prompt ("" for none).
func (e *Editor) Text() string { return e.text }

// HasPrompt reports whether there is anything to segment from.
func (e *Editor) HasPrompt() bool {
	for _, p := range e.points {
		if p.Positive {
			return true
		}
	}
	return e.box.Complete() || e.text != ""
}

// AddPointAt places a click prompt on the voxel view o draws under screen
// point (x, y), at its centre, and returns its ID.
func (e *Editor) AddPointAt(o mpr.Orientation, x, y float64, positive bool) int {
	s := e.s
	w := s.views[o].ScreenToWorld(s.frame, s.cursor, x, y)
	if idx, ok := s.VoxelAt(o, x, y); ok {
		w = s.Volume.Geom.IndexToWorld([3]float64{float64(idx[0]), float64(idx[1]), float64(idx[2])})
	}
	e.nextID++
	e.points = append(e.points, Point{ID: e.nextID, World: w, Positive: positive})
	e.promptsChanged()
	return e.nextID
}

// RemovePrompt removes the point with the given ID, or the box for ID 0,
// and the preview, which was made from it.
func (e *Editor) RemovePrompt(id int) bool {
	if id == 0 {
		if e.box == nil {
			return false
		}
		e.box = nil
		e.promptRemoved()
		return true
	}
	for i, p := range e.points {
		if p.ID == id {
			e.points = append(e.points[:i], e.points[i+1:]...)
			e.promptRemoved()
			return true
		}
	}
	return false
}

// SetText sets the structure name prompt ("" removes it). Replacing or
// removing a name drops the preview made for it.
func (e *Editor) SetText(name string) {
	if name == e.text {
		return
	}
	old := e.text
	e.text = name
	if old != "" {
		e.promptRemoved()
		return
	}
	e.promptsChanged()
}

// ClearPrompts removes every prompt, and the preview made from them.
func (e *Editor) ClearPrompts() {
	if len(e.points) == 0 && e.box == nil && e.text == "" {
		return
	}
	e.points, e.box, e.text = nil, nil, ""
	e.promptRemoved()
}

// promptRemoved drops the preview before telling of the prompts' change:
// made from a prompt that is gone, it no longer shows what the prompts
// ask for, and accepting it would write that anyway. A new run (the
// app's auto-run) makes the preview of the prompts left.
func (e *Editor) promptRemoved() {
	if e.preview != nil {
		e.SetPreview(nil)
	}
	e.promptsChanged()
}

func (e *Editor) promptsChanged() {
	e.startObject() // before the observers, who show the prompts' segment
	e.s.notify(Change{What: PromptsChanged, Views: allViews})
}

// SetBoxFromDrag sets the box's extent on the two index axes of view o's
// plane from a drag between screen points (x0, y0) and (x1, y1): it spans
// the voxels drawn under the corners, edge to edge, so it holds exactly
// the voxels seen inside its outline. The axis along the view's normal
// keeps an extent another view gave, else gets DefaultBoxDepthMM around
// the slice.
func (e *Editor) SetBoxFromDrag(o mpr.Orientation, x0, y0, x1, y1 float64) error {
	s := e.s
	g := s.Volume.Geom
	var lo, hi [3]float64
	for a := range 3 {
		lo[a], hi[a] = math.Inf(1), math.Inf(-1)
	}
	for _, c := range [4][2]float64{{x0, y0}, {x1, y0}, {x0, y1}, {x1, y1}} {
		idx, ok := s.VoxelAt(o, c[0], c[1])
		if !ok {
			return errors.New("the box reaches too far outside the image")
		}
		for a := range 3 {
			lo[a], hi[a] = math.Min(lo[a], float64(idx[a])-0.5), math.Max(hi[a], float64(idx[a])+0.5)
		}
	}
	n := e.NormalAxis(o)
	b := e.box
	if b == nil {
		b = &Box{Guessed: -1}
	}
	for a := range 3 {
		if a != n {
			b.Lo[a], b.Hi[a], b.Set[a] = lo[a], hi[a], true
			if b.Guessed == a {
				b.Guessed = -1
			}
		}
	}
	if !b.Set[n] || b.Guessed == n {
		c, _ := g.WorldToIndex(s.cursor)
		half := DefaultBoxDepthMM / 2 / g.Spacing()[n]
		b.Lo[n], b.Hi[n], b.Set[n], b.Guessed = c[n]-half, c[n]+half, true, n
	}
	if hi[0]-lo[0] <= 1 && hi[1]-lo[1] <= 1 && hi[2]-lo[2] <= 1 {
		return errors.New("the box is one voxel: drag around the target")
	}
	e.box = b
	e.promptsChanged()
	return nil
}

// NormalAxis is the index axis most aligned with view o's normal: the
// one a slice of the view steps along.
func (e *Editor) NormalAxis(o mpr.Orientation) int {
	nrm := o.Normal()
	best, bestCos := 0, -1.0
	for a, ax := range e.s.Volume.Geom.Axes {
		l := math.Sqrt(ax[0]*ax[0] + ax[1]*ax[1] + ax[2]*ax[2])
		if c := math.Abs(ax[0]*nrm[0]+ax[1]*nrm[1]+ax[2]*nrm[2]) / l; c > bestCos {
			best, bestCos = a, c
		}
	}
	return best
}

// MarkersOn are the points that lie within half a slice of view o's plane,
// where they appear on its screen.
func (e *Editor) MarkersOn(o mpr.Orientation) []ScreenMarker {
	s := e.s
	v := s.views[o]
	nrm := o.Normal()
	half := s.frame.Step(nrm) / 2
	var out []ScreenMarker
	for _, p := range e.points {
		d := (p.World[0]-s.cursor[0])*nrm[0] + (p.World[1]-s.cursor[1])*nrm[1] + (p.World[2]-s.cursor[2])*nrm[2]
		if math.Abs(d) > half+1e-9 {
			continue
		}
		x, y := v.WorldToScreen(s.frame, s.cursor, p.World)
		out = append(out, ScreenMarker{ID: p.ID, X: x, Y: y, Positive: p.Positive})
	}
	return out
}

// MarkerAt is the ID of the point marker within radius pixels of (x, y)
// in view o.
func (e *Editor) MarkerAt(o mpr.Orientation, x, y, radius float64) (int, bool) {
	best, bestD := 0, radius
	for _, m := range e.MarkersOn(o) {
		if d := math.Hypot(m.X-x, m.Y-y); d <= bestD {
			best, bestD = m.ID, d
		}
	}
	return best, best != 0
}

// BoxOn is the box's outline in view o when the view's plane cuts it: the
// screen rectangle around its projected corners.
func (e *Editor) BoxOn(o mpr.Orientation) (x0, y0, x1, y1 float64, ok bool) {
	b := e.box
	if !b.Complete() {
		return 0, 0, 0, 0, false
	}
	s := e.s
	g := s.Volume.Geom
	n := e.NormalAxis(o)
	// Shown on the slices whose voxels the box holds (see Prompt).
	if c, err := g.WorldToIndex(s.cursor); err != nil || render.NearestVoxel(c[n]) < render.NearestVoxel(b.Lo[n]) || render.NearestVoxel(c[n]) > boxLast(b.Hi[n]) {
		return 0, 0, 0, 0, false
	}
	x0, y0, x1, y1 = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for c := range 8 {
		var idx [3]float64
		for a := range 3 {
			idx[a] = b.Lo[a]
			if c>>a&1 == 1 {
				idx[a] = b.Hi[a]
			}
		}
		x, y := s.views[o].WorldToScreen(s.frame, s.cursor, g.IndexToWorld(idx))
		x0, y0, x1, y1 = math.Min(x0, x), math.Min(y0, y), math.Max(x1, x), math.Max(y1, y)
	}
	return x0, y0, x1, y1, true
}

// Prompt is the AI prompt in voxel indices: the points inside the grid,
// the box (rounded outwards, clamped), the structure name and the current
// preview to refine.
func (e *Editor) Prompt() infer.Prompt {
	v := e.s.Volume
	var p infer.Prompt
	for _, pt := range e.points {
		idx, err := v.Geom.WorldToIndex(pt.World)
		if err != nil {
			continue
		}
		i, j, k := render.NearestVoxel(idx[0]), render.NearestVoxel(idx[1]), render.NearestVoxel(idx[2])
		if v.Contains(i, j, k) {
			p.Points = append(p.Points, infer.Point{I: i, J: j, K: k, Positive: pt.Positive})
		}
	}
	if b := e.box; b.Complete() {
		var ib infer.Box
		for a := range 3 {
			ib.Min[a] = min(max(render.NearestVoxel(b.Lo[a]), 0), v.Dims[a]-1)
			ib.Max[a] = min(max(boxLast(b.Hi[a]), 0), v.Dims[a]-1)
			ib.Max[a] = max(ib.Max[a], ib.Min[a])
		}
		p.Box = &ib
	}
	p.Text = e.text
	p.Previous = e.preview
	return p
}

// boxLast is the last voxel a box ending at fractional index hi holds: the
// one whose cell holds hi, unless hi is that cell's lower edge.
func boxLast(hi float64) int { return int(math.Ceil(hi - 0.5)) }

// Image is the study as an engine takes it (sharing the voxels).
func (s *Session) Image() infer.Image {
	v := s.Volume
	return infer.Image{Dims: v.Dims, Spacing: v.Geom.Spacing(), Voxels: v.Data, Slope: v.Slope, Intercept: v.Intercept}
}
