package main

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segvolapp/segvol/mesh/meshtest"
)

// primary is the dark theme's primary colour, a default button's.
var primary = color.NRGBA{R: 41, G: 111, B: 246, A: 255}

// TestExportMeshesThroughMenusUnderXvfb exports the sample's segments as a
// user does in the real viewer: File > Export segments as meshes… reached
// with a click and the arrow keys, the dialog's defaults (visible segments,
// one binary STL file, LPS) taken with a click on Export…, a path
// typed into the save dialog, Return. The file appears, an STL of them.
func TestExportMeshesThroughMenusUnderXvfb(t *testing.T) {
	need(t, "xdotool")
	bin, display := xserver(t)
	seg := filepath.Join("..", "..", "assets", "sample", "example_seg.nii.gz")
	viewer(t, bin, display, "segvol-viewer: opened", "--renderer", "cpu", "--backend", "classic", "--labels", seg)
	out := filepath.Join(t.TempDir(), "segments.stl")

	// The menu bar's first item (File) lies at the window's top left (no
	// window manager); its eleventh item (separators skipped) is Export
	// segments as meshes….
	xdo(t, display, "mousemove", "20", "12", "click", "1")
	xdo(t, display, "mousemove", "1300", "650") // off the menus, so hovering chooses nothing
	for range 11 {
		xdo(t, display, "key", "Down")
	}
	xdo(t, display, "key", "Return")
	// Export… is the lowest patch of the theme's primary blue (the
	// segments panel's check boxes above it are blue too).
	img := screenshot(t, display)
	b := img.Bounds()
	bottom, left, right := -1, b.Max.X, -1
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if near(img.At(x, y), primary) {
				if y > bottom {
					bottom, left, right = y, x, x
				} else if y == bottom {
					left, right = min(left, x), max(right, x)
				}
			}
		}
	}
	if bottom < 0 || right-left < 40 {
		t.Fatalf("no Export… button: the lowest blue is %d..%d at %d", left, right, bottom)
	}
	xdo(t, display, "mousemove", fmt.Sprint((left+right)/2), fmt.Sprint(bottom-8), "click", "1")
	xdo(t, display, "key", "ctrl+a")
	xdo(t, display, "type", "--delay", "20", out)
	xdo(t, display, "key", "Return")
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if _, err := os.Stat(out); err != nil { // written whole or not at all
			continue
		}
		f, err := meshtest.ReadSTL(out)
		if err != nil {
			t.Fatal(err)
		}
		n := len(f.Triangles)
		if !strings.HasPrefix(f.Header, "SPACE=LPS segvol: ") || n < 1000 {
			t.Fatalf("%s: %d triangles, header %q: not the segments' STL", out, n, f.Header)
		}
		t.Logf("%s: %d triangles", filepath.Base(out), n)
		return
	}
	t.Fatalf("no %s after the export", out)
}
