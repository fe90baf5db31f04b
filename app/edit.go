package app

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
)

// editMenu holds the items whose label says what will be undone.
type editMenu struct {
	menu       *fyne.Menu
	undo, redo *fyne.MenuItem
}

func (v *Viewer) newEditMenu() *fyne.Menu {
	m := &v.editItems
	m.undo = fyne.NewMenuItem("Undo", func() { v.Undo() })
	// The driver reports Ctrl+Z as ShortcutUndo, Ctrl+Shift+Z as is.
	m.undo.Shortcut = &fyne.ShortcutUndo{}
	m.redo = fyne.NewMenuItem("Redo", func() { v.Redo() })
	m.redo.Shortcut = &desktop.CustomShortcut{KeyName: fyne.KeyZ, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift}
	v.win.Canvas().AddShortcut(&fyne.ShortcutRedo{}, func(fyne.Shortcut) { v.Redo() }) // Ctrl+Y
	edit := func(label, whyNone string, op func(m *labels.LabelMap, s uint8) (labels.Change, error)) *fyne.MenuItem {
		return fyne.NewMenuItem(label, func() { v.editActive(label, whyNone, op) })
	}
	m.menu = fyne.NewMenu("Edit",
		m.undo, m.redo,
		fyne.NewMenuItemSeparator(),
		edit("Keep largest island", "it is one island", (*labels.LabelMap).KeepLargestIsland),
		fyne.NewMenuItem("Remove islands smaller than…", v.removeIslandsDialog),
		edit("Fill holes", "it has no enclosed hole", (*labels.LabelMap).FillHoles),
		fyne.NewMenuItem("Smooth…", v.smoothDialog),
		fyne.NewMenuItem("Interpolate between painted slices (axial)", func() { v.interpolate(mpr.Axial) }),
		fyne.NewMenuItem("Interpolate between painted slices (coronal)", func() { v.interpolate(mpr.Coronal) }),
		fyne.NewMenuItem("Interpolate between painted slices (sagittal)", func() { v.interpolate(mpr.Sagittal) }),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Merge another segment into the active one…", v.mergeDialog),
		fyne.NewMenuItem("Add the preview to the active segment", func() { v.Accept(labels.Add) }),
		fyne.NewMenuItem("Subtract the preview from the active segment", func() { v.Accept(labels.Subtract) }),
		fyne.NewMenuItem("Intersect the active segment with the preview", func() { v.Accept(labels.Intersect) }),
	)
	return m.menu
}

// syncUndo names the steps Undo and Redo would take.
func (v *Viewer) syncUndo() {
	m := &v.editItems
	if v.session == nil || m.menu == nil {
		return
	}
	e := v.session.Edit()
	u, canU := e.CanUndo()
	r, canR := e.CanRedo()
	ul, rl := "Undo", "Redo"
	if canU {
		ul = "Undo " + u
	}
	if canR {
		rl = "Redo " + r
	}
	if ul != m.undo.Label || rl != m.redo.Label || m.undo.Disabled == canU || m.redo.Disabled == canR {
		m.undo.Label, m.undo.Disabled = ul, !canU
		m.redo.Label, m.redo.Disabled = rl, !canR
		if mm := v.win.MainMenu(); mm != nil {
			mm.Refresh()
		}
	}
}

// Undo undoes the last change to the segmentation.
func (v *Viewer) Undo() {
	if v.session == nil || v.dialogShown() {
		return
	}
	// Said, so that a note of the step undone ("accepted into…") does
	// not stay as if it still held.
	name, _ := v.session.Edit().CanUndo()
	if v.session.Edit().Undo() {
		v.setStatusNote("undone: " + name)
	} else {
		v.setStatusNote("nothing to undo")
	}
}

// Redo redoes the last undone change.
func (v *Viewer) Redo() {
	if v.session == nil || v.dialogShown() {
		return
	}
	name, _ := v.session.Edit().CanRedo()
	if v.session.Edit().Redo() {
		v.setStatusNote("redone: " + name)
	} else {
		v.setStatusNote("nothing to redo")
	}
}

// dialogShown reports whether a dialog is up: Ctrl+Z and Ctrl+Y wait for
// it to close (behind "Delete segment?" Ctrl+Z undid the stroke of the
// segment being asked about).
func (v *Viewer) dialogShown() bool { return v.win.Canvas().Overlays().Top() != nil }

// editActive runs op (named what) on the active segment and says in the
// status bar what it changed, or that nothing changed and why: whyNone,
// unless the segment is empty.
func (v *Viewer) editActive(what, whyNone string, op func(m *labels.LabelMap, s uint8) (labels.Change, error)) {
	if v.session == nil {
		return
	}
	e := v.session.Edit()
	c, err := e.Edit(op)
	if err != nil {
		v.showError(err)
		return
	}
	sg, _ := e.Labels().Segment(e.Active())
	if c.Empty() && e.Labels().Count(sg.Value) == 0 {
		whyNone = "it is empty"
	}
	v.setStatusNote(editSummary(what+" ("+sg.Name+")", whyNone, c, e.Labels().VoxelML()))
}

