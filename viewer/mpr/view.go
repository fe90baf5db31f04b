// Package mpr is the toolkit-free model of the multiplanar views: for each
// of the axial, coronal and sagittal views, which plane of patient space it
// shows, how its pixels map to millimetres, and how scrolling, zooming and
// panning change that — what ITK-SNAP's GenericSliceModel is to its Qt
// widgets. The views are planes of patient space, not of the storage grid,
// so an oblique or tilted acquisition is shown in its true geometry.
package mpr

import (
	"fmt"
	"math"

	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/viewer/volume"
)

// Orientation names a view.
type Orientation int

// The three views, in the order the layouts show them.
const (
	Axial Orientation = iota
	Coronal
	Sagittal
)

func (o Orientation) String() string {
	switch o {
	case Axial:
		return "axial"
	case Coronal:
		return "coronal"
	case Sagittal:
		return "sagittal"
	}
	return fmt.Sprintf("orientation(%d)", int(o))
}

// ParseOrientation reads "axial", "coronal" or "sagittal".
func ParseOrientation(s string) (Orientation, error) {
	for _, o := range []Orientation{Axial, Coronal, Sagittal} {
		if o.String() == s {
			return o, nil
		}
	}
	return 0, fmt.Errorf("unknown view %q (want axial, coronal or sagittal)", s)
}

// Screen axes in LPS, in radiological convention: the patient's right on
// the screen's left, anterior up on axial, superior up on the others.
// right is the patient direction of screen +x, down of screen +y.
func (o Orientation) axes() (right, down [3]float64) {
	switch o {
	case Coronal:
		return [3]float64{1, 0, 0}, [3]float64{0, 0, -1}
	case Sagittal:
		return [3]float64{0, 1, 0}, [3]float64{0, 0, -1}
	}
	return [3]float64{1, 0, 0}, [3]float64{0, 1, 0}
}

// Normal is the patient direction a view looks along (slice +1 moves the
// plane this way).
func (o Orientation) Normal() [3]float64 {
	switch o {
	case Coronal:
		return [3]float64{0, 1, 0} // towards posterior
	case Sagittal:
		return [3]float64{1, 0, 0} // towards the patient's left
	}
	return [3]float64{0, 0, 1} // towards superior
}

// Edges are the orientation letters at the left, right, top and bottom of
// the view.
func (o Orientation) Edges() (left, right, top, bottom string) {
	r, d := o.axes()
	return letter(r, false), letter(r, true), letter(d, false), letter(d, true)
}

func letter(v [3]float64, positive bool) string {
	pos, neg := [3]string{"L", "P", "S"}, [3]string{"R", "A", "I"}
	for c := 0; c < 3; c++ {
		if v[c] != 0 {
			if (v[c] > 0) == positive {
				return pos[c]
			}
			return neg[c]
		}
	}
	return ""
}

// View is one slice view: its orientation, its size in pixels and the
// user's zoom and pan. The plane's depth comes from the shared cursor.
type View struct {
	Orient        Orientation
	Width, Height int
	Zoom          float64    // 1 fits the study in the view
	Pan           [2]float64 // mm the study centre is moved right and down
}

// Frame is what a view needs to know of the study: its extent in patient
// space and the spacing to step by.
type Frame struct {
	Geom volume.Geometry
	Dims [3]int
}

