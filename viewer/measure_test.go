package viewer

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/segvolapp/segvol/viewer/mpr"
)

// onVoxel puts the cursor on the centre of voxel idx.
func onVoxel(s *Session, idx [3]float64) { s.SetCursor(s.Volume.Geom.IndexToWorld(idx)) }

func TestRulerAndAngleOnSample(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	onVoxel(s, [3]float64{61, 50, 15})
	sp := s.Volume.Geom.Spacing()
	a, b := [3]float64{10, 20, 15}, [3]float64{100, 70, 15}
	x0, y0 := screenOf(s, mpr.Axial, a)
	x1, y1 := screenOf(s, mpr.Axial, b)
	r, err := e.AddRuler(mpr.Axial, x0, y0, x1, y1)
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Hypot(90*sp[0], 50*sp[1]); math.Abs(r.Value()-want) > 1e-6 {
		t.Errorf("ruler %v mm, want %v", r.Value(), want)
	}
	if _, err := e.AddRuler(mpr.Axial, x0, y0, x0+1, y0); err == nil {
		t.Error("a click made a ruler")
	}
	// Three clicks: an arm along the columns, the vertex, an arm at 30
	// columns and 40 rows from it.
	var ang Measurement
	for i, idx := range [][3]float64{{10, 20, 15}, {40, 20, 15}, {70, 60, 15}} {
		x, y := screenOf(s, mpr.Axial, idx)
		m, done := e.AngleClick(mpr.Axial, x, y)
		if done != (i == 2) {
			t.Fatalf("click %d: done %v", i, done)
		}
		if i == 1 {
			if on := e.MeasurementsOn(mpr.Axial); len(on) != 2 || on[1].ID != 0 || len(on[1].Screen) != 2 {
				t.Errorf("the angle being placed is not shown: %+v", on)
			}
		}
		ang = m
	}
	// The rays from the vertex are -30 columns and (+30 columns, +40 rows).
	want := 180 - math.Atan2(40*sp[1], 30*sp[0])*180/math.Pi
	if math.Abs(ang.Value()-want) > 1e-6 {
		t.Errorf("angle %v°, want %v", ang.Value(), want)
	}
	if on := e.MeasurementsOn(mpr.Axial); len(on) != 2 || on[0].Name != "Ruler 1" || on[1].Name != "Angle 2" {
		t.Fatalf("axial shows %+v", on)
	}
	// Half a slice away they are not drawn; in the coronal plane through
	// the cursor (row 50) neither lies.
	s.ScrollView(mpr.Axial, 1)
	if on := e.MeasurementsOn(mpr.Axial); len(on) != 0 {
		t.Errorf("a slice away: %+v", on)
	}
	if on := e.MeasurementsOn(mpr.Coronal); len(on) != 0 {
		t.Errorf("coronal: %+v", on)
	}
	// An angle left half placed goes with the tool.
	e.AngleClick(mpr.Coronal, 10, 10)
	e.SetTool(ToolRuler)
	if on := e.MeasurementsOn(mpr.Coronal); len(on) != 0 {
		t.Errorf("half an angle after a tool change: %+v", on)
	}
	e.GoToMeasurement(ang.ID)
	if c, _ := s.Volume.Geom.WorldToIndex(s.Cursor()); math.Abs(c[0]-40)+math.Abs(c[1]-20)+math.Abs(c[2]-15) > 1e-6 {
		t.Errorf("cursor at %v after going to the angle, want its vertex", c)
	}
	if !e.RemoveMeasurement(r.ID) || len(e.Measurements()) != 1 || e.RemoveMeasurement(r.ID) {
		t.Errorf("remove: %+v", e.Measurements())
	}
}

// ellipseTruth is the statistics of the voxels of slice k inside the
// index-space ellipse of centre (ci, cj) and radii (ri, rj), counted here
// voxel by voxel.
func ellipseTruth(s *Session, k int, ci, cj, ri, rj float64) RegionStats {
	v := s.Volume
	var vals []float64
	for j := range v.Dims[1] {
		for i := range v.Dims[0] {
			if di, dj := (float64(i)-ci)/ri, (float64(j)-cj)/rj; di*di+dj*dj <= 1+1e-9 {
				vals = append(vals, v.Value(v.Offset(i, j, k)))
			}
		}
	}
	st := RegionStats{Voxels: len(vals), Min: math.Inf(1), Max: math.Inf(-1)}
	for _, x := range vals {
		st.Mean += x / float64(len(vals))
		st.Min, st.Max = min(st.Min, x), max(st.Max, x)
	}
	for _, x := range vals {
		st.Std += (x - st.Mean) * (x - st.Mean) / float64(len(vals))
	}
	st.Std = math.Sqrt(st.Std)
	sp := v.Geom.Spacing()
	st.AreaMM2 = float64(len(vals)) * sp[0] * sp[1]
	return st
}

