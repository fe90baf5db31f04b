package app

import (
	"fmt"
	"image/color"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/labels"
)

// segmentsPanel lists the segments: colour, name, visibility and lock per
// row, the active one selected; buttons add, rename, recolour and delete;
// the active segment's opacity and statistics below, and the overlay
// settings.
type segmentsPanel struct {
	v       *Viewer
	list    *widget.List
	segs    []labels.Segment
	stats   map[uint8]labels.Stats
	info    *widget.Label
	opacity *widget.Slider
	fill    *widget.Check
	outline *widget.Check
	global  *widget.Slider
	content fyne.CanvasObject
	listMin *canvas.Rectangle // the list's least height, as fitRows sets it
	rowH    float32           // a row's height, measured once: fitRows runs on every sync
	timer   *time.Timer
	syncing bool // the panel is being set from the session, not the user
}

// The list shows segmentRows segments at least where the side panel is
// high enough to show the AI panel below them, and down to fewRows where
// it is not.
const segmentRows, fewRows = 10, 3

func newSegmentsPanel(v *Viewer) *segmentsPanel {
	p := &segmentsPanel{v: v, stats: map[uint8]labels.Stats{}}
	p.list = widget.NewList(func() int { return len(p.segs) }, p.newRow, p.updateRow)
	p.list.OnSelected = func(i widget.ListItemID) {
		if e := p.edit(); e != nil && !p.syncing && i < len(p.segs) {
			e.SetActive(p.segs[i].Value)
		}
	}
	// Always statLines lines, none wider than the panel at its
	// narrowest: what lies below stays put while painting changes them.
	p.info = widget.NewLabel("")
	p.info.TextStyle.Monospace = true
	p.opacity = widget.NewSlider(0, 1)
	p.opacity.Step = 0.05
	p.opacity.OnChanged = func(a float64) {
		if e := p.edit(); e != nil && !p.syncing && e.Active() != 0 {
			e.Do(func(m *labels.LabelMap) error { return m.SetOpacity(e.Active(), a) })
		}
	}
	p.fill = widget.NewCheck("Fill", func(bool) { p.setOverlay() })
	p.outline = widget.NewCheck("Outline", func(bool) { p.setOverlay() })
	p.global = widget.NewSlider(0, 1)
	p.global.Step = 0.05
	p.global.OnChanged = func(float64) { p.setOverlay() }
	v.keyless(p.opacity, p.fill, p.outline, p.global)
	buttons := container.NewGridWithColumns(4,
		widget.NewButton("Add", v.addSegmentDialog),
		widget.NewButton("Rename", v.renameSegmentDialog),
		widget.NewButton("Colour", v.recolorSegmentDialog),
		widget.NewButton("Delete", v.deleteActiveSegment))
	// The list takes the height the panel has to spare, and never less
	// than fitRows allows.
	p.rowH = p.newRow().MinSize().Height
	p.listMin = canvas.NewRectangle(color.Transparent)
	p.listMin.SetMinSize(fyne.NewSize(0, p.rowsHeight(segmentRows)))
	list := container.NewStack(p.listMin, v.wheelToPanel(p.list))
	p.content = container.NewBorder(
		widget.NewLabelWithStyle("Segments", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewVBox(buttons,
			container.NewBorder(nil, nil, widget.NewLabel("Opacity"), nil, p.opacity),
			p.info,
			container.NewBorder(nil, nil, container.NewHBox(p.fill, p.outline), nil, p.global)),
		nil, nil, list)
	return p
}

// atLeast is o (a list, which asks for one row) at least h high, and as
// wide as its container.
func atLeast(h float32, o fyne.CanvasObject) fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(fyne.NewSize(0, h))
	return container.NewStack(r, o)
}

// rowsHeight is the height of n rows of the list, which puts a padding
// between its rows.
func (p *segmentsPanel) rowsHeight(n int) float32 {
	return float32(n)*(p.rowH+theme.Padding()) - theme.Padding()
}

// fitRows sets the list's least height for a side panel h high: as many
// rows as leave the AI panel (a result's Accept and Reject) in sight below
// them, segmentRows at most and fewRows at least. With ten rows always,
// on a 1366x768 screen the AI panel lay below the fold, and bringing a
// result's Accept into sight scrolled the list away.
func (p *segmentsPanel) fitRows(h float32) {
	pad := theme.Padding()
	row := p.rowsHeight(1) + pad
	// What lies above the AI panel's end besides the list: the segment
	// panel's other parts, a separator and the AI panel.
	other := p.content.MinSize().Height - p.listMin.MinSize().Height + 2*pad + p.v.aiPanel.content.MinSize().Height
	rows := min(max(int((h-other+pad)/row), fewRows), segmentRows)
	if want := p.rowsHeight(rows); want != p.listMin.MinSize().Height {
		p.listMin.SetMinSize(fyne.NewSize(0, want))
		p.content.Refresh()
	}
}

// refitSidePanel fits the segment list's rows again after the panels
// above the AI panel's end changed height (a result's lines, the box hint,
// statistics): the side panel's layout runs only when it is resized.
func (v *Viewer) refitSidePanel() {
	if v.side != nil && v.segPanel != nil && v.side.Size().Height > 0 {
		v.segPanel.fitRows(v.side.Size().Height)
	}
}

