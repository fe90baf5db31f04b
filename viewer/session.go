// Package viewer is the toolkit-free model of the viewer: the open study,
// the shared cursor, window/level and the three slice views, changed by
// commands and watched by observers — ITK-SNAP's Logic and GUI/Model, which
// the Fyne widgets of package app only draw and drive.
package viewer

import (
	"fmt"
	"math"
	"strings"

	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/viewer/dicom"
	"github.com/segvolapp/segvol/viewer/mpr"
	"github.com/segvolapp/segvol/viewer/volume"
)

// Orientations lists the three views in layout order.
var Orientations = [3]mpr.Orientation{mpr.Axial, mpr.Coronal, mpr.Sagittal}

// What says which part of the session changed.
type What uint16

// The kinds of change an observer is told about.
const (
	CursorChanged What = 1 << iota
	WindowChanged
	ViewChanged // zoom, pan or size of the views in Change.Views
	InterpChanged
	LabelsChanged  // voxels, segment table, active segment or overlay settings
	PromptsChanged // AI prompts added or removed
	PreviewChanged // the AI preview appeared, changed or went
	ToolChanged
	MeasuresChanged // measurements added, removed or being placed
	VolumeChanged   // another time point of a 4D series is shown
)

// Change is what one command changed and which views must redraw.
type Change struct {
	What  What
	Views [3]bool // indexed by mpr.Orientation
}

// Affects reports whether view o must redraw.
func (c Change) Affects(o mpr.Orientation) bool { return c.Views[o] }

var allViews = [3]bool{true, true, true}

// Session is one open study and how it is being looked at. Its methods are
// not safe for concurrent use: the app calls them from the UI goroutine.
type Session struct {
	Volume *volume.Volume
	Scan   *dicom.ScanResult // the folder's series; nil for NIfTI

	frame     mpr.Frame
	rvol      *render.Volume
	cursor    [3]float64
	views     [3]mpr.View
	window    volume.Window
	presets   []volume.Window
	interp    render.Interp
	ct        bool
	observers []func(Change)
	edit      *Editor

	// usefulRange is the span of the 1st to 99th percentile of the values
	// (the auto window's width): what a view-high window drag covers.
	usefulRange float64
	linked      bool // zoom and pan are shared by the views
}

// NewSession opens a session on a loaded volume, with the cursor at the
// study's centre and the default window (see Presets).
func NewSession(v *volume.Volume, scan *dicom.ScanResult) (*Session, error) {
	if v == nil {
		return nil, fmt.Errorf("viewer: no volume")
	}
	rv, err := v.ForRender()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", v.Meta.Source, err)
	}
	s := &Session{Volume: v, Scan: scan, rvol: rv, frame: mpr.Frame{Geom: v.Geom, Dims: v.Dims}, interp: render.Linear}
	for _, o := range Orientations {
		s.views[o] = mpr.View{Orient: o, Width: 256, Height: 256, Zoom: 1}
	}
	s.cursor = s.frame.Snap(s.frame.Clamp(s.frame.Centre()))
	s.ct = isCT(v)
	s.presets = presetsFor(v, s.ct)
	s.window = s.presets[0]
	s.usefulRange = s.presets[len(s.presets)-1].Width // presetsFor puts the auto window last
	if s.edit, err = newEditor(s); err != nil {
		return nil, err
	}
	return s, nil
}

// OnChange registers an observer, called after every command that changed
// something.
func (s *Session) OnChange(f func(Change)) { s.observers = append(s.observers, f) }

func (s *Session) notify(c Change) {
	for _, f := range s.observers {
		f(c)
	}
}

// Edit is the segmentation of the study: labels, tools, prompts, preview.
func (s *Session) Edit() *Editor { return s.edit }

// Frame is the study's extent as the views see it.
func (s *Session) Frame() mpr.Frame { return s.frame }

// RenderVolume is the volume as renderers take it (sharing the voxels).
func (s *Session) RenderVolume() *render.Volume { return s.rvol }

// IsCT reports whether values are Hounsfield units: the modality says CT,
// or (for NIfTI, which has no modality) the range looks like one.
func (s *Session) IsCT() bool { return s.ct }

// Cursor is the shared crosshair position (LPS, mm).
func (s *Session) Cursor() [3]float64 { return s.cursor }

// SetCursor moves the crosshair, kept inside the study and, along the
// views parallel to the voxel grid, on a slice of voxel centres.
func (s *Session) SetCursor(p [3]float64) {
	p = s.frame.Snap(s.frame.Clamp(p))
	if p == s.cursor {
		return
	}
	s.cursor = p
	s.notify(Change{What: CursorChanged, Views: allViews})
}

