package app

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"

	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/mpr"
)

// sliceRenderer draws a SliceView: the image as a raster, then the
// crosshair, orientation letters, text and scale bar as canvas objects so
// that they stay sharp at any zoom.
type sliceRenderer struct {
	v      *SliceView
	raster *canvas.Raster
	img    *image.RGBA
	key    renderKey // what img shows
	pw, ph int       // the raster's size in pixels, from the last paint

	hLine, vLine             *canvas.Line
	left, right, top, bottom *canvas.Text
	title, window            *canvas.Text
	cursorText, pointerText  *canvas.Text
	scaleBar                 *canvas.Line
	scaleText                *canvas.Text
	box, band                *canvas.Rectangle // the box prompt; a box being drawn
	brush                    *canvas.Circle    // the brush outline at the pointer
	markers                  []*canvas.Circle  // prompt points, grown as needed
	measures                 *fyne.Container   // rulers, angles, ellipses (measure.go)
	measuresDrawn            string            // what measures shows, to refresh it only when that changes
	fixed                    int               // objects before the markers
	objects                  []fyne.CanvasObject
	states                   [2]overlaysState // before and after a Refresh
}

func newSliceRenderer(v *SliceView) *sliceRenderer {
	r := &sliceRenderer{v: v}
	r.raster = canvas.NewRaster(r.paint)
	r.raster.ScaleMode = canvas.ImageScalePixels
	text := func(c color.Color, bold bool) *canvas.Text {
		t := canvas.NewText("", c)
		t.TextSize = theme.CaptionTextSize() + 1
		t.TextStyle.Bold = bold
		t.TextStyle.Monospace = !bold
		return t
	}
	r.hLine, r.vLine = canvas.NewLine(crosshairColor), canvas.NewLine(crosshairColor)
	r.left, r.right = text(letterColor, true), text(letterColor, true)
	r.top, r.bottom = text(letterColor, true), text(letterColor, true)
	r.title, r.window = text(textColor, true), text(textColor, false)
	r.cursorText, r.pointerText = text(textColor, false), text(textColor, false)
	r.scaleBar, r.scaleText = canvas.NewLine(textColor), text(textColor, false)
	r.scaleBar.StrokeWidth = 2
	outline := func(c color.Color, dashed bool) *canvas.Rectangle {
		b := canvas.NewRectangle(color.Transparent)
		b.StrokeColor, b.StrokeWidth = c, 2
		if dashed {
			b.StrokeWidth = 1
		}
		return b
	}
	r.box, r.band = outline(boxColor, false), outline(boxColor, true)
	r.brush = canvas.NewCircle(color.Transparent)
	r.brush.StrokeColor, r.brush.StrokeWidth = textColor, 1
	r.objects = []fyne.CanvasObject{r.raster, r.hLine, r.vLine,
		r.left, r.right, r.top, r.bottom, r.title, r.window, r.cursorText, r.pointerText, r.scaleBar, r.scaleText,
		r.box, r.band, r.brush}
	r.measures = container.NewWithoutLayout()
	r.objects = append(r.objects, r.measures)
	r.fixed = len(r.objects)
	r.Refresh()
	return r
}

// paint is the raster's generator: it renders only when the view changed.
func (r *sliceRenderer) paint(w, h int) image.Image {
	r.pw, r.ph = w, h
	if k := r.v.keyFor(w, h); r.img == nil || k != r.key {
		r.img, r.key = r.v.render(r.img, k), k
	}
	return r.img
}

func (r *sliceRenderer) Destroy() {}

func (r *sliceRenderer) MinSize() fyne.Size { return fyne.NewSize(120, 120) }

func (r *sliceRenderer) Objects() []fyne.CanvasObject { return r.objects }

func (r *sliceRenderer) Layout(size fyne.Size) {
	r.raster.Resize(size)
	r.placeOverlays(size)
}

