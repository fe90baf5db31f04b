package app

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/viewer"
)

// measureText is a measurement's value as the panel and the views show it;
// an ellipse's statistics take three lines, so that the label stays narrow
// enough for a view and the panel (on one line they were cut off, and the
// views left the minimum and maximum out).
func measureText(m viewer.Measurement, ct bool) string {
	switch m.Kind {
	case viewer.Ruler:
		return fmt.Sprintf("%.1f mm", m.Value())
	case viewer.Angle:
		return fmt.Sprintf("%.1f°", m.Value())
	}
	st := m.Region
	if st.Voxels == 0 {
		return "no voxels"
	}
	unit := ""
	if ct {
		unit = " HU"
	}
	return fmt.Sprintf("%.1f mm²\nmean %s ± %s%s\nmin %s, max %s%s", st.AreaMM2, num(round1(st.Mean)), num(round1(st.Std)), unit,
		num(st.Min), num(st.Max), unit)
}

// placeMeasures draws the measurements that lie in the view's plane and
// the one being drawn; the objects are made again only when what they
// show changed, which a pointer move mostly does not.
func (r *sliceRenderer) placeMeasures() {
	s := r.v.session
	ms := s.Edit().MeasurementsOn(r.v.orient)
	if r.v.mode == dragMeasure {
		a, b := r.v.boxFrom, r.v.dragEnd()
		m := viewer.ScreenMeasurement{Measurement: viewer.Measurement{Kind: viewer.Ruler},
			Screen: [][2]float64{{float64(a.X), float64(a.Y)}, {float64(b.X), float64(b.Y)}}}
		if s.Edit().Tool() == viewer.ToolEllipse {
			// An ellipse as the views draw one: centre and semi-axis ends.
			cx, cy := float64(a.X+b.X)/2, float64(a.Y+b.Y)/2
			m.Kind, m.Screen = viewer.Ellipse, [][2]float64{{cx, cy}, {float64(b.X), cy}, {cx, float64(b.Y)}}
		}
		ms = append(ms, m)
	}
	drawn := fmt.Sprint(ms)
	if drawn == r.measuresDrawn {
		return
	}
	r.measuresDrawn = drawn
	var objs []fyne.CanvasObject
	pos := func(p [2]float64) fyne.Position { return fyne.NewPos(float32(p[0]), float32(p[1])) }
	for _, m := range ms {
		p := m.Screen
		switch m.Kind {
		case viewer.Ruler, viewer.Angle:
			for i := 1; i < len(p); i++ {
				l := canvas.NewLine(measureColor)
				l.StrokeWidth = 2
				l.Position1, l.Position2 = pos(p[i-1]), pos(p[i])
				objs = append(objs, l)
			}
		case viewer.Ellipse:
			// A polygon: Fyne's circle cannot be stretched into an ellipse.
			const sides = 48
			at := func(i int) [2]float64 {
				a := 2 * math.Pi * float64(i) / sides
				c, s := math.Cos(a), math.Sin(a)
				return [2]float64{p[0][0] + c*(p[1][0]-p[0][0]) + s*(p[2][0]-p[0][0]), p[0][1] + c*(p[1][1]-p[0][1]) + s*(p[2][1]-p[0][1])}
			}
			for i := range sides {
				l := canvas.NewLine(measureColor)
				l.StrokeWidth = 2
				l.Position1, l.Position2 = pos(at(i)), pos(at(i+1))
				objs = append(objs, l)
			}
		}
		if m.ID == 0 {
			continue // being drawn: no value yet
		}
		// Beside the ruler's end, the angle's vertex, the ellipse's edge;
		// else beside another of its points in the view; with none there
		// (panned or zoomed away), no label: one kept inside the view
		// stood for a shape no one could see.
		order := []int{len(p) - 1}
		if m.Kind == viewer.Angle {
			order = []int{1}
		}
		for i := range p {
			order = append(order, i)
		}
		view := r.v.Size()
		for _, i := range order {
			if at := pos(p[i]); at.X >= 0 && at.Y >= 0 && at.X < view.Width && at.Y < view.Height {
				objs = append(objs, r.measureLabel(m.Name+": "+measureText(m.Measurement, s.IsCT()), at)...)
				break
			}
		}
	}
	r.measures.Objects = objs
	r.measures.Refresh()
}

