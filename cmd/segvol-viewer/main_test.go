package main

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segvolapp/segvol/internal/screentest"
	viewerpkg "github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
	"github.com/segvolapp/segvol/viewer/study"
)

// need finds a tool, skipping without it unless CI is set.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing", tool)
			}
			t.Skipf("%s is missing", tool)
		}
	}
}

// xserver starts Xvfb on a free display (it picks one and tells us) and
// builds the viewer, or takes $SEGVOL_VIEWER_BIN (an installed package's,
// from make test-packages); it returns the binary and the DISPLAY value.
func xserver(t *testing.T) (bin, display string) {
	t.Helper()
	return xserverSized(t, "1400x700x24")
}

// xserverSized is xserver with a screen of the given WxHxDepth.
func xserverSized(t *testing.T, screen string) (bin, display string) {
	t.Helper()
	need(t, "Xvfb", "xwd", "convert", "xdotool")
	if bin = os.Getenv("SEGVOL_VIEWER_BIN"); bin == "" {
		bin = filepath.Join(t.TempDir(), "segvol-viewer")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	x := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", screen, "-nolisten", "tcp")
	x.ExtraFiles = []*os.File{w}
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { x.Process.Kill(); x.Wait() })
	n, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("Xvfb gave no display: %v", err)
	}
	return bin, ":" + strings.TrimSpace(n)
}

