// Package app is the Fyne face of the viewer: the slice views, the main
// window, its menus and dialogs. It only draws the viewer.Session and turns
// mouse and keys into its commands.
package app

import (
	"image"
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
	"github.com/segvolapp/segvol/viewer/volume"
)

// dragMode is what a mouse drag does, chosen when the button goes down.
type dragMode uint8

const (
	dragNone dragMode = iota
	dragCursor
	dragWindow
	dragPan
	dragBox     // a box prompt being drawn
	dragPaint   // a brush or eraser stroke
	dragMeasure // a ruler or an ellipse being drawn
)

// markerRadius is how near (pixels) a right click must be to a prompt
// marker to remove it.
const markerRadius = 8

// zoomStep is the zoom factor of one wheel notch with Ctrl held.
const zoomStep = 1.15

// SliceView shows one orientation of a session: the resliced image, the
// crosshair and the overlays, and drives the session with mouse and keys.
type SliceView struct {
	widget.BaseWidget

	orient   mpr.Orientation
	session  *viewer.Session
	renderer render.Renderer

	// OnDoubleTap, when set, is called on a double click (the window
	// maximises the view).
	OnDoubleTap func()
	// OnRenderError, when set, is told of a renderer failure.
	OnRenderError func(error)
	// OnToolError, when set, is told why a tool could not act.
	OnToolError func(error)
	// OnFilled, when set, is told what a 3D fill changed and took from
	// other segments.
	OnFilled func(labels.Change, []labels.Take)
	// OnStroke, when set, is told what a brush or eraser stroke changed
	// and spared, when it ends.
	OnStroke func(labels.Change)
	// OnKey, when set, sees keys first; it reports whether it used them.
	OnKey func(*fyne.KeyEvent) bool
	// OnRune, when set, sees typed characters first (the window's own
	// letters); it reports whether it used them.
	OnRune func(rune) bool

	mode        dragMode
	dragFrom    fyne.Position // pointer at the start of a window drag
	dragSum     fyne.Position // how far a window drag has gone
	boxFrom     fyne.Position // where a box drag or stroke began
	windowFrom  volume.Window // window at the start of a window drag
	button      desktop.MouseButton
	keysHeld    fyne.KeyModifier // modifiers seen by KeyDown while focused
	pointer     fyne.Position
	hovering    bool
	focused     bool
	noCrosshair bool // the crosshair is hidden (View > Crosshair, C)
	frames      int  // images rendered, for counting presented frames
	// The edits made by the clicks (brush and eraser dabs, fills, cursor
	// moves) of what may be a double-click, which maximises the view
	// instead: how many undo steps they made, since when, the labels'
	// revision at the last press and the cursor before the first.
	clickSteps    int
	clickAt       time.Time
	revAtPress    uint64
	cursorAtClick [3]float64
}

// clickWindow is the longest a double-click takes, press to press (Fyne
// reports one within 300 ms).
const clickWindow = 500 * time.Millisecond

// NewSliceView makes the view of one orientation, drawn by renderer.
func NewSliceView(o mpr.Orientation, r render.Renderer) *SliceView {
	v := &SliceView{orient: o, renderer: r}
	v.ExtendBaseWidget(v)
	return v
}

// Orientation is the view's orientation.
func (v *SliceView) Orientation() mpr.Orientation { return v.orient }

// SetSession shows a session (nil for none).
func (v *SliceView) SetSession(s *viewer.Session) {
	v.session = s
	v.syncSize()
	v.Refresh()
}

// SetRenderer swaps the renderer (the window falls back to the CPU one).
func (v *SliceView) SetRenderer(r render.Renderer) {
	v.renderer = r
	v.Refresh()
}

// Frames is the number of images rendered so far.
func (v *SliceView) Frames() int { return v.frames }

// Resize keeps the session's idea of the view size in step.
func (v *SliceView) Resize(s fyne.Size) {
	v.BaseWidget.Resize(s)
	v.syncSize()
}

func (v *SliceView) syncSize() {
	if v.session == nil {
		return
	}
	s := v.Size()
	v.session.Resize(v.orient, int(s.Width+0.5), int(s.Height+0.5))
}

// CreateRenderer implements fyne.Widget.
func (v *SliceView) CreateRenderer() fyne.WidgetRenderer { return newSliceRenderer(v) }