// measureLabel is a measurement's text, one canvas text a line, beside
// point at and kept whole inside the view: past its right or bottom edge
// the next view or the window's edge cut it off (a ruler ending near the
// bottom of a view lost its length). It stays clear of the view's title
// line at the top and of the scale bar and the cursor's and pointer's
// lines at the bottom, which made both unreadable.
func (r *sliceRenderer) measureLabel(text string, at fyne.Position) []fyne.CanvasObject {
	var lines []fyne.CanvasObject
	var size fyne.Size
	for _, line := range strings.Split(text, "\n") {
		t := canvas.NewText(line, measureColor)
		t.TextSize = theme.CaptionTextSize() + 1
		t.Resize(t.MinSize())
		size = fyne.NewSize(max(size.Width, t.MinSize().Width), size.Height+t.MinSize().Height)
		lines = append(lines, t)
	}
	const gap = 2
	tp := at.AddXY(6, gap)
	view := r.v.Size()
	// (As placeOverlays places them.)
	top := overlayPad + r.title.MinSize().Height + gap
	bottom := view.Height - overlayPad - 2*r.cursorText.MinSize().Height - 6 - r.scaleText.MinSize().Height - gap
	// Its backing clear of the edge by the view texts' margin, not touching it.
	tp.X = max(overlayPad+gap, min(tp.X, view.Width-size.Width-gap-overlayPad))
	if tp.Y+size.Height > bottom {
		// Above the point rather than over it.
		tp.Y = at.Y - gap - size.Height
	}
	tp.Y = max(top, min(tp.Y, bottom-size.Height))
	// A dark backing keeps the text readable over bright anatomy and over
	// the shape's own line.
	back := canvas.NewRectangle(labelBacking)
	back.Move(tp.SubtractXY(gap, 0))
	back.Resize(size.AddWidthHeight(2*gap, 0))
	for _, l := range lines {
		l.Move(tp)
		tp.Y += l.Size().Height
	}
	return append([]fyne.CanvasObject{back}, lines...)
}

// labelBacking is the translucent box behind a measurement's label.
var labelBacking = color.NRGBA{A: 160}

// measurementsPanel lists the measurements: name and value, a click moves
// the cursor to one, its button deletes it.
type measurementsPanel struct {
	v       *Viewer
	list    *widget.List
	items   []viewer.Measurement
	content fyne.CanvasObject
	height  *canvas.Rectangle // the list's minimum height, as its rows need
}

func newMeasurementsPanel(v *Viewer) *measurementsPanel {
	p := &measurementsPanel{v: v}
	p.list = widget.NewList(func() int { return len(p.items) }, p.newRow, p.updateRow)
	p.list.OnSelected = func(i widget.ListItemID) {
		if i < len(p.items) && v.session != nil {
			v.session.Edit().GoToMeasurement(p.items[i].ID)
		}
		p.list.UnselectAll()
	}
	v.keyless(p.list)
	hint := widget.NewLabel("Ruler (L), angle (A: three clicks), ellipse statistics (O)")
	hint.Wrapping = fyne.TextWrapWord
	p.height = canvas.NewRectangle(color.Transparent)
	p.height.SetMinSize(fyne.NewSize(0, measureListMin))
	p.content = container.NewVBox(
		widget.NewLabelWithStyle("Measurements", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewStack(p.height, v.wheelToPanel(p.list)), hint)
	return p
}

func (p *measurementsPanel) newRow() fyne.CanvasObject {
	text := widget.NewLabel("")
	text.Truncation = fyne.TextTruncateEllipsis
	return scrollGutter(container.NewBorder(nil, nil, nil, widget.NewButtonWithIcon("", theme.DeleteIcon(), nil), text))
}

func (p *measurementsPanel) updateRow(i widget.ListItemID, o fyne.CanvasObject) {
	if i >= len(p.items) {
		return
	}
	m := p.items[i]
	c := inGutter(o)
	c.Objects[0].(*widget.Label).SetText(p.rowText(m))
	c.Objects[1].(*widget.Button).OnTapped = func() {
		if p.v.session.Edit().RemoveMeasurement(m.ID) {
			p.v.setStatusNote("deleted " + m.Name + " (Ctrl+Z brings it back)")
		}
	}
}

func (p *measurementsPanel) rowText(m viewer.Measurement) string {
	return m.Name + ": " + measureText(m, p.v.session.IsCT())
}

// sync shows the session's measurements.
func (p *measurementsPanel) sync() {
	p.items = nil
	if p.v.session != nil {
		p.items = p.v.session.Edit().Measurements()
	}
	// An ellipse's row is three lines high: the list makes every row as
	// high as its template (one line) unless told.
	// The list grows with its rows up to measureListMax (the side panel
	// scrolls), so that three ellipses show whole instead of one and a
	// half.
	one := p.newRow().MinSize().Height
	total := -theme.Padding()
	for i, m := range p.items {
		h := max(one, widget.NewLabel(p.rowText(m)).MinSize().Height)
		p.list.SetItemHeight(i, h)
		total += h + theme.Padding()
	}
	p.height.SetMinSize(fyne.NewSize(0, min(max(total, measureListMin), measureListMax)))
	p.list.Refresh()
}

// The measurement list's height: room for two one-line rows at least,
// three ellipses' at most.
const measureListMin, measureListMax = 110, 240
