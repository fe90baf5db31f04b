package app

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/viewer/labels"
)

// commonScreens are the screens (in Fyne units) the window must suit.
var commonScreens = []fyne.Size{{Width: 1024, Height: 640}, {Width: 1280, Height: 800}, {Width: 1366, Height: 768},
	{Width: 1600, Height: 900}, {Width: 1920, Height: 1080}}

// unreachable lists the controls under the side panel that the user
// cannot fully see or use: a button, box, list, slider, entry or label
// smaller than its minimum size, left of the panel, or reaching past its
// right edge less the gutter of the scroll bar Fyne draws over it (the
// panel's, or the list's the control is a row of), which took the lock
// column and the Reject button's edge.
func unreachable(t *testing.T, side *container.Scroll) []string {
	t.Helper()
	at := fyne.CurrentApp().Driver().AbsolutePositionForObject(side)
	return outside(t, side.Content, at, at.X, at.X+side.Size().Width-theme.ScrollBarSize())
}

// outside lists the controls under o, whose parent lies at at in the
// window, that are smaller than their minimum size or not all between x = left
// and right (less a list's scroll bar gutter for its rows).
func outside(t *testing.T, o fyne.CanvasObject, at fyne.Position, left, right float32) []string {
	t.Helper()
	var out []string
	gutter := theme.ScrollBarSize()
	var walk func(o fyne.CanvasObject, at fyne.Position, right float32)
	walk = func(o fyne.CanvasObject, at fyne.Position, right float32) {
		if !o.Visible() {
			return
		}
		at = at.Add(o.Position())
		name := ""
		switch w := o.(type) {
		case *widget.Button:
			name = "button " + w.Text
		case *widget.Check:
			name = "box " + w.Text
		case *widget.Select:
			name = "list " + w.Selected
		case *widget.Slider:
			name = "slider"
		case *widget.Entry:
			name = "entry " + w.PlaceHolder
		case *widget.Label:
			name = "label " + strings.ReplaceAll(w.Text, "\n", " / ")
		case *widget.List:
			right = min(right, at.X+w.Size().Width-gutter)
		}
		if name != "" {
			s, m := o.Size(), o.MinSize()
			if s.Width+0.5 < m.Width || s.Height+0.5 < m.Height {
				out = append(out, fmt.Sprintf("%s is %.0fx%.0f, needs %.0fx%.0f", name, s.Width, s.Height, m.Width, m.Height))
			}
			if at.X < left-0.5 || at.X+s.Width > right+0.5 {
				out = append(out, fmt.Sprintf("%s spans x %.0f to %.0f, the panel shows %.0f to %.0f", name, at.X, at.X+s.Width, left, right))
			}
			return
		}
		switch c := o.(type) {
		case *fyne.Container:
			for _, x := range c.Objects {
				walk(x, at, right)
			}
		case fyne.Widget:
			for _, x := range test.TempWidgetRenderer(t, c).Objects() {
				walk(x, at, right)
			}
		}
	}
	walk(o, at, right)
	return out
}

