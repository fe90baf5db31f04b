package main

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"path/filepath"
	"testing"

	viewerpkg "github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
	"github.com/segvolapp/segvol/viewer/study"
)

// TestBrushStrokeVisibleUnderXvfb paints as a user does, in the real viewer
// on the sample (whose first axial view lies where two slices meet): the
// brush key, a click on background in the axial view, then a wheel notch
// and a second click. Each dab must show, in a screenshot, in the active
// segment's colour where it was clicked: a stroke used to land on the
// slice next to the one shown and stay invisible.
func TestBrushStrokeVisibleUnderXvfb(t *testing.T) {
	need(t, "xdotool")
	dir := filepath.Join("..", "..", "assets", "sample")
	st, err := study.Open(t.Context(), filepath.Join(dir, "example_ct_sm.nii.gz"), study.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(dir, "example_seg.nii.gz")
	m, err := labels.Load(seg, st.Volume)
	if err != nil {
		t.Fatal(err)
	}
	bin, display := xserver(t)
	seen, _ := viewer(t, bin, display, "segvol-viewer: opened", "--renderer", "cpu", "--backend", "classic", "--labels", seg)
	r := viewRects(t, seen)["axial"]
	// A session like the viewer's tells which voxels the view shows.
	s, err := viewerpkg.NewSession(st.Volume, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Resize(mpr.Axial, r.Dx(), r.Dy())
	active := m.Segments()[0] // the viewer makes the first segment active
	// background finds a pixel inside the body with no label within a
	// brush's reach, away from the crosshair.
	background := func() image.Point {
		cx, cy := s.CursorOnScreen(mpr.Axial)
		for y := 20.0; y < float64(r.Dy())-20; y += 4 {
			for x := 20.0; x < float64(r.Dx())-20; x += 4 {
				if math.Abs(x-cx) < 20 || math.Abs(y-cy) < 20 {
					continue
				}
				clear := true
				for oy := -8.0; oy <= 8 && clear; oy += 2 {
					for ox := -8.0; ox <= 8 && clear; ox += 2 {
						p := s.ProbeAt(mpr.Axial, x+ox, y+oy)
						clear = p.Inside && p.Value > -200 && m.At(p.Index[0], p.Index[1], p.Index[2]) == 0
					}
				}
				if clear {
					return image.Pt(int(x), int(y))
				}
			}
		}
		t.Fatal("no background pixel found in the axial view")
		return image.Point{}
	}
	tinted := func(img image.Image, at image.Point) int {
		n := 0
		for y := -2; y <= 2; y++ {
			for x := -2; x <= 2; x++ {
				// Filled (blended over the image) or the outline (opaque).
				px := img.At(r.Min.X+at.X+x, r.Min.Y+at.Y+y)
				if blendedOverGray(px, active.Color, 128) || near(px, active.Color) {
					n++
				}
			}
		}
		return n
	}
	move := func(at image.Point) {
		xdo(t, display, "mousemove", fmt.Sprint(r.Min.X+at.X), fmt.Sprint(r.Min.Y+at.Y))
	}
	for step, scroll := range []bool{false, true} {
		at := background()
		move(at)
		if scroll {
			xdo(t, display, "click", "4") // wheel up: the next axial slice
			s.ScrollView(mpr.Axial, 1)
			at = background()
			move(at)
		}
		before := screenshot(t, display)
		xdo(t, display, "key", "d", "click", "1")
		after := screenshot(t, display)
		b, a := tinted(before, at), tinted(after, at)
		t.Logf("dab %d at %v (%s): %d of 25 pixels in %q's colour before, %d after", step, at, s.SliceText(mpr.Axial), b, active.Name, a)
		// Most of the 5x5 pixels around the click (the dab's rim is its
		// outline, drawn lighter at this size); none when it is elsewhere.
		if b > 5 || a < 13 {
			t.Errorf("dab %d: %d of 25 pixels in the segment's colour after painting (%d before): the stroke is not where it was painted", step, a, b)
		}
	}
}

// near reports whether px is c, within 6 per channel.
func near(px color.Color, c color.NRGBA) bool {
	r, g, b, _ := px.RGBA()
	d := func(q uint32, ch uint8) bool { return math.Abs(float64(q>>8)-float64(ch)) <= 6 }
	return d(r, c.R) && d(g, c.G) && d(b, c.B)
}
