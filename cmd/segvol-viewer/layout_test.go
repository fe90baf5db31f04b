package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLayoutFitsSmallScreenUnderXvfb opens the viewer on a 1280x800 screen:
// the window must fit it and use most of it (85% of the width, 90% of the height), and the side panel
// must lie inside it. $SEGVOL_SCREENSHOT keeps the screenshot to look at.
func TestLayoutFitsSmallScreenUnderXvfb(t *testing.T) {
	need(t, "xdotool")
	bin, display := xserverSized(t, "1280x800x24")
	seg := filepath.Join("..", "..", "assets", "sample", "example_seg.nii.gz")
	// The default renderer: under Xvfb its long reason (llvmpipe) must fit.
	seen, _ := viewer(t, bin, display, "segvol-viewer: opened", "--backend", "classic", "--labels", seg)
	screenshot(t, display)
	cmd := exec.Command("xdotool", "search", "--name", "SegVol viewer", "getwindowgeometry", "--shell")
	cmd.Env = append(cmd.Environ(), "DISPLAY="+display)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xdotool: %v", err)
	}
	var w, h int
	for _, l := range strings.Fields(string(out)) {
		fmt.Sscanf(l, "WIDTH=%d", &w)
		fmt.Sscanf(l, "HEIGHT=%d", &h)
	}
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
const sidePanelMinPx = 200
