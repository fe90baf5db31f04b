package app

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/infer/engine"
	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
)

// Keys typed over a view reach it after a click in the segment list: the
// list kept the focus, so L did not pick the ruler and the next drag in
// the view placed a point prompt with the old tool.
func TestToolKeysAfterSegmentListClick(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	e := v.Session().Edit()
	for _, name := range []string{"lesion", "liver"} {
		if _, err := e.AddSegment(name); err != nil {
			t.Fatal(err)
		}
	}
	e.SetTool(viewer.ToolPositive)
	c := v.win.Canvas()
	c.Focus(v.segPanel.list) // as Tab gives it (a click no longer does)
	pos, size := v.ViewRect(mpr.Axial)
	test.MoveMouse(c, pos.Add(fyne.NewPos(size.Width/2, size.Height/2)))
	typeLikeDriver(c, "l")
	if got := e.Tool(); got != viewer.ToolRuler {
		t.Fatalf("L over the axial view after a click in the segment list: tool %v, want the ruler", got)
	}
}

// Typing a name into the Add segment dialog types it there: the entry had
// no focus, so each letter picked a tool behind the dialog.
func TestAddSegmentDialogTakesTyping(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	e := v.Session().Edit()
	e.SetTool(viewer.ToolBrush)
	v.addSegmentDialog()
	c := v.win.Canvas()
	typeLikeDriver(c, "lesion")
	entry, ok := c.Focused().(*widget.Entry)
	if !ok || entry.Text != "lesion" {
		t.Fatalf("typed into %T, not the name entry", c.Focused())
	}
	if got := e.Tool(); got != viewer.ToolBrush {
		t.Fatalf("typing the name switched the tool to %v", got)
	}
}

// typeLikeDriver types as the desktop driver does: to the focused object,
// else to the canvas's handler (test.TypeOnCanvas always takes the latter).
func typeLikeDriver(c fyne.Canvas, chars string) {
	for _, r := range chars {
		if f := c.Focused(); f != nil {
			f.TypedRune(r)
		} else {
			c.OnTypedRune()(r)
		}
	}
}

// Accepting a preview that paints over part of another segment says so in
// the status bar (it took a painted lesion's voxels without a word).
func TestAcceptSaysWhatItTookFromOthers(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	e := v.Session().Edit()
	lesion, err := e.AddSegment("lesion")
	if err != nil {
		t.Fatal(err)
	}
	centre := v.Session().Frame().Centre()
	if _, err := e.Edit(func(m *labels.LabelMap, s uint8) (labels.Change, error) {
		return m.Paint(labels.Brush{RadiusMM: 10}, centre, s)
	}); err != nil {
		t.Fatal(err)
	}
	had := e.Labels().Count(lesion)
	// A preview over the lesion's lower half (by voxel order) and beyond.
	preview := make([]uint8, len(e.Labels().Mask(lesion)))
	taken := 0
	for n, x := range e.Labels().Mask(lesion) {
		if x != 0 && taken < had/3 {
			preview[n], taken = 1, taken+1
		} else if x == 0 && n%5 == 0 {
			preview[n] = 1
		}
	}
	if _, err := e.AddSegment("liver"); err != nil {
		t.Fatal(err)
	}
	if err := e.SetPreview(preview); err != nil {
		t.Fatal(err)
	}
	v.Accept(labels.Replace)
	want := fmt.Sprintf("took %d from lesion", taken)
	if st := strings.Join(v.statusParts(), " "); !strings.Contains(st, want) || e.Labels().Count(lesion) != had-taken {
		t.Fatalf("status %q, lesion %d of %d voxels; want %q", st, e.Labels().Count(lesion), had, want)
	}
}

// The box row counts the voxels the engine gets: within the study (it said
// 42×52×32 on the 30-slice sample once the guessed depth passed its end).
func TestBoxRowWithinStudy(t *testing.T) {
	segmented := make(chan error, 8)
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1, OnSegmented: func(err error) { segmented <- err }}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	// The box starts a run: it must end before the test does.
	defer awaitPreview(t, segmented)
	s := v.Session()
	s.ScrollView(mpr.Axial, 100) // the top slice: the guessed depth reaches past it
	w := s.View(mpr.Axial)
	if err := s.Edit().SetBoxFromDrag(mpr.Axial, 0, 0, float64(w.Width-1), float64(w.Height-1)); err != nil {
		t.Fatal(err)
	}
	var row string
	for _, r := range v.aiPanel.rows {
		if strings.HasPrefix(r.text, "box ") {
			row = r.text
		}
	}
	var nx, ny, nz int
	if _, err := fmt.Sscanf(row, "box %d×%d×%d voxels", &nx, &ny, &nz); err != nil {
		t.Fatalf("box row %q: %v", row, err)
	}
	d := s.Volume.Dims
	if nx > d[0] || ny > d[1] || nz > d[2] || nz < 2 {
		t.Errorf("box row %q for a %v study", row, d)
	}
}

