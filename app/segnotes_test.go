package app

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// TestSegmentActionsSayWhatTheyDid: locking, hiding, renaming and deleting
// a segment each leave a status note of their own; before, the note of
// the action before them stayed ("accepted into liver…") and read as
// theirs. A lock's note says what it means. Rename selects the old name,
// so typing replaces it (it was typed in front of it).
func TestSegmentActionsSayWhatTheyDid(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.win.Resize(fyne.NewSize(1400, 1000))
	e, c := v.Session().Edit(), v.win.Canvas()
	if _, err := e.AddSegment("lesion"); err != nil {
		t.Fatal(err)
	}
	v.setStatusNote("accepted into liver: 100 voxels changed")
	d := fyne.CurrentApp().Driver()
	list, rowH := d.AbsolutePositionForObject(v.segPanel.list), v.segPanel.newRow().MinSize().Height
	lockW, visW := widget.NewCheck("🔒", nil).MinSize().Width, widget.NewCheck("", nil).MinSize().Width
	right := list.X + v.segPanel.list.Size().Width - theme.Padding()
	note := func(want string) {
		t.Helper()
		if !strings.Contains(v.loadInfo, want) {
			t.Errorf("status note %q, want it to say %q", v.loadInfo, want)
		}
	}

	test.TapCanvas(c, fyne.NewPos(right-lockW+12, list.Y+rowH/2))
	if sg, _ := e.Labels().Segment(e.Active()); !sg.Locked {
		t.Fatal("the click missed the lock")
	}
	note("locked lesion: no edit changes its voxels")
	test.TapCanvas(c, fyne.NewPos(right-lockW+12, list.Y+rowH/2))
	note("unlocked lesion")
	test.TapCanvas(c, fyne.NewPos(right-lockW-visW/2, list.Y+rowH/2))
	if sg, _ := e.Labels().Segment(e.Active()); sg.Visible {
		t.Fatal("the click missed the visibility box")
	}
	note("hid lesion")

	v.renameSegmentDialog()
	typeLikeDriver(c, "tumour")
	c.Focused().(*widget.Entry).TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	note("renamed lesion to tumour")

	v.deleteActiveSegment()
	test.Tap(findButton(t, c.Overlays().Top(), "Yes"))
	if len(e.Labels().Segments()) != 0 {
		t.Fatal("the segment was not deleted")
	}
	note("deleted tumour (Undo brings it back)")
}
