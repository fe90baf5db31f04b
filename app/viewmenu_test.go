package app

import (
	"image"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/segvolapp/segvol/viewer/mpr"
)

// viewMenuItem is the View menu's item whose label starts with prefix.
func viewMenuItem(t *testing.T, v *Viewer, prefix string) *fyne.MenuItem {
	t.Helper()
	for _, m := range v.Window().MainMenu().Items {
		if m.Label != "View" {
			continue
		}
		for _, it := range m.Items {
			if len(it.Label) >= len(prefix) && it.Label[:len(prefix)] == prefix {
				return it
			}
		}
	}
	t.Fatalf("no View > %s…", prefix)
	return nil
}

// crosshairPixels counts the pixels of the crosshair's colour in the
// capture of view o.
func crosshairPixels(v *Viewer, o mpr.Orientation) int {
	img := v.Window().Canvas().Capture()
	at, size := v.ViewRect(o)
	scale := v.Window().Canvas().Scale()
	r := image.Rect(int(at.X*scale), int(at.Y*scale), int((at.X+size.Width)*scale), int((at.Y+size.Height)*scale))
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			// The crosshair is blue over grey: blue well above red.
			if cb>>8 > cr>>8+80 && cb>>8 > cg>>8 {
				n++
			}
		}
	}
	return n
}

// TestCrosshairToggle: C in a view hides the crosshair in every view and
// unchecks View > Crosshair; the menu item shows it again.
func TestCrosshairToggle(t *testing.T) {
	v, err := openViewer(t, Options{}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.Window().Resize(fyne.NewSize(1280, 800))
	shown := crosshairPixels(v, mpr.Coronal)
	item := viewMenuItem(t, v, "Crosshair")
	if !item.Checked || shown < 100 {
		t.Fatalf("at start: %d crosshair pixels, View > Crosshair checked %v", shown, item.Checked)
	}
	v.View(mpr.Axial).TypedRune('c')
	if n := crosshairPixels(v, mpr.Coronal); n > shown/10 || item.Checked {
		t.Fatalf("after C: %d crosshair pixels (%d before), checked %v", n, shown, item.Checked)
	}
	item.Action()
	if n := crosshairPixels(v, mpr.Coronal); n < shown*9/10 || !item.Checked {
		t.Fatalf("after View > Crosshair: %d crosshair pixels (%d before), checked %v", n, shown, item.Checked)
	}
}