// T over a view does what the Structure name button does: it asks for the
// name (here, with the embedded default, it says SegVol is needed). It
// picked the tool silently, so the letters of the name typed next picked
// other tools.
func TestStructureNameKeyAsksForName(t *testing.T) {
	engines := make(chan error, 1)
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1, Engine: engine.Options{Backend: "classic"},
		OnEngine: func(err error) { engines <- err }}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	await(t, "the engine", engines)
	c := v.win.Canvas()
	c.Focus(v.views[mpr.Axial])
	typeLikeDriver(c, "t")
	if got := shownText(v); !strings.Contains(got, "Segmenting a structure by name needs SegVol") {
		t.Fatalf("after T: the dialog on top says %q", got)
	}
	if got := v.Session().Edit().Tool(); got != viewer.ToolNavigate {
		t.Errorf("after T without SegVol the tool is %v", got)
	}
}

// A click on a side-panel control (a segment's row or its check boxes,
// a slider, a check box, a choice) leaves the keys to the views: Fyne
// focused the control, and the tool letters and arrow keys typed with the
// pointer over a view went to it (the arrows moved the list's highlight)
// unless the pointer's entering the view took them back. Here the pointer
// enters no view, as when it was over one already (a dialog closed over
// it): the keys go to the axial view. An entry keeps the keys until Enter.
func TestSidePanelLeavesKeysToViews(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.win.Resize(fyne.NewSize(1400, 1600)) // the whole side panel in sight
	s, e, c := v.Session(), v.Session().Edit(), v.win.Canvas()
	for _, name := range []string{"liver", "lesion", "kidney"} {
		if _, err := e.AddSegment(name); err != nil {
			t.Fatal(err)
		}
	}
	e.SetTool(viewer.ToolPositive)
	d := fyne.CurrentApp().Driver()
	click := func(o fyne.CanvasObject) {
		at := d.AbsolutePositionForObject(o)
		test.TapCanvas(c, at.AddXY(10, o.Size().Height/2)) // a check box's box is at its left
	}
	// The segment list's row i: a click on its name, on its visibility.
	list, rowH := d.AbsolutePositionForObject(v.segPanel.list), v.segPanel.newRow().MinSize().Height
	rowY := func(i int) float32 { return list.Y + float32(i)*(rowH+theme.Padding()) + rowH/2 }
	clickName := func(i int) func() {
		return func() {
			test.TapCanvas(c, fyne.NewPos(list.X+60, rowY(i)))
			if sg := e.Labels().Segments()[i]; e.Active() != sg.Value {
				t.Fatalf("the click on row %d made %d active, not %s", i, e.Active(), sg.Name)
			}
		}
	}
	clickVisible := func(i int) func() {
		return func() {
			lockW, visW := widget.NewCheck("🔒", nil).MinSize().Width, widget.NewCheck("", nil).MinSize().Width
			was := e.Labels().Segments()[i].Visible
			test.TapCanvas(c, fyne.NewPos(list.X+v.segPanel.list.Size().Width-lockW-visW/2-theme.Padding(), rowY(i)))
			if e.Labels().Segments()[i].Visible == was {
				t.Fatalf("the click missed row %d's visibility check box", i)
			}
		}
	}
	of := func(o fyne.CanvasObject) func() { return func() { click(o) } }
	for _, ctl := range []struct {
		name  string
		click func()
	}{
		{"a segment's name", clickName(1)},
		{"the same row again", clickName(1)},
		{"a segment's visibility", clickVisible(2)},
		{"the opacity slider", of(v.segPanel.opacity)},
		{"Fill", of(v.segPanel.fill)},
		{"the brush size", of(v.brushPanel.size)},
		{"3D (sphere)", of(v.brushPanel.sphere)},
		{"Run on each prompt", of(v.aiPanel.auto)},
	} {
		ctl.click()
		for _, key := range []rune{'e', 'p'} {
			typeLikeDriver(c, string(key))
			if want, _ := viewer.ToolForKey(key); e.Tool() != want {
				t.Fatalf("after a click on %s, %c picked %v (focus: %T)", ctl.name, key, e.Tool(), c.Focused())
			}
		}
		n, _, _ := s.Slice(mpr.Axial)
		keyLikeDriver(c, fyne.KeyDown)
		if m, _, _ := s.Slice(mpr.Axial); m == n {
			t.Fatalf("after a click on %s, Down left the axial view at slice %d (focus: %T)", ctl.name, n, c.Focused())
		}
	}

	// An entry takes the typing until Enter.
	c.Focus(v.brushPanel.lo) // what a click into it does (on the mouse's press)
	typeLikeDriver(c, "-5")
	if v.brushPanel.lo.Text != "-5" || e.Tool() != viewer.ToolPositive {
		t.Fatalf("typing into the brush range's entry: %q, tool %v", v.brushPanel.lo.Text, e.Tool())
	}
	keyLikeDriver(c, fyne.KeyReturn)
	typeLikeDriver(c, "e")
	if v.brushPanel.lo.Text != "-5" || e.Tool() != viewer.ToolEraser {
		t.Fatalf("E after Enter in the entry: %q, tool %v", v.brushPanel.lo.Text, e.Tool())
	}
	// The pointer's entering a view takes the keys from an entry too: a
	// user typed 80 into the range, moved over the view and pressed E,
	// and got "80e" and no eraser.
	c.Focus(v.brushPanel.hi)
	typeLikeDriver(c, "80")
	v.View(mpr.Axial).MouseIn(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(20, 20)}})
	typeLikeDriver(c, "p")
	if v.brushPanel.hi.Text != "80" || e.Tool() != viewer.ToolPositive {
		t.Fatalf("P over the view after typing into the entry: %q, tool %v", v.brushPanel.hi.Text, e.Tool())
	}
}

