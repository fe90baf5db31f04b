package app

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/segvolapp/segvol/render/cpu"
	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
	"github.com/segvolapp/segvol/viewer/study"
)

// samplePath is the bundled sample CT, from the package directory.
var samplePath = filepath.Join("..", "assets", "sample", "example_ct_sm.nii.gz")

func openSample(t *testing.T) *viewer.Session {
	t.Helper()
	st, err := study.Open(context.Background(), samplePath, study.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := viewer.NewSession(st.Volume, st.Scan)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sliceWindow shows one view of the sample, 300x300, on a test canvas.
func sliceWindow(t *testing.T, o mpr.Orientation) (*SliceView, *viewer.Session, fyne.Window) {
	t.Helper()
	newTestApp(t)
	s := openSample(t)
	v := NewSliceView(o, cpu.New())
	w := test.NewWindow(v)
	w.SetPadded(false)
	w.Resize(fyne.NewSize(300, 300))
	v.SetSession(s)
	s.OnChange(func(c viewer.Change) {
		if c.Affects(o) {
			v.Refresh()
		}
	})
	t.Cleanup(w.Close)
	return v, s, w
}

func press(v *SliceView, b desktop.MouseButton, m fyne.KeyModifier, at fyne.Position) {
	v.MouseDown(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: at}, Button: b, Modifier: m})
}

func TestSliceViewShowsSample(t *testing.T) {
	_, _, w := sliceWindow(t, mpr.Axial)
	test.AssertImageMatches(t, "axial.png", w.Canvas().Capture())
}

func TestSliceViewScroll(t *testing.T) {
	v, s, w := sliceWindow(t, mpr.Axial)
	n0, _, _ := s.Slice(mpr.Axial)
	test.Scroll(w.Canvas(), fyne.NewPos(150, 150), 0, 10)
	test.Scroll(w.Canvas(), fyne.NewPos(150, 150), 0, 10)
	if n, _, _ := s.Slice(mpr.Axial); n != n0+2 {
		t.Fatalf("slice %d after two wheel notches up from %d", n, n0)
	}
	v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyPageDown})
	v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyPageUp})
	if n, _, _ := s.Slice(mpr.Axial); n != n0+1 {
		t.Fatalf("slice %d after Page Down, Down, Page Up from %d", n, n0+2)
	}
	test.AssertImageMatches(t, "axial_scrolled.png", w.Canvas().Capture())
}

func TestSliceViewDragMovesCrosshair(t *testing.T) {
	v, s, w := sliceWindow(t, mpr.Coronal)
	press(v, desktop.MouseButtonPrimary, 0, fyne.NewPos(100, 120))
	test.Drag(w.Canvas(), fyne.NewPos(100, 120), 40, -30)
	// test.Drag reports the drag at its start point: the crosshair follows
	// it there, to the centre of the voxel drawn under the pointer.
	x, y := s.CursorOnScreen(mpr.Coronal)
	under, _ := s.VoxelAt(mpr.Coronal, 100, 120)
	if at, _ := s.VoxelAt(mpr.Coronal, x, y); at != under {
		t.Fatalf("crosshair at (%.1f,%.1f) on voxel %v, dragged at (100,120) over voxel %v", x, y, at, under)
	}
	test.AssertImageMatches(t, "coronal_crosshair.png", w.Canvas().Capture())
}

func TestSliceViewWindowLevelDrag(t *testing.T) {
	v, s, w := sliceWindow(t, mpr.Axial)
	from := s.Window()
	// Right-button drag: the driver reports it as mouse moves.
	press(v, desktop.MouseButtonSecondary, 0, fyne.NewPos(100, 100))
	v.MouseMoved(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(160, 80)}, Button: desktop.MouseButtonSecondary})
	v.MouseUp(&desktop.MouseEvent{Button: desktop.MouseButtonSecondary})
	got := s.Window()
	if !(got.Width > from.Width && got.Center < from.Center) {
		t.Fatalf("right drag right/up: window %+v from %+v", got, from)
	}
	test.AssertImageMatches(t, "axial_window.png", w.Canvas().Capture())
	// Shift+left drag does the same.
	from = s.Window()
	press(v, desktop.MouseButtonPrimary, fyne.KeyModifierShift, fyne.NewPos(100, 100))
	test.Drag(w.Canvas(), fyne.NewPos(100, 100), -20, 0)
	if got := s.Window(); !(got.Width < from.Width) {
		t.Fatalf("shift drag left: window %+v from %+v", got, from)
	}
}