// Scrolled scrolls slices, or zooms around the pointer with Ctrl.
func (v *SliceView) Scrolled(ev *fyne.ScrollEvent) {
	if v.session == nil || ev.Scrolled.DY == 0 {
		return
	}
	up := ev.Scrolled.DY > 0
	if v.modifiers()&(fyne.KeyModifierControl|fyne.KeyModifierSuper) != 0 {
		f := zoomStep
		if !up {
			f = 1 / zoomStep
		}
		v.session.Zoom(v.orient, f, float64(ev.Position.X), float64(ev.Position.Y))
		return
	}
	if up {
		v.session.ScrollView(v.orient, 1)
	} else {
		v.session.ScrollView(v.orient, -1)
	}
}

// modifiers are the keys held now. The desktop driver sees every key of
// the window, whichever widget or dialog has the focus, so it alone is
// asked where it can be: keysHeld misses the release of a Ctrl that opened
// a dialog (Ctrl+S), and a plain wheel then zoomed.
func (v *SliceView) modifiers() fyne.KeyModifier {
	if d, ok := fyne.CurrentApp().Driver().(desktop.Driver); ok {
		return d.CurrentKeyModifiers()
	}
	return v.keysHeld
}

// MouseDown picks what a drag will do: ITK-SNAP's and Slicer's buttons,
// with Shift and Ctrl on the left button for one-button mice.
func (v *SliceView) MouseDown(ev *desktop.MouseEvent) {
	if c := fyne.CurrentApp().Driver().CanvasForObject(v); c != nil {
		c.Focus(v)
	}
	if v.session == nil {
		return
	}
	v.button = ev.Button
	e := v.session.Edit()
	plain := ev.Modifier&(fyne.KeyModifierShift|fyne.KeyModifierControl|fyne.KeyModifierSuper) == 0
	switch {
	case ev.Button == desktop.MouseButtonSecondary && e.Tool().Prompting() && v.removeMarker(ev.Position):
		v.mode = dragNone
	case ev.Button == desktop.MouseButtonSecondary || (ev.Button == desktop.MouseButtonPrimary && ev.Modifier&fyne.KeyModifierShift != 0):
		v.startWindowDrag(ev.Position)
	case ev.Button == desktop.MouseButtonTertiary || (ev.Button == desktop.MouseButtonPrimary && ev.Modifier&(fyne.KeyModifierControl|fyne.KeyModifierSuper) != 0):
		v.mode = dragPan
	case ev.Button == desktop.MouseButtonPrimary && plain && e.Tool() != viewer.ToolNavigate && e.Tool() != viewer.ToolText:
		v.startClick()
		v.revAtPress, v.dragSum = e.Labels().Revision(), fyne.Position{}
		v.toolDown(ev.Position)
	case ev.Button == desktop.MouseButtonPrimary:
		v.startClick()
		v.mode = dragCursor
		v.session.SetCursorAt(v.orient, float64(ev.Position.X), float64(ev.Position.Y))
	}
}

// startClick notes, at a left press that may be the first of a
// double-click, what the double-click takes back: the undo steps from
// here on and the cursor.
func (v *SliceView) startClick() {
	if time.Since(v.clickAt) > clickWindow {
		v.clickSteps, v.clickAt, v.cursorAtClick = 0, time.Now(), v.session.Cursor()
	}
}

// toolDown starts what the active tool does with the left button.
func (v *SliceView) toolDown(at fyne.Position) {
	e := v.session.Edit()
	x, y := float64(at.X), float64(at.Y)
	switch e.Tool() {
	case viewer.ToolPositive, viewer.ToolNegative:
		e.AddPointAt(v.orient, x, y, e.Tool() == viewer.ToolPositive)
		v.mode = dragNone
	case viewer.ToolBox:
		v.mode, v.boxFrom, v.dragSum = dragBox, at, fyne.Position{}
	case viewer.ToolBrush, viewer.ToolEraser:
		v.mode, v.boxFrom, v.dragSum = dragPaint, at, fyne.Position{}
		v.toolError(e.StrokeAt(v.orient, x, y))
	case viewer.ToolFill:
		v.mode = dragNone
		c, takes, err := e.FillAt(v.orient, x, y)
		v.toolError(err)
		if err == nil && v.OnFilled != nil {
			v.OnFilled(c, takes)
		}
	case viewer.ToolRuler, viewer.ToolEllipse:
		v.mode, v.boxFrom, v.dragSum = dragMeasure, at, fyne.Position{}
	case viewer.ToolAngle:
		v.mode = dragNone
		e.AngleClick(v.orient, x, y)
	}
}

