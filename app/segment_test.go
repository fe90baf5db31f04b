package app

import (
	"fmt"
	"image"
	"image/color"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/infer/engine"
	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
)

var sampleSeg = filepath.Join("..", "assets", "sample", "example_seg.nii.gz")

// dragIn drags in view o from screen point (x0, y0) of the view to
// (x1, y1), through the window's canvas as a user would.
func dragIn(t *testing.T, v *Viewer, o mpr.Orientation, x0, y0, x1, y1 float64) {
	t.Helper()
	at, _ := v.ViewRect(o)
	test.Drag(v.win.Canvas(), at.AddXY(float32(x0), float32(y0)), float32(x1-x0), float32(y1-y0))
}

// TestSegmentEditSaveReload is the scripted session: a box on the sample's
// liver, the embedded default, accept into a segment, paint, undo, save,
// reload, compare voxels.
func TestSegmentEditSaveReload(t *testing.T) {
	segmented := make(chan error, 8)
	v, err := openViewer(t, Options{Engine: engine.Options{Backend: "classic"}, RecoveryDir: t.TempDir(), AutosaveInterval: -1,
		OnSegmented: func(err error) { segmented <- err }}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.Window().Resize(fyne.NewSize(1400, 660))
	waitFor(t, "the engine", func() bool { return v.ai.seg != nil })
	if st := v.status.Text; !strings.Contains(st, "AI: embedded default") {
		t.Errorf("status %q", st)
	}
	s := v.Session()
	e := s.Edit()
	truth, err := labels.Load(sampleSeg, s.Volume)
	if err != nil {
		t.Fatal(err)
	}
	liver := truth.Mask(5)
	lo, hi := bounds(liver, s.Volume.Dims)
	g := s.Volume.Geom
	s.SetCursor(g.IndexToWorld([3]float64{float64(lo[0]+hi[0]) / 2, float64(lo[1]+hi[1]) / 2, float64(lo[2]+hi[2]) / 2}))
	screen := func(o mpr.Orientation, idx [3]int) (float64, float64) {
		return s.View(o).WorldToScreen(s.Frame(), s.Cursor(), g.IndexToWorld([3]float64{float64(idx[0]), float64(idx[1]), float64(idx[2])}))
	}

	// The box tool by its key; a drag in the axial view, then one in the
	// coronal view for the depth. Each runs the engine.
	v.View(mpr.Axial).TypedRune('b')
	if e.Tool() != viewer.ToolBox || v.tools.buttons[3].Importance != widget.HighImportance {
		t.Fatalf("tool %v", e.Tool())
	}
	for _, o := range []mpr.Orientation{mpr.Axial, mpr.Coronal} {
		x0, y0 := screen(o, lo)
		x1, y1 := screen(o, hi)
		dragIn(t, v, o, x0, y0, x1, y1)
	}
	if b := e.Box(); !b.Complete() || b.Guessed != -1 {
		t.Fatalf("box %+v after drags in two views", b)
	}
	if len(v.aiPanel.rows) != 1 || !strings.HasPrefix(v.aiPanel.rows[0].text, "box") {
		t.Errorf("prompt list %+v", v.aiPanel.rows)
	}
	awaitPreview(t, segmented)
	preview := e.Preview()
	if preview == nil || !strings.Contains(v.status.Text, "last ") {
		t.Fatalf("no preview; status %q", v.status.Text)
	}
	t.Logf("preview Dice with the liver %.3f; %s", dice(preview, liver), v.status.Text)
	if d := dice(preview, liver); d < 0.6 {
		t.Errorf("preview Dice %.3f", d)
	}
	// The preview shows in the views in its colour.
	img := v.View(mpr.Axial).render(nil, v.View(mpr.Axial).keyFor(300, 300))
	if !hasColour(img, viewer.PreviewColor) {
		t.Error("the axial view does not show the preview's colour")
	}

	// Accept (Enter) into a new segment: one undo step.
	v.View(mpr.Axial).TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if e.Preview() != nil || e.Active() == 0 {
		t.Fatalf("after Enter: preview %v, active %d", e.Preview() != nil, e.Active())
	}
	accepted := e.Labels().Mask(e.Active())
	if !slices.Equal(accepted, preview) {
		t.Fatal("the segment is not the preview")
	}
	if !strings.HasPrefix(v.editItems.undo.Label, "Undo accept into ") {
		t.Errorf("undo item %q", v.editItems.undo.Label)
	}

	// Paint with the brush beside the liver, then undo the stroke.
	v.SetTool(viewer.ToolBrush)
	x, y := s.CursorOnScreen(mpr.Axial)
	dragIn(t, v, mpr.Axial, x-40, y+60, x+40, y+60)
	painted := e.Labels().Mask(e.Active())
	if count(painted) <= count(accepted) {
		t.Fatalf("the brush painted nothing (%d voxels, %d before)", count(painted), count(accepted))
	}
	if v.editItems.undo.Label != "Undo Brush" {
		t.Errorf("undo item %q", v.editItems.undo.Label)
	}
	v.Undo()
	if !slices.Equal(e.Labels().Mask(e.Active()), accepted) {
		t.Fatal("undo did not take the stroke back")
	}
	v.Redo()
	if !slices.Equal(e.Labels().Mask(e.Active()), painted) {
		t.Fatal("redo did not bring the stroke back")
	}
	v.Undo()

	// The segments panel names it and measures it.
	waitFor(t, "statistics", func() bool { return strings.Contains(v.segPanel.info.Text, "mL") })
	if len(v.segPanel.segs) != 1 {
		t.Errorf("segments panel %+v", v.segPanel.segs)
	}

	// Save and load back.
	if !e.Dirty() {
		t.Error("not dirty before saving")
	}
	path := filepath.Join(t.TempDir(), "liver")
	if err := v.SaveLabels(path); err != nil {
		t.Fatal(err)
	}
	if e.Dirty() {
		t.Error("dirty after saving")
	}
	v.Undo() // change it, then load the saved file over it
	if err := v.OpenLabels(path + ".nii.gz"); err != nil {
		t.Fatal(err)
	}
	e = v.Session().Edit()
	if got := e.Labels().Mask(e.Active()); !slices.Equal(got, accepted) {
		t.Fatal("the reloaded segmentation differs from the saved one")
	}
	if segs := e.Labels().Segments(); len(segs) != 1 || segs[0].Name != "Label 1" {
		t.Errorf("reloaded segments %+v", segs)
	}
}

// TestPromptMarkersAndRecovery: points placed with the tools show as
// markers, a right click removes one; an autosave is offered back.
func TestPromptMarkersAndRecovery(t *testing.T) {
	dir := t.TempDir()
	v, err := openViewer(t, Options{Engine: engine.Options{Backend: "classic"}, RecoveryDir: dir, AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.aiPanel.auto.SetChecked(false)
	s := v.Session()
	e := s.Edit()
	v.SetTool(viewer.ToolPositive)
	sv := v.View(mpr.Axial)
	press(sv, desktop.MouseButtonPrimary, 0, fyne.NewPos(120, 100))
	v.SetTool(viewer.ToolNegative)
	press(sv, desktop.MouseButtonPrimary, 0, fyne.NewPos(160, 100))
	if m := e.MarkersOn(mpr.Axial); len(m) != 2 || len(v.aiPanel.rows) != 2 {
		t.Fatalf("markers %+v, prompt rows %+v", m, v.aiPanel.rows)
	}
	press(sv, desktop.MouseButtonSecondary, 0, fyne.NewPos(161, 102)) // right click on the negative point
	if m := e.MarkersOn(mpr.Axial); len(m) != 1 || !m[0].Positive {
		t.Fatalf("after a right click: %+v", m)
	}
	v.removePrompt(e.Points()[0].ID)
	if e.HasPrompt() {
		t.Fatal("the list's remove button left a prompt")
	}

	// Unsaved work goes to the recovery folder and is offered back.
	if _, err := e.AddSegment("spleen"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Autosave(); err != nil {
		t.Fatal(err)
	}
	recs, err := labels.FindRecovery(dir)
	if err != nil || len(recs) != 1 || recs[0].Segments[0].Name != "spleen" {
		t.Fatalf("recovery %+v %v", recs, err)
	}
	loaded := make(chan error, 1)
	v2 := newViewer(t, newTestApp(t), Options{Engine: engine.Options{Backend: "classic"}, RecoveryDir: dir, AutosaveInterval: -1,
		OnLoaded: func(err error) { loaded <- err }})
	v2.OfferRecovery()
	restore := findButton(t, v2.win.Canvas().Overlays().Top(), "Restore")
	if restore == nil {
		t.Fatal("no recovery offer")
	}
	test.Tap(restore)
	if err := await(t, "the restored study", loaded); err != nil {
		t.Fatal(err)
	}
	e2 := v2.Session().Edit()
	if segs := e2.Labels().Segments(); len(segs) != 1 || segs[0].Name != "spleen" || !e2.Dirty() {
		t.Fatalf("restored %+v, dirty %v", segs, e2.Dirty())
	}
	if recs, _ := labels.FindRecovery(dir); len(recs) != 0 {
		t.Errorf("the restored record is still offered: %+v", recs)
	}
}

// findButton finds a button by its label in a dialog.
func findButton(t *testing.T, o fyne.CanvasObject, label string) *widget.Button {
	return find(t, o, func(b *widget.Button) bool { return b.Text == label })
}

// find is the last object of type T under o (a dialog) that match accepts.
func find[T fyne.CanvasObject](t *testing.T, o fyne.CanvasObject, match func(T) bool) T {
	var found T
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if x, ok := o.(T); ok && match(x) {
			found = x
		}
		switch c := o.(type) {
		case *fyne.Container:
			for _, x := range c.Objects {
				walk(x)
			}
		case fyne.Widget:
			for _, x := range test.TempWidgetRenderer(t, c).Objects() {
				walk(x)
			}
		}
	}
	if o != nil {
		walk(o)
	}
	return found
}

func bounds(mask []uint8, d [3]int) (lo, hi [3]int) {
	lo, hi = d, [3]int{-1, -1, -1}
	for n, x := range mask {
		if x != 0 {
			idx := [3]int{n % d[0], n / d[0] % d[1], n / (d[0] * d[1])}
			for a := range 3 {
				lo[a], hi[a] = min(lo[a], idx[a]), max(hi[a], idx[a])
			}
		}
	}
	return lo, hi
}

func count(m []uint8) int {
	n := 0
	for _, x := range m {
		if x != 0 {
			n++
		}
	}
	return n
}

func dice(a, b []uint8) float64 {
	both := 0
	for n := range a {
		if a[n] != 0 && b[n] != 0 {
			both++
		}
	}
	return 2 * float64(both) / float64(count(a)+count(b))
}

// hasColour reports whether some pixel is within 40 of c on every channel
// (the fill blends it with the image; the outline is c itself).
func hasColour(img *image.RGBA, c color.NRGBA) bool {
	near := func(a, b uint8) bool { return max(a, b)-min(a, b) <= 40 }
	for n := 0; n+3 < len(img.Pix); n += 4 {
		if near(img.Pix[n], c.R) && near(img.Pix[n+1], c.G) && near(img.Pix[n+2], c.B) {
			return true
		}
	}
	return false
}

// TestNoActiveSegmentNote: the brush with no segment says so in the status
// bar, and the note goes once a segment is added (it stayed, over a
// segment being painted).
func TestNoActiveSegmentNote(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.SetTool(viewer.ToolBrush)
	press(v.View(mpr.Axial), desktop.MouseButtonPrimary, 0, fyne.NewPos(120, 100))
	if v.loadInfo != noActiveNote {
		t.Fatalf("the status says %q after painting with no segment", v.loadInfo)
	}
	if _, err := v.Session().Edit().AddSegment("liver"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(v.loadInfo, "no active segment") {
		t.Errorf("the status still says %q with a segment active", v.loadInfo)
	}
}

// TestBrushRangeNotANumber: with "Only values in" ticked, a bound that is
// no number ("300d": a tool key typed into the field) or a min over the
// max makes the brush and 3D fill refuse in the status bar, where the
// brush painted every value (air at -1000 HU among them); a good range
// paints again.
func TestBrushRangeNotANumber(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	e := v.Session().Edit()
	liver, err := e.AddSegment("liver")
	if err != nil {
		t.Fatal(err)
	}
	p := v.brushPanel
	p.limit.SetChecked(true)
	p.lo.SetText("-200")
	sv := v.View(mpr.Axial)
	x, y := v.Session().CursorOnScreen(mpr.Axial) // in the body
	at := fyne.NewPos(float32(x), float32(y))
	for _, tc := range []struct{ hi, says string }{{"300d", "give two numbers"}, {"-300", "give the smaller first"}} {
		p.hi.SetText(tc.hi)
		for _, tool := range []viewer.Tool{viewer.ToolBrush, viewer.ToolFill} {
			v.SetTool(tool)
			press(sv, desktop.MouseButtonPrimary, 0, at)
			sv.MouseUp(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: at}, Button: desktop.MouseButtonPrimary})
			if n := e.Labels().Count(liver); n != 0 {
				t.Fatalf("max %q, %v: %d voxels painted", tc.hi, tool, n)
			}
			if !strings.Contains(v.loadInfo, tc.says) {
				t.Errorf("max %q, %v: the status says %q", tc.hi, tool, v.loadInfo)
			}
		}
	}
	p.hi.SetText("300")
	v.SetTool(viewer.ToolBrush)
	press(sv, desktop.MouseButtonPrimary, 0, at)
	sv.MouseUp(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: at}, Button: desktop.MouseButtonPrimary})
	if e.Labels().Count(liver) == 0 {
		t.Error("a good range painted nothing")
	}
}