// TestSidePanelFitsScreens lays the window out on each common screen,
// with the sample's 41 segments, a prompt list and a long stage of an AI
// run, and at the panel's narrowest: every control of the side panel is
// whole and clear of the scroll bars, so that nothing needs a sideways
// scroll (which hid the Reject button at 1600x900 and the lock column at
// 1024x640).
func TestSidePanelFitsScreens(t *testing.T) {
	v, err := openViewer(t, Options{Labels: sampleSeg}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.aiPanel.rows = []promptRow{{1, "positive point -123, -45, 67 mm"}, {0, "box 120×140×30 voxels (depth guessed: drag in a second view)"}}
	v.aiPanel.prompts.Refresh()
	v.aiPanel.progress(0.4, "encoding the image with the SegVol vision transformer on 4 CPU threads (first run)")
	for _, screen := range commonScreens {
		v.FitScreen(screen)
		for _, bad := range unreachable(t, v.side) {
			t.Errorf("%v screen: %s", screen, bad)
		}
		if c, s := v.side.Content.Size().Width, v.side.Size().Width; c > s+0.5 {
			t.Errorf("%v screen: the panel's content is %.0f wide, the panel %.0f", screen, c, s)
		}
	}
	v.FitScreen(commonScreens[0])
	v.split.SetOffset(1) // dragged as narrow as it goes
	if w := v.side.Size().Width; w > max(sidePanelMin, v.side.Content.MinSize().Width)+1 {
		t.Errorf("the side panel narrows to %.0f, not %d", w, sidePanelMin)
	}
	for _, bad := range unreachable(t, v.side) {
		t.Error("narrowest panel: " + bad)
	}
}

// TestStatisticsKeepPanelStill: while the active segment's statistics
// change (another segment, none, an empty one, the largest numbers a CT
// gives), the controls below them stay where they are, and each line of
// them fits the panel at its narrowest (they wrapped onto another line
// and moved everything below).
func TestStatisticsKeepPanelStill(t *testing.T) {
	v, err := openViewer(t, Options{Labels: sampleSeg}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.FitScreen(fyne.NewSize(1366, 768))
	v.split.SetOffset(1)
	p, e := v.segPanel, v.Session().Edit()
	d := fyne.CurrentApp().Driver()
	where := func() string {
		return fmt.Sprintf("Fill at y %.0f, Run at y %.0f, statistics %.0f high",
			d.AbsolutePositionForObject(p.fill).Y, d.AbsolutePositionForObject(v.aiPanel.run).Y, p.info.Size().Height)
	}
	fits := func(when string) {
		for _, line := range strings.Split(p.info.Text, "\n") {
			if w := fyne.MeasureText(line, theme.TextSize(), p.info.TextStyle).Width + 2*theme.InnerPadding(); w > p.info.Size().Width+0.5 {
				t.Errorf("%s: %q needs %.0f, the statistics are %.0f wide", when, line, w, p.info.Size().Width)
			}
		}
	}
	p.updateStats()
	at := where()
	fits("Label 1")
	steps := []struct {
		name string
		do   func()
	}{
		{"Label 5", func() { e.SetActive(5) }},
		{"no active segment", func() { e.SetActive(0) }},
		{"a new empty segment", func() {
			if _, err := e.AddSegment("empty"); err != nil {
				t.Fatal(err)
			}
		}},
		{"the largest numbers", func() {
			e.SetActive(1)
			p.stats[1] = labels.Stats{Value: 1, Voxels: 16777216, VolumeML: 99999.99, Mean: -1023.95, Std: 1234.56, Min: -1024, Max: 3071}
		}},
	}
	for _, s := range steps {
		s.do()
		if s.name != "the largest numbers" {
			p.updateStats()
		} else {
			p.showInfo()
		}
		if now := where(); now != at {
			t.Errorf("%s (%q): %s, was %s", s.name, p.info.Text, now, at)
		}
		fits(s.name)
	}
}

// TestToolRowFits: the default window on a 1280x800 or 1366x768 screen
// shows every tool with its key ("Brush (D)") without scrolling (85% of
// 1366 did not); on a 1024x640 one every tool shows too, named without
// its key (the row scrolled, and Angle and Ellipse were out of sight).
func TestToolRowFits(t *testing.T) {
	v, err := openViewer(t, Options{}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	row := v.tools.content
	for _, screen := range commonScreens {
		v.FitScreen(screen)
		right := float32(0)
		for _, b := range v.tools.buttons {
			if b.Size().Width+0.5 < b.MinSize().Width {
				t.Errorf("%v screen: %q is %.0f wide, needs %.0f", screen, b.Text, b.Size().Width, b.MinSize().Width)
			}
			right = max(right, b.Position().X+b.Size().Width)
		}
		if right > row.Size().Width+0.5 {
			t.Errorf("%v screen: the tools reach %.0f in a %.0f-wide row", screen, right, row.Size().Width)
		}
		keyed := strings.HasSuffix(v.tools.buttons[len(v.tools.buttons)-1].Text, ")")
		if screen.Width >= 1280 && !keyed {
			t.Errorf("%v screen: the tools are named without their keys: %q", screen, v.tools.buttons[0].Text)
		}
	}
}