// endStroke closes the brush or eraser stroke and says what it did.
func (v *SliceView) endStroke() {
	e := v.session.Edit()
	e.EndStroke()
	if v.OnStroke != nil {
		v.OnStroke(e.StrokeDid())
	}
}

// dragEnd is where a box drag or stroke has reached.
func (v *SliceView) dragEnd() fyne.Position { return v.boxFrom.Add(v.dragSum) }

func (v *SliceView) toolError(err error) {
	if err != nil && v.OnToolError != nil {
		v.OnToolError(err)
	}
}

// removeMarker removes the prompt point under the pointer, if any.
func (v *SliceView) removeMarker(at fyne.Position) bool {
	e := v.session.Edit()
	id, ok := e.MarkerAt(v.orient, float64(at.X), float64(at.Y), markerRadius)
	return ok && e.RemovePrompt(id)
}

func (v *SliceView) startWindowDrag(at fyne.Position) {
	v.mode, v.dragFrom, v.dragSum, v.windowFrom = dragWindow, at, fyne.Position{}, v.session.Window()
}

// MouseUp ends a drag begun with the right button (the driver sends no
// DragEnd for it).
func (v *SliceView) MouseUp(ev *desktop.MouseEvent) {
	if ev.Button == desktop.MouseButtonSecondary {
		v.mode = dragNone
	}
	if v.mode == dragMeasure && v.dragSum.IsZero() {
		// A click draws no ruler or ellipse (and gets no DragEnd).
		v.mode = dragNone
		v.Refresh()
	}
	if v.mode == dragPaint && v.session != nil {
		// A click without a drag gets no DragEnd: the stroke ends here.
		v.endStroke()
		v.mode = dragNone
	}
	if v.session != nil && ev.Button == desktop.MouseButtonPrimary && v.dragSum.IsZero() {
		t := v.session.Edit().Tool()
		if (t.Painting() || t == viewer.ToolFill) && v.session.Edit().Labels().Revision() != v.revAtPress {
			v.clickSteps++
		}
	}
	v.button = 0
}

// Dragged moves the crosshair, the window or the image.
func (v *SliceView) Dragged(ev *fyne.DragEvent) {
	v.pointer = ev.Position
	if v.session == nil {
		return
	}
	switch v.mode {
	case dragCursor:
		v.session.SetCursorAt(v.orient, float64(ev.Position.X), float64(ev.Position.Y))
	case dragWindow:
		// Summing the deltas, not reading the position, keeps this right
		// when the pointer leaves the view.
		v.dragSum = v.dragSum.Add(fyne.NewPos(ev.Dragged.DX, ev.Dragged.DY))
		v.session.DragWindow(v.orient, v.windowFrom, float64(v.dragSum.X), float64(v.dragSum.Y))
	case dragPan:
		v.session.Pan(v.orient, float64(ev.Dragged.DX), float64(ev.Dragged.DY))
	case dragBox, dragMeasure:
		// As for the window, the sum of the deltas is where the pointer is.
		v.dragSum = v.dragSum.Add(fyne.NewPos(ev.Dragged.DX, ev.Dragged.DY))
		v.Refresh()
	case dragPaint:
		v.dragSum = v.dragSum.Add(fyne.NewPos(ev.Dragged.DX, ev.Dragged.DY))
		at := v.dragEnd()
		v.toolError(v.session.Edit().StrokeAt(v.orient, float64(at.X), float64(at.Y)))
	case dragNone:
		// A drag whose button press the driver did not report (the test
		// driver's Drag, which gives its start point) starts the tool.
		if t := v.session.Edit().Tool(); t == viewer.ToolBox || t.Painting() || t == viewer.ToolRuler || t == viewer.ToolEllipse {
			v.toolDown(ev.Position)
			v.Dragged(ev)
		}
	}
}