// TestFillSaysWhatItAdded: a 3D fill says in the status bar what it added,
// and warns when that is more than a tenth of the image (at the default
// ±100 HU a click in the sample's liver filled litres of the body without
// a word).
func TestFillSaysWhatItAdded(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	e := v.Session().Edit()
	seg, err := e.AddSegment("liver")
	if err != nil {
		t.Fatal(err)
	}
	sv := v.View(mpr.Axial)
	x, y := v.Session().CursorOnScreen(mpr.Axial)
	at := fyne.NewPos(float32(x), float32(y))
	v.SetTool(viewer.ToolFill)
	for i, tol := range []string{"20", "100"} {
		if i > 0 {
			e.Undo() // the first fill
		}
		v.brushPanel.tolerance.SetText(tol)
		press(sv, desktop.MouseButtonPrimary, 0, at)
		n := e.Labels().Count(seg)
		if n == 0 || !strings.Contains(v.loadInfo, fmt.Sprintf("3D fill (liver): added %d voxel", n)) {
			t.Fatalf("±%s: %d voxels filled, the status says %q", tol, n, v.loadInfo)
		}
		d := v.Session().Volume.Dims
		share := float64(n) / float64(d[0]*d[1]*d[2])
		t.Logf("±%s: %d voxels, %.1f%% of the image", tol, n, 100*share)
		if warned := strings.Contains(v.loadInfo, "may be too wide"); warned != (share > 0.1) {
			t.Errorf("±%s: %.1f%% of the image filled, warned %v: %q", tol, 100*share, warned, v.loadInfo)
		}
	}
	// The same fill into a new segment takes the liver's voxels: said, in
	// mL (a user's liver went from 940 to 0.7 mL without a word).
	had := float64(e.Labels().Count(seg)) * e.Labels().VoxelML()
	if _, err := e.AddSegment("kidney"); err != nil {
		t.Fatal(err)
	}
	press(sv, desktop.MouseButtonPrimary, 0, at)
	lost := had - float64(e.Labels().Count(seg))*e.Labels().VoxelML()
	if want := fmt.Sprintf("took %.1f mL of liver's %.1f", lost, had); lost <= 0 || !strings.Contains(v.loadInfo, want) {
		t.Errorf("a fill over the liver says %q, want %q", v.loadInfo, want)
	}
}