// Refresh repaints the image only when what it shows changed, and
// refreshes only the overlays that changed: each canvas Refresh marks the
// whole window for a redraw and costs a goroutine-stack walk in Fyne, and
// a redraw under llvmpipe is most of a frame.
func (r *sliceRenderer) Refresh() {
	if r.img == nil || r.v.keyFor(r.pw, r.ph) != r.key {
		r.raster.Refresh()
	}
	before := r.snapshot(&r.states[0])
	r.placeOverlays(r.v.Size())
	after := r.snapshot(&r.states[1])
	for i, o := range r.objects[1:r.fixed] {
		if after.objs[i] != before.objs[i] {
			o.Refresh()
		}
	}
	for i, m := range after.markers {
		if i >= len(before.markers) || m != before.markers[i] {
			r.markers[i].Refresh()
		}
	}
	if len(after.markers) < len(before.markers) {
		// A marker left the view: the crosshair, always there, marks the
		// window for the redraw without it.
		r.hLine.Refresh()
	}
}

// overlayState is what an overlay object shows, to tell which changed.
type overlayState struct {
	text       string
	p1, p2     fyne.Position // a line's ends, or an object's place and size
	fill, edge color.Color
	visible    bool
}

// overlaysState is the state of every overlay of a view.
type overlaysState struct {
	objs    []overlayState // r.objects[1:r.fixed]
	markers []overlayState
}

// snapshot records the overlays' state in s (its slices reused).
func (r *sliceRenderer) snapshot(s *overlaysState) *overlaysState {
	s.objs, s.markers = s.objs[:0], s.markers[:0]
	for _, o := range r.objects[1:r.fixed] {
		s.objs = append(s.objs, stateOf(o))
	}
	for _, c := range r.objects[r.fixed:] {
		s.markers = append(s.markers, stateOf(c))
	}
	return s
}

func stateOf(o fyne.CanvasObject) overlayState {
	st := overlayState{p1: o.Position(), p2: fyne.NewPos(o.Size().Width, o.Size().Height), visible: o.Visible()}
	switch o := o.(type) {
	case *canvas.Text:
		st.text = o.Text
	case *canvas.Line:
		st.p1, st.p2 = o.Position1, o.Position2
	case *canvas.Circle:
		st.fill, st.edge = o.FillColor, o.StrokeColor
	}
	return st
}

// setVisible shows or hides o without a refresh when it already is so.
func setVisible(o fyne.CanvasObject, on bool) {
	switch {
	case on && !o.Visible():
		o.Show()
	case !on && o.Visible():
		o.Hide()
	}
}

// placeTools shows the prompts and the tool's feedback of the view.
func (r *sliceRenderer) placeTools() {
	s := r.v.session
	e := s.Edit()
	o := r.v.orient
	x0, y0, x1, y1, ok := e.BoxOn(o)
	if ok {
		r.box.Move(fyne.NewPos(float32(x0), float32(y0)))
		r.box.Resize(fyne.NewSize(float32(x1-x0), float32(y1-y0)))
	}
	setVisible(r.box, ok)
	if r.v.mode == dragBox {
		a, b := r.v.boxFrom, r.v.dragEnd()
		r.band.Move(fyne.NewPos(min(a.X, b.X), min(a.Y, b.Y)))
		r.band.Resize(fyne.NewSize(abs32(b.X-a.X), abs32(b.Y-a.Y)))
	}
	setVisible(r.band, r.v.mode == dragBox)
	painting := e.Tool().Painting() && r.v.hovering
	if painting {
		rad := float32(e.BrushMM / s.View(o).MMPerPixel(s.Frame()))
		p := r.v.pointer
		r.brush.Move(p.SubtractXY(rad, rad))
		r.brush.Resize(fyne.NewSize(2*rad, 2*rad))
	}
	setVisible(r.brush, painting)
	ms := e.MarkersOn(o)
	for len(r.markers) < len(ms) {
		c := canvas.NewCircle(color.Transparent)
		c.StrokeWidth = 2
		r.markers = append(r.markers, c)
	}
	r.objects = r.objects[:r.fixed]
	const rad = 5
	for i, m := range ms {
		c := r.markers[i]
		c.FillColor, c.StrokeColor = negativeColor, color.White
		if m.Positive {
			c.FillColor = positiveColor
		}
		c.Move(fyne.NewPos(float32(m.X)-rad, float32(m.Y)-rad))
		c.Resize(fyne.NewSize(2*rad, 2*rad))
		r.objects = append(r.objects, c)
	}
}

