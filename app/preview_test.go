package app

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/infer/engine"
	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
)

// liverViewer opens the sample with the embedded default, the crosshair at
// the centre of the liver, and returns the channel each finished run
// reports on and a function that drags a box over the liver in view o.
func liverViewer(t *testing.T) (*Viewer, chan error, func(o mpr.Orientation)) {
	t.Helper()
	segmented := make(chan error, 8)
	v, err := openViewer(t, Options{Engine: engine.Options{Backend: "classic"}, RecoveryDir: t.TempDir(), AutosaveInterval: -1,
		OnSegmented: func(err error) { segmented <- err }}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the engine", func() bool { return v.ai.seg != nil })
	s := v.Session()
	truth, err := labels.Load(sampleSeg, s.Volume)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := bounds(truth.Mask(5), s.Volume.Dims)
	g := s.Volume.Geom
	at := func(idx [3]int) [3]float64 {
		return g.IndexToWorld([3]float64{float64(idx[0]), float64(idx[1]), float64(idx[2])})
	}
	s.SetCursor(g.IndexToWorld([3]float64{float64(lo[0]+hi[0]) / 2, float64(lo[1]+hi[1]) / 2, float64(lo[2]+hi[2]) / 2}))
	box := func(o mpr.Orientation) {
		v.SetTool(viewer.ToolBox)
		x0, y0 := s.View(o).WorldToScreen(s.Frame(), s.Cursor(), at(lo))
		x1, y1 := s.View(o).WorldToScreen(s.Frame(), s.Cursor(), at(hi))
		dragIn(t, v, o, x0, y0, x1, y1)
	}
	return v, segmented, box
}

// awaitPreview waits for a run that was not replaced by a newer one.
func awaitPreview(t *testing.T, segmented chan error) {
	t.Helper()
	for {
		err := await(t, "the segmentation", segmented)
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "cancel") {
			t.Fatal(err)
		}
	}
}

// TestPreviewCountFollowsPreview: the AI panel's voxel count is the
// preview's now, after a second result, after Reject and after another
// study opens (issue 16, item 4: it stayed at the first result's count).
// Accept is covered too.
func TestPreviewCountFollowsPreview(t *testing.T) {
	v, segmented, box := liverViewer(t)
	e := v.Session().Edit()
	shows := func(when string) {
		t.Helper()
		want := ""
		if e.Preview() != nil {
			want = fmt.Sprintf("preview: %d voxels", e.PreviewVoxels())
		}
		if got := v.aiPanel.stage.Text; !strings.HasPrefix(got, want) || (want == "") != (got == "") {
			t.Errorf("%s: the panel says %q, want %q", when, got, want)
		}
	}
	box(mpr.Axial) // depth guessed
	awaitPreview(t, segmented)
	first := e.PreviewVoxels()
	shows("first result")
	box(mpr.Coronal) // depth dragged: another result
	awaitPreview(t, segmented)
	if e.PreviewVoxels() == first {
		t.Fatalf("the depth drag left the result at %d voxels: the test needs two different results", first)
	}
	t.Logf("guessed depth %d voxels, dragged depth %d", first, e.PreviewVoxels())
	shows("second result")
	v.Reject()
	shows("after Reject")

	box(mpr.Axial)
	awaitPreview(t, segmented)
	shows("third result")
	v.Accept(labels.Replace)
	shows("after Accept")
	box(mpr.Axial)
	awaitPreview(t, segmented)
	shows("fourth result")
	old := v.Session()
	v.Open(samplePath, "")
	waitFor(t, "the study opened again", func() bool { return v.Session() != old })
	e = v.Session().Edit()
	shows("another study")
}

