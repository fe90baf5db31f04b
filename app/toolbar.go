package app

import (
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/viewer"
)

// toolBar is a row of tool buttons, the active one highlighted, each
// labelled with its key where the row has room for that.
type toolBar struct {
	v       *Viewer
	buttons []*widget.Button
	content fyne.CanvasObject
}

func newToolBar(v *Viewer) *toolBar {
	b := &toolBar{v: v}
	l := &toolRow{}
	var objs []fyne.CanvasObject
	for _, t := range viewer.Tools {
		long, short := fmt.Sprintf("%s (%c)", t, t.Key()-'a'+'A'), t.String()
		btn := widget.NewButton(short, func() { v.SetTool(t) })
		l.short, l.shortW = append(l.short, short), l.shortW+btn.MinSize().Width+theme.Padding()
		btn.SetText(long)
		l.long, l.longW = append(l.long, long), l.longW+btn.MinSize().Width+theme.Padding()
		b.buttons = append(b.buttons, btn)
		objs = append(objs, btn)
	}
	l.shortW -= theme.Padding()
	l.longW -= theme.Padding()
	b.content = container.New(l, objs...)
	b.sync(viewer.ToolNavigate)
	return b
}

// toolRow lays the tool buttons out in a row, labelled with their keys
// ("Brush (D)") when all fit, else without them: on a 1024-wide screen the
// row scrolled and Angle and Ellipse were out of sight (the keys are in
// the README and the Help menu).
type toolRow struct {
	long, short   []string
	longW, shortW float32 // the row's width with each set of labels
}

func (l *toolRow) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	for _, o := range objs {
		h = max(h, o.MinSize().Height)
	}
	return fyne.NewSize(l.shortW, h)
}

func (l *toolRow) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	labels := l.long
	if l.longW > size.Width {
		labels = l.short
	}
	x := float32(0)
	for i, o := range objs {
		if b := o.(*widget.Button); b.Text != labels[i] {
			b.SetText(labels[i])
		}
		w := o.MinSize().Width
		o.Resize(fyne.NewSize(w, size.Height))
		o.Move(fyne.NewPos(x, 0))
		x += w + theme.Padding()
	}
}

func (b *toolBar) sync(active viewer.Tool) {
	for i, btn := range b.buttons {
		imp := widget.LowImportance
		if viewer.Tools[i] == active {
			imp = widget.HighImportance
		}
		if btn.Importance != imp {
			btn.Importance = imp
			btn.Refresh()
		}
	}
}

// SetTool picks the tool of the left mouse button; the structure name tool
// opens the category picker.
func (v *Viewer) SetTool(t viewer.Tool) {
	if v.session == nil {
		return
	}
	v.session.Edit().SetTool(t)
	if t == viewer.ToolText {
		v.textPromptDialog()
	}
}

// brushPanel sets the brush and eraser size, sphere or disc, the intensity
// range of brush, eraser and fill, and the fill's tolerance.
type brushPanel struct {
	v         *Viewer
	size      *widget.Slider
	sizeLabel *widget.Label
	sphere    *widget.Check
	limit     *widget.Check
	lo, hi    *widget.Entry
	tolerance *widget.Entry
	content   fyne.CanvasObject
}

func newBrushPanel(v *Viewer) *brushPanel {
	p := &brushPanel{v: v}
	p.size = widget.NewSlider(0.5, 50)
	p.size.Step = 0.5
	p.sizeLabel = widget.NewLabel("")
	p.size.OnChanged = func(r float64) {
		p.sizeLabel.SetText(fmt.Sprintf("radius %s mm", num(r)))
		if e := p.edit(); e != nil {
			e.BrushMM = r
		}
	}
	p.sphere = widget.NewCheck("3D (sphere)", func(on bool) {
		if e := p.edit(); e != nil {
			e.Brush3D = on
		}
	})
	p.lo, p.hi, p.tolerance = widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	p.lo.SetPlaceHolder("min")
	p.hi.SetPlaceHolder("max")
	p.limit = widget.NewCheck("Only values in", func(bool) { p.apply() })
	p.lo.OnChanged = func(string) { p.apply() }
	p.hi.OnChanged = func(string) { p.apply() }
	p.tolerance.OnChanged = func(s string) {
		if e := p.edit(); e != nil {
			if x, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && x >= 0 {
				e.FillTolerance = x
			}
		}
	}
	v.keyless(p.size, p.sphere, p.limit, p.lo, p.hi, p.tolerance)
	p.content = container.NewVBox(
		widget.NewLabelWithStyle("Brush, eraser, 3D fill", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewBorder(nil, nil, nil, p.sizeLabel, p.size),
		p.sphere,
		container.NewBorder(nil, nil, p.limit, nil, container.NewGridWithColumns(2, v.wheelThrough(p.lo), v.wheelThrough(p.hi))),
		container.NewBorder(nil, nil, widget.NewLabel("Fill: clicked value ±"), nil, v.wheelThrough(p.tolerance)),
	)
	return p
}

func (p *brushPanel) edit() *viewer.Editor {
	if p.v.session == nil {
		return nil
	}
	return p.v.session.Edit()
}

// apply sets the intensity range when the box is on; a bound that is no
// number, or min over max, makes the tools refuse in words (a max of
// "300d", a key meant for the tool typed into it, let the brush paint
// air at -1000 HU).
func (p *brushPanel) apply() {
	e := p.edit()
	if e == nil {
		return
	}
	e.Range, e.RangeErr = nil, nil
	if !p.limit.Checked {
		return
	}
	lo, err1 := strconv.ParseFloat(strings.TrimSpace(p.lo.Text), 64)
	hi, err2 := strconv.ParseFloat(strings.TrimSpace(p.hi.Text), 64)
	switch {
	case err1 != nil || err2 != nil:
		e.RangeErr = fmt.Errorf("the range of \"Only values in\" is %q to %q: give two numbers, or untick it", p.lo.Text, p.hi.Text)
	case lo > hi:
		e.RangeErr = fmt.Errorf("the range of \"Only values in\" runs from %s down to %s: give the smaller first", num(lo), num(hi))
	default:
		e.Range = &[2]float64{lo, hi}
	}
}

// sync shows a new session's settings.
func (p *brushPanel) sync() {
	e := p.edit()
	if e == nil {
		return
	}
	p.size.SetValue(e.BrushMM)
	p.sphere.SetChecked(e.Brush3D)
	p.tolerance.SetText(num(e.FillTolerance))
	p.apply()
}
