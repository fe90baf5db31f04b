package viewer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// MarkupsPath is where the measurements of the segmentation saved at
// labelsPath go: beside it, as 3D Slicer markups (x_seg.nii.gz ->
// x_seg.mrk.json).
func MarkupsPath(labelsPath string) string {
	base := labelsPath
	switch {
	case strings.HasSuffix(base, ".nii.gz"):
		base = strings.TrimSuffix(base, ".nii.gz")
	default:
		base = strings.TrimSuffix(base, filepath.Ext(base))
	}
	return base + ".mrk.json"
}

// markupsSchema is the Slicer markups schema the files follow.
const markupsSchema = "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/Schema/markups-schema-v1.0.3.json#"

// The subset of Slicer's markups JSON the measurements need.
type (
	markupsFile struct {
		Schema  string   `json:"@schema"`
		Markups []markup `json:"markups"`
	}
	markup struct {
		Type             string          `json:"type"`
		Name             string          `json:"name,omitempty"`
		CoordinateSystem string          `json:"coordinateSystem"`
		CoordinateUnits  string          `json:"coordinateUnits,omitempty"`
		ControlPoints    []controlPoint  `json:"controlPoints"`
		Measurements     []markupMeasure `json:"measurements,omitempty"`
	}
	controlPoint struct {
		ID             string     `json:"id,omitempty"`
		Label          string     `json:"label,omitempty"`
		Position       [3]float64 `json:"position"`
		PositionStatus string     `json:"positionStatus,omitempty"`
	}
	markupMeasure struct {
		Name    string  `json:"name"`
		Enabled bool    `json:"enabled"`
		Value   float64 `json:"value"`
		Units   string  `json:"units"`
	}
)

// markupTypes are Slicer's names of the kinds. Slicer has no ellipse: one
// is saved as the closed curve through ellipseSamples points of its
// outline, which Slicer draws as the ellipse and LoadMeasurements takes
// back as one.
var markupTypes = map[MeasureKind]struct {
	typ, measure, units string
	points              int
}{
	Ruler:   {"Line", "length", "mm", 2},
	Angle:   {"Angle", "angle", "deg", 3},
	Ellipse: {"ClosedCurve", "area", "mm2", ellipseSamples},
}

// ellipseSamples is how many outline points an ellipse is saved as: a
// multiple of 4, so that the ends of both semi-axes are among them.
const ellipseSamples = 16

// ellipseOutline is the outline of the ellipse of centre c and semi-axis
// ends a and b (Measurement.Points), from a round to b and on.
func ellipseOutline(p [][3]float64) [][3]float64 {
	c, u, w := p[0], sub3(p[1], p[0]), sub3(p[2], p[0])
	out := make([][3]float64, ellipseSamples)
	for k := range out {
		th := 2 * math.Pi * float64(k) / ellipseSamples
		co, si := math.Cos(th), math.Sin(th)
		for i := range 3 {
			out[k][i] = c[i] + co*u[i] + si*w[i]
		}
	}
	return out
}

// ellipseAxes is the inverse of ellipseOutline: centre and semi-axis ends
// of a closed curve that is such an outline (within 0.01 mm), else false
// (a curve drawn in Slicer is no ellipse of ours).
func ellipseAxes(pts [][3]float64) ([][3]float64, bool) {
	var c [3]float64
	for _, p := range pts {
		for i := range 3 {
			c[i] += p[i] / float64(len(pts))
		}
	}
	axes := [][3]float64{c, pts[0], pts[len(pts)/4]}
	for k, p := range ellipseOutline(axes) {
		if dist(p, pts[k]) > 0.01 {
			return nil, false
		}
	}
	return axes, true
}

// SaveMeasurements writes the rulers, angles and ellipses as Slicer markups beside
// the segmentation saved at labelsPath; with none, an old file there goes,
// so that opening the segmentation again shows what was saved.
func (e *Editor) SaveMeasurements(labelsPath string) error {
	path := MarkupsPath(labelsPath)
	f := markupsFile{Schema: markupsSchema, Markups: []markup{}}
	for _, m := range e.meas.list {
		t, ok := markupTypes[m.Kind]
		if !ok {
			continue
		}
		mk := markup{Type: t.typ, Name: m.Name, CoordinateSystem: "LPS", CoordinateUnits: "mm",
			Measurements: []markupMeasure{{Name: t.measure, Enabled: true, Value: m.Value(), Units: t.units}}}
		pts := m.Points
		if m.Kind == Ellipse {
			pts = ellipseOutline(pts)
		}
		for i, p := range pts {
			mk.ControlPoints = append(mk.ControlPoints, controlPoint{ID: fmt.Sprint(i + 1), Label: fmt.Sprintf("%s-%d", m.Name, i+1),
				Position: p, PositionStatus: "defined"})
		}
		f.Markups = append(f.Markups, mk)
	}
	var err error
	if len(f.Markups) == 0 {
		if err = os.Remove(path); errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	} else {
		var b []byte
		if b, err = json.MarshalIndent(f, "", "  "); err == nil {
			err = os.WriteFile(path, append(b, '\n'), 0o644)
		}
	}
	if err == nil {
		e.meas.dirty = false
	}
	return err
}

// LoadMeasurements replaces the measurements with the Slicer markups beside
// the segmentation at labelsPath; without a file they stay as they are
// (nothing is dropped unseen). Line, Angle and our ellipses' ClosedCurve
// markups are read; other kinds are skipped and counted.
func (e *Editor) LoadMeasurements(labelsPath string) (skipped int, err error) {
	path := MarkupsPath(labelsPath)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var f markupsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return 0, fmt.Errorf("%s: not Slicer markups: %w", filepath.Base(path), err)
	}
	var ms []Measurement
	for _, mk := range f.Markups {
		m, ok := fromMarkup(mk)
		if ok && m.Kind == Ellipse {
			if m.Points, ok = ellipseAxes(m.Points); ok {
				m.Region = e.s.EllipseStats(m.Points[0], m.Points[1], m.Points[2])
			}
		}
		if !ok {
			skipped++
			continue
		}
		ms = append(ms, m)
	}
	e.SetMeasurements(ms)
	return skipped, nil
}

// fromMarkup is the measurement of a complete Line or Angle markup in LPS
// or RAS (Slicer's default before version 5).
func fromMarkup(mk markup) (Measurement, bool) {
	var m Measurement
	want := 0
	for k, t := range markupTypes {
		if t.typ == mk.Type {
			m.Kind, want = k, t.points
		}
	}
	if want == 0 || len(mk.ControlPoints) != want {
		return m, false
	}
	ras := strings.EqualFold(mk.CoordinateSystem, "RAS")
	if !ras && mk.CoordinateSystem != "" && !strings.EqualFold(mk.CoordinateSystem, "LPS") {
		return m, false
	}
	m.Name = mk.Name
	for _, cp := range mk.ControlPoints {
		p := cp.Position
		if ras {
			p[0], p[1] = -p[0], -p[1]
		}
		m.Points = append(m.Points, p)
	}
	return m, true
}
