package viewer

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
)

// MeasureKind is what a measurement measures.
type MeasureKind uint8

// The measurements: Slicer's Line and Angle markups, and an elliptic
// region on one slice.
const (
	Ruler   MeasureKind = iota // distance between two points, mm
	Angle                      // angle at the middle of three points, degrees
	Ellipse                    // statistics of the voxels inside, on its slice
)

func (k MeasureKind) String() string {
	return [...]string{Ruler: "Ruler", Angle: "Angle", Ellipse: "Ellipse"}[k]
}

// Measurement is a ruler, an angle or an ellipse in patient space (LPS,
// mm), so that it stays where it was drawn whatever the views do.
type Measurement struct {
	ID   int
	Kind MeasureKind
	Name string
	// Points are a ruler's two ends; an angle's three points, the vertex
	// in the middle; an ellipse's centre and the ends of its two
	// semi-axes.
	Points [][3]float64
	Region RegionStats // an ellipse's voxels
}

// RegionStats are the voxels of a region of one slice: their count and
// area, and their real values (HU for CT; std of the population).
type RegionStats struct {
	Voxels              int
	AreaMM2             float64
	Mean, Std, Min, Max float64
}

// Value is a ruler's length (mm), an angle's degrees or an ellipse's area
// (mm²).
func (m Measurement) Value() float64 {
	p := m.Points
	switch m.Kind {
	case Ruler:
		return dist(p[0], p[1])
	case Angle:
		return angleDeg(p[0], p[1], p[2])
	}
	return m.Region.AreaMM2
}

func dist(a, b [3]float64) float64 {
	d := sub3(a, b)
	return math.Sqrt(dot3(d, d))
}

// angleDeg is the angle at vertex v between the rays to a and c.
func angleDeg(a, v, c [3]float64) float64 {
	u, w := sub3(a, v), sub3(c, v)
	n := math.Sqrt(dot3(u, u) * dot3(w, w))
	if n == 0 {
		return 0
	}
	return math.Acos(max(-1, min(1, dot3(u, w)/n))) * 180 / math.Pi
}