// sidePanelLayout gives the side panel its size, having fitted the
// segment list's rows to its height.
type sidePanelLayout struct{ v *Viewer }

func (l sidePanelLayout) MinSize(o []fyne.CanvasObject) fyne.Size { return o[0].MinSize() }

func (l sidePanelLayout) Layout(o []fyne.CanvasObject, size fyne.Size) {
	l.v.segPanel.fitRows(size.Height)
	o[0].Move(fyne.Position{})
	o[0].Resize(size)
}

func (p *segmentsPanel) edit() *viewer.Editor {
	if p.v.session == nil {
		return nil
	}
	return p.v.session.Edit()
}

func (p *segmentsPanel) setOverlay() {
	if e := p.edit(); e != nil && !p.syncing {
		e.SetOverlay(p.fill.Checked, p.outline.Checked, p.global.Value)
	}
}

// newRow is one segment's row: swatch, name and statistics, visible, lock.
func (p *segmentsPanel) newRow() fyne.CanvasObject {
	sw := canvas.NewRectangle(color.Black)
	sw.SetMinSize(fyne.NewSize(16, 16))
	name := widget.NewLabel("")
	name.Truncation = fyne.TextTruncateEllipsis
	vis := widget.NewCheck("", nil)
	lock := widget.NewCheck("🔒", nil)
	return newTapRow(scrollGutter(container.NewBorder(nil, nil, container.NewCenter(sw), container.NewHBox(vis, lock), name)))
}

func (p *segmentsPanel) updateRow(i widget.ListItemID, o fyne.CanvasObject) {
	if i >= len(p.segs) {
		return
	}
	sg := p.segs[i]
	row := o.(*tapRow)
	row.onTap = func() {
		// The row already selected is picked again (the list's Select
		// alone would not say so): after an Accept the next prompt starts
		// a new segment, and a click on the accepted one's row is the
		// user saying "into this one".
		p.list.Unselect(i)
		p.list.Select(i)
	}
	c := inGutter(row.content)
	name := c.Objects[0].(*widget.Label)
	sw := c.Objects[1].(*fyne.Container).Objects[0].(*canvas.Rectangle)
	checks := c.Objects[2].(*fyne.Container).Objects
	vis, lock := checks[0].(*widget.Check), checks[1].(*widget.Check)
	sw.FillColor = sg.Color
	sw.Refresh()
	text := sg.Name
	if st, ok := p.stats[sg.Value]; ok {
		text = fmt.Sprintf("%s  (%.1f mL)", sg.Name, st.VolumeML)
	}
	name.SetText(text)
	e := p.edit()
	vis.OnChanged, lock.OnChanged = nil, nil
	vis.SetChecked(sg.Visible)
	lock.SetChecked(sg.Locked)
	vis.OnChanged = func(on bool) {
		note := "hid " + sg.Name + " (its voxels are kept)"
		if on {
			note = "showed " + sg.Name
		}
		p.v.done(e.Do(func(m *labels.LabelMap) error { return m.SetVisible(sg.Value, on) }), note)
	}
	lock.OnChanged = func(on bool) {
		note := "unlocked " + sg.Name
		if on {
			note = "locked " + sg.Name + ": no edit changes its voxels until unlocked"
		}
		p.v.done(e.Do(func(m *labels.LabelMap) error { return m.SetLocked(sg.Value, on) }), note)
	}
	p.v.keyless(vis, lock)
}

// sync shows the session's segments; statistics follow a moment later
// (they read every voxel, so a brush stroke does not wait for them).
func (p *segmentsPanel) sync() {
	e := p.edit()
	if e == nil {
		return
	}
	p.syncing = true
	defer func() { p.syncing = false }()
	p.segs = e.Labels().Segments()
	p.list.Refresh()
	p.list.UnselectAll()
	for i, sg := range p.segs {
		if sg.Value == e.Active() {
			p.list.Select(i)
			p.opacity.SetValue(sg.Opacity)
		}
	}
	fill, outline, global := e.Overlay()
	p.fill.SetChecked(fill)
	p.outline.SetChecked(outline)
	p.global.SetValue(global)
	p.showInfo()
	p.v.refitSidePanel()
	if p.timer != nil {
		p.timer.Stop()
	}
	p.timer = time.AfterFunc(300*time.Millisecond, func() { fyne.Do(p.updateStats) })
}

// updateStats measures every segment now.
func (p *segmentsPanel) updateStats() {
	e := p.edit()
	if e == nil {
		return
	}
	p.stats = map[uint8]labels.Stats{}
	for _, st := range e.Labels().Statistics() {
		p.stats[st.Value] = st
	}
	p.list.Refresh()
	p.showInfo()
}

// statLines is how many lines the active segment's statistics take.
const statLines = 3

func (p *segmentsPanel) showInfo() {
	p.info.SetText(strings.Join(p.infoLines(), "\n"))
}