func TestSliceViewZoomPanReset(t *testing.T) {
	v, s, w := sliceWindow(t, mpr.Sagittal)
	at := fyne.NewPos(200, 150)
	before := s.ProbeAt(mpr.Sagittal, 200, 150).World
	v.KeyDown(&fyne.KeyEvent{Name: desktop.KeyControlLeft})
	for i := 0; i < 5; i++ {
		// test.Scroll sends no position; the driver does.
		v.Scrolled(&fyne.ScrollEvent{PointEvent: fyne.PointEvent{Position: at}, Scrolled: fyne.Delta{DY: 10}})
	}
	v.KeyUp(&fyne.KeyEvent{Name: desktop.KeyControlLeft})
	if z := s.View(mpr.Sagittal).Zoom; abs(z-2.011) > 0.01 {
		t.Fatalf("zoom %v after five Ctrl+wheel notches", z)
	}
	if after := s.ProbeAt(mpr.Sagittal, 200, 150).World; abs(after[1]-before[1])+abs(after[2]-before[2]) > 1e-6 {
		t.Fatalf("the point under the pointer moved from %v to %v", before, after)
	}
	test.AssertImageMatches(t, "sagittal_zoomed.png", w.Canvas().Capture())
	pan := s.View(mpr.Sagittal).Pan
	press(v, desktop.MouseButtonTertiary, 0, fyne.NewPos(150, 150))
	test.Drag(w.Canvas(), fyne.NewPos(150, 150), 30, 0)
	if p := s.View(mpr.Sagittal).Pan; !(p[0] > pan[0]) || p[1] != pan[1] {
		t.Fatalf("middle drag right: pan %v from %v", p, pan)
	}
	v.TypedRune('r')
	if vw := s.View(mpr.Sagittal); vw.Zoom != 1 || vw.Pan != [2]float64{} {
		t.Fatalf("R left %+v", vw)
	}
}

func TestSliceViewOnlyRendersOnChange(t *testing.T) {
	v, s, w := sliceWindow(t, mpr.Coronal)
	w.Canvas().Capture()
	n := v.Frames()
	// Moving the cursor within the coronal plane moves the crosshair only.
	c := s.Cursor()
	c[0] += 9
	s.SetCursor(c)
	w.Canvas().Capture()
	if v.Frames() != n {
		t.Fatalf("%d renders for a crosshair move", v.Frames()-n)
	}
	s.ScrollView(mpr.Coronal, 1)
	w.Canvas().Capture()
	if v.Frames() != n+1 {
		t.Fatalf("%d renders for a new slice, want 1", v.Frames()-n)
	}
}