func (v *SliceView) dragWindowTo(p fyne.Position) {
	v.dragSum = p.Subtract(v.dragFrom)
	v.session.DragWindow(v.orient, v.windowFrom, float64(v.dragSum.X), float64(v.dragSum.Y))
}

// DragEnd ends a left or middle drag: a box drag sets the box prompt, a
// stroke becomes one undo step.
func (v *SliceView) DragEnd() {
	if v.session != nil {
		e := v.session.Edit()
		switch v.mode {
		case dragBox:
			end := v.dragEnd()
			v.toolError(e.SetBoxFromDrag(v.orient, float64(v.boxFrom.X), float64(v.boxFrom.Y), float64(end.X), float64(end.Y)))
		case dragPaint:
			v.endStroke()
		case dragMeasure:
			v.endMeasure()
		}
	}
	v.mode = dragNone
	v.Refresh()
}

// MouseIn starts showing the value under the pointer, and takes the keys
// (as ITK-SNAP's views do) unless a dialog is up: after a click in the
// segment list, say, the tool keys typed over a view went to the list, and
// the next drag used the old tool. It takes them from a side-panel entry
// too (a brush range's value holds as typed): a user typed 80 into one,
// moved over the view, pressed E and got "80e" and no eraser.
func (v *SliceView) MouseIn(ev *desktop.MouseEvent) {
	v.hovering = true
	if c := fyne.CurrentApp().Driver().CanvasForObject(v); c != nil && c.Overlays().Top() == nil && c.Focused() != fyne.Focusable(v) {
		c.Focus(v)
	}
	v.MouseMoved(ev)
}

// MouseMoved follows the pointer; the driver reports right-button drags
// here.
func (v *SliceView) MouseMoved(ev *desktop.MouseEvent) {
	v.pointer = ev.Position
	if v.mode == dragWindow && v.button == desktop.MouseButtonSecondary && v.session != nil {
		v.dragWindowTo(ev.Position)
		return
	}
	v.Refresh()
}

// MouseOut stops showing the value under the pointer.
func (v *SliceView) MouseOut() {
	v.hovering = false
	v.Refresh()
}

// DoubleTapped maximises the view (or restores the layout).
// The dabs or fills its two clicks made are taken back, and the cursor
// they moved goes back: the user asked to maximise the view, not to paint
// or to move the crosshair (the brush left a dab where one double-clicked;
// the Navigate tool moved the cursor there, out in the air at the scan's
// edge).
func (v *SliceView) DoubleTapped(*fyne.PointEvent) {
	if v.session != nil && time.Since(v.clickAt) <= clickWindow {
		for ; v.clickSteps > 0; v.clickSteps-- {
			v.session.Edit().Undo()
		}
		v.session.SetCursor(v.cursorAtClick)
	}
	v.clickSteps = 0
	if v.OnDoubleTap != nil {
		v.OnDoubleTap()
	}
}

// FocusGained implements fyne.Focusable. Keys released while the focus
// was elsewhere were not seen here, so none count as held.
func (v *SliceView) FocusGained() { v.focused, v.keysHeld = true, 0 }

// FocusLost implements fyne.Focusable.
func (v *SliceView) FocusLost() { v.focused, v.keysHeld = false, 0 }

// TypedRune implements fyne.Focusable; R resets the view, the tool
// letters pick a tool.
func (v *SliceView) TypedRune(r rune) {
	if v.session == nil || (v.OnRune != nil && v.OnRune(r)) {
		return
	}
	if r == 'r' || r == 'R' {
		v.session.ResetView(v.orient)
	} else if t, ok := viewer.ToolForKey(r); ok {
		v.session.Edit().SetTool(t)
	}
}

// TypedKey scrolls: the arrow keys by a slice, Page Up/Down by a page.
func (v *SliceView) TypedKey(ev *fyne.KeyEvent) {
	if v.session == nil || (v.OnKey != nil && v.OnKey(ev)) {
		return
	}
	switch ev.Name {
	case fyne.KeyUp, fyne.KeyRight:
		v.session.ScrollView(v.orient, 1)
	case fyne.KeyDown, fyne.KeyLeft:
		v.session.ScrollView(v.orient, -1)
	case fyne.KeyPageUp:
		v.session.ScrollView(v.orient, v.pageStep())
	case fyne.KeyPageDown:
		v.session.ScrollView(v.orient, -v.pageStep())
	}
}

