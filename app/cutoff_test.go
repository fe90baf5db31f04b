package app

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/mpr"
)

// The status bar shows the note of what was just done whole, on the
// narrowest window FitScreen picks: "Interpolate axial slices (…)" said
// nothing of what it did.
func TestStatusNoteWhole(t *testing.T) {
	v, e := sampleWithLabels(t)
	v.win.Resize(minWindow)
	if err := e.SetActive(5); err != nil {
		t.Fatal(err)
	}
	v.interpolate(mpr.Axial)
	note := v.loadInfo
	if !strings.HasPrefix(note, "Interpolate axial slices (Label 5): ") {
		t.Fatalf("note %q", note)
	}
	if !strings.Contains(v.status.Text, note) {
		t.Fatalf("the status bar says %q, not the whole note %q", v.status.Text, note)
	}
	if cut := cutOff(t, v.status); len(cut) > 0 {
		t.Errorf("cut off: %q", cut)
	}
	t.Logf("status: %q", v.status.Text)
	// In a window too narrow for it, on two lines.
	v.win.Resize(fyne.NewSize(600, 640))
	v.updateStatus()
	if cut := cutOff(t, v.status); len(cut) > 0 || !strings.Contains(v.status.Text, note) {
		t.Errorf("in a narrow window the status bar says %q, cut off: %q", v.status.Text, cut)
	}
}

// A box whose depth was guessed says what to do about it, whole: "(depth
// guessed: drag in a second view)" was cut at "dr" in the prompt list.
func TestBoxDepthNoteWhole(t *testing.T) {
	v, segmented, box := liverViewer(t)
	v.win.Resize(minWindow)
	box(mpr.Axial) // depth guessed
	awaitPreview(t, segmented)
	texts := strings.Join(panelTexts(v.aiPanel.content), "\n")
	if !strings.Contains(texts, "depth guessed") || !strings.Contains(texts, "second view") {
		t.Errorf("the AI panel says %q", texts)
	}
	if cut := cutOff(t, v.side); len(cut) > 0 {
		t.Errorf("labels cut off: %q", cut)
	}
	box(mpr.Coronal) // depth dragged
	awaitPreview(t, segmented)
	if texts := strings.Join(panelTexts(v.aiPanel.content), "\n"); strings.Contains(texts, "guessed") {
		t.Errorf("after the depth drag the AI panel says %q", texts)
	}
}

// An ellipse's minimum and maximum are shown in the view and in the
// measurements panel, whole (the view left them out; the panel cut them).
func TestEllipseShowsMinMax(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.win.Resize(minWindow)
	s := v.Session()
	v.SetTool(viewer.ToolEllipse)
	cx, cy := s.CursorOnScreen(mpr.Axial)
	dragIn(t, v, mpr.Axial, cx-40, cy-30, cx+40, cy+30)
	ms := s.Edit().Measurements()
	if len(ms) != 1 {
		t.Fatalf("%d measurements", len(ms))
	}
	st := ms[0].Region
	want := "min " + num(st.Min) + ", max " + num(st.Max) + " HU"
	drawn := strings.Join(drawnTexts(t, v.View(mpr.Axial)), "\n")
	if !strings.Contains(drawn, want) || !strings.Contains(drawn, "mean ") {
		t.Errorf("the view draws %q, want %q in it", drawn, want)
	}
	if texts := strings.Join(panelTexts(v.measurePanel.content), "\n"); !strings.Contains(texts, want) {
		t.Errorf("the panel shows %q, want %q in it", texts, want)
	}
	if cut := cutOff(t, v.measurePanel.content); len(cut) > 0 {
		t.Errorf("labels cut off: %q", cut)
	}
}

// A ruler's or ellipse's label stays inside the view when the measurement
// ends near an edge: past the bottom edge its length was cut off.
func TestMeasureLabelInsideView(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.win.Resize(minWindow)
	s, ax := v.Session(), v.View(mpr.Axial)
	size := ax.Size()
	w, h := float64(size.Width), float64(size.Height)
	cx, cy := s.CursorOnScreen(mpr.Axial)
	for _, m := range []struct {
		tool           viewer.Tool
		x0, y0, x1, y1 float64
	}{
		{viewer.ToolRuler, cx, cy, w - 3, h - 3},   // to the bottom right corner
		{viewer.ToolRuler, cx, cy, 3, h - 2},       // to the bottom left
		{viewer.ToolRuler, cx, cy, w - 2, 3},       // to the top right
		{viewer.ToolEllipse, cx, cy, w - 4, h - 4}, // three lines at the bottom
	} {
		v.SetTool(m.tool)
		dragIn(t, v, mpr.Axial, m.x0, m.y0, m.x1, m.y1)
	}
	n, r := 0, test.TempWidgetRenderer(t, ax).(*sliceRenderer)
	for _, o := range r.measures.Objects {
		txt, ok := o.(*canvas.Text)
		if !ok {
			continue
		}
		n++
		p, sz := txt.Position(), txt.Size()
		// Its backing too, clear of the edges by their texts' margin.
		if p.X < overlayPad || p.Y < 0 || p.X+sz.Width > size.Width-overlayPad || p.Y+sz.Height > size.Height {
			t.Errorf("%q lies at %v, %v in a view of %v", txt.Text, p, sz, size)
		}
		// Clear of the view's own texts: over them both were unreadable.
		if p.Y < r.title.Position().Y+r.title.Size().Height || p.Y+sz.Height > r.scaleText.Position().Y {
			t.Errorf("%q at %v, %v lies over the title (ending at %v) or the scale bar (from %v)", txt.Text, p, sz,
				r.title.Position().Y+r.title.Size().Height, r.scaleText.Position().Y)
		}
	}
	if n < 6 {
		t.Errorf("%d texts drawn for three rulers and an ellipse", n)
	}
}

// TestStatusBarKeepsOneLine: a short note keeps the status bar one line
// high at every window width, so the views above it do not jump. A user
// saw "undone: apply" take the whole renderer text onto two lines (the
// views shrank 19 px) where "undone: Eraser" took one.
func TestStatusBarKeepsOneLine(t *testing.T) {
	v, _ := sampleWithLabels(t)
	v.rendererName = "CPU renderer (OpenGL is llvmpipe (LLVM 15.0.6, 256 bits), a software driver: slower; --renderer gl uses it anyway)"
	one := widget.NewLabel("x").MinSize().Height
	for w := float32(900); w <= 1900; w += 3 {
		v.win.Resize(fyne.NewSize(w, 700))
		for _, note := range []string{"undone: apply", "undone: Eraser", "redone: accept into Label 3"} {
			v.setStatusNote(note)
			if h := v.status.MinSize().Height; h > one+0.5 {
				t.Fatalf("window %.0f wide, note %q: the status bar is %.0f high (one line %.0f): %q", w, note, h, one, v.status.Text)
			}
		}
	}
}