func abs32(x float32) float32 { return max(x, -x) }

// emptyHint is what the axial view says with no study open: black views
// alone told a new user nothing.
var emptyHint = [2]string{"No study open", "File > Open (Ctrl+O), or drop one here"}

// placeEmptyHint shows emptyHint in the middle of the axial view, in its
// title and cursor texts (idle without a study).
func (r *sliceRenderer) placeEmptyHint(size fyne.Size) {
	if r.v.orient != mpr.Axial {
		return
	}
	y := size.Height / 2
	for i, txt := range []*canvas.Text{r.title, r.cursorText} {
		txt.Text = emptyHint[i]
		m := txt.MinSize()
		txt.Resize(m)
		txt.Move(fyne.NewPos(max((size.Width-m.Width)/2, 0), y+float32(i-1)*m.Height))
		setVisible(txt, true)
	}
}

// overlayPad is the margin of the texts drawn at a view's edges.
const overlayPad = 4

func (r *sliceRenderer) placeOverlays(size fyne.Size) {
	s := r.v.session
	overlays := r.objects[1:r.fixed]
	for _, o := range overlays {
		setVisible(o, s != nil)
	}
	if s == nil {
		r.objects = r.objects[:r.fixed]
		r.placeEmptyHint(size)
		return
	}
	r.placeTools()
	r.placeMeasures()
	o := r.v.orient
	const pad = overlayPad

	// Crosshair through the cursor.
	x, y := s.CursorOnScreen(o)
	cx, cy := float32(x), float32(y)
	r.hLine.Position1, r.hLine.Position2 = fyne.NewPos(0, cy), fyne.NewPos(size.Width, cy)
	r.vLine.Position1, r.vLine.Position2 = fyne.NewPos(cx, 0), fyne.NewPos(cx, size.Height)
	r.hLine.Hidden, r.vLine.Hidden = r.v.noCrosshair, r.v.noCrosshair

	// Orientation letters at the middle of each edge.
	l, rt, t, b := o.Edges()
	r.left.Text, r.right.Text, r.top.Text, r.bottom.Text = l, rt, t, b
	// Text moves each mark the window dirty: each text moves once, to its
	// final place, so that an unchanged layout redraws nothing.
	placeUp := func(txt *canvas.Text, fx, fy, up float32) {
		m := txt.MinSize()
		txt.Resize(m)
		txt.Move(fyne.NewPos(fx*(size.Width-m.Width-2*pad)+pad, fy*(size.Height-m.Height-2*pad)+pad-up))
	}
	place := func(txt *canvas.Text, fx, fy float32) { placeUp(txt, fx, fy, 0) }
	place(r.left, 0, 0.5)
	place(r.right, 1, 0.5)
	// The bottom letter sits above the two lines of cursor and pointer text.
	placeUp(r.bottom, 0.5, 1, 2*r.bottom.MinSize().Height)

	r.title.Text = s.SliceText(o)
	w := s.Window()
	r.window.Text = fmt.Sprintf("W %s L %s", num(w.Width), num(w.Center))
	place(r.title, 0, 0)
	place(r.window, 1, 0)
	// The top letter goes below the title line when a narrow view brings
	// the title or the window's text within a few letters of it, where it
	// read as part of them ("Coronal 51/101 S").
	tm := r.top.MinSize()
	left := (size.Width-tm.Width-2*pad)/2 + pad
	below := r.title.Position().X+r.title.MinSize().Width+3*tm.Width > left ||
		r.window.Position().X < left+4*tm.Width
	down := float32(0)
	if below {
		down = -r.title.MinSize().Height
	}
	placeUp(r.top, 0.5, 0, down)

	c := s.ProbeWorld(s.Cursor())
	r.cursorText.Text = r.fitText(r.cursorText, size.Width-2*pad, "Cursor ", c)
	r.pointerText.Text = ""
	if r.v.hovering {
		p := s.ProbeAt(o, float64(r.v.pointer.X), float64(r.v.pointer.Y))
		r.pointerText.Text = r.fitText(r.pointerText, size.Width-2*pad, "Mouse  ", p)
	}
	lineH := r.cursorText.MinSize().Height
	r.cursorText.Resize(r.cursorText.MinSize())
	r.cursorText.Move(fyne.NewPos(pad, size.Height-pad-2*lineH))
	r.pointerText.Resize(r.pointerText.MinSize())
	r.pointerText.Move(fyne.NewPos(pad, size.Height-pad-lineH))

	// Scale bar: a round length of at most a fifth of the view's width.
	mm := s.View(o).MMPerPixel(s.Frame())
	length := niceLength(float64(size.Width) / 5 * mm)
	px := float32(length / mm)
	// It sits at the right, above the two lines of text.
	right := size.Width - pad - 2
	barY := size.Height - pad - 2*lineH - 4
	r.scaleBar.Position1, r.scaleBar.Position2 = fyne.NewPos(right-px, barY), fyne.NewPos(right, barY)
	r.scaleText.Text = fmt.Sprintf("%s mm", num(length))
	m := r.scaleText.MinSize()
	r.scaleText.Resize(m)
	r.scaleText.Move(fyne.NewPos(right-m.Width, barY-m.Height-2))
}

