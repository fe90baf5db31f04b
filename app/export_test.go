package app

import (
	"bytes"
	"image"
	"image/png"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/mpr"
)

// pngRoundTrip encodes img as PNG and decodes it.
func pngRoundTrip(t *testing.T, img image.Image) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	out, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestScreenshots(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"Save screenshot of view…", "Save screenshot of layout…", "Export statistics as CSV…"} {
		if menuItem(v, "File", l) == nil {
			t.Errorf("no File > %s", l)
		}
	}
	s := v.Session()
	cx, cy := s.CursorOnScreen(mpr.Axial)
	v.SetTool(viewer.ToolRuler)
	dragIn(t, v, mpr.Axial, cx-60, cy-80, cx, cy)

	whole := pngRoundTrip(t, v.Screenshot(nil))
	if sz := v.win.Content().Size(); whole.Bounds().Dx() != int(sz.Width+0.5) || whole.Bounds().Dy() != int(sz.Height+0.5) {
		t.Errorf("layout screenshot %v, window content %v", whole.Bounds(), sz)
	}
	var shots [3]image.Image
	for _, o := range viewer.Orientations {
		img := pngRoundTrip(t, v.Screenshot(v.View(o)))
		shots[o] = img
		sz := v.View(o).Size()
		if img.Bounds().Dx() != int(sz.Width+0.5) || img.Bounds().Dy() != int(sz.Height+0.5) {
			t.Errorf("%v screenshot %v, view %v", o, img.Bounds(), sz)
		}
		// Not blank: many grey levels of the study.
		greys := map[uint32]bool{}
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 3 {
			for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 3 {
				r, _, _, _ := img.At(x, y).RGBA()
				greys[r>>8] = true
			}
		}
		if len(greys) < 50 {
			t.Errorf("%v screenshot has %d levels of red: blank?", o, len(greys))
		}
	}
	// The overlays are in it: the ruler in the axial view, not elsewhere.
	has := func(img image.Image) bool {
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				if r, g, bl, _ := img.At(x, y).RGBA(); r>>8 == uint32(measureColor.R) && g>>8 == uint32(measureColor.G) && bl>>8 == uint32(measureColor.B) {
					return true
				}
			}
		}
		return false
	}
	if !has(shots[mpr.Axial]) || has(shots[mpr.Coronal]) || has(shots[mpr.Sagittal]) {
		t.Errorf("ruler colour in the axial, coronal, sagittal screenshots: %v %v %v", has(shots[mpr.Axial]), has(shots[mpr.Coronal]), has(shots[mpr.Sagittal]))
	}
	v.SetTool(viewer.ToolNavigate)
	cor := v.View(mpr.Coronal)
	press(cor, desktop.MouseButtonPrimary, 0, fyne.NewPos(50, 50))
	cor.MouseUp(&desktop.MouseEvent{Button: desktop.MouseButtonPrimary})
	if v.screenshotView() != cor {
		t.Errorf("the view last clicked is not the one shot")
	}
}