// stroked says when a brush or eraser stroke left a locked segment's
// voxels alone: the stroke seemed not to paint there, with no word why.
func (v *Viewer) stroked(c labels.Change) {
	if c.Spared == 0 {
		return
	}
	sg, _ := v.session.Edit().Labels().Segment(c.SparedSeg)
	tool := "the brush"
	if v.session.Edit().Tool() == viewer.ToolEraser {
		tool = "the eraser"
	}
	v.setStatusNote(fmt.Sprintf("%s left locked %q alone (unlock it in the segment list to paint over it)", tool, sg.Name))
}

// filled says what a 3D fill added and what it took from other segments
// (a fill into a new segment took 939 of the liver's 940 mL without a
// word), and warns when it added more than a tenth of the image: a range
// that lets the fill through the body floods it (a click in the liver at
// the default ±100 HU filled 3.7 L of the sample, a quarter of it).
func (v *Viewer) filled(c labels.Change, takes []labels.Take) {
	e := v.session.Edit()
	sg, _ := e.Labels().Segment(e.Active())
	ml := e.Labels().VoxelML()
	note := editSummary("3D fill ("+sg.Name+")", "the region is the segment's already", c, ml)
	// The three it took most from: a flood through the body takes from
	// dozens, and the note is one line.
	takes = slices.Clone(takes)
	slices.SortStableFunc(takes, func(a, b labels.Take) int { return b.Lost - a.Lost })
	sep := "; took "
	for i, t := range takes {
		if i == 3 {
			note += fmt.Sprintf(" and from %d other segments", len(takes)-3)
			break
		}
		from, _ := e.Labels().Segment(t.Value)
		note += fmt.Sprintf("%s%.1f mL of %s's %.1f", sep, float64(t.Lost)*ml, from.Name, float64(t.Had)*ml)
		sep = ", "
	}
	if len(takes) > 0 {
		note += " (lock a segment to keep it; Ctrl+Z undoes this)"
	}
	d := v.session.Volume.Dims
	if share := float64(c.Voxels) / float64(d[0]*d[1]*d[2]); share > 0.1 {
		note += fmt.Sprintf("; that is %.0f%% of the image: the range may be too wide", 100*share)
		if len(takes) == 0 {
			note += " (Ctrl+Z undoes it)"
		}
	}
	v.setStatusNote(note)
}

// editSummary says what an edit did: the voxels it added and removed, with
// their volume, or "no change" and why.
func editSummary(what, whyNone string, c labels.Change, voxelML float64) string {
	if c.Empty() {
		return fmt.Sprintf("%s: no change, %s", what, whyNone)
	}
	var did []string
	for _, d := range []struct {
		verb string
		n    int
	}{{"added", c.Voxels - c.Cleared}, {"removed", c.Cleared}} {
		noun := "voxels"
		if d.n == 1 {
			noun = "voxel"
		}
		if d.n > 0 {
			did = append(did, fmt.Sprintf("%s %d %s (%.2f mL)", d.verb, d.n, noun, float64(d.n)*voxelML))
		}
	}
	return what + ": " + strings.Join(did, ", ")
}

// numberDialog asks for one positive number.
func (v *Viewer) numberDialog(title, label, initial string, done func(float64)) {
	entry := widget.NewEntry()
	entry.SetText(initial)
	d := dialog.NewForm(title, "OK", "Cancel", []*widget.FormItem{widget.NewFormItem(label, entry)}, func(ok bool) {
		if !ok {
			return
		}
		x, err := strconv.ParseFloat(entry.Text, 64)
		if err != nil || !(x > 0) {
			v.showError(fmt.Errorf("%q is not a positive number", entry.Text))
			return
		}
		done(x)
	}, v.win)
	// At its own size the field showed one character of "0.27".
	d.Resize(fyne.NewSize(numberDialogWidth, d.MinSize().Height))
	d.Show()
}

// numberDialogWidth leaves a number dialog's field room for ten digits.
const numberDialogWidth = 360

// removeIslandsDialog asks for the smallest island to keep, offering the
// label map's default for its voxel size.
func (v *Viewer) removeIslandsDialog() {
	if v.session == nil {
		return
	}
	def := v.session.Edit().Labels().DefaultMinIslandML()
	v.numberDialog("Remove small islands", "Smaller than (mL)", strconv.FormatFloat(def, 'g', 2, 64), func(ml float64) {
		v.editActive(fmt.Sprintf("Remove islands under %s mL", num(ml)), fmt.Sprintf("no island is under %s mL", num(ml)),
			func(m *labels.LabelMap, s uint8) (labels.Change, error) { return m.RemoveIslands(s, ml) })
	})
}