// TestNextPromptDoesNotReplaceAcceptedSegment: after the liver is accepted,
// a click on the spleen with the point tool and Enter make a new segment
// and leave the liver; with the liver picked again, Enter on a result that
// would replace it asks first, No keeps it, Yes replaces it as one undo
// step (issue 16, item 6: the liver was silently replaced).
func TestNextPromptDoesNotReplaceAcceptedSegment(t *testing.T) {
	v, segmented, box := liverViewer(t)
	s := v.Session()
	e := s.Edit()
	enter := func() { v.View(mpr.Axial).TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) }
	box(mpr.Axial)
	box(mpr.Coronal)
	awaitPreview(t, segmented)
	enter()
	liverSeg := e.Active()
	liverVoxels := e.Labels().Count(liverSeg)
	if liverSeg == 0 || liverVoxels == 0 {
		t.Fatalf("accepted into segment %d, %d voxels", liverSeg, liverVoxels)
	}

	truth, err := labels.Load(sampleSeg, s.Volume)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := bounds(truth.Mask(1), s.Volume.Dims) // the spleen
	clickSpleen := func() {
		v.SetTool(viewer.ToolPositive)
		s.SetCursor(s.Volume.Geom.IndexToWorld([3]float64{float64(lo[0]+hi[0]) / 2, float64(lo[1]+hi[1]) / 2, float64(lo[2]+hi[2]) / 2}))
		x, y := s.CursorOnScreen(mpr.Axial)
		press(v.View(mpr.Axial), desktop.MouseButtonPrimary, 0, fyne.NewPos(float32(x), float32(y)))
		awaitPreview(t, segmented)
	}
	clickSpleen()
	spleenSeg := e.Active()
	if spleenSeg == liverSeg {
		t.Fatal("the click after Accept prompts for the accepted liver")
	}
	enter()
	if v.win.Canvas().Overlays().Top() != nil {
		t.Fatal("Enter on a new segment asked")
	}
	if n := e.Labels().Count(liverSeg); n < liverVoxels*9/10 || e.Labels().Count(spleenSeg) == 0 {
		t.Fatalf("after the spleen's Enter: liver %d voxels (was %d), spleen %d", n, liverVoxels, e.Labels().Count(spleenSeg))
	}
	liverVoxels = e.Labels().Count(liverSeg)

	// The liver picked in the segments panel: the spleen's result would
	// replace it, so Enter asks.
	for i, sg := range v.segPanel.segs {
		if sg.Value == liverSeg {
			v.segPanel.list.Select(i)
		}
	}
	clickSpleen()
	if e.Active() != liverSeg {
		t.Fatalf("the prompt goes to segment %d, not the picked liver %d", e.Active(), liverSeg)
	}
	enter()
	if findButton(t, v.win.Canvas().Overlays().Top(), "No") == nil {
		t.Fatal("Enter replaced the liver by the spleen's result without asking")
	}
	test.Tap(findButton(t, v.win.Canvas().Overlays().Top(), "No"))
	if n := e.Labels().Count(liverSeg); n != liverVoxels || e.Preview() == nil {
		t.Fatalf("after No: liver %d voxels (was %d), preview kept %v", n, liverVoxels, e.Preview() != nil)
	}
	enter()
	test.Tap(findButton(t, v.win.Canvas().Overlays().Top(), "Yes"))
	if n := e.Labels().Count(liverSeg); n >= liverVoxels/2 || e.Preview() != nil {
		t.Fatalf("after Yes: liver %d voxels (was %d), preview left %v", n, liverVoxels, e.Preview() != nil)
	}
	v.Undo()
	if n := e.Labels().Count(liverSeg); n != liverVoxels {
		t.Fatalf("one Undo brought the liver back to %d voxels, was %d", n, liverVoxels)
	}
}

// TestRemovedPromptLeavesNoPreviewToAccept: a point on the liver gives a
// preview; removing the point with its marker's right-click clears the
// preview and disables Accept and Reject, and Enter writes nothing (the
// preview stayed and Enter wrote its voxels). With a point left, auto-run
// makes the preview of that point; without auto-run the preview is
// cleared, not left to be accepted as the remaining point's.
func TestRemovedPromptLeavesNoPreviewToAccept(t *testing.T) {
	v, segmented, _ := liverViewer(t)
	s := v.Session()
	e := s.Edit()
	sv := v.View(mpr.Axial)
	x, y := s.CursorOnScreen(mpr.Axial)
	click := func(dx float64, button desktop.MouseButton) {
		press(sv, button, 0, fyne.NewPos(float32(x+dx), float32(y)))
		sv.MouseUp(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(float32(x+dx), float32(y))}, Button: button})
	}
	v.SetTool(viewer.ToolPositive)
	click(0, desktop.MouseButtonPrimary)
	awaitPreview(t, segmented)
	if e.Preview() == nil || v.aiPanel.accept.Disabled() {
		t.Fatal("the click gave no preview to accept")
	}
	click(0, desktop.MouseButtonSecondary) // remove the marker
	if len(e.Points()) != 0 {
		t.Fatalf("the right-click left %d points", len(e.Points()))
	}
	if e.Preview() != nil || !v.aiPanel.accept.Disabled() || !v.aiPanel.reject.Disabled() || v.aiPanel.stage.Text != "" {
		t.Errorf("with no prompt left: preview %d voxels, Accept disabled %v, Reject disabled %v, panel %q",
			e.PreviewVoxels(), v.aiPanel.accept.Disabled(), v.aiPanel.reject.Disabled(), v.aiPanel.stage.Text)
	}
	sv.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if segs := e.Labels().Segments(); len(segs) > 0 && e.Labels().Count(segs[0].Value) > 0 {
		t.Errorf("Enter wrote %d voxels with no prompt", e.Labels().Count(segs[0].Value))
	}

	// Two points, the second removed: auto-run segments from the first.
	click(0, desktop.MouseButtonPrimary)
	awaitPreview(t, segmented)
	one := e.PreviewVoxels()
	click(20, desktop.MouseButtonPrimary)
	awaitPreview(t, segmented)
	second := e.Points()[1].ID
	v.removePrompt(second) // the ✕ in the prompt list
	awaitPreview(t, segmented)
	if e.Preview() == nil || e.PreviewVoxels() != one {
		t.Errorf("auto-run after removing the second point: preview %d voxels, the first point's alone was %d", e.PreviewVoxels(), one)
	}
	// Without auto-run: cleared.
	v.aiPanel.auto.SetChecked(false)
	click(20, desktop.MouseButtonPrimary)
	v.RunSegmentation()
	awaitPreview(t, segmented)
	v.removePrompt(e.Points()[1].ID)
	if e.Preview() != nil || !v.aiPanel.accept.Disabled() {
		t.Errorf("without auto-run, removing a point left a preview of %d voxels (Accept disabled %v)", e.PreviewVoxels(), v.aiPanel.accept.Disabled())
	}
}

