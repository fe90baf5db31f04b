package app

import (
	"fmt"
	"image"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/render"
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

// cutOff lists the texts under o that do not fit their widget: a label,
// button or check narrower than its text. What lies in a scroller is
// checked against the scroller's content, which the user can scroll to.
func cutOff(t *testing.T, o fyne.CanvasObject) []string {
	var out []string
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if !o.Visible() {
			return
		}
		text, need, needH := "", float32(0), float32(0)
		switch w := o.(type) {
		case *widget.Label:
			// All its lines, wrapped at its width where it wraps.
			text, need, needH = w.Text, 0, w.MinSize().Height
			if w.Wrapping == fyne.TextWrapOff {
				whole := widget.NewLabelWithStyle(w.Text, w.Alignment, w.TextStyle).MinSize()
				need, needH = whole.Width, whole.Height
			}
		case *widget.Button:
			text, need = w.Text, w.MinSize().Width
		case *widget.Check:
			text, need = w.Text, w.MinSize().Width
		}
		if text != "" && (o.Size().Width+0.5 < need || o.Size().Height+0.5 < needH) {
			out = append(out, fmt.Sprintf("%q: %.0fx%.0f, needs %.0fx%.0f", text, o.Size().Width, o.Size().Height, need, needH))
		}
		switch c := o.(type) {
		case *fyne.Container:
			for _, x := range c.Objects {
				walk(x)
			}
		case *widget.Label, *widget.Button, *widget.Check:
			// Their parts are their text.
		case fyne.Widget:
			for _, x := range test.TempWidgetRenderer(t, c).Objects() {
				walk(x)
			}
		}
	}
	walk(o)
	return out
}

// TestLayoutFits1280x800 opens the sample with its 100-odd segments and
// checks the window's size, that no text of the tool bar, panels or status
// bar is cut off on a 1280x800 screen, that the segment list shows at
// least 10 rows, and the View menu's layout and side panel items.
func TestLayoutFits1280x800(t *testing.T) {
	v, err := openViewer(t, Options{Labels: sampleSeg}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	c := v.Window().Canvas()
	if s := c.Size(); s.Width > 1280 || s.Height > 760 {
		t.Errorf("the window opens at %v where the screen is not known: too big for a 1280x800 screen", s)
	}
	v.FitScreen(fyne.NewSize(1280, 800))
	if s := c.Size(); s != fyne.NewSize(1216, 720) {
		t.Errorf("on a 1280x800 screen the window is %v, want 95%% of its width and 90%% of its height", s)
	}
	// Long warnings and reasons: the status bar shows the load's note, the
	// study information all of them.
	s := v.Session()
	s.Volume.Warnings = append(s.Volume.Warnings, "slice spacing varies from 2.5 to 5 mm between slices 12 and 13: resampled to 2.5 mm")
	v.SetSession(s)
	v.setStatusNote(loadSummary(s, time.Second))
	v.KeepCPURenderer("OpenGL is llvmpipe (LLVM 15.0.6, 256 bits), a software driver: slower; --renderer gl uses it anyway")
	for _, bad := range cutOff(t, c.Content()) {
		t.Error("cut off: " + bad)
	}
	// The load's note stays whole (TestStatusNoteWhole); the renderer's
	// reason is in the study information.
	if st := v.status.Text; !strings.Contains(st, "resampled to 2.5 mm") || !strings.Contains(st, "Study information") {
		t.Errorf("status %q", st)
	}
	viewMenuItem(t, v, "Study information").Action()
	if txt := findLabel(t, c.Overlays().Top(), "resampled to 2.5 mm"); txt == "" || !strings.Contains(txt, "--renderer gl uses it anyway") {
		t.Errorf("study information %q", txt)
	}
	c.Overlays().Top().Hide()
	c.Overlays().Remove(c.Overlays().Top())
	// The views' texts fit them, the pointer's too.
	for _, o := range []mpr.Orientation{mpr.Axial, mpr.Coronal, mpr.Sagittal} {
		sv := v.View(o)
		sv.MouseIn(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(20, 20)}})
		for _, obj := range test.TempWidgetRenderer(t, sv).Objects() {
			if txt, ok := obj.(*canvas.Text); ok && txt.Visible() && txt.Text != "" {
				if x := txt.Position().X; x < 0 || x+txt.MinSize().Width > sv.Size().Width+0.5 {
					t.Errorf("%v view, %.0f wide: %q at x=%.0f is cut off", o, sv.Size().Width, txt.Text, x)
				}
			}
		}
		sv.MouseOut()
	}
	// Narrowed as far as it goes, the side panel scrolls rather than cut.
	v.split.SetOffset(0.95)
	if w := v.side.Size().Width; w > max(sidePanelMin, v.side.Content.MinSize().Width)+1 {
		t.Errorf("the side panel narrows to %.0f, not %d", w, sidePanelMin)
	}
	for _, bad := range cutOff(t, c.Content()) {
		t.Error("cut off in the narrowed panel: " + bad)
	}
	// The segment list shows as many rows as leave the AI panel's Accept
	// in sight below it: three at least on a 1280x800 screen, ten on a
	// 1920x1080 one.
	row, pad := v.segPanel.newRow().MinSize().Height, theme.Padding()
	d := fyne.CurrentApp().Driver()
	for _, c := range []struct {
		screen fyne.Size
		rows   int
	}{{fyne.NewSize(1280, 800), fewRows}, {fyne.NewSize(1920, 1080), segmentRows}} {
		v.FitScreen(c.screen)
		v.side.ScrollToOffset(fyne.Position{})
		// Rows whole in view: a row and the padding after it, but the last.
		if h := v.segPanel.list.Size().Height; (h+pad)/(row+pad) < float32(c.rows) {
			t.Errorf("%v screen: segment list %.0f high: %.1f rows of %.0f", c.screen, h, (h+pad)/(row+pad), row)
		}
		acc := v.aiPanel.accept
		end := d.AbsolutePositionForObject(acc).Y + acc.Size().Height - d.AbsolutePositionForObject(v.side).Y
		if h := v.side.Size().Height; end > h {
			t.Errorf("%v screen: Accept ends %.0f px down the side panel, which is %.0f high", c.screen, end, h)
		}
	}
	v.FitScreen(fyne.NewSize(1280, 800))
	// Hiding the side panel gives the views its width.
	w0 := v.View(mpr.Axial).Size().Width
	side := viewMenuItem(t, v, "Side panel")
	side.Action()
	if w := v.View(mpr.Axial).Size().Width; side.Checked || w < w0+60 {
		t.Errorf("side panel hidden (checked %v): axial view %.0f wide, was %.0f", side.Checked, w, w0)
	}
	side.Action()
	if w := v.View(mpr.Axial).Size().Width; !side.Checked || w != w0 {
		t.Errorf("side panel back (checked %v): axial view %.0f wide, was %.0f", side.Checked, w, w0)
	}
	one, two := viewMenuItem(t, v, "Layout 1x3"), viewMenuItem(t, v, "Layout 2x2")
	if !one.Checked || two.Checked {
		t.Errorf("at start: 1x3 checked %v, 2x2 checked %v", one.Checked, two.Checked)
	}
	two.Action()
	if one.Checked || !two.Checked || len(v.panes.Objects) != 4 {
		t.Errorf("after Layout 2x2: 1x3 checked %v, 2x2 checked %v, %d panes", one.Checked, two.Checked, len(v.panes.Objects))
	}
}