func TestNiceLength(t *testing.T) {
	for in, want := range map[float64]float64{73: 50, 20: 20, 19.9: 10, 0.3: 0.2, 1: 1} {
		if got := niceLength(in); abs(got-want) > 1e-12 {
			t.Errorf("niceLength(%v) = %v, want %v", in, got, want)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// A replaced label map is drawn by every view, scrolled or not: two maps
// loaded alike share their revision numbers, which alone looked like no
// change (the sagittal view kept the old liver after File > Open
// segmentation).
func TestSliceViewRedrawsReplacedLabels(t *testing.T) {
	v, s, w := sliceWindow(t, mpr.Sagittal)
	e := s.Edit()
	load := func(drop uint8) *labels.LabelMap {
		m, err := labels.Load(sampleSeg, s.Volume)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Apply(m.Mask(drop), drop, labels.Subtract); err != nil {
			t.Fatal(err)
		}
		return m
	}
	// The first map lacks the spleen (1), the second the liver (5).
	first, second := load(1), load(5)
	if first.Revision() != second.Revision() {
		t.Fatalf("revisions %d and %d: the test needs equal ones", first.Revision(), second.Revision())
	}
	// The sagittal plane through a liver voxel.
	liver := slices.Index(first.Mask(5), 1)
	d := s.Volume.Dims
	s.SetCursor(s.Volume.Geom.IndexToWorld([3]float64{float64(liver % d[0]), float64(liver / d[0] % d[1]), float64(liver / (d[0] * d[1]))}))
	if err := e.SetLabels(first); err != nil {
		t.Fatal(err)
	}
	before := w.Canvas().Capture()
	n := v.Frames()
	if err := e.SetLabels(second); err != nil {
		t.Fatal(err)
	}
	after := w.Canvas().Capture()
	if v.Frames() != n+1 {
		t.Fatalf("%d renders after the label map was replaced, want 1", v.Frames()-n)
	}
	if reflect.DeepEqual(before, after) {
		t.Fatal("the view still shows the replaced label map")
	}
}

// TestSliceViewWindowDragFollowsDataRange: a right drag the view's height
// changes the width by the sample's useful range (its auto window, 1st to
// 99th percentile), and the window stays in whole HU.
func TestSliceViewWindowDragFollowsDataRange(t *testing.T) {
	v, s, _ := sliceWindow(t, mpr.Axial)
	var span float64
	for _, p := range s.Presets() {
		if strings.HasPrefix(p.Name, "Auto") {
			span = p.Width
		}
	}
	from := s.Window()
	h := float32(s.View(mpr.Axial).Height)
	press(v, desktop.MouseButtonSecondary, 0, fyne.NewPos(10, 10))
	v.MouseMoved(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(10+h/3, 10+h/7)}, Button: desktop.MouseButtonSecondary})
	v.MouseUp(&desktop.MouseEvent{Button: desktop.MouseButtonSecondary})
	got := s.Window()
	t.Logf("a drag of %.0f px right in a %.0f px view: W %v -> %v (useful range %v)", h/3, h, from.Width, got.Width, span)
	if dw := got.Width - from.Width; abs(dw-span/3) > 1 {
		t.Errorf("a third of the view's height widened the window by %v, want a third of %v", dw, span)
	}
	if dl := got.Center - from.Center; abs(dl-span/7) > 1 {
		t.Errorf("a seventh of the view's height raised the level by %v, want a seventh of %v", dl, span)
	}
	if got.Width != math.Round(got.Width) || got.Center != math.Round(got.Center) {
		t.Errorf("window %v is not in whole HU", got)
	}
}

// TestSliceViewPageKeysStepSeveral: Page Up/Down move several slices, the
// arrows one.
func TestSliceViewPageKeysStepSeveral(t *testing.T) {
	v, s, _ := sliceWindow(t, mpr.Axial)
	n0, count, _ := s.Slice(mpr.Axial)
	v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyPageDown})
	n1, _, _ := s.Slice(mpr.Axial)
	v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	n2, _, _ := s.Slice(mpr.Axial)
	v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyPageUp})
	v.TypedKey(&fyne.KeyEvent{Name: fyne.KeyPageUp})
	n3, _, _ := s.Slice(mpr.Axial)
	if step := max(5, count/10); n1 != n0-step || n2 != n1-1 || n3 != n2+2*step {
		t.Errorf("slices %d, Page Down %d, Down %d, Page Up twice %d; want pages of %d of the %d slices", n0, n1, n2, n3, step, count)
	}
}

// TestSliceViewNarrowKeepsMM: a view too narrow for the whole cursor line
// (300 wide here; each of the 1x3 layout's is 277 in a 1166-wide window)
// still shows the cursor's position in mm, which batch manifests' boxes
// take, saying it is LPS (a RAS user misread the signs), and the value
// there.
func TestSliceViewNarrowKeepsMM(t *testing.T) {
	v, s, _ := sliceWindow(t, mpr.Axial)
	r := test.WidgetRenderer(v).(*sliceRenderer)
	c := s.Cursor()
	if !strings.Contains(r.cursorText.Text, fmt.Sprintf("%.1f %.1f %.1f mm LPS", c[0], c[1], c[2])) || !strings.HasSuffix(r.cursorText.Text, " HU") {
		t.Errorf("cursor line %q: no position in mm or no value", r.cursorText.Text)
	}
	if w := fyne.MeasureText(r.cursorText.Text, r.cursorText.TextSize, r.cursorText.TextStyle).Width; w > v.Size().Width {
		t.Errorf("cursor line %q is %g wide in a %g view", r.cursorText.Text, w, v.Size().Width)
	}
}