// viewer starts the app on display and returns, once it printed prefix,
// the lines it printed until then and a channel of its further lines.
func viewer(t *testing.T, bin, display, prefix string, args ...string) ([]string, <-chan string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	// A private HOME keeps the user's cache and preferences out of it; its
	// preferences say the first-start notice was read, as it would cover
	// the views.
	home := t.TempDir()
	prefs := filepath.Join(home, ".config", "fyne", "app.segvol.viewer")
	if err := os.MkdirAll(prefs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(prefs, "preferences.json"), []byte(`{"intendedUseNoticeRead":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "HOME="+home, "XDG_CACHE_HOME=", "XDG_CONFIG_HOME=", "LANG=C.UTF-8")
	return screentest.Start(t, cmd, prefix, 60*time.Second)
}

// TestAppShowsSampleUnderXvfb starts the real viewer on the bundled sample,
// takes a screenshot and checks that the three views show three different
// images of it.
func TestAppShowsSampleUnderXvfb(t *testing.T) {
	bin, display := xserver(t)
	seen, _ := viewer(t, bin, display, "segvol-viewer: opened")
	// The window sits at the top left: Xvfb has no window manager.
	screentest.ThreeViews(t, screenshot(t, display), viewRects(t, seen), image.Point{})
}

// TestScrollFrameRateUnderXvfb counts the frames the real viewer presents
// while its axial view scrolls; it reports the rate (no assertion: the
// machine is shared).
func TestScrollFrameRateUnderXvfb(t *testing.T) {
	bin, display := xserver(t)
	_, lines := viewer(t, bin, display, "segvol-viewer: opened", "--bench-scroll", "4s")
	for l := range lines {
		if strings.HasPrefix(l, "segvol-viewer: scrolling") {
			t.Log(l)
			return
		}
	}
	t.Fatal("no frame count from the viewer")
}

// The screenshot helpers, shared with the Windows build's test under Wine.
var (
	screenshot  = screentest.Screenshot
	viewRects   = screentest.ViewRects
	gray        = screentest.Gray
	stats       = screentest.Stats
	meanAbsDiff = screentest.MeanAbsDiff
)

// TestOverlayUnderXvfb opens the sample with its label map and checks, in
// a screenshot of the axial view, that the liver's pixels show the liver
// segment's colour blended over grey, and that others do not, with each
// renderer.
func TestOverlayUnderXvfb(t *testing.T) {
	st, err := study.Open(t.Context(), filepath.Join("..", "..", "assets", "sample", "example_ct_sm.nii.gz"), study.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join("..", "..", "assets", "sample", "example_seg.nii.gz")
	for _, renderer := range []string{"gl", "cpu"} {
		t.Run(renderer, func(t *testing.T) {
			bin, display := xserver(t)
			seen, _ := viewer(t, bin, display, "segvol-viewer: opened", "--renderer", renderer, "--backend", "classic", "--labels", seg)
			img := screenshot(t, display)
			r := viewRects(t, seen)["axial"]
			s, err := viewerpkg.NewSession(st.Volume, nil)
			if err != nil {
				t.Fatal(err)
			}
			m, err := labels.Load(seg, st.Volume)
			if err != nil {
				t.Fatal(err)
			}
			s.Resize(mpr.Axial, r.Dx(), r.Dy())
			c := labels.DefaultColor(liverValue)
			const alpha = 128 // segment opacity 1 times the overlay's 0.5
			label := func(x, y float64) uint8 {
				p := s.ProbeAt(mpr.Axial, x, y)
				return m.At(p.Index[0], p.Index[1], p.Index[2])
			}
			var liver, liverTinted, other, otherTinted int
			cx, cy := s.CursorOnScreen(mpr.Axial)
			for y := 4; y < r.Dy()-4; y++ {
				for x := 4; x < r.Dx()-4; x++ {
					fx, fy := float64(x), float64(y)
					if math.Abs(fx-cx) < 4 || math.Abs(fy-cy) < 4 {
						continue // the crosshair
					}
					v := label(fx, fy)
					// Interior pixels only: outlines are drawn opaque.
					if label(fx-3, fy) != v || label(fx+3, fy) != v || label(fx, fy-3) != v || label(fx, fy+3) != v {
						continue
					}
					tinted := blendedOverGray(img.At(r.Min.X+x, r.Min.Y+y), c, alpha)
					switch {
					case v == liverValue:
						liver++
						if tinted {
							liverTinted++
						}
					case v == 0 && s.ProbeAt(mpr.Axial, fx, fy).Inside:
						other++
						if tinted {
							otherTinted++
						}
					}
				}
			}
			t.Logf("liver: %d of %d pixels in its colour; background: %d of %d", liverTinted, liver, otherTinted, other)
			if liver < 500 || float64(liverTinted) < 0.85*float64(liver) {
				t.Errorf("the liver shows its colour at %d of %d pixels", liverTinted, liver)
			}
			if float64(otherTinted) > 0.05*float64(other) {
				t.Errorf("%d of %d background pixels look like the liver", otherTinted, other)
			}
		})
	}
}

// liverValue is the liver's label in TotalSegmentator's map.
const liverValue = 5

// blendedOverGray reports whether pixel px is c at alpha over some grey:
// undoing the blend must give three equal channels.
func blendedOverGray(px color.Color, c color.NRGBA, alpha float64) bool {
	r, g, b, _ := px.RGBA()
	under := func(q uint32, ch uint8) float64 {
		return (float64(q>>8)*255 - float64(ch)*alpha) / (255 - alpha)
	}
	gr, gg, gb := under(r, c.R), under(g, c.G), under(b, c.B)
	return math.Abs(gr-gg) <= 6 && math.Abs(gg-gb) <= 6 && math.Abs(gr-gb) <= 6 && gr >= -6
}

// TestView3DUnderXvfb starts the real viewer in the 2x2 layout on the
// sample with its labels: the 3D pane must show the segments' surfaces; a
// left drag over it turns them; a click on a surface moves the cursor, so
// that the axial view shows another slice.
func TestView3DUnderXvfb(t *testing.T) {
	bin, display := xserverSized(t, "1400x900x24")
	seg := filepath.Join("..", "..", "assets", "sample", "example_seg.nii.gz")
	seen, _ := viewer(t, bin, display, "segvol-viewer: opened", "--renderer", "cpu", "--backend", "classic", "--layout", "2x2", "--labels", seg)
	rects := viewRects(t, seen)
	r3, ax := rects["3d"], rects["axial"]
	if r3.Empty() {
		t.Fatalf("no 3D view in %v", rects)
	}
	// colourful counts the pixels of a crop in strong colours: the
	// segments' surfaces, not the grey image or the dark background.
	colourful := func(img image.Image, r image.Rectangle) int {
		n := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				cr, cg, cb, _ := img.At(x, y).RGBA()
				if max(cr, cg, cb)>>8-min(cr, cg, cb)>>8 > 60 {
					n++
				}
			}
		}
		return n
	}
	xdo := func(args ...string) {
		t.Helper()
		cmd := exec.Command("xdotool", args...)
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("xdotool %v: %v\n%s", args, err, out)
		}
	}
	first := screenshot(t, display)
	if n := colourful(first, r3); n < r3.Dx()*r3.Dy()/20 {
		t.Fatalf("the 3D view shows %d coloured pixels of %d", n, r3.Dx()*r3.Dy())
	}
	c := image.Pt((r3.Min.X+r3.Max.X)/2, (r3.Min.Y+r3.Max.Y)/2)
	xdo("mousemove", fmt.Sprint(c.X), fmt.Sprint(c.Y), "mousedown", "1")
	for range 10 {
		xdo("mousemove_relative", "--", "6", "-4")
		time.Sleep(30 * time.Millisecond)
	}
	xdo("mouseup", "1")
	turned := screenshot(t, display)
	if d := meanAbsDiff(gray(first, r3), gray(turned, r3)); d < 5 {
		t.Errorf("a drag over the 3D view left it as it was (mean difference %.1f)", d)
	}
	xdo("mousemove", fmt.Sprint(c.X), fmt.Sprint(c.Y), "click", "1")
	clicked := screenshot(t, display)
	if d := meanAbsDiff(gray(turned, ax), gray(clicked, ax)); d < 5 {
		t.Errorf("a click on a surface did not move the axial view (mean difference %.1f)", d)
	}
}