// TestDoubleClickWithBrushDoesNotPaint: a double-click maximises the view
// whatever the tool; with the brush (or eraser, or fill) its two clicks'
// dabs are taken back, where they stayed as an edit no one meant. A stroke
// drawn before it stays.
func TestDoubleClickWithBrushDoesNotPaint(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	e := v.Session().Edit()
	seg, err := e.AddSegment("lesion")
	if err != nil {
		t.Fatal(err)
	}
	v.SetTool(viewer.ToolBrush)
	x, y := v.Session().CursorOnScreen(mpr.Axial)
	dragIn(t, v, mpr.Axial, x-40, y-40, x-10, y-40)
	stroke := e.Labels().Count(seg)
	if stroke == 0 {
		t.Fatal("the stroke painted nothing")
	}
	sv := v.View(mpr.Axial)
	at := fyne.NewPos(float32(x+30), float32(y+30))
	up := &desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: at}, Button: desktop.MouseButtonPrimary}
	for range 2 {
		press(sv, desktop.MouseButtonPrimary, 0, at)
		sv.MouseUp(up)
	}
	if e.Labels().Count(seg) == stroke {
		t.Fatal("the clicks painted nothing: the test shows nothing")
	}
	sv.DoubleTapped(&up.PointEvent)
	if n := e.Labels().Count(seg); n != stroke {
		t.Errorf("after the double-click the segment has %d voxels, %d before it", n, stroke)
	}
	if v.maximised != sv {
		t.Error("the double-click did not maximise the view")
	}
}