// TestAcceptIntoLockedSegment: with the accepted liver locked and picked,
// Enter on a preview says up front that the liver is locked (it asked
// "Replace most of liver?", then refused after Yes). Cancel keeps the
// preview and the lock. A preview of the liver and spleen can go into a
// new segment, which gets the spleen's voxels and leaves the liver; a
// preview inside the liver cannot (the button is off: it would get
// nothing); "Unlock and accept" unlocks the liver and accepts into it.
func TestAcceptIntoLockedSegment(t *testing.T) {
	v, segmented, box := liverViewer(t)
	e := v.Session().Edit()
	enter := func() { v.View(mpr.Axial).TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) }
	box(mpr.Axial)
	box(mpr.Coronal)
	awaitPreview(t, segmented)
	enter()
	liver := e.Active()
	liverVoxels := e.Labels().Count(liver)
	if liver == 0 || liverVoxels == 0 {
		t.Fatalf("accepted into segment %d, %d voxels", liver, liverVoxels)
	}
	if err := e.Do(func(m *labels.LabelMap) error { return m.SetLocked(liver, true) }); err != nil {
		t.Fatal(err)
	}
	truth, err := labels.Load(sampleSeg, v.Session().Volume)
	if err != nil {
		t.Fatal(err)
	}
	spleen := truth.Mask(1)
	// lockedDialog picks the liver, draws a box, optionally widens its
	// preview, presses Enter and returns the dialog that comes up.
	lockedDialog := func(widen func([]uint8) []uint8) fyne.CanvasObject {
		t.Helper()
		if err := e.SetActive(liver); err != nil {
			t.Fatal(err)
		}
		box(mpr.Axial)
		awaitPreview(t, segmented)
		if widen != nil {
			if err := e.SetPreview(widen(e.Preview())); err != nil {
				t.Fatal(err)
			}
		}
		enter()
		d := v.win.Canvas().Overlays().Top()
		if d == nil {
			t.Fatal("Enter on a locked segment asked nothing")
		}
		if findButton(t, d, "Yes") != nil || find(t, d, func(l *widget.Label) bool { return strings.Contains(l.Text, "is locked") }) == nil {
			t.Fatal("the dialog does not say the segment is locked, or asks to replace it")
		}
		return d
	}
	d := lockedDialog(nil)
	if !findButton(t, d, "Accept into a new segment").Disabled() {
		t.Error("a preview inside the locked liver can be accepted into a new segment, which would get nothing")
	}
	test.Tap(findButton(t, d, "Cancel"))
	if e.Preview() == nil || e.Labels().Count(liver) != liverVoxels {
		t.Fatalf("Cancel: preview kept %v, liver %d voxels (was %d)", e.Preview() != nil, e.Labels().Count(liver), liverVoxels)
	}

	withSpleen := func(p []uint8) []uint8 {
		out := append([]uint8(nil), p...)
		for n, x := range spleen {
			out[n] |= x
		}
		return out
	}
	d = lockedDialog(withSpleen)
	if find(t, d, func(l *widget.Label) bool {
		return strings.Contains(l.Text, "of the preview's") && strings.Contains(l.Text, "stay so")
	}) == nil {
		t.Error("the locked dialog does not say in plain words what a new segment would get")
	}
	test.Tap(findButton(t, d, "Accept into a new segment"))
	added := e.Active()
	if added == liver || e.Labels().Count(added) != count(spleen) || e.Preview() != nil {
		t.Fatalf("accepted into segment %d (liver %d) with %d voxels (the spleen's %d), preview left %v",
			added, liver, e.Labels().Count(added), count(spleen), e.Preview() != nil)
	}
	if n := e.Labels().Count(liver); n != liverVoxels {
		t.Errorf("accepting into a new segment changed the locked liver: %d voxels, %d before", n, liverVoxels)
	}

	rev := e.Labels().Revision()
	test.Tap(findButton(t, lockedDialog(nil), "Unlock and accept"))
	if d := v.win.Canvas().Overlays().Top(); d != nil {
		test.Tap(findButton(t, d, "Yes")) // the replace question, if the result would take most of it
	}
	if sg, _ := e.Labels().Segment(liver); sg.Locked || e.Active() != liver || e.Preview() != nil || e.Labels().Revision() == rev {
		t.Errorf("after Unlock and accept: liver locked %v, active %d (liver %d), preview left %v, labels changed %v",
			sg.Locked, e.Active(), liver, e.Preview() != nil, e.Labels().Revision() != rev)
	}
}