// SetCursorAt moves the crosshair to the pixel under screen point (x, y)
// of view o, as a click does: to the centre of the pixel, where the view
// sampled what it shows there, so that the cursor comes to rest (SetCursor)
// on the voxel drawn in that pixel.
func (s *Session) SetCursorAt(o mpr.Orientation, x, y float64) {
	s.SetCursor(s.views[o].ScreenToWorld(s.frame, s.cursor, math.Floor(x)+0.5, math.Floor(y)+0.5))
}

// View is the current state of view o.
func (s *Session) View(o mpr.Orientation) mpr.View { return s.views[o] }

// Plane is the patient-space plane view o shows.
func (s *Session) Plane(o mpr.Orientation) render.Plane {
	return s.views[o].Plane(s.frame, s.cursor)
}

// Slice is the stored slice view o shows and the count, when its plane
// is parallel to the voxel grid (see mpr.View.Slice).
func (s *Session) Slice(o mpr.Orientation) (n, count int, stored bool) {
	return s.views[o].Slice(s.frame, s.cursor)
}

// SliceText is how view o says where it is: "Axial 16/30", the stored
// slice (1-based) and the count, when its plane is parallel to the voxel
// grid; else "Axial S 12.5 mm", its position along the normal, since an
// oblique plane is no stored slice and a count of planes nobody stored
// would mislead.
func (s *Session) SliceText(o mpr.Orientation) string {
	name := strings.ToUpper(o.String()[:1]) + o.String()[1:]
	if n, count, stored := s.Slice(o); stored {
		return fmt.Sprintf("%s %d/%d", name, n+1, count)
	}
	mm, side := s.views[o].Depth(s.cursor)
	return fmt.Sprintf("%s %s %.1f mm", name, side, math.Abs(mm))
}

// CursorOnScreen is where the crosshair crosses view o.
func (s *Session) CursorOnScreen(o mpr.Orientation) (x, y float64) {
	return s.views[o].WorldToScreen(s.frame, s.cursor, s.cursor)
}

func (s *Session) setView(o mpr.Orientation, v mpr.View) {
	if v == s.views[o] {
		return
	}
	s.views[o] = v
	c := Change{What: ViewChanged}
	c.Views[o] = true
	s.notify(c)
}

// Resize tells the session the size of view o on screen.
func (s *Session) Resize(o mpr.Orientation, w, h int) {
	v := s.views[o]
	v.Width, v.Height = max(w, 1), max(h, 1)
	s.setView(o, v)
}

// ScrollView moves the cursor n slices along view o's normal.
func (s *Session) ScrollView(o mpr.Orientation, n int) {
	s.SetCursor(s.views[o].Scroll(s.frame, s.cursor, n))
}

// Zoom multiplies view o's zoom by factor around screen point (x, y); with
// linked views the others take the same scale (mm per pixel).
func (s *Session) Zoom(o mpr.Orientation, factor, x, y float64) {
	s.setView(o, s.views[o].ZoomAround(s.frame, factor, x, y))
	if !s.linked {
		return
	}
	mm := s.views[o].MMPerPixel(s.frame)
	for _, other := range Orientations {
		if v := s.views[other]; other != o {
			v.Zoom *= v.MMPerPixel(s.frame) / mm
			s.setView(other, v)
		}
	}
}

// Pan moves view o's image by (dx, dy) screen pixels; with linked views the
// others move their images by the same distance in the patient along the
// screen axes they share with o.
func (s *Session) Pan(o mpr.Orientation, dx, dy float64) {
	s.setView(o, s.views[o].PanBy(s.frame, dx, dy))
	if !s.linked {
		return
	}
	p := s.Plane(o)
	var move [3]float64 // mm, in the patient
	for a := range move {
		move[a] = dx*p.U[a] + dy*p.V[a]
	}
	for _, other := range Orientations {
		if other == o {
			continue
		}
		v, q := s.views[other], s.Plane(other)
		v.Pan[0] += along(move, q.U)
		v.Pan[1] += along(move, q.V)
		s.setView(other, v)
	}
}

// along is the length of vector m along the direction of d.
func along(m, d [3]float64) float64 {
	n := math.Sqrt(d[0]*d[0] + d[1]*d[1] + d[2]*d[2])
	if n == 0 {
		return 0
	}
	return (m[0]*d[0] + m[1]*d[1] + m[2]*d[2]) / n
}