// TestDoubleClickDoesNotMoveCursor: with the Navigate tool a double-click
// maximises the view and restores the layout, and the crosshair stays
// where it was both times (its clicks moved it out to the scan's edge). A
// single click still moves it.
func TestDoubleClickDoesNotMoveCursor(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	s := v.Session()
	v.SetTool(viewer.ToolNavigate)
	sv := v.View(mpr.Axial)
	for _, maximised := range []bool{true, false} {
		before := s.Cursor()
		x, y := s.CursorOnScreen(mpr.Axial)
		at := fyne.NewPos(float32(x+60), float32(y-50))
		up := &desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: at}, Button: desktop.MouseButtonPrimary}
		for range 2 {
			press(sv, desktop.MouseButtonPrimary, 0, at)
			sv.MouseUp(up)
		}
		if s.Cursor() == before {
			t.Fatal("the clicks did not move the cursor: the test shows nothing")
		}
		sv.DoubleTapped(&up.PointEvent)
		if got := s.Cursor(); got != before {
			t.Errorf("the double-click moved the cursor from %v to %v", before, got)
		}
		if (v.maximised == sv) != maximised {
			t.Errorf("after the double-click the view is maximised: %v, want %v", v.maximised == sv, maximised)
		}
		time.Sleep(clickWindow) // the next press starts a new click
	}
	before := s.Cursor()
	x, y := s.CursorOnScreen(mpr.Axial)
	press(sv, desktop.MouseButtonPrimary, 0, fyne.NewPos(float32(x+10), float32(y+10)))
	if s.Cursor() == before {
		t.Error("a single click did not move the cursor")
	}
}

