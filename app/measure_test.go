package app

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/mpr"
)

// panelTexts are the texts of the labels and buttons under o as laid out.
func panelTexts(o fyne.CanvasObject) []string {
	var out []string
	for _, x := range test.LaidOutObjects(o) {
		if l, ok := x.(*widget.Label); ok && l.Visible() && l.Text != "" {
			out = append(out, l.Text)
		}
	}
	return out
}

func hasPrefix(texts []string, prefix string) bool {
	for _, s := range texts {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// drawnTexts are the measurement labels view sv draws.
func drawnTexts(t *testing.T, sv *SliceView) []string {
	var out []string
	for _, o := range test.TempWidgetRenderer(t, sv).(*sliceRenderer).measures.Objects {
		if txt, ok := o.(*canvas.Text); ok {
			out = append(out, txt.Text)
		}
	}
	return out
}

func TestMeasurementsDrawListSaveReopen(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	s := v.Session()
	ax := v.View(mpr.Axial)
	mm := s.View(mpr.Axial).MMPerPixel(s.Frame())

	// The ruler by its key, dragged 60 x 80 pixels: 100 pixels long.
	ax.TypedRune('l')
	if s.Edit().Tool() != viewer.ToolRuler {
		t.Fatalf("L picked %v", s.Edit().Tool())
	}
	cx, cy := s.CursorOnScreen(mpr.Axial)
	dragIn(t, v, mpr.Axial, cx-60, cy-80, cx, cy)
	want := fmt.Sprintf("Ruler 1: %.1f mm", 100*mm)
	if texts := panelTexts(v.measurePanel.content); !hasPrefix(texts, want) {
		t.Fatalf("panel shows %q, want %q", texts, want)
	}
	if d := drawnTexts(t, ax); len(d) != 1 || d[0] != want {
		t.Errorf("axial view draws %q", d)
	}
	if d := drawnTexts(t, v.View(mpr.Coronal)); len(d) != 0 {
		t.Errorf("coronal view draws %q", d)
	}

	// An angle by three clicks: a right angle on screen is one in the
	// axial plane.
	v.SetTool(viewer.ToolAngle)
	for _, p := range []fyne.Position{{X: 200, Y: 100}, {X: 200, Y: 200}, {X: 300, Y: 200}} {
		press(ax, desktop.MouseButtonPrimary, 0, p)
		ax.MouseUp(&desktop.MouseEvent{Button: desktop.MouseButtonPrimary})
	}
	if texts := panelTexts(v.measurePanel.content); !hasPrefix(texts, "Angle 2: 90.0°") {
		t.Fatalf("panel shows %q after three angle clicks", texts)
	}

	// Ellipse statistics (their numbers are checked in package viewer).
	v.SetTool(viewer.ToolEllipse)
	dragIn(t, v, mpr.Axial, cx-40, cy-30, cx+40, cy+30)
	if texts := panelTexts(v.measurePanel.content); !hasPrefix(texts, "Ellipse 3: ") || !strings.Contains(strings.Join(texts, "\n"), "mm²\nmean ") {
		t.Fatalf("panel shows %q after an ellipse", texts)
	}

	// A click on the ruler's row moves the cursor to its middle (the voxel
	// centre nearest it, where the cursor rests).
	before := s.Cursor()
	v.measurePanel.list.Select(0)
	r := s.Edit().Measurements()[0].Points
	mid := s.Frame().Snap([3]float64{(r[0][0] + r[1][0]) / 2, (r[0][1] + r[1][1]) / 2, (r[0][2] + r[1][2]) / 2})
	if c := s.Cursor(); math.Abs(c[0]-mid[0])+math.Abs(c[1]-mid[1]) > 1e-6 || c == before {
		t.Errorf("cursor %v after a click on the ruler, want its middle %v", c, mid)
	}

	// Saved with the segmentation as Slicer markups; deleted; back when the
	// segmentation is opened.
	path := filepath.Join(t.TempDir(), "ct_seg.nii.gz")
	if err := v.SaveLabels(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "ct_seg.mrk.json")); err != nil {
		t.Fatal(err)
	}
	for len(v.measurePanel.items) > 0 {
		del := test.LaidOutObjects(v.measurePanel.list)
		tapped := false
		for _, o := range del {
			if b, ok := o.(*widget.Button); ok && b.Visible() {
				test.Tap(b)
				tapped = true
				break
			}
		}
		if !tapped {
			t.Fatal("no delete button in the measurements panel")
		}
	}
	if d := drawnTexts(t, ax); len(d) != 0 {
		t.Errorf("deleted measurements still drawn: %q", d)
	}
	// A deletion is undone as any edit, named in the Edit menu.
	if !strings.Contains(v.status.Text, "deleted Ellipse 3 (Ctrl+Z") || v.editItems.undo.Label != "Undo delete Ellipse 3" {
		t.Errorf("after deleting: status %q, Edit menu %q", v.status.Text, v.editItems.undo.Label)
	}
	v.Undo()
	if texts := panelTexts(v.measurePanel.content); !hasPrefix(texts, "Ellipse 3: ") || !strings.Contains(v.status.Text, "undone: delete Ellipse 3") {
		t.Errorf("after Ctrl+Z: panel %q, status %q", texts, v.status.Text)
	}
	if err := v.OpenLabels(path); err != nil {
		t.Fatal(err)
	}
	texts := panelTexts(v.measurePanel.content)
	// The ellipse comes back too (it was not saved: a user lost two).
	if !hasPrefix(texts, want) || !hasPrefix(texts, "Angle 2: 90.0°") || !hasPrefix(texts, "Ellipse 3: ") {
		t.Errorf("after reopening the segmentation the panel shows %q", texts)
	}
	if !strings.Contains(v.status.Text, "3 measurements") {
		t.Errorf("status %q", v.status.Text)
	}
}

// TestMeasurementLabelsFollowTheirShapes: a ruler panned out of the view
// takes its label with it (kept inside the view, the label stood for a
// shape no one could see); a ruler whose end is out but whose start is in
// is labelled at its start. Each label has a dark backing, readable over
// bright bone. The measurement list grows with its rows: three ellipses
// show whole, not one and a half, and the wheel reaches its last row.
func TestMeasurementLabelsFollowTheirShapes(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	s, ax := v.Session(), v.View(mpr.Axial)
	cx, cy := s.CursorOnScreen(mpr.Axial)
	v.SetTool(viewer.ToolRuler)
	dragIn(t, v, mpr.Axial, cx-60, cy-40, cx+20, cy+20)
	backed := func() bool {
		objs := test.TempWidgetRenderer(t, ax).(*sliceRenderer).measures.Objects
		for i, o := range objs {
			if txt, ok := o.(*canvas.Text); ok {
				r, ok := objs[i-1].(*canvas.Rectangle)
				return ok && r.FillColor == labelBacking && r.Position().Y <= txt.Position().Y
			}
		}
		return false
	}
	if d := drawnTexts(t, ax); len(d) != 1 || !backed() {
		t.Errorf("the ruler's label: %q, on a backing %v", d, backed())
	}
	// Its end (the label's place) out past the right edge, its start in.
	w := float64(ax.Size().Width)
	s.Pan(mpr.Axial, w-(cx+20)+10, 0)
	if d := drawnTexts(t, ax); len(d) != 1 {
		t.Errorf("a ruler half in the view draws %q", d)
	}
	s.Pan(mpr.Axial, w, 0)
	if d := drawnTexts(t, ax); len(d) != 0 {
		t.Errorf("a ruler out of the view still draws %q", d)
	}
	s.Pan(mpr.Axial, -2*w-(w-(cx+20)+10)+w, 0)

	v.SetTool(viewer.ToolEllipse)
	for i := range 3 {
		dragIn(t, v, mpr.Axial, cx-30+float64(10*i), cy-20, cx+30, cy+20)
	}
	v.win.Resize(fyne.NewSize(1400, 1600)) // the whole side panel in sight
	list := v.measurePanel.list
	rows := -float32(0)
	for _, m := range v.measurePanel.items[1:] {
		rows += widget.NewLabel(v.measurePanel.rowText(m)).MinSize().Height
	}
	if h := list.Size().Height; h < rows {
		t.Errorf("three ellipses' rows need %.0f px, the list is %.0f high", rows, h)
	}
	// Four rows in a list of at most measureListMax: the wheel reaches the
	// last.
	at := fyne.CurrentApp().Driver().AbsolutePositionForObject(list).AddXY(list.Size().Width/2, list.Size().Height/2)
	for range 50 {
		test.Scroll(v.win.Canvas(), at, 0, -20)
	}
	content := -theme.Padding()
	for _, m := range v.measurePanel.items {
		content += max(v.measurePanel.newRow().MinSize().Height, widget.NewLabel(v.measurePanel.rowText(m)).MinSize().Height) + theme.Padding()
	}
	last := list.GetScrollOffset() >= content-list.Size().Height-1
	if !last {
		t.Errorf("the wheel leaves the list at %.0f of %.0f px in a %.0f px list: the last row is not whole", list.GetScrollOffset(), content, list.Size().Height)
	}
}

// TestEscapeCancelsAngle: Escape drops the points of an angle being
// placed; they stayed, and the next Ctrl+Z took one instead of the last
// brush stroke.
func TestEscapeCancelsAngle(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	e := v.Session().Edit()
	v.SetTool(viewer.ToolAngle)
	press(v.View(mpr.Axial), desktop.MouseButtonPrimary, 0, fyne.NewPos(120, 100))
	if len(e.MeasurementsOn(mpr.Axial)) != 1 {
		t.Fatal("the angle's first point is not shown")
	}
	v.View(mpr.Axial).TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if n := len(e.MeasurementsOn(mpr.Axial)); n != 0 || v.editItems.undo.Label == "Undo angle point" {
		t.Errorf("after Escape %d shapes shown, Edit menu %q", n, v.editItems.undo.Label)
	}
}
