package main

import (
	"fmt"
	"image"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLayoutFitsSmallScreenUnderXvfb opens the viewer on a 1280x800 screen:
// the window must fit it and use most of it (95% of the width, 90% of the height), and the side panel
// must lie inside it. $SEGVOL_SCREENSHOT keeps the screenshot to look at.
func TestLayoutFitsSmallScreenUnderXvfb(t *testing.T) {
	need(t, "xdotool")
	bin, display := xserverSized(t, "1280x800x24")
	seg := filepath.Join("..", "..", "assets", "sample", "example_seg.nii.gz")
	// The default renderer: under Xvfb its long reason (llvmpipe) must fit.
	seen, _ := viewer(t, bin, display, "segvol-viewer: opened", "--backend", "classic", "--labels", seg)
	screenshot(t, display)
	w, h := windowSize(t, display)
	t.Logf("window %dx%d on a 1280x800 screen", w, h)
	if w > 1280 || h > 800 || w < 1000 || h < 600 {
		t.Errorf("window %dx%d on a 1280x800 screen: it must fit and use most of it", w, h)
	}
	// The views end left of the side panel, which ends inside the window.
	if r := viewRects(t, seen)["sagittal"]; r.Max.X > w-sidePanelMinPx {
		t.Errorf("the views reach x=%d of a %d-wide window: no room for the side panel", r.Max.X, w)
	}
}

// sidePanelMinPx is the side panel's narrowest width (app's sidePanelMin
// at scale 1).
const sidePanelMinPx = 320

// windowSize is the size of the viewer's window on display.
func windowSize(t *testing.T, display string) (w, h int) {
	t.Helper()
	cmd := exec.Command("xdotool", "search", "--name", "SegVol viewer", "getwindowgeometry", "--shell")
	cmd.Env = append(cmd.Environ(), "DISPLAY="+display)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xdotool: %v", err)
	}
	for _, l := range strings.Fields(string(out)) {
		fmt.Sscanf(l, "WIDTH=%d", &w)
		fmt.Sscanf(l, "HEIGHT=%d", &h)
	}
	return w, h
}

// TestLaptopScreenUnderXvfb opens the viewer on a 1366x768 laptop screen:
// the window takes 95% of its width (85% made the tool row scroll), and a
// brush stroke, which changes the active segment's volume and statistics,
// leaves the side panel's layout where it was: only the rows of pixels of
// the changed texts differ (when the statistics wrapped onto another
// line, every control below them moved).
func TestLaptopScreenUnderXvfb(t *testing.T) {
	need(t, "xdotool")
	bin, display := xserverSized(t, "1366x768x24")
	seg := filepath.Join("..", "..", "assets", "sample", "example_seg.nii.gz")
	seen, _ := viewer(t, bin, display, "segvol-viewer: opened", "--renderer", "cpu", "--backend", "classic", "--labels", seg)
	w, _ := windowSize(t, display)
	if w < 1297 || w > 1366 {
		t.Errorf("window %d wide on a 1366 wide screen, want 95%%", w)
	}
	rects := viewRects(t, seen)
	sag, ax := rects["sagittal"], rects["axial"]
	panel := image.Rect(sag.Max.X+8, sag.Min.Y, w-4, sag.Max.Y)
	if panel.Dx() < sidePanelMinPx-16 {
		t.Fatalf("the side panel is %v, window %d wide", panel, w)
	}
	before := screenshot(t, display)
	c := image.Pt((ax.Min.X+ax.Max.X)/2, (ax.Min.Y+ax.Max.Y)/2)
	xdo(t, display, "mousemove", fmt.Sprint(c.X-40), fmt.Sprint(c.Y-30), "key", "d", "mousedown", "1")
	for i := range 8 {
		xdo(t, display, "mousemove", fmt.Sprint(c.X-40+10*i), fmt.Sprint(c.Y-30))
	}
	xdo(t, display, "mouseup", "1")
	time.Sleep(time.Second) // the statistics follow 300 ms after a stroke
	after := screenshot(t, display)
	changed := 0
	for y := panel.Min.Y; y < panel.Max.Y; y++ {
		row := image.Rect(panel.Min.X, y, panel.Max.X, y+1)
		if meanAbsDiff(gray(before, row), gray(after, row)) > 0 {
			changed++
		}
	}
	t.Logf("the stroke changed %d of the side panel's %d rows of pixels", changed, panel.Dy())
	// The segment's row and three lines of statistics: about 80 rows.
	if changed == 0 || changed > panel.Dy()/5 {
		t.Errorf("the stroke changed %d of the side panel's %d rows of pixels: want its texts' few (none: the stroke painted nothing)", changed, panel.Dy())
	}
}
