package app

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/viewer/labels"
)

// TestWheelOverShortListScrollsPanel: on a 1280x800 screen the side
// panel is longer than the window; the wheel over the empty AI prompt
// list scrolls the panel down to Run and Accept (the list took the wheel
// and nothing moved). Over the segment list, longer than its box, the
// wheel scrolls the list until its end, and then the panel.
func TestWheelOverShortListScrollsPanel(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := labels.Load(sampleSeg, v.Session().Volume) // TotalSegmentator's structures
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Session().Edit().SetLabels(truth); err != nil {
		t.Fatal(err)
	}
	v.FitScreen(fyne.NewSize(1280, 800))
	c := v.win.Canvas()
	d := fyne.CurrentApp().Driver()
	side := v.side
	if over := side.Content.MinSize().Height - side.Size().Height; over <= 0 {
		t.Fatalf("the side panel fits the window (%.0f px to spare): nothing to scroll", -over)
	}
	// centre is the middle of o on the canvas, when it is in the panel's
	// visible part.
	centre := func(o fyne.CanvasObject) (fyne.Position, bool) {
		p := d.AbsolutePositionForObject(o).Add(fyne.NewPos(o.Size().Width/2, o.Size().Height/2))
		top := d.AbsolutePositionForObject(side).Y
		return p, p.Y > top && p.Y < top+side.Size().Height
	}

	// The segment list: its own wheel first.
	list := v.segPanel.list
	at, ok := centre(list)
	if !ok {
		t.Fatal("the segment list is not in view")
	}
	if len(v.segPanel.segs) < 2*segmentRows {
		t.Fatalf("the sample has %d segments: its list does not scroll", len(v.segPanel.segs))
	}
	test.Scroll(c, at, 0, -40)
	if list.GetScrollOffset() == 0 || side.Offset.Y != 0 {
		t.Fatalf("the wheel over a long segment list: list at %.0f, panel at %.0f", list.GetScrollOffset(), side.Offset.Y)
	}
	for range 200 {
		test.Scroll(c, at, 0, -40)
	}
	if side.Offset.Y == 0 {
		t.Errorf("at the segment list's end (%.0f) the wheel does not scroll the panel", list.GetScrollOffset())
	}

	// The empty prompt list, brought into view near the panel's bottom.
	side.ScrollToOffset(fyne.Position{})
	prompts := v.aiPanel.prompts
	at, _ = centre(prompts)
	side.ScrollToOffset(fyne.NewPos(0, max(at.Y+prompts.Size().Height-d.AbsolutePositionForObject(side).Y-side.Size().Height, 0)))
	at, ok = centre(prompts)
	if !ok {
		t.Fatal("the prompt list is not in view")
	}
	from := side.Offset.Y
	test.Scroll(c, at, 0, -40)
	if side.Offset.Y <= from {
		t.Errorf("the wheel over the empty prompt list left the panel at %.0f", side.Offset.Y)
	}
}

// TestWheelOverEntryScrollsPanel: the wheel over the brush panel's number
// fields scrolls the side panel, as over its labels (each entry's own
// sideways scroller took it, and the panel stopped under the pointer).
func TestWheelOverEntryScrollsPanel(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.FitScreen(fyne.NewSize(1280, 800))
	c, d, side := v.win.Canvas(), fyne.CurrentApp().Driver(), v.side
	for _, e := range []*widget.Entry{v.brushPanel.lo, v.brushPanel.tolerance} {
		side.ScrollToOffset(fyne.Position{})
		top := d.AbsolutePositionForObject(side).Y
		at := d.AbsolutePositionForObject(e).AddXY(e.Size().Width/2, e.Size().Height/2)
		side.ScrollToOffset(fyne.NewPos(0, max(at.Y-top-side.Size().Height/2, 0)))
		at = d.AbsolutePositionForObject(e).AddXY(e.Size().Width/2, e.Size().Height/2)
		if at.Y < top || at.Y > top+side.Size().Height {
			t.Fatal("the field is not in view")
		}
		from := side.Offset.Y
		if from == 0 {
			t.Fatal("the panel is at its top: the wheel cannot scroll it up")
		}
		test.Scroll(c, at, 0, 40)
		if side.Offset.Y >= from {
			t.Errorf("the wheel over the field %v left the panel at %.0f", e.Position(), side.Offset.Y)
		}
	}
}