// keyLikeDriver presses key as the desktop driver does (see typeLikeDriver).
func keyLikeDriver(c fyne.Canvas, key fyne.KeyName) {
	ev := &fyne.KeyEvent{Name: key}
	if f := c.Focused(); f != nil {
		f.TypedKey(ev)
	} else {
		c.OnTypedKey()(ev)
	}
}

// TestSelectedRowClickPicksItAgain: after an Accept the next prompt starts
// a new segment; a click on the accepted segment's row, still the one
// selected, picks it, so the next prompt's result goes into it. Before,
// the click on a selected row did nothing and the result went into a new
// "Label 2" (written empty when the accepted segment was locked).
func TestSelectedRowClickPicksItAgain(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.win.Resize(fyne.NewSize(1400, 1600))
	s, e, c := v.Session(), v.Session().Edit(), v.win.Canvas()
	liver, err := e.AddSegment("liver")
	if err != nil {
		t.Fatal(err)
	}
	// A prompt and its preview: the sample's label 1.
	x, y := s.CursorOnScreen(mpr.Axial)
	e.AddPointAt(mpr.Axial, x, y, true)
	truth, err := labels.Load(sampleSeg, s.Volume)
	if err != nil {
		t.Fatal(err)
	}
	mask := truth.Mask(1)
	if err := e.SetPreview(mask); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Accept(labels.Replace); err != nil {
		t.Fatal(err)
	}
	if e.Active() != liver || e.Labels().Count(liver) == 0 {
		t.Fatalf("after Accept %d is active (%d voxels), not the accepted %d", e.Active(), e.Labels().Count(e.Active()), liver)
	}
	v.segPanel.sync()
	row := -1
	for i, sg := range e.Labels().Segments() {
		if sg.Value == liver {
			row = i
		}
	}
	d := fyne.CurrentApp().Driver()
	list, rowH := d.AbsolutePositionForObject(v.segPanel.list), v.segPanel.newRow().MinSize().Height
	v.segPanel.list.ScrollTo(row)
	first := v.segPanel.list.GetScrollOffset()
	test.TapCanvas(c, fyne.NewPos(list.X+60, list.Y-first+float32(row)*(rowH+theme.Padding())+rowH/2))
	e.AddPointAt(mpr.Axial, x, y, true)
	if e.Active() != liver {
		t.Errorf("the click on the accepted segment's row left the next prompt to segment %d, not %d", e.Active(), liver)
	}
}