func TestEllipseStatistics(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	// On a voxel centre, and between slices 14 and 15 (where the sample
	// opens): the ellipse measures the one slice the probe picks, not both.
	for _, kc := range []float64{15, 14.5} {
		onVoxel(s, [3]float64{61, 50, kc})
		k := s.ProbeWorld(s.Cursor()).Index[2]
		x0, y0 := screenOf(s, mpr.Axial, [3]float64{51, 44, float64(k)})
		x1, y1 := screenOf(s, mpr.Axial, [3]float64{71, 56, float64(k)})
		m, err := e.AddEllipse(mpr.Axial, x0, y0, x1, y1)
		if err != nil {
			t.Fatal(err)
		}
		got, want := m.Region, ellipseTruth(s, k, 61, 50, 10, 6)
		if got.Voxels != want.Voxels || got.Voxels < 150 {
			t.Fatalf("slice %d: %d voxels, want %d", k, got.Voxels, want.Voxels)
		}
		for _, p := range [][2]float64{{got.Mean, want.Mean}, {got.Std, want.Std}, {got.Min, want.Min}, {got.Max, want.Max}, {got.AreaMM2, want.AreaMM2}} {
			if math.Abs(p[0]-p[1]) > 1e-6*max(1, math.Abs(p[1])) {
				t.Errorf("slice %d: %+v, want %+v", k, got, want)
				break
			}
		}
		if m.Value() != got.AreaMM2 {
			t.Errorf("value %v, area %v", m.Value(), got.AreaMM2)
		}
	}
	if _, err := e.AddEllipse(mpr.Axial, 10, 10, 40, 11); err == nil {
		t.Error("a flat drag made an ellipse")
	}
}