// infoLines are the active segment's statistics, statLines lines.
func (p *segmentsPanel) infoLines() []string {
	e := p.edit()
	st, ok := p.stats[e.Active()]
	switch {
	case e.Active() == 0:
		return []string{"No active segment:", "Add one, or accept", "a preview."}
	case !ok || st.Voxels == 0:
		return []string{"Empty segment.", "", ""}
	}
	unit := ""
	if p.v.session.IsCT() {
		unit = " HU"
	}
	return []string{
		fmt.Sprintf("%d voxels, %.2f mL", st.Voxels, st.VolumeML),
		fmt.Sprintf("mean %s ± %s%s", num(round1(st.Mean)), num(round1(st.Std)), unit),
		fmt.Sprintf("min %s, max %s%s", num(st.Min), num(st.Max), unit),
	}
}

func round1(x float64) float64 { return float64(int64(x*10+0.5*sign(x))) / 10 }

func sign(x float64) float64 {
	if x < 0 {
		return -1
	}
	return 1
}

// addSegmentDialog asks for a name (typed or picked from the categories)
// and adds the segment as the active one.
func (v *Viewer) addSegmentDialog() {
	if v.session == nil {
		return
	}
	v.nameDialog("Add segment", "", func(name string) {
		if _, err := v.session.Edit().AddSegment(name); err != nil {
			v.showError(err)
		}
	})
}

func (v *Viewer) renameSegmentDialog() {
	e := v.activeEditor()
	if e == nil {
		return
	}
	sg, _ := e.Labels().Segment(e.Active())
	v.nameDialog("Rename segment", sg.Name, func(name string) {
		v.done(e.Do(func(m *labels.LabelMap) error { return m.Rename(sg.Value, name) }),
			fmt.Sprintf("renamed %s to %s", sg.Name, name))
	})
}

func (v *Viewer) recolorSegmentDialog() {
	e := v.activeEditor()
	if e == nil {
		return
	}
	sg, _ := e.Labels().Segment(e.Active())
	// A swatch applies at once and closes the dialog (Fyne's picker); the
	// note says how to take it back.
	d := dialog.NewColorPicker("Colour of "+sg.Name, "", func(c color.Color) {
		v.done(e.Do(func(m *labels.LabelMap) error { return m.Recolor(sg.Value, color.NRGBAModel.Convert(c).(color.NRGBA)) }),
			"recoloured "+sg.Name+" (Undo takes it back)")
	}, v.win)
	d.Advanced = true
	d.SetColor(sg.Color)
	d.Show()
}

func (v *Viewer) deleteActiveSegment() {
	e := v.activeEditor()
	if e == nil {
		return
	}
	sg, _ := e.Labels().Segment(e.Active())
	dialog.ShowConfirm("Delete segment", fmt.Sprintf("Delete %q and its voxels? (Undo brings it back.)", sg.Name), func(ok bool) {
		if ok {
			v.done(e.DeleteSegment(sg.Value), "deleted "+sg.Name+" (Undo brings it back)")
		}
	}, v.win)
}

// activeEditor is the editor when a segment is active; otherwise it says
// so in the status bar and returns nil.
func (v *Viewer) activeEditor() *viewer.Editor {
	if v.session == nil {
		return nil
	}
	e := v.session.Edit()
	if e.Active() == 0 {
		v.setStatusNote(noActiveNote)
		return nil
	}
	return e
}

// noActiveNote is the status note of a tool used with no segment active,
// taken away once one is (it stayed after one was added and painted).
const noActiveNote = "no active segment: add one in the segments panel"

// nameDialog asks for a structure name: free text, or picked from the
// category list by typing part of it.
func (v *Viewer) nameDialog(title, initial string, done func(string)) {
	entry := widget.NewEntry()
	entry.SetText(initial)
	picker := newCategoryPicker(v.categories, func(name string) { entry.SetText(name) })
	content := container.NewBorder(entry, nil, nil, nil, picker)
	d := dialog.NewCustomConfirm(title, "OK", "Cancel", content, func(ok bool) {
		if ok && strings.TrimSpace(entry.Text) != "" {
			done(strings.TrimSpace(entry.Text))
		}
	}, v.win)
	entry.OnChanged = picker.filter
	entry.OnSubmitted = func(string) { d.Confirm() }
	d.Resize(fyne.NewSize(420, 420))
	d.Show()
	// The name is typed at once, over the old one.
	v.win.Canvas().Focus(entry)
	entry.TypedShortcut(&fyne.ShortcutSelectAll{})
}

// categoryPicker is a list of category names filtered by a query.
type categoryPicker struct {
	widget.List
	all, shown []string
}

func newCategoryPicker(names []string, picked func(string)) *categoryPicker {
	p := &categoryPicker{all: names, shown: names}
	p.Length = func() int { return len(p.shown) }
	p.CreateItem = func() fyne.CanvasObject { return widget.NewLabel("") }
	p.UpdateItem = func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(p.shown[i]) }
	p.OnSelected = func(i widget.ListItemID) { picked(p.shown[i]) }
	p.ExtendBaseWidget(p)
	return p
}

func (p *categoryPicker) filter(query string) {
	p.shown = viewer.FilterCategories(p.all, query)
	p.UnselectAll()
	p.Refresh()
}
