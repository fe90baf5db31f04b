package viewer

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/viewer/mpr"
	"github.com/segvolapp/segvol/viewer/study"
	"github.com/segvolapp/segvol/viewer/volume"
)

// sample opens the bundled sample CT (122x101x30, 3 mm, int16, stored RAS).
func sample(t *testing.T) *Session {
	t.Helper()
	st, err := study.Open(context.Background(), filepath.Join("..", "assets", "sample", "example_ct_sm.nii.gz"), study.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(st.Volume, st.Scan)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range Orientations {
		s.Resize(o, 400, 300)
	}
	return s
}

// recorder collects the changes a session reports.
func recorder(s *Session) *[]Change {
	var got []Change
	s.OnChange(func(c Change) { got = append(got, c) })
	return &got
}

func TestProbeMatchesNibabel(t *testing.T) {
	s := sample(t)
	// Values and RAS positions printed by nibabel for the same voxels; LPS
	// negates x and y.
	cases := []struct {
		ijk   [3]int
		ras   [3]float64
		value float64
	}{
		{[3]int{10, 20, 5}, [3]float64{-147.95632935, 71.31900024, 109.30175781}, -985},
		{[3]int{100, 70, 25}, [3]float64{122.04367065, 221.31900024, 169.30175781}, 42},
		{[3]int{61, 50, 15}, [3]float64{5.04367065, 161.31900024, 139.30175781}, 0},
	}
	for _, c := range cases {
		// A point 1 mm off the voxel centre still probes that voxel.
		p := s.ProbeWorld([3]float64{-c.ras[0] + 1, -c.ras[1] - 1, c.ras[2] + 1})
		if !p.Inside || p.Index != c.ijk || p.Value != c.value {
			t.Errorf("probe near %v: %+v, want index %v value %v", c.ras, p, c.ijk, c.value)
		}
	}
	if p := s.ProbeWorld([3]float64{1e4, 0, 0}); p.Inside {
		t.Errorf("a point far outside probes as inside: %+v", p)
	}
	if !s.IsCT() {
		t.Error("the sample CT (NIfTI, no modality) is not recognised as CT")
	}
}

func TestProbeUnderCursorOnScreen(t *testing.T) {
	s := sample(t)
	for _, o := range Orientations {
		x, y := s.CursorOnScreen(o)
		got := s.ProbeAt(o, x, y)
		want := s.ProbeWorld(s.Cursor())
		if got.Index != want.Index || got.Value != want.Value {
			t.Errorf("%v: probe at the crosshair %+v, at the cursor %+v", o, got, want)
		}
	}
}

func TestScrollMovesOnlyItsAxis(t *testing.T) {
	s := sample(t)
	got := recorder(s)
	before := s.Cursor()
	n0, count, _ := s.Slice(mpr.Axial)
	if count != 30 {
		t.Fatalf("axial count %d, want 30", count)
	}
	s.ScrollView(mpr.Axial, 3)
	if n, _, _ := s.Slice(mpr.Axial); n != n0+3 {
		t.Fatalf("axial slice %d after scrolling 3 from %d", n, n0)
	}
	c := s.Cursor()
	if c[0] != before[0] || c[1] != before[1] || math.Abs(c[2]-before[2]-9) > 1e-9 {
		t.Fatalf("cursor %v after scrolling 3 axial slices from %v", c, before)
	}
	if len(*got) != 1 || (*got)[0].What != CursorChanged || (*got)[0].Views != allViews {
		t.Fatalf("changes %+v", *got)
	}
	// Scrolling past the end stops at the last slice and reports no change
	// once there.
	s.ScrollView(mpr.Axial, 100)
	if n, _, _ := s.Slice(mpr.Axial); n != 29 {
		t.Fatalf("slice %d after scrolling past the end", n)
	}
	k := len(*got)
	s.ScrollView(mpr.Axial, 1)
	if len(*got) != k {
		t.Fatal("scrolling at the last slice reported a change")
	}
}

func TestClickMovesCursorInAllViews(t *testing.T) {
	s := sample(t)
	s.SetCursorAt(mpr.Axial, 100, 80)
	c := s.Cursor()
	// The click lands on the centre of the voxel drawn in the pixel under
	// the pointer in the view it was made in (within half a voxel of that
	// pixel)...
	near := 1.5/s.View(mpr.Axial).MMPerPixel(s.Frame()) + 1
	if x, y := s.CursorOnScreen(mpr.Axial); math.Abs(x-100) > near || math.Abs(y-80) > near || !sameVoxel(s, x, y, func() [3]int { v, _ := s.VoxelAt(mpr.Axial, 100, 80); return v }()) {
		t.Fatalf("crosshair at (%v,%v), clicked (100,80)", x, y)
	}
	// ...and the sagittal and coronal views now show that point's slices.
	for _, o := range []mpr.Orientation{mpr.Coronal, mpr.Sagittal} {
		p := s.Plane(o)
		n := o.Normal()
		var d float64
		for a := 0; a < 3; a++ {
			d += (c[a] - p.Origin[a]) * n[a]
		}
		if math.Abs(d) > 1e-9 {
			t.Errorf("%v plane is %v mm off the cursor", o, d)
		}
	}
}

func TestZoomPanResetTouchOneView(t *testing.T) {
	s := sample(t)
	got := recorder(s)
	w := s.ProbeAt(mpr.Coronal, 50, 60).World
	s.Zoom(mpr.Coronal, 2, 50, 60)
	if v := s.View(mpr.Coronal); v.Zoom != 2 {
		t.Fatalf("zoom %v", v.Zoom)
	}
	if w2 := s.ProbeAt(mpr.Coronal, 50, 60).World; math.Abs(w2[0]-w[0])+math.Abs(w2[2]-w[2]) > 1e-9 {
		t.Fatalf("point under the pointer moved from %v to %v", w, w2)
	}
	s.Pan(mpr.Coronal, 10, 0)
	s.ResetView(mpr.Coronal)
	if v := s.View(mpr.Coronal); v.Zoom != 1 || v.Pan != [2]float64{} {
		t.Fatalf("after reset %+v", v)
	}
	if len(*got) != 3 {
		t.Fatalf("%d changes, want 3", len(*got))
	}
	for _, c := range *got {
		if c.What != ViewChanged || c.Affects(mpr.Axial) || c.Affects(mpr.Sagittal) || !c.Affects(mpr.Coronal) {
			t.Fatalf("change %+v", c)
		}
	}
}

func TestWindowPresets(t *testing.T) {
	s := sample(t)
	got := recorder(s)
	if w := s.Window(); w.Name != "Soft tissue" || w.Center != 40 || w.Width != 400 {
		t.Fatalf("default window %+v", w)
	}
	names := map[string][2]float64{}
	for _, p := range s.Presets() {
		names[p.Name] = [2]float64{p.Center, p.Width}
	}
	for name, cw := range map[string][2]float64{"Brain": {40, 80}, "Liver": {60, 160}, "Lung": {-600, 1500}, "Bone": {300, 1500}} {
		if names[name] != cw {
			t.Errorf("preset %s = %v, want %v", name, names[name], cw)
		}
	}
	// nibabel's 1st and 99th percentiles of the whole volume: -1013 and 188.
	auto := names[autoName]
	if lo, hi := auto[0]-auto[1]/2, auto[0]+auto[1]/2; math.Abs(lo+1013) > 15 || math.Abs(hi-188) > 15 {
		t.Errorf("auto window spans %v..%v, want about -1013..188", lo, hi)
	}
	if !s.ApplyPreset("Lung") || s.Window().Center != -600 {
		t.Fatalf("lung preset not applied: %+v", s.Window())
	}
	if s.ApplyPreset("No such") {
		t.Fatal("an unknown preset applied")
	}
	from := s.Window()
	s.DragWindow(mpr.Axial, from, 100, -50)
	w := s.Window()
	if !(w.Width > from.Width && w.Center < from.Center) || w.Name != "" {
		t.Fatalf("drag right/up from %+v gave %+v", from, w)
	}
	s.SetWindow(0, -5)
	if s.Window().Width != 1 {
		t.Fatalf("negative width kept: %+v", s.Window())
	}
	if o := s.Options(); o.Center != 0 || o.Width != 1 || o.Interp != render.Linear {
		t.Fatalf("options %+v", o)
	}
	for _, c := range *got {
		if c.What != WindowChanged || c.Views != allViews {
			t.Fatalf("change %+v", c)
		}
	}
}

func TestMRUsesFileWindowThenPercentiles(t *testing.T) {
	v, err := volume.New(volume.Uint16, [3]int{10, 10, 10}, volume.Identity())
	if err != nil {
		t.Fatal(err)
	}
	data := v.Data.([]uint16)
	for i := range data {
		data[i] = uint16(i)
	}
	v.Meta.Modality = "MR"
	s, err := NewSession(v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.IsCT() || s.Window().Name != autoName {
		t.Fatalf("MR without file windows: ct=%v window %+v", s.IsCT(), s.Window())
	}
	if w := s.Window(); math.Abs(w.Center-499.5) > 2 || math.Abs(w.Width-980) > 4 {
		t.Fatalf("auto window %+v, want about 499.5/980", w)
	}
	v.Meta.Windows = []volume.Window{{Center: 300, Width: 600}}
	s, _ = NewSession(v, nil)
	if w := s.Window(); w.Center != 300 || w.Name != "From file 1" || len(s.Presets()) != 2 {
		t.Fatalf("file window not the default: %+v of %+v", w, s.Presets())
	}
}

func TestInterp(t *testing.T) {
	s := sample(t)
	got := recorder(s)
	s.SetInterp(render.Nearest)
	s.SetInterp(render.Nearest)
	if s.Interp() != render.Nearest || len(*got) != 1 || (*got)[0].What != InterpChanged {
		t.Fatalf("interp %v changes %+v", s.Interp(), *got)
	}
}

// TestLinkedZoomAndPan: with linked views a zoom gives every view the same
// mm per pixel, and a pan moves the others along the axes they share
// (axial left-right is coronal left-right; axial front-back is sagittal
// front-back); unlinked, the others stay.
func TestLinkedZoomAndPan(t *testing.T) {
	s := sample(t)
	for _, o := range Orientations {
		s.Resize(o, 300, 400)
	}
	f := s.Frame()
	s.Zoom(mpr.Axial, 2, 100, 100)
	if a, c := s.View(mpr.Axial).MMPerPixel(f), s.View(mpr.Coronal).MMPerPixel(f); a == c {
		t.Fatalf("unlinked: coronal took the axial scale %v", a)
	}
	before := [3]mpr.View{s.View(0), s.View(1), s.View(2)}
	s.Pan(mpr.Axial, 10, 0)
	if s.View(mpr.Coronal) != before[mpr.Coronal] || s.View(mpr.Sagittal) != before[mpr.Sagittal] {
		t.Fatal("unlinked: a pan in the axial view moved the others")
	}

	s.SetLinkedViews(true)
	s.Zoom(mpr.Axial, 1.5, 100, 100)
	mm := s.View(mpr.Axial).MMPerPixel(f)
	for _, o := range Orientations {
		if got := s.View(o).MMPerPixel(f); math.Abs(got-mm) > 1e-9 {
			t.Errorf("%v view: %v mm per pixel, the axial has %v", o, got, mm)
		}
	}
	cor, sag := s.View(mpr.Coronal).Pan, s.View(mpr.Sagittal).Pan
	s.Pan(mpr.Axial, 10, 0) // along the patient's left
	if d := s.View(mpr.Coronal).Pan; math.Abs(d[0]-cor[0]-10*mm) > 1e-9 || d[1] != cor[1] {
		t.Errorf("coronal pan %v -> %v, want %v mm to the right", cor, d, 10*mm)
	}
	if d := s.View(mpr.Sagittal).Pan; d != sag {
		t.Errorf("sagittal pan %v -> %v for a left-right pan it has no axis for", sag, d)
	}
	s.Pan(mpr.Axial, 0, 10) // towards the patient's back
	if d := s.View(mpr.Sagittal).Pan; math.Abs(math.Abs(d[0]-sag[0])-10*mm) > 1e-9 || d[1] != sag[1] {
		t.Errorf("sagittal pan %v -> %v, want %v mm along front-back", sag, d, 10*mm)
	}
	// R over one linked view resets them all (the others stayed zoomed).
	s.ResetView(mpr.Coronal)
	for _, o := range Orientations {
		if v := s.View(o); v.Zoom != 1 || v.Pan != [2]float64{} {
			t.Errorf("%v view after a reset of the coronal: zoom %v, pan %v", o, v.Zoom, v.Pan)
		}
	}
	// Unlinked, a reset keeps to its view.
	s.SetLinkedViews(false)
	s.Zoom(mpr.Axial, 2, 100, 100)
	s.ResetView(mpr.Coronal)
	if v := s.View(mpr.Axial); v.Zoom != 2 {
		t.Errorf("unlinked: a reset of the coronal view took the axial's zoom %v", v.Zoom)
	}
}

// TestSetTimePoint: another volume of the grid replaces the shown one and
// every view redraws; one of another grid is refused and changes nothing.
func TestSetTimePoint(t *testing.T) {
	s := sample(t)
	var got []Change
	s.OnChange(func(c Change) { got = append(got, c) })
	old := s.Volume
	other, err := volume.New(volume.Int16, old.Dims, old.Geom)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetTimePoint(other); err != nil {
		t.Fatal(err)
	}
	if s.Volume != other || s.Edit().Labels().Image() != other || len(got) != 1 || got[0].What != VolumeChanged || got[0].Views != allViews {
		t.Fatalf("volume replaced %v, label map's image %v, changes %+v", s.Volume == other, s.Edit().Labels().Image() == other, got)
	}
	small, err := volume.New(volume.Int16, [3]int{2, 2, 2}, old.Geom)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetTimePoint(small); err == nil || s.Volume != other || len(got) != 1 {
		t.Fatalf("a 2x2x2 volume: error %v, replaced %v", err, s.Volume == small)
	}
}