// TestFillOverManySegmentsNamesTheLargest: a fill through the body of the
// sample's 41-structure segmentation takes from many; the note names the
// three it took most from and counts the rest, keeping it to a line.
func TestFillOverManySegmentsNamesTheLargest(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1, Labels: sampleSeg}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	e := v.Session().Edit()
	before := map[uint8]int{}
	for _, sg := range e.Labels().Segments() {
		before[sg.Value] = e.Labels().Count(sg.Value)
	}
	if _, err := e.AddSegment("flood"); err != nil {
		t.Fatal(err)
	}
	x, y := v.Session().CursorOnScreen(mpr.Axial)
	v.SetTool(viewer.ToolFill)
	v.brushPanel.tolerance.SetText("100")
	press(v.View(mpr.Axial), desktop.MouseButtonPrimary, 0, fyne.NewPos(float32(x), float32(y)))
	most, mostLost, took := "", 0, 0
	for _, sg := range e.Labels().Segments() {
		if lost := before[sg.Value] - e.Labels().Count(sg.Value); lost > 0 {
			took++
			if lost > mostLost {
				most, mostLost = sg.Name, lost
			}
		}
	}
	if took <= 3 {
		t.Fatalf("the fill took from %d segments: no test of many", took)
	}
	want := fmt.Sprintf("took %.1f mL of %s's", float64(mostLost)*e.Labels().VoxelML(), most)
	if !strings.Contains(v.loadInfo, want) || !strings.Contains(v.loadInfo, fmt.Sprintf("and from %d other segments", took-3)) {
		t.Errorf("a fill over %d segments says %q; want %q first and the rest counted", took, v.loadInfo, want)
	}
}