func sub3(a, b [3]float64) [3]float64 { return [3]float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func dot3(a, b [3]float64) float64    { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

// measurements are the editor's measurements and an angle being placed.
type measurements struct {
	list    []Measurement
	nextID  int
	pending [][3]float64 // the points of an unfinished angle
	view    mpr.Orientation
	dirty   bool // changed since saved or read
	// Measurements made and deleted are undone with the label map's steps,
	// in the order they were made (Ctrl+Z after a ruler undid an older
	// brush stroke instead).
	undo, redo []measureStep
}

// measureStep is one change to the measurements. at is the label map's
// state it followed: the change is undone next when the map is back there.
type measureStep struct {
	name          string
	before, after []Measurement
	at            labels.State
}

// minDragPx is the shortest drag (screen pixels) that makes a ruler or an
// ellipse: a plain click makes none.
const minDragPx = 3

// Measurements are the measurements in the order they were made.
func (e *Editor) Measurements() []Measurement { return append([]Measurement(nil), e.meas.list...) }

// SetMeasurements replaces the measurements (those read from a file); it
// is not a step to undo.
func (e *Editor) SetMeasurements(ms []Measurement) {
	e.meas.list, e.meas.pending = nil, nil
	for _, m := range ms {
		e.add(m)
	}
	e.meas.dirty = false
	e.meas.undo, e.meas.redo = nil, nil
	e.measuresChanged()
}

func (e *Editor) add(m Measurement) Measurement {
	before := slices.Clone(e.meas.list)
	e.meas.nextID++
	m.ID = e.meas.nextID
	if m.Name == "" {
		m.Name = fmt.Sprintf("%s %d", m.Kind, m.ID)
	}
	e.meas.list = append(e.meas.list, m)
	e.measureStep(m.Name, before)
	return m
}

// measureStep makes the change from before to the list as it is now a
// step to undo. As any new step, it ends what could be redone.
func (e *Editor) measureStep(name string, before []Measurement) {
	e.meas.undo = append(e.meas.undo, measureStep{name: name, before: before, after: slices.Clone(e.meas.list), at: e.labels.State()})
	e.meas.redo = nil
	e.labels.DropRedo()
	e.meas.dirty = true
}

// nextMeasureStep is the measurements' step that Undo (or Redo) would take
// next, if it comes before the label map's: the top of steps, made when the
// map was as it is now.
func (e *Editor) nextMeasureStep(steps []measureStep) (measureStep, bool) {
	if len(steps) == 0 {
		return measureStep{}, false
	}
	s := steps[len(steps)-1]
	return s, s.at.SameStep(e.labels.State())
}

// undoMeasure takes back a point of an angle being placed, or the last
// change to the measurements when it is the last change of all.
func (e *Editor) undoMeasure() bool {
	if n := len(e.meas.pending); n > 0 {
		e.meas.pending = e.meas.pending[:n-1]
		e.measuresChanged()
		return true
	}
	return e.moveMeasureStep(&e.meas.undo, &e.meas.redo, func(s measureStep) []Measurement { return s.before })
}

// redoMeasure redoes the last undone change to the measurements when it
// was undone at the label map's present state.
func (e *Editor) redoMeasure() bool {
	return e.moveMeasureStep(&e.meas.redo, &e.meas.undo, func(s measureStep) []Measurement { return s.after })
}

// moveMeasureStep moves the top step of from onto to, when it comes
// before the label map's, and leaves the measurements as list gives them
// from it.
func (e *Editor) moveMeasureStep(from, to *[]measureStep, list func(measureStep) []Measurement) bool {
	s, ok := e.nextMeasureStep(*from)
	if !ok {
		return false
	}
	*from = (*from)[:len(*from)-1]
	*to = append(*to, s)
	e.meas.list, e.meas.dirty = slices.Clone(list(s)), true
	e.measuresChanged()
	return true
}

func (e *Editor) measuresChanged() {
	e.s.notify(Change{What: MeasuresChanged, Views: allViews})
}

// AddRuler measures the distance between screen points (x0, y0) and (x1,
// y1) of view o.
func (e *Editor) AddRuler(o mpr.Orientation, x0, y0, x1, y1 float64) (Measurement, error) {
	if math.Hypot(x1-x0, y1-y0) < minDragPx {
		return Measurement{}, errors.New("ruler: drag from one end to the other")
	}
	m := e.add(Measurement{Kind: Ruler, Points: [][3]float64{e.s.ProbeAt(o, x0, y0).World, e.s.ProbeAt(o, x1, y1).World}})
	e.measuresChanged()
	return m, nil
}

// AngleClick places the next point of an angle in view o: the first arm's
// end, the vertex, then the second arm's end, which makes the measurement
// (returned with true). A click in another view starts again.
func (e *Editor) AngleClick(o mpr.Orientation, x, y float64) (Measurement, bool) {
	if e.meas.view != o {
		e.meas.pending, e.meas.view = nil, o
	}
	e.meas.pending = append(e.meas.pending, e.s.ProbeAt(o, x, y).World)
	var m Measurement
	done := len(e.meas.pending) == 3
	if done {
		m = e.add(Measurement{Kind: Angle, Points: e.meas.pending})
		e.meas.pending = nil
	}
	e.measuresChanged()
	return m, done
}

// CancelAngle drops the points of an angle being placed, if any.
func (e *Editor) CancelAngle() bool {
	if len(e.meas.pending) == 0 {
		return false
	}
	e.meas.pending = nil
	e.measuresChanged()
	return true
}

// AddEllipse measures the voxels of view o's slice inside the ellipse
// inscribed in the screen rectangle of corners (x0, y0) and (x1, y1).
func (e *Editor) AddEllipse(o mpr.Orientation, x0, y0, x1, y1 float64) (Measurement, error) {
	if math.Abs(x1-x0) < minDragPx || math.Abs(y1-y0) < minDragPx {
		return Measurement{}, errors.New("ellipse: drag across the region to measure")
	}
	cx, cy := (x0+x1)/2, (y0+y1)/2
	c := e.s.ProbeAt(o, cx, cy)
	pts := [][3]float64{c.World, e.s.ProbeAt(o, x1, cy).World, e.s.ProbeAt(o, cx, y1).World}
	// The ellipse lies on the slice of the voxel under its centre, so that
	// a plane between two slices measures the one the tools act on.
	nrm := o.Normal()
	centre := e.s.Volume.Geom.IndexToWorld([3]float64{float64(c.Index[0]), float64(c.Index[1]), float64(c.Index[2])})
	shift := dot3(sub3(centre, c.World), nrm)
	for i, p := range pts {
		pts[i] = [3]float64{p[0] + shift*nrm[0], p[1] + shift*nrm[1], p[2] + shift*nrm[2]}
	}
	m := e.add(Measurement{Kind: Ellipse, Points: pts, Region: e.s.EllipseStats(pts[0], pts[1], pts[2])})
	e.measuresChanged()
	return m, nil
}

// RemoveMeasurement deletes the measurement with the given ID.
func (e *Editor) RemoveMeasurement(id int) bool {
	for i, m := range e.meas.list {
		if m.ID == id {
			before := slices.Clone(e.meas.list)
			e.meas.list = slices.Delete(e.meas.list, i, i+1)
			e.measureStep("delete "+m.Name, before)
			e.measuresChanged()
			return true
		}
	}
	return false
}

// GoToMeasurement moves the cursor to a measurement: a ruler's middle, an
// angle's vertex, an ellipse's centre.
func (e *Editor) GoToMeasurement(id int) {
	for _, m := range e.meas.list {
		if m.ID != id {
			continue
		}
		p := m.Points[0]
		switch m.Kind {
		case Ruler:
			a, b := m.Points[0], m.Points[1]
			p = [3]float64{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, (a[2] + b[2]) / 2}
		case Angle:
			p = m.Points[1]
		}
		e.s.SetCursor(p)
	}
}

// ScreenMeasurement is a measurement, or the angle being placed (ID 0), as
// it appears in one view: its points on screen.
type ScreenMeasurement struct {
	Measurement
	Screen [][2]float64
}

// MeasurementsOn are the measurements whose points all lie within half a
// slice of view o's plane, and the angle being placed in it.
func (e *Editor) MeasurementsOn(o mpr.Orientation) []ScreenMeasurement {
	var out []ScreenMeasurement
	show := func(m Measurement) {
		if sm, ok := e.onPlane(o, m); ok {
			out = append(out, sm)
		}
	}
	for _, m := range e.meas.list {
		show(m)
	}
	if len(e.meas.pending) > 0 && e.meas.view == o {
		show(Measurement{Kind: Angle, Points: e.meas.pending})
	}
	return out
}

func (e *Editor) onPlane(o mpr.Orientation, m Measurement) (ScreenMeasurement, bool) {
	s := e.s
	nrm := o.Normal()
	half := s.frame.Step(nrm) / 2
	sm := ScreenMeasurement{Measurement: m}
	for _, p := range m.Points {
		if math.Abs(dot3(sub3(p, s.cursor), nrm)) > half+1e-9 {
			return sm, false
		}
		x, y := s.views[o].WorldToScreen(s.frame, s.cursor, p)
		sm.Screen = append(sm.Screen, [2]float64{x, y})
	}
	return sm, true
}

// EllipseStats measures the voxels whose centres lie inside the ellipse of
// centre c and semi-axis ends a and b, less than half a slice from its
// plane.
func (s *Session) EllipseStats(c, a, b [3]float64) RegionStats {
	g := s.Volume.Geom
	u, w := sub3(a, c), sub3(b, c)
	uu, ww := dot3(u, u), dot3(w, w)
	n := [3]float64{u[1]*w[2] - u[2]*w[1], u[2]*w[0] - u[0]*w[2], u[0]*w[1] - u[1]*w[0]}
	if l := math.Sqrt(dot3(n, n)); l > 0 {
		n = [3]float64{n[0] / l, n[1] / l, n[2] / l}
	}
	half := s.frame.Step(n) / 2
	st := RegionStats{Mean: math.NaN(), Std: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	if uu == 0 || ww == 0 {
		return st
	}
	// The index box around the ellipse's bounding box and its thickness.
	lo, hi := [3]int{math.MaxInt, math.MaxInt, math.MaxInt}, [3]int{math.MinInt, math.MinInt, math.MinInt}
	for corner := range 8 {
		p := c
		for i, d := range [3][3]float64{u, w, n} {
			f := 1.0
			if corner>>i&1 == 1 {
				f = -1
			}
			if i == 2 {
				f *= half
			}
			p = [3]float64{p[0] + f*d[0], p[1] + f*d[1], p[2] + f*d[2]}
		}
		idx, err := g.WorldToIndex(p)
		if err != nil {
			return st
		}
		for k := range 3 {
			lo[k] = min(lo[k], int(math.Floor(idx[k])))
			hi[k] = max(hi[k], int(math.Ceil(idx[k])))
		}
	}
	v := s.Volume
	var sum, sum2 float64
	for k := max(lo[2], 0); k <= min(hi[2], v.Dims[2]-1); k++ {
		for j := max(lo[1], 0); j <= min(hi[1], v.Dims[1]-1); j++ {
			for i := max(lo[0], 0); i <= min(hi[0], v.Dims[0]-1); i++ {
				d := sub3(g.IndexToWorld([3]float64{float64(i), float64(j), float64(k)}), c)
				if math.Abs(dot3(d, n)) >= half {
					continue
				}
				if x, y := dot3(d, u)/uu, dot3(d, w)/ww; x*x+y*y > 1+1e-9 {
					continue
				}
				val := v.Value(v.Offset(i, j, k))
				if st.Voxels == 0 {
					st.Min, st.Max = val, val
				}
				st.Voxels++
				sum += val
				sum2 += val * val
				st.Min, st.Max = min(st.Min, val), max(st.Max, val)
			}
		}
	}
	if st.Voxels > 0 {
		sp := g.Spacing()
		st.AreaMM2 = float64(st.Voxels) * sp[0] * sp[1] * sp[2] / (2 * half)
		m := sum / float64(st.Voxels)
		st.Mean, st.Std = m, math.Sqrt(max(sum2/float64(st.Voxels)-m*m, 0))
	}
	return st
}