// TestSliceViewIndexSaysIJK: in a view too narrow for millimetres (225
// wide on a 1024x640 screen) the cursor line gives the voxel, named IJK
// (counted from 0, as Slicer and nibabel do): a bare "[60 50 14]" under
// the title's "Axial 15/30" read as off by one.
func TestSliceViewIndexSaysIJK(t *testing.T) {
	v, s, w := sliceWindow(t, mpr.Axial)
	w.Resize(fyne.NewSize(225, 300))
	v.Refresh()
	r := test.WidgetRenderer(v).(*sliceRenderer)
	p := s.ProbeWorld(s.Cursor())
	want := fmt.Sprintf("IJK %d %d %d", p.Index[0], p.Index[1], p.Index[2])
	if !strings.Contains(r.cursorText.Text, want) {
		t.Errorf("cursor line %q, want it to hold %q", r.cursorText.Text, want)
	}
	if n, count, _ := s.Slice(mpr.Axial); !strings.Contains(r.title.Text, fmt.Sprintf("%d/%d", p.Index[2]+1, count)) {
		t.Errorf("title %q for IJK k %d (slice %d of %d)", r.title.Text, p.Index[2], n, count)
	}
}

// TestSliceViewTopLetterClearOfTitle: in a view 225 wide (1x3 on a
// 1024x640 screen) the top orientation letter stood against the title's
// end ("Coronal 51/101 S", read as part of it); it goes below the title
// line then, and stays on it where there is room.
func TestSliceViewTopLetterClearOfTitle(t *testing.T) {
	v, _, w := sliceWindow(t, mpr.Coronal)
	r := test.WidgetRenderer(v).(*sliceRenderer)
	for _, width := range []float32{225, 600} {
		w.Resize(fyne.NewSize(width, 300))
		v.Refresh()
		top, title, win := r.top.Position(), r.title.Position(), r.window.Position()
		sameLine := top.Y < title.Y+r.title.MinSize().Height
		gap := 3 * r.top.MinSize().Width // less read as one word
		if sameLine && (top.X < title.X+r.title.MinSize().Width+gap || top.X+r.top.MinSize().Width+gap > win.X) {
			t.Errorf("%v wide: %q at %v touches the title %q (%v, %v wide) or %q at %v", width, r.top.Text, top, r.title.Text, title, r.title.MinSize().Width, r.window.Text, win)
		}
		if width == 600 && !sameLine {
			t.Errorf("600 wide: the top letter left the title line with room on it")
		}
	}
}

// TestEmptyViewsSayHowToOpen: with no study open the axial view says how
// to open one (black views alone told a new user nothing); the others
// stay blank, and the hint goes once a study is in.
func TestEmptyViewsSayHowToOpen(t *testing.T) {
	loaded := make(chan error, 1)
	v := newViewer(t, newTestApp(t), Options{OnLoaded: func(err error) { loaded <- err }, AutosaveInterval: -1})
	v.win.Resize(fyne.NewSize(1400, 900))
	shown := func(o mpr.Orientation) []string {
		r := test.TempWidgetRenderer(t, v.View(o)).(*sliceRenderer)
		var out []string
		for _, txt := range []*canvas.Text{r.title, r.cursorText} {
			if txt.Visible() && txt.Text != "" {
				out = append(out, txt.Text)
			}
		}
		return out
	}
	if got := shown(mpr.Axial); len(got) != 2 || got[0] != emptyHint[0] || got[1] != emptyHint[1] {
		t.Errorf("the empty axial view shows %q", got)
	}
	if got := shown(mpr.Coronal); len(got) != 0 {
		t.Errorf("the empty coronal view shows %q", got)
	}
	v.Open(samplePath, "")
	if err := await(t, "the sample", loaded); err != nil {
		t.Fatal(err)
	}
	if got := shown(mpr.Axial); len(got) == 0 || got[0] == emptyHint[0] || !strings.HasPrefix(got[0], "Axial") {
		t.Errorf("with a study the axial view shows %q", got)
	}
}