// TestAcceptOfNothingSaysWhy: a preview that lies wholly in a locked
// segment, accepted into another, changes nothing; the status bar says
// why (it said "0 voxels changed" and left an empty segment unexplained).
func TestAcceptOfNothingSaysWhy(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	e := v.Session().Edit()
	truth, err := labels.Load(sampleSeg, v.Session().Volume)
	if err != nil {
		t.Fatal(err)
	}
	organ := truth.Mask(1)
	x, y := v.Session().CursorOnScreen(mpr.Axial)
	accept := func() uint8 {
		t.Helper()
		e.AddPointAt(mpr.Axial, x, y, true) // after an Accept: into a new segment
		if err := e.SetPreview(organ); err != nil {
			t.Fatal(err)
		}
		v.Accept(labels.Replace)
		if d := v.win.Canvas().Overlays().Top(); d != nil {
			t.Fatal("accepting into a new segment asked a question")
		}
		return e.Active()
	}
	first := accept()
	if e.Labels().Count(first) != count(organ) {
		t.Fatalf("the first accept wrote %d voxels, not %d", e.Labels().Count(first), count(organ))
	}
	if err := e.Labels().SetLocked(first, true); err != nil {
		t.Fatal(err)
	}
	added := accept()
	if added == first {
		t.Fatal("the second accept went into the first segment")
	}
	if n := e.Labels().Count(added); n != 0 {
		t.Fatalf("%d voxels of the locked segment's went into the new one", n)
	}
	if !strings.Contains(v.loadInfo, "nothing accepted") || !strings.Contains(v.loadInfo, "locked") {
		t.Errorf("status note %q does not say that nothing was accepted, and why", v.loadInfo)
	}
}

// TestResultBringsAcceptIntoSight: on a 1366x768 screen the AI panel's
// Accept lay below the side panel's fold; the segment list gives up rows
// (three left) and the prompt list has as many as its prompts, so that a
// result's Accept is in sight with the list's first rows; where it is not,
// a result scrolls the panel as little as brings it into sight. A second
// result moves nothing.
func TestResultBringsAcceptIntoSight(t *testing.T) {
	v, segmented, box := liverViewer(t)
	v.FitScreen(fyne.NewSize(1366, 768))
	side, accept := v.side, v.aiPanel.accept
	d := fyne.CurrentApp().Driver()
	inSight := func() bool {
		top := d.AbsolutePositionForObject(accept).Y - d.AbsolutePositionForObject(side).Y
		return top >= 0 && top+accept.Size().Height <= side.Size().Height
	}
	side.ScrollToOffset(fyne.Position{})
	box(mpr.Axial)
	awaitPreview(t, segmented)
	if !inSight() {
		t.Fatalf("after a result the panel is at %.0f and Accept out of sight (at %v, %v; panel %v, content %v)", side.Offset.Y, d.AbsolutePositionForObject(accept).Y-d.AbsolutePositionForObject(side).Y, accept.Size(), side.Size(), side.Content.Size())
	}
	// The segment list's first rows stay in sight with it, three at least:
	// with ten rows always, Accept lay below the fold and bringing it into
	// sight scrolled the list's title and first eight rows away.
	list := v.segPanel.list
	top := d.AbsolutePositionForObject(list).Y - d.AbsolutePositionForObject(side).Y
	shown := min(top+list.Size().Height, side.Size().Height) - top
	if rows := v.segPanel.rowsHeight(fewRows); top < 0 || shown < rows {
		t.Errorf("after a result the segment list's top is at %.0f px in the panel and %.0f px of it in sight, want its first %d rows (%.0f px)", top, shown, fewRows, rows)
	}
	at := side.Offset.Y
	box(mpr.Coronal)
	awaitPreview(t, segmented)
	if side.Offset.Y != at {
		t.Errorf("a second result moved the panel from %.0f to %.0f", at, side.Offset.Y)
	}
}