// SetTimePoint shows v, another volume of the same grid (a time point of a
// 4D series, read by study.ReadTimePoint), in place of the study's volume:
// the views, the segmentation's statistics and the AI read it from now on;
// the window, cursor and views stay.
func (s *Session) SetTimePoint(v *volume.Volume) error {
	if v.Dims != s.Volume.Dims || v.Geom != s.Volume.Geom {
		return fmt.Errorf("time point %d: a %v grid where the study has %v", v.Meta.TimePoint+1, v.Dims, s.Volume.Dims)
	}
	rv, err := v.ForRender()
	if err != nil {
		return err
	}
	if err := s.edit.Labels().SetImage(v); err != nil {
		return err
	}
	s.Volume, s.rvol = v, rv
	s.notify(Change{What: VolumeChanged, Views: allViews})
	return nil
}

// LinkedViews reports whether zoom and pan are shared by the views.
func (s *Session) LinkedViews() bool { return s.linked }

// SetLinkedViews shares zoom and pan between the views (from the next
// zoom or pan) or stops sharing them.
func (s *Session) SetLinkedViews(on bool) { s.linked = on }

// ResetView fits the study in view o again, unzoomed and centred; with
// linked views every view, as zooming one zooms all (R over one left the
// others zoomed in, at scales no longer shared).
func (s *Session) ResetView(o mpr.Orientation) {
	for _, each := range Orientations {
		if each == o || s.linked {
			v := s.views[each]
			v.Zoom, v.Pan = 1, [2]float64{}
			s.setView(each, v)
		}
	}
}

// Interp is the sampling between voxel centres.
func (s *Session) Interp() render.Interp { return s.interp }

// SetInterp chooses nearest or linear sampling.
func (s *Session) SetInterp(i render.Interp) {
	if i == s.interp {
		return
	}
	s.interp = i
	s.notify(Change{What: InterpChanged, Views: allViews})
}

// Options are the render settings of every view.
func (s *Session) Options() render.Options {
	return render.Options{Center: s.window.Center, Width: s.window.Width, Interp: s.interp}
}

// Probe is what lies under a screen point: where, which voxel and its
// value.
type Probe struct {
	World  [3]float64 // LPS, mm
	Index  [3]int     // nearest voxel (column, row, slice)
	Inside bool       // Index is within the grid; Value is valid
	Value  float64    // real value after rescale (HU for CT)
}

// ProbeAt is the probe under screen point (x, y) of view o: the voxel is
// the one the view draws there (VoxelAt), the position the pointer's.
func (s *Session) ProbeAt(o mpr.Orientation, x, y float64) Probe {
	p := Probe{World: s.views[o].ScreenToWorld(s.frame, s.cursor, x, y)}
	idx, ok := s.VoxelAt(o, x, y)
	if !ok {
		return p
	}
	p.Index = idx
	if s.Volume.Contains(idx[0], idx[1], idx[2]) {
		p.Inside = true
		p.Value = s.Volume.Value(s.Volume.Offset(idx[0], idx[1], idx[2]))
	}
	return p
}

// VoxelAt is the voxel view o draws in the pixel that holds screen point
// (x, y), inside the grid or not: the renderers' own sampling grid picks
// it, so every tool (brush, eraser, fill, points, box corners, the value
// under the pointer) acts on what the user sees. ok is false only for a
// point too far out to place on the grid.
func (s *Session) VoxelAt(o mpr.Orientation, x, y float64) (idx [3]int, ok bool) {
	v := s.views[o]
	px, py := math.Floor(x), math.Floor(y)
	p, w, h := v.Plane(s.frame, s.cursor), v.Width, v.Height
	if px < 0 || py < 0 || px >= float64(w) || py >= float64(h) {
		// A drag beyond the view's edge: a one-pixel frame there.
		for a := range 3 {
			p.Origin[a] += px*p.U[a] + py*p.V[a]
		}
		px, py, w, h = 0, 0, 1, 1
	}
	g, err := render.NewGrid(p, s.rvol, w, h)
	if err != nil {
		return idx, false
	}
	return g.Voxel(int(px), int(py)), true
}

// ProbeWorld is the probe at a patient position.
func (s *Session) ProbeWorld(w [3]float64) Probe {
	p := Probe{World: w}
	idx, err := s.Volume.Geom.WorldToIndex(w)
	if err != nil {
		return p
	}
	for a := 0; a < 3; a++ {
		p.Index[a] = render.NearestVoxel(idx[a])
	}
	if s.Volume.Contains(p.Index[0], p.Index[1], p.Index[2]) {
		p.Inside = true
		p.Value = s.Volume.Value(s.Volume.Offset(p.Index[0], p.Index[1], p.Index[2]))
	}
	return p
}