// fitText is label and the description of p for txt, shortened when the
// whole does not fit in width (a narrow view, as each of the 1x3 layout's
// on a laptop): first without the voxel index, since the position in mm is
// what a batch manifest's boxes and other tools take, then without the mm.
func (r *sliceRenderer) fitText(txt *canvas.Text, width float32, label string, p viewer.Probe) string {
	var s string
	for _, f := range [][2]bool{{true, true}, {true, false}, {false, true}} {
		s = label + r.describe(p, f[0], f[1])
		if fyne.MeasureText(s, txt.TextSize, txt.TextStyle).Width <= width {
			break
		}
	}
	return s
}

// describe is a probe's position in mm (withMM), its voxel (withIndex)
// and the value there.
func (r *sliceRenderer) describe(p viewer.Probe, withMM, withIndex bool) string {
	w, idx := p.World, p.Index
	s := ""
	if withMM {
		// LPS says whose signs these are: a NIfTI/RAS tool (Slicer,
		// nibabel) shows the first two negated.
		s = fmt.Sprintf("%.1f %.1f %.1f mm LPS  ", w[0], w[1], w[2])
	}
	if !p.Inside {
		return s + "(outside)"
	}
	if withIndex {
		// IJK names the convention: counted from 0, as in Slicer and
		// nibabel, while the view's title counts slices from 1 ("15/30"
		// is IJK k 14); a bare "[60 50 14]" read as off by one.
		s += fmt.Sprintf("IJK %d %d %d  ", idx[0], idx[1], idx[2])
	}
	unit := ""
	if r.v.session.IsCT() {
		unit = " HU"
	}
	return s + num(p.Value) + unit
}

// niceLength is the largest 1, 2 or 5 times a power of ten not above mm.
func niceLength(mm float64) float64 {
	if !(mm > 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(mm)))
	for _, f := range []float64{5, 2, 1} {
		if f*p <= mm {
			return f * p
		}
	}
	return p
}

// num prints a value without a trailing ".0" for whole numbers.
func num(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e9 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.4g", x)
}