// TestBrushOverLockedSegmentSays: a stroke across a locked segment leaves
// its voxels alone and the status bar says so; before, the brush seemed
// not to paint there, with no word why. A stroke that spares nothing says
// nothing of locks.
func TestBrushOverLockedSegmentSays(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	s, e := v.Session(), v.Session().Edit()
	locked, _ := e.AddSegment("kidney")
	v.SetTool(viewer.ToolBrush)
	x, y := s.CursorOnScreen(mpr.Axial)
	dragIn(t, v, mpr.Axial, x-30, y, x+30, y)
	if err := e.Labels().SetLocked(locked, true); err != nil {
		t.Fatal(err)
	}
	before := e.Labels().Count(locked)
	liver, _ := e.AddSegment("liver")
	dragIn(t, v, mpr.Axial, x, y-30, x, y+30)
	if e.Labels().Count(locked) != before || e.Labels().Count(liver) == 0 {
		t.Fatalf("kidney %d voxels (was %d), liver %d", e.Labels().Count(locked), before, e.Labels().Count(liver))
	}
	if want := `the brush left locked "kidney" alone`; !strings.Contains(v.status.Text, want) {
		t.Errorf("status %q, want %q", v.status.Text, want)
	}
	v.setStatusNote("")
	dragIn(t, v, mpr.Axial, x-60, y+60, x-60, y+80)
	if strings.Contains(v.status.Text, "locked") {
		t.Errorf("a stroke clear of the locked segment: status %q", v.status.Text)
	}
	v.SetTool(viewer.ToolEraser)
	dragIn(t, v, mpr.Axial, x-30, y, x+30, y)
	if want := `the eraser left locked "kidney" alone`; e.Labels().Count(locked) != before || !strings.Contains(v.status.Text, want) {
		t.Errorf("after erasing: kidney %d voxels (was %d), status %q", e.Labels().Count(locked), before, v.status.Text)
	}
}

// TestPromptAfterOpeningSegmentation: with a segmentation opened with the
// study, the first prompt goes to a new segment, not to the first in the
// list (a user's prompt on the kidney after reopening asked to replace all
// of the liver).
func TestPromptAfterOpeningSegmentation(t *testing.T) {
	v, err := openViewer(t, Options{Labels: sampleSeg, RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	e := v.Session().Edit()
	first, n := e.Active(), len(e.Labels().Segments())
	if first == 0 {
		t.Fatal("no segment active after opening the segmentation")
	}
	v.SetTool(viewer.ToolPositive)
	press(v.View(mpr.Axial), desktop.MouseButtonPrimary, 0, fyne.NewPos(120, 100))
	if e.Active() == first || len(e.Labels().Segments()) != n+1 {
		t.Errorf("the first prompt goes to segment %d (first in the list %d), %d segments (were %d)", e.Active(), first, len(e.Labels().Segments()), n)
	}
}