// smoothDialog asks for the smoothing radius, offering the label map's
// default for its voxel size.
func (v *Viewer) smoothDialog() {
	if v.session == nil {
		return
	}
	lm := v.session.Edit().Labels()
	v.numberDialog("Smooth", "Radius (mm)", num(lm.DefaultSmoothMM()), func(r float64) {
		sp := lm.Geometry().Spacing()
		whyNone := fmt.Sprintf("no gap, notch or spur is narrower than %s mm", num(r))
		if fine := min(sp[0], sp[1], sp[2]); r < fine {
			whyNone = fmt.Sprintf("%s mm is under the voxel spacing (%s mm): try %s mm", num(r), num(fine), num(lm.DefaultSmoothMM()))
		}
		v.editActive(fmt.Sprintf("Smooth %s mm", num(r)), whyNone,
			func(m *labels.LabelMap, s uint8) (labels.Change, error) { return m.Smooth(s, r) })
	})
}

// interpolate fills the slices between those painted in view o's
// orientation (the index axis across it).
func (v *Viewer) interpolate(o mpr.Orientation) {
	if v.session == nil {
		return
	}
	axis := v.session.Edit().NormalAxis(o)
	v.editActive("Interpolate "+o.String()+" slices", "no unpainted "+o.String()+" slice lies between two painted ones",
		func(m *labels.LabelMap, s uint8) (labels.Change, error) { return m.Interpolate(s, axis) })
}

// mergeDialog picks another segment whose voxels join the active one.
func (v *Viewer) mergeDialog() {
	e := v.activeEditor()
	if e == nil {
		return
	}
	var names []string
	var values []uint8
	for _, sg := range e.Labels().Segments() {
		if sg.Value != e.Active() {
			names, values = append(names, sg.Name), append(values, sg.Value)
		}
	}
	if len(names) == 0 {
		v.setStatusNote("there is no other segment to merge")
		return
	}
	sel := widget.NewSelect(names, nil)
	sel.SetSelectedIndex(0)
	dialog.ShowForm("Merge segments", "Merge", "Cancel", []*widget.FormItem{widget.NewFormItem("Segment", sel)}, func(ok bool) {
		if ok && sel.SelectedIndex() >= 0 {
			other := values[sel.SelectedIndex()]
			name := names[sel.SelectedIndex()]
			v.editActive("Merge "+name, name+" is empty, locked, or kept by the draw-over setting",
				func(m *labels.LabelMap, s uint8) (labels.Change, error) { return m.Apply(m.Mask(other), s, labels.Add) })
		}
	}, v.win)
}

// segmentationMenu runs, accepts and rejects the AI, picks tools and sets
// the overlay.
func (v *Viewer) segmentationMenu() *fyne.Menu {
	var tools []*fyne.MenuItem
	for _, t := range viewer.Tools {
		tools = append(tools, fyne.NewMenuItem(fmt.Sprintf("%s (%c)", t, t.Key()-'a'+'A'), func() { v.SetTool(t) }))
	}
	toolItem := fyne.NewMenuItem("Tool", nil)
	toolItem.ChildMenu = fyne.NewMenu("", tools...)
	overlay := func(label string, set func(fill, outline bool) (bool, bool)) *fyne.MenuItem {
		return fyne.NewMenuItem(label, func() {
			if v.session != nil {
				e := v.session.Edit()
				f, o, a := e.Overlay()
				f, o = set(f, o)
				e.SetOverlay(f, o, a)
			}
		})
	}
	return fyne.NewMenu("Segmentation",
		fyne.NewMenuItem("Run AI segmentation", v.RunSegmentation),
		fyne.NewMenuItem("Cancel", v.CancelSegmentation),
		fyne.NewMenuItem("Accept preview: replace segment (Enter)", func() { v.Accept(labels.Replace) }),
		fyne.NewMenuItem("Accept preview: add to segment", func() { v.Accept(labels.Add) }),
		fyne.NewMenuItem("Reject preview (Esc)", v.Reject),
		fyne.NewMenuItem("Clear prompts", func() {
			if v.session != nil {
				v.session.Edit().ClearPrompts()
			}
		}),
		fyne.NewMenuItemSeparator(),
		toolItem,
		fyne.NewMenuItem("Add segment…", v.addSegmentDialog),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Install SegVol model…", v.installModelDialog),
		fyne.NewMenuItemSeparator(),
		overlay("Overlay: fill and outline", func(bool, bool) (bool, bool) { return true, true }),
		overlay("Overlay: fill only", func(bool, bool) (bool, bool) { return true, false }),
		overlay("Overlay: outline only", func(bool, bool) (bool, bool) { return false, true }),
	)
}

// segmentKey handles Enter (accept, replacing the segment) and Escape
// (reject) in any view. Escape first drops an angle being placed: its
// points stayed, for the next Ctrl+Z to take instead of the last edit.
func (v *Viewer) segmentKey(ev *fyne.KeyEvent) bool {
	if v.session != nil && ev.Name == fyne.KeyEscape && v.session.Edit().CancelAngle() {
		v.setStatusNote("angle cancelled")
		return true
	}
	if v.session == nil || v.session.Edit().Preview() == nil {
		return false
	}
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		v.Accept(labels.Replace)
		return true
	case fyne.KeyEscape:
		v.Reject()
		return true
	}
	return false
}
