package main

import (
	"fmt"
	"image"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// xdo runs xdotool on display.
func xdo(t *testing.T, display string, args ...string) {
	t.Helper()
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(cmd.Environ(), "DISPLAY="+display)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xdotool %v: %v\n%s", args, err, out)
	}
	time.Sleep(300 * time.Millisecond)
}

// bodyArea is the fraction of the middle of view r, in a screenshot, that
// is brighter than air: zooming in makes the body fill more of it.
func bodyArea(t *testing.T, display string, r image.Rectangle) float64 {
	t.Helper()
	px := gray(screenshot(t, display), r.Inset(r.Dx()/8))
	n := 0
	for _, g := range px {
		if g > 40 {
			n++
		}
	}
	return float64(n) / float64(len(px))
}

// TestWheelAfterShortcutDialogUnderXvfb presses Ctrl+S over the axial view
// (its save dialog takes the keyboard, so the view never sees Ctrl go up),
// saves with Return, which closes the dialog, and turns the wheel: that must scroll slices, not zoom.
// Ctrl+wheel afterwards must still zoom, which shows the measure can tell.
func TestWheelAfterShortcutDialogUnderXvfb(t *testing.T) {
	need(t, "xdotool")
	bin, display := xserver(t)
	seen, _ := viewer(t, bin, display, "segvol-viewer: opened", "--renderer", "cpu", "--backend", "classic")
	r := viewRects(t, seen)["axial"]
	c := r.Min.Add(r.Size().Div(2))
	xdo(t, display, "mousemove", fmt.Sprint(c.X), fmt.Sprint(c.Y))
	xdo(t, display, "click", "1") // the view takes the keyboard focus
	before := bodyArea(t, display, r)

	xdo(t, display, "keydown", "ctrl")
	xdo(t, display, "key", "s")
	xdo(t, display, "keyup", "ctrl")
	xdo(t, display, "key", "Return")
	xdo(t, display, "mousemove", fmt.Sprint(c.X), fmt.Sprint(c.Y))
	xdo(t, display, "click", "--repeat", "3", "--delay", "100", "4")
	plain := bodyArea(t, display, r)

	xdo(t, display, "keydown", "ctrl")
	xdo(t, display, "click", "--repeat", "3", "--delay", "100", "4")
	xdo(t, display, "keyup", "ctrl")
	zoomed := bodyArea(t, display, r)
	t.Logf("body fills %.2f of the view, %.2f after 3 plain wheel notches, %.2f after 3 with Ctrl", before, plain, zoomed)
	if plain > before*1.15 {
		t.Errorf("a plain wheel after the Ctrl+S dialog zoomed: the body went from %.2f to %.2f of the view", before, plain)
	}
	if zoomed < plain*1.3 {
		t.Errorf("Ctrl+wheel did not zoom (%.2f to %.2f): the dialog may still be open", plain, zoomed)
	}
}

// TestKeysAfterSegmentListClickUnderXvfb clicks a segment's row in the
// side panel and presses Down with the pointer still there: the axial view
// scrolls (the list kept the keys, and Down moved its highlight instead).
func TestKeysAfterSegmentListClickUnderXvfb(t *testing.T) {
	need(t, "xdotool")
	bin, display := xserver(t)
	seg := filepath.Join("..", "..", "assets", "sample", "example_seg.nii.gz")
	seen, _ := viewer(t, bin, display, "segvol-viewer: opened", "--renderer", "cpu", "--backend", "classic", "--labels", seg)
	rects := viewRects(t, seen)
	ax, sag := rects["axial"], rects["sagittal"]
	// The list's third row: below the panel's heading and two rows.
	row := image.Pt(sag.Max.X+90, ax.Min.Y+135)
	rowArea := image.Rect(row.X-60, row.Y-10, row.X+60, row.Y+10)
	unselected := gray(screenshot(t, display), rowArea)
	xdo(t, display, "mousemove", fmt.Sprint(row.X), fmt.Sprint(row.Y))
	xdo(t, display, "click", "1")
	shot := screenshot(t, display)
	if d := meanAbsDiff(unselected, gray(shot, rowArea)); d < 3 {
		t.Fatalf("the click at %v did not select a row of the segment list (the row changed by %.1f grey levels)", row, d)
	}
	before := gray(shot, ax)
	xdo(t, display, "key", "--delay", "100", "Down", "Down", "Down")
	if d := meanAbsDiff(before, gray(screenshot(t, display), ax)); d < 1 {
		t.Errorf("Down after a click in the segment list left the axial view as it was (it changed by %.2f grey levels)", d)
	}
}