// TestLinkZoomMenu: View > Link zoom and pan makes a Ctrl+wheel zoom in
// one view give the others its scale, on this study and the next.
func TestLinkZoomMenu(t *testing.T) {
	v, err := openViewer(t, Options{}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.Window().Resize(fyne.NewSize(1280, 720))
	item := viewMenuItem(t, v, "Link zoom and pan")
	item.Action()
	if !item.Checked || !v.Session().LinkedViews() {
		t.Fatalf("after View > Link zoom and pan: checked %v, session linked %v", item.Checked, v.Session().LinkedViews())
	}
	ax := v.View(mpr.Axial)
	ax.KeyDown(&fyne.KeyEvent{Name: desktop.KeyControlLeft})
	ax.Scrolled(&fyne.ScrollEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(50, 50)}, Scrolled: fyne.Delta{DY: 10}})
	ax.KeyUp(&fyne.KeyEvent{Name: desktop.KeyControlLeft})
	s := v.Session()
	if a, c := s.View(mpr.Axial).MMPerPixel(s.Frame()), s.View(mpr.Coronal).MMPerPixel(s.Frame()); abs(a-c) > 1e-9 {
		t.Errorf("axial %v mm per pixel, coronal %v", a, c)
	}
	v.SetSession(openSample(t))
	if !v.Session().LinkedViews() {
		t.Error("the next study's views are not linked")
	}
}

// findLabel is the text of the first label under o that contains part.
func findLabel(t *testing.T, o fyne.CanvasObject, part string) string {
	switch w := o.(type) {
	case *widget.Label:
		if strings.Contains(w.Text, part) {
			return w.Text
		}
	case *fyne.Container:
		for _, x := range w.Objects {
			if s := findLabel(t, x, part); s != "" {
				return s
			}
		}
	case fyne.Widget:
		for _, x := range test.TempWidgetRenderer(t, w).Objects() {
			if s := findLabel(t, x, part); s != "" {
				return s
			}
		}
	}
	return ""
}

// The View menu shows which interpolation the views use (neither item was
// checked), and the choice holds for the next study.
func TestInterpolationMenuChecked(t *testing.T) {
	v, err := openViewer(t, Options{}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	nearest, linear := viewMenuItem(t, v, "Nearest-neighbour interpolation"), viewMenuItem(t, v, "Linear interpolation")
	if nearest.Checked || !linear.Checked || v.Session().Interp() != render.Linear {
		t.Fatalf("at the start: nearest %v, linear %v, session %v", nearest.Checked, linear.Checked, v.Session().Interp())
	}
	nearest.Action()
	if !nearest.Checked || linear.Checked || v.Session().Interp() != render.Nearest {
		t.Fatalf("after choosing nearest: nearest %v, linear %v, session %v", nearest.Checked, linear.Checked, v.Session().Interp())
	}
	v.SetSession(openSample(t))
	if v.Session().Interp() != render.Nearest {
		t.Error("the next study went back to linear interpolation while the menu says nearest")
	}
}
