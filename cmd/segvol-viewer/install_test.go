package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tplfiles "github.com/segvolapp/segvol/assets/segvol"
	"github.com/segvolapp/segvol/infer/segvol/install/installtest"
	"github.com/segvolapp/segvol/internal/screentest"
)

// TestInstallSegVolThroughMenusUnderXvfb installs SegVol as a user does,
// in the real viewer (the .deb's under make test-packages, from random
// weights in both published layouts, the Hugging Face folder and the
// GitHub .pth; elsewhere the installer's zero checkpoint): Segmentation > Install
// SegVol model… reached from the menu bar with a click and the arrow keys,
// the checkpoint folder's path typed, Return. The engine becomes SegVol
// with no restart; then a typed structure name and a box dragged in the
// axial view each bring a preview from it.
func TestInstallSegVolThroughMenusUnderXvfb(t *testing.T) {
	need(t, "xdotool")
	sources := []string{"huggingface", "github"}
	if dir := os.Getenv("SEGVOL_CHECKPOINTS"); dir != "" {
		sources[0], sources[1] = filepath.Join(dir, "hf"), filepath.Join(dir, "SegVol_v1.pth")
	} else {
		sources = []string{installtest.Checkpoint(t, tplfiles.Templates, t.TempDir())}
	}
	for _, src := range sources {
		t.Run(filepath.Base(src), func(t *testing.T) { installThroughMenus(t, src) })
	}
}

func installThroughMenus(t *testing.T, src string) {
	bin, display := xserver(t)
	seen, lines := viewer(t, bin, display, "segvol-viewer: opened", "--renderer", "cpu")
	axial := viewRects(t, seen)["axial"]
	next := func(prefix string) string {
		t.Helper()
		for i, l := range seen {
			if strings.HasPrefix(l, prefix) {
				seen = seen[i+1:]
				return l
			}
		}
		seen = nil
		return screentest.WaitLine(t, lines, prefix, 2*time.Minute)
	}
	if l := next("segvol-viewer: engine "); !strings.Contains(l, "embedded default") {
		t.Fatalf("before the install: %q", l)
	}

	// The menu bar's first item (File) lies at the window's top left (no
	// window manager); Right twice is Segmentation, whose ninth item (the
	// separators are skipped) is Install SegVol model….
	xdo(t, display, "mousemove", "20", "12", "click", "1")
	xdo(t, display, "mousemove", "1300", "650") // off the menus, so hovering chooses nothing
	xdo(t, display, "key", "Right", "Right")
	for range 9 {
		xdo(t, display, "key", "Down")
	}
	xdo(t, display, "key", "Return")
	xdo(t, display, "type", "--delay", "20", src)
	xdo(t, display, "key", "Return")
	if l := next("segvol-viewer: engine "); !strings.Contains(l, "AI: segvol on CPU") {
		t.Fatalf("after the install: %q", l)
	}

	// A free phrase: the structure name tool (T) asks for it.
	xdo(t, display, "key", "t")
	xdo(t, display, "type", "--delay", "20", "liver tumour")
	xdo(t, display, "key", "Return")
	text := next("segvol-viewer: preview ")
	xdo(t, display, "key", "Return") // accept: the next prompt starts a new segment

	// A box: B, then a drag across the axial view's middle.
	c := axial.Min.Add(axial.Max).Div(2)
	xdo(t, display, "key", "b")
	xdo(t, display, "mousemove", fmt.Sprint(c.X-40), fmt.Sprint(c.Y-30), "mousedown", "1")
	xdo(t, display, "mousemove", fmt.Sprint(c.X), fmt.Sprint(c.Y))
	xdo(t, display, "mousemove", fmt.Sprint(c.X+40), fmt.Sprint(c.Y+30), "mouseup", "1")
	box := next("segvol-viewer: preview ")
	t.Logf("phrase: %s; box: %s", text, box)
}