// pageStep is how many slices Page Up/Down move: a tenth of the view's
// slices, and at least 5, so that a long series is crossed in ten pages.
func (v *SliceView) pageStep() int {
	return max(5, v.session.View(v.orient).Planes(v.session.Frame())/10)
}

// ShowCrosshair shows or hides the crosshair.
func (v *SliceView) ShowCrosshair(show bool) {
	v.noCrosshair = !show
	v.Refresh()
}

// KeyDown tracks Ctrl and Shift for drivers that cannot report them (the
// test driver).
func (v *SliceView) KeyDown(ev *fyne.KeyEvent) { v.keysHeld |= modifierOf(ev.Name) }

// KeyUp implements desktop.Keyable.
func (v *SliceView) KeyUp(ev *fyne.KeyEvent) { v.keysHeld &^= modifierOf(ev.Name) }

func modifierOf(k fyne.KeyName) fyne.KeyModifier {
	switch k {
	case desktop.KeyControlLeft, desktop.KeyControlRight:
		return fyne.KeyModifierControl
	case desktop.KeyShiftLeft, desktop.KeyShiftRight:
		return fyne.KeyModifierShift
	}
	return 0
}

// renderKey is everything the image depends on, so that an unchanged view
// is not rendered again.
type renderKey struct {
	plane  render.Plane
	opts   render.Options
	w, h   int
	vol    *render.Volume
	engine render.Renderer
	labels viewer.LabelsKey
}

// keyFor is what a w x h pixel image of the view depends on now.
func (v *SliceView) keyFor(w, h int) renderKey {
	if v.session == nil {
		return renderKey{w: w, h: h, engine: v.renderer}
	}
	view := v.session.View(v.orient)
	// The same view at the device's pixel size shows the same area:
	// zoom-to-fit scales with the size and the pan is in mm.
	view.Width, view.Height = w, h
	return renderKey{view.Plane(v.session.Frame(), v.session.Cursor()), v.session.Options(), w, h, v.session.RenderVolume(), v.renderer, v.session.Edit().LabelsKey()}
}

// render draws the image of key k into img (reused when its size fits).
func (v *SliceView) render(img *image.RGBA, k renderKey) *image.RGBA {
	if img == nil || img.Rect.Dx() != k.w || img.Rect.Dy() != k.h {
		img = image.NewRGBA(image.Rect(0, 0, max(k.w, 1), max(k.h, 1)))
	}
	if v.session == nil || v.renderer == nil || k.w <= 0 || k.h <= 0 {
		blank(img)
		return img
	}
	var err error
	v.session.Edit().RenderLabels(func(l *render.Labels) { err = v.renderer.Render(img, k.plane, k.vol, l, k.opts) })
	if err != nil {
		if v.OnRenderError != nil {
			v.OnRenderError(err)
		}
		blank(img)
		return img
	}
	v.frames++
	return img
}

var (
	crosshairColor = color.NRGBA{0x30, 0xa0, 0xff, 0xd0}
	letterColor    = color.NRGBA{0xff, 0xc0, 0x40, 0xff}
	textColor      = color.NRGBA{0xf0, 0xf0, 0xf0, 0xff}
	positiveColor  = color.NRGBA{0x20, 0xe0, 0x40, 0xff}
	negativeColor  = color.NRGBA{0xff, 0x30, 0x30, 0xff}
	boxColor       = color.NRGBA{0xff, 0xe0, 0x20, 0xff}
	measureColor   = color.NRGBA{0x40, 0xf0, 0xff, 0xff}
)

// blank paints img opaque black: the raster is the view's background, so
// Fyne composites one full-size layer per view instead of two.
func blank(img *image.RGBA) {
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 0, 0, 0, 255
	}
}

// endMeasure makes the ruler or ellipse a drag has drawn.
func (v *SliceView) endMeasure() {
	a, b := v.boxFrom, v.dragEnd()
	e := v.session.Edit()
	draw := e.AddRuler
	if e.Tool() == viewer.ToolEllipse {
		draw = e.AddEllipse
	}
	_, err := draw(v.orient, float64(a.X), float64(a.Y), float64(b.X), float64(b.Y))
	v.toolError(err)
}