func TestMeasurementsSlicerMarkups(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	onVoxel(s, [3]float64{61, 50, 15})
	x0, y0 := screenOf(s, mpr.Axial, [3]float64{10, 20, 15})
	x1, y1 := screenOf(s, mpr.Axial, [3]float64{100, 70, 15})
	ruler, _ := e.AddRuler(mpr.Axial, x0, y0, x1, y1)
	for _, idx := range [][3]float64{{10, 20, 15}, {40, 20, 15}, {70, 60, 15}} {
		x, y := screenOf(s, mpr.Axial, idx)
		e.AngleClick(mpr.Axial, x, y)
	}
	ell, err := e.AddEllipse(mpr.Axial, x0, y0, x1, y1)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Dirty() {
		t.Error("new measurements are not unsaved work")
	}
	dir := t.TempDir()
	labels := filepath.Join(dir, "ct_seg.nii.gz")
	if err := e.SaveMeasurements(labels); err != nil {
		t.Fatal(err)
	}
	if e.Dirty() {
		t.Error("saved measurements are still unsaved work")
	}
	b, err := os.ReadFile(filepath.Join(dir, "ct_seg.mrk.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Read as Slicer would: plain JSON.
	var f struct {
		Markups []struct {
			Type, CoordinateSystem string
			ControlPoints          []struct{ Position [3]float64 }
		}
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Markups) != 3 || f.Markups[0].Type != "Line" || f.Markups[1].Type != "Angle" ||
		f.Markups[0].CoordinateSystem != "LPS" || len(f.Markups[1].ControlPoints) != 3 ||
		f.Markups[2].Type != "ClosedCurve" || len(f.Markups[2].ControlPoints) != ellipseSamples {
		t.Fatalf("markups %s", b)
	}
	if p := f.Markups[0].ControlPoints[1].Position; dist(p, s.Volume.Geom.IndexToWorld([3]float64{100, 70, 15})) > 1e-6 {
		t.Errorf("ruler end at %v", p)
	}

	s2 := sample(t)
	if _, err := s2.Edit().LoadMeasurements(labels); err != nil {
		t.Fatal(err)
	}
	got := s2.Edit().Measurements()
	if len(got) != 3 || got[0].Kind != Ruler || got[0].Name != "Ruler 1" || math.Abs(got[0].Value()-ruler.Value()) > 1e-9 || got[1].Kind != Angle {
		t.Fatalf("read back %+v", got)
	}
	// The ellipse comes back on the same voxels: same axes, same HU.
	if g := got[2]; g.Kind != Ellipse || g.Name != ell.Name || g.Region != ell.Region || g.Region.Voxels == 0 {
		t.Fatalf("ellipse read back as %+v, want %+v", g, ell)
	}
	for i := range 3 {
		if d := dist(got[2].Points[i], ell.Points[i]); d > 1e-9 {
			t.Errorf("ellipse point %d moved %g mm", i, d)
		}
	}
	// A closed curve drawn in Slicer is no ellipse of ours: skipped, both a
	// square and the ellipse's outline with one point moved 1 mm.
	out := ellipseOutline(ell.Points)
	out[3][0]++
	var cps []map[string][3]float64
	for _, p := range out {
		cps = append(cps, map[string][3]float64{"position": p})
	}
	bent, _ := json.Marshal(map[string]any{"markups": []any{
		map[string]any{"type": "ClosedCurve", "controlPoints": cps},
		map[string]any{"type": "ClosedCurve", "controlPoints": cps[:4]},
	}})
	os.WriteFile(filepath.Join(dir, "sq_seg.mrk.json"), bent, 0o644)
	if n, err := s2.Edit().LoadMeasurements(filepath.Join(dir, "sq_seg.nii.gz")); err != nil || n != 2 {
		t.Fatalf("curves not ellipses: skipped %d, %v", n, err)
	}

	// A Slicer 4 file in RAS; and a broken file keeps what is shown.
	ras := `{"markups":[{"type":"Line","coordinateSystem":"RAS","controlPoints":[{"position":[1,2,3]},{"position":[4,6,3]}]},{"type":"Curve","controlPoints":[]}]}`
	os.WriteFile(filepath.Join(dir, "ct_seg.mrk.json"), []byte(ras), 0o644)
	if n, err := s2.Edit().LoadMeasurements(labels); err != nil || n != 1 {
		t.Fatalf("RAS file: skipped %d, %v", n, err)
	}
	if got := s2.Edit().Measurements(); len(got) != 1 || got[0].Points[0] != [3]float64{-1, -2, 3} || got[0].Value() != 5 {
		t.Errorf("RAS line read as %+v", got)
	}
	os.WriteFile(filepath.Join(dir, "ct_seg.mrk.json"), []byte("{"), 0o644)
	if _, err := s2.Edit().LoadMeasurements(labels); err == nil || len(s2.Edit().Measurements()) != 1 {
		t.Errorf("broken file: %v, %d measurements", err, len(s2.Edit().Measurements()))
	}
	// Saving with no measurements leaves no stale file to read back.
	s2.Edit().SetMeasurements(nil)
	if err := s2.Edit().SaveMeasurements(labels); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ct_seg.mrk.json")); !os.IsNotExist(err) {
		t.Errorf("stale markups file: %v", err)
	}
}

// TestUndoTakesMeasurementsInTurn: Ctrl+Z after a ruler took back an older
// brush stroke and left the ruler. Undo and Redo now go through the
// measurements and the label map's steps in the order they were made, a
// half-placed angle's points first, and name what they would take.
func TestUndoTakesMeasurementsInTurn(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	e.AddSegment("")
	e.SetTool(ToolBrush)
	if err := e.StrokeAt(mpr.Axial, 150, 150); err != nil {
		t.Fatal(err)
	}
	e.EndStroke()
	painted := e.Labels().Statistics()[0].Voxels
	ruler, err := e.AddRuler(mpr.Axial, 100, 100, 200, 120)
	if err != nil {
		t.Fatal(err)
	}
	e.AngleClick(mpr.Axial, 50, 50)
	e.AngleClick(mpr.Axial, 80, 50)
	count := func(want int, when string) {
		t.Helper()
		if n := len(e.Measurements()); n != want {
			t.Errorf("%s: %d measurements, want %d", when, n, want)
		}
		if n := len(e.MeasurementsOn(mpr.Axial)); n < want {
			t.Errorf("%s: %d on the axial view", when, n)
		}
	}
	undo := func(name string) {
		t.Helper()
		if got, _ := e.CanUndo(); got != name {
			t.Errorf("Undo would take %q, want %q", got, name)
		}
		if !e.Undo() {
			t.Fatalf("nothing undone, want %q", name)
		}
	}
	undo("angle point")
	undo("angle point")
	if e.MeasurementsOn(mpr.Axial)[0].Kind != Ruler || len(e.MeasurementsOn(mpr.Axial)) != 1 {
		t.Error("the half-placed angle is still shown")
	}
	undo(ruler.Name)
	count(0, "ruler undone")
	if e.Labels().Statistics()[0].Voxels != painted {
		t.Fatal("undoing the ruler changed the labels")
	}
	undo("Brush")
	if e.Labels().Count(e.Active()) != 0 {
		t.Error("the stroke is still there")
	}
	for _, name := range []string{"Brush", ruler.Name} {
		if got, _ := e.CanRedo(); got != name {
			t.Errorf("Redo would take %q, want %q", got, name)
		}
		e.Redo()
	}
	count(1, "redone")
	if e.Labels().Count(e.Active()) != painted {
		t.Error("the stroke was not redone")
	}

	// Deleting a measurement is a step too; a new one ends what could be
	// redone, of the labels too.
	if !e.RemoveMeasurement(ruler.ID) {
		t.Fatal("ruler not removed")
	}
	undo("delete " + ruler.Name)
	count(1, "delete undone")
	undo(ruler.Name)
	undo("Brush")
	e.AddRuler(mpr.Axial, 10, 10, 60, 60)
	if name, ok := e.CanRedo(); ok {
		t.Errorf("after a new ruler Redo would take %q", name)
	}
	if e.Redo() || e.Labels().Count(e.Active()) != 0 {
		t.Error("Redo after a new ruler brought the stroke back")
	}

	// Measurements read from a file are not a step.
	e.SetMeasurements(nil)
	got, _ := e.CanUndo()
	if want, _ := e.Labels().CanUndo(); got != want {
		t.Errorf("after reading measurements Undo would take %q, not the labels' %q", got, want)
	}
}