// Bounds is the patient-space box of the grid's corners (voxel edges).
func (f Frame) Bounds() (lo, hi [3]float64) {
	lo = [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	hi = [3]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for c := 0; c < 8; c++ {
		p := [3]float64{-0.5, -0.5, -0.5}
		for a := 0; a < 3; a++ {
			if c&(1<<a) != 0 {
				p[a] = float64(f.Dims[a]) - 0.5
			}
		}
		w := f.Geom.IndexToWorld(p)
		for a := 0; a < 3; a++ {
			lo[a], hi[a] = math.Min(lo[a], w[a]), math.Max(hi[a], w[a])
		}
	}
	return lo, hi
}

// Centre is the centre of the study's patient-space box.
func (f Frame) Centre() [3]float64 {
	lo, hi := f.Bounds()
	return [3]float64{(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2}
}

// SliceAxis is the index axis a whose planes of constant index are
// parallel to planes of normal dir, so that a view along dir shows stored
// slices; -1 when dir is oblique to the grid (a tilted or oblique study).
// Those planes' normal is row a of the world-to-index matrix.
func (f Frame) SliceAxis(dir [3]float64) int {
	m, err := f.Geom.WorldToIndexMatrix()
	if err != nil {
		return -1
	}
	return sliceAxis(m, dir)
}

// sliceAxis is SliceAxis given the world-to-index matrix m.
func sliceAxis(m [3][4]float64, dir [3]float64) int {
	for a := 0; a < 3; a++ {
		row := [3]float64{m[a][0], m[a][1], m[a][2]}
		n := math.Sqrt(dot(row, row))
		if n > 0 && math.Abs(dot(row, dir))/n > 1-parallelTolerance {
			return a
		}
	}
	return -1
}

// parallelTolerance is how far from 1 the cosine between a view's normal
// and a grid plane's normal may be for the view to count as parallel to
// the grid: 1e-6 is 0.08 degrees, under a tenth of a voxel across 512
// voxels, the precision direction cosines are stored with.
const parallelTolerance = 1e-6

// Step is the distance in mm between slices along a patient direction:
// between planes of the voxel grid when a plane along it is parallel to
// them, else the length along it of one step of the index axis closest
// to it.
func (f Frame) Step(dir [3]float64) float64 {
	if m, err := f.Geom.WorldToIndexMatrix(); err == nil {
		if a := sliceAxis(m, dir); a >= 0 {
			return 1 / math.Abs(m[a][0]*dir[0]+m[a][1]*dir[1]+m[a][2]*dir[2])
		}
	}
	best, step := -1.0, 1.0
	for a := 0; a < 3; a++ {
		ax := f.Geom.Axes[a]
		n := math.Sqrt(ax[0]*ax[0] + ax[1]*ax[1] + ax[2]*ax[2])
		if n == 0 {
			continue
		}
		c := math.Abs(ax[0]*dir[0]+ax[1]*dir[1]+ax[2]*dir[2]) / n
		if c > best {
			best, step = c, n*c
		}
	}
	if step < 1e-6 {
		return 1
	}
	return step
}

// Snap moves p along the normal of every view parallel to the voxel grid
// onto the nearest plane of voxel centres (within the grid), as ITK-SNAP
// does: such a view then shows one stored slice, and the tools act on that
// slice, instead of a plane between two slices that the renderers' tie rule
// and a tool's rounding could resolve differently.
func (f Frame) Snap(p [3]float64) [3]float64 {
	m, err := f.Geom.WorldToIndexMatrix()
	if err != nil {
		return p
	}
	for _, o := range []Orientation{Axial, Coronal, Sagittal} {
		nrm := o.Normal()
		a := sliceAxis(m, nrm)
		if a < 0 {
			continue
		}
		idx := m[a][0]*p[0] + m[a][1]*p[1] + m[a][2]*p[2] + m[a][3]
		want := math.Max(0, math.Min(float64(render.NearestVoxel(idx)), float64(f.Dims[a]-1)))
		if math.Abs(want-idx) < 1e-9 {
			continue // there already, up to rounding: leave p exactly as it is
		}
		// Index a changes by rate per mm along the normal.
		rate := m[a][0]*nrm[0] + m[a][1]*nrm[1] + m[a][2]*nrm[2]
		for c := 0; c < 3; c++ {
			p[c] += nrm[c] * (want - idx) / rate
		}
	}
	return p
}

// MMPerPixel is the size of one screen pixel at the current zoom: at zoom 1
// the study's extent across the view fits the view's smaller side.
func (v View) MMPerPixel(f Frame) float64 {
	lo, hi := f.Bounds()
	r, d := v.Orient.axes()
	extent := func(dir [3]float64) float64 {
		s := 0.0
		for c := 0; c < 3; c++ {
			s += math.Abs(dir[c]) * (hi[c] - lo[c])
		}
		return s
	}
	mm := math.Max(extent(r)/float64(max(v.Width, 1)), extent(d)/float64(max(v.Height, 1)))
	zoom := v.Zoom
	if !(zoom > 0) {
		zoom = 1
	}
	if mm <= 0 {
		mm = 1
	}
	return mm / zoom
}

// Plane is the patient-space plane the view shows through the cursor.
func (v View) Plane(f Frame, cursor [3]float64) render.Plane {
	r, d := v.Orient.axes()
	mm := v.MMPerPixel(f)
	n := v.Orient.Normal()
	c := f.Centre()
	// The screen centre shows the study centre moved by the pan; the depth
	// is the cursor's.
	depth := dot(sub(cursor, c), n)
	var centre [3]float64
	for a := 0; a < 3; a++ {
		centre[a] = c[a] + n[a]*depth - r[a]*v.Pan[0] - d[a]*v.Pan[1]
	}
	// Pixel (x, y) centre is at centre + ((x+0.5) - W/2)*mm*r + ((y+0.5) - H/2)*mm*d.
	var p render.Plane
	for a := 0; a < 3; a++ {
		p.U[a], p.V[a] = r[a]*mm, d[a]*mm
		p.Origin[a] = centre[a] + (0.5-float64(v.Width)/2)*mm*r[a] + (0.5-float64(v.Height)/2)*mm*d[a]
	}
	return p
}

// ScreenToWorld is the patient position under screen point (x, y), in
// pixels from the view's top-left corner, on the plane through the cursor.
func (v View) ScreenToWorld(f Frame, cursor [3]float64, x, y float64) [3]float64 {
	p := v.Plane(f, cursor)
	var w [3]float64
	for a := 0; a < 3; a++ {
		w[a] = p.Origin[a] + (x-0.5)*p.U[a] + (y-0.5)*p.V[a]
	}
	return w
}

// WorldToScreen is where a patient position appears in the view (its
// projection onto the view's plane), in pixels from the top-left corner.
func (v View) WorldToScreen(f Frame, cursor [3]float64, w [3]float64) (x, y float64) {
	p := v.Plane(f, cursor)
	d := sub(w, p.Origin)
	mm := v.MMPerPixel(f)
	return dot(d, p.U)/(mm*mm) + 0.5, dot(d, p.V)/(mm*mm) + 0.5
}

// Slice is the 0-based number of the stored slice the view shows and how
// many the study has, when the view's plane is parallel to the voxel grid
// (stored true). An oblique plane cuts through several stored slices: it
// has no slice number, and Depth says where it is.
func (v View) Slice(f Frame, cursor [3]float64) (n, count int, stored bool) {
	a := f.SliceAxis(v.Orient.Normal())
	if a < 0 {
		return 0, 0, false
	}
	idx, err := f.Geom.WorldToIndex(cursor)
	if err != nil {
		return 0, 0, false
	}
	return max(0, min(render.NearestVoxel(idx[a]), f.Dims[a]-1)), f.Dims[a], true
}

// Depth is the plane's position along the view's normal, in mm from the
// origin of patient coordinates (z for axial, y for coronal, x for
// sagittal, LPS), and the letter of the direction it is on (S or I, P or
// A, L or R).
func (v View) Depth(cursor [3]float64) (mm float64, side string) {
	nrm := v.Orient.Normal()
	mm = dot(cursor, nrm)
	return mm, letter(nrm, mm >= 0)
}

// Planes is how many planes scrolling visits along the view's normal: the
// stored slices when the view is parallel to the voxel grid, else the
// study's extent along the normal in steps of Frame.Step.
func (v View) Planes(f Frame) int {
	if a := f.SliceAxis(v.Orient.Normal()); a >= 0 {
		return f.Dims[a]
	}
	lo, hi := f.Bounds()
	nrm := v.Orient.Normal()
	extent := math.Abs(dot(sub(hi, lo), nrm))
	return max(1, int(math.Round(extent/f.Step(nrm))))
}

// Goto moves the cursor to plane n of Planes along the view's normal:
// stored slice n when the view is parallel to the grid, else the n-th
// step from the study's first plane.
func (v View) Goto(f Frame, cursor [3]float64, n int) [3]float64 {
	if a := f.SliceAxis(v.Orient.Normal()); a >= 0 {
		if idx, err := f.Geom.WorldToIndex(cursor); err == nil {
			idx[a] = float64(n)
			return f.Geom.IndexToWorld(idx)
		}
	}
	return v.Scroll(f, v.Scroll(f, cursor, -math.MaxInt32), n)
}

// Scroll moves the cursor by n slices along the view's normal, staying
// within the study.
func (v View) Scroll(f Frame, cursor [3]float64, n int) [3]float64 {
	nrm := v.Orient.Normal()
	step := f.Step(nrm)
	lo, hi := f.Bounds()
	out := cursor
	for c := 0; c < 3; c++ {
		if nrm[c] == 0 {
			continue
		}
		x := cursor[c] + nrm[c]*step*float64(n)
		// Keep the cursor within the first and last slice centres.
		out[c] = math.Max(lo[c]+step/2, math.Min(x, hi[c]-step/2))
	}
	return out
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

func sub(a, b [3]float64) [3]float64 { return [3]float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }

// Clamp keeps a patient position within the study's box, at least half a
// slice inside along each patient axis, so the cursor always has a slice.
func (f Frame) Clamp(p [3]float64) [3]float64 {
	lo, hi := f.Bounds()
	for c := 0; c < 3; c++ {
		var dir [3]float64
		dir[c] = 1
		half := math.Min(f.Step(dir)/2, (hi[c]-lo[c])/2)
		p[c] = math.Max(lo[c]+half, math.Min(p[c], hi[c]-half))
	}
	return p
}

// ZoomAround multiplies the zoom by factor keeping the patient point under
// screen point (x, y) where it is, as a map zooms around the pointer.
func (v View) ZoomAround(f Frame, factor, x, y float64) View {
	if !(factor > 0) {
		return v
	}
	if !(v.Zoom > 0) {
		v.Zoom = 1
	}
	before := v.MMPerPixel(f)
	v.Zoom *= factor
	after := v.MMPerPixel(f)
	// A screen point shows centre + (x - W/2)*mm along the screen axis;
	// moving the pan by (x - W/2)*(after-before) keeps that point fixed.
	v.Pan[0] += (x - float64(v.Width)/2) * (after - before)
	v.Pan[1] += (y - float64(v.Height)/2) * (after - before)
	return v
}

// PanBy moves the image by (dx, dy) screen pixels.
func (v View) PanBy(f Frame, dx, dy float64) View {
	mm := v.MMPerPixel(f)
	v.Pan[0] += dx * mm
	v.Pan[1] += dy * mm
	return v
}
