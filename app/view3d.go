package app

import (
	"context"
	"image"
	"math"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/render/cpu"
	"github.com/segvolapp/segvol/viewer"
)

// View3D is the 3D pane: the segments as surfaces, optionally the image as
// a volume rendering and the three slice planes, and the cursor. Mouse as
// in 3D Slicer: left drag rotates, right drag or the wheel zooms, middle
// drag pans, a click on a surface moves the cursor there.
type View3D struct {
	widget.BaseWidget

	session  *viewer.Session
	renderer render.SceneRenderer
	camera   render.Camera
	planes   bool
	preset   render.Preset

	// OnDoubleTap, when set, is called on a double click (the window
	// maximises the pane).
	OnDoubleTap func()
	// OnRenderError, when set, is told of a renderer failure.
	OnRenderError func(error)
	// onPreset tells the pane's list a preset set from outside it
	// (segvol-viewer --volume).
	onPreset func(render.Preset)

	surfaces  []render.Surface // drawn last
	built     viewer.Surfaces  // rebuilt where the labels change
	button    desktop.MouseButton
	last      fyne.Position // the pointer at the last event of a drag
	moving    bool          // a drag or wheel is under way: draw coarse
	refine    *time.Timer   // ends moving once the mouse rests
	pixelTime float64       // seconds per pixel of the last frame, whatever its resolution
	frames    int
	lastSize  image.Point   // of the last frame
	busy      time.Duration // spent rendering, all frames
	// coarse: the frame is drawn at under half the view's resolution, so
	// without the cursor, whose one-pixel lines the scaling up made a
	// yellow blob.
	coarse bool
	// While the mouse moves: when the last frame's render started and how
	// long it took, and the time each frame costs outside rendering (the
	// window's own drawing, scaling the coarse frame up), smoothed.
	lastStart time.Time
	lastTook  time.Duration
	outside   time.Duration

	// Full-resolution frames of the CPU renderer (about 1 s for CT bone on
	// a 512^3 volume) are drawn by a worker, so that the window stays
	// responsive; coarse frames while the mouse moves stay on the UI
	// goroutine. All these fields belong to the UI goroutine.
	raster  *canvas.Raster
	worker  *cpu.Renderer // the worker's own: a cpu.Renderer serves one goroutine at a time
	gen     uint64        // numbers the pictures asked for; a worker's frame for an older one is abandoned
	working bool          // a worker is rendering (never two at once)
	pending image.Point   // the size of a full frame asked for while working (zero: none)
	done    *image.RGBA   // the worker's frame for doneGen, for the next paint
	doneGen uint64
	abandon context.CancelFunc // stops the worker's frame; nil when none runs
	// labSnap is the worker's copy of the labels, which brush strokes
	// change on the UI goroutine while it renders: taken only when the
	// slice planes are tinted (the only part of a scene that reads them),
	// brought up to date by the box that changed, written only while no
	// worker runs.
	labSnap []uint8
	labRev  uint64
}

// coarseBudget is the time rendering a frame may take while the mouse
// moves: 50 ms, leaving the window the rest of a 15 frames/s frame (about
// 20 ms under Xvfb). Frames are drawn at a resolution reduced to fit it.
const coarseBudget = 50 * time.Millisecond

// frameTarget is the interval between frames the coarse frames aim at
// while the mouse moves (16 frames/s, a margin over the 15 asked for): the
// render budget shrinks by what each frame costs outside rendering, which
// the fixed 50 ms did not see (CT bone turned at 14 frames/s on llvmpipe).
// minBudget keeps frames from becoming a few pixels wide.
const (
	frameTarget = time.Second / 16
	minBudget   = 10 * time.Millisecond
)

// refineAfter is how long the mouse must rest before the full-resolution
// frame, as 3D Slicer's adaptive quality.
const refineAfter = 150 * time.Millisecond

// NewView3D makes an empty 3D view drawn by the CPU renderer.
func NewView3D() *View3D {
	v := &View3D{renderer: cpu.New()}
	v.ExtendBaseWidget(v)
	return v
}

// SetSession shows a session, looking at its volume from the front.
func (v *View3D) SetSession(s *viewer.Session) {
	v.session, v.surfaces, v.built = s, nil, viewer.Surfaces{}
	v.labSnap = nil // a running worker keeps reading its own
	v.ResetCamera()
}

// ResetCamera looks from the front at the whole volume.
func (v *View3D) ResetCamera() { v.LookFrom(render.Anterior) }

// LookFrom turns the camera to a standard direction, showing the whole
// volume.
func (v *View3D) LookFrom(d render.Direction) {
	if v.session == nil {
		return
	}
	sz := v.Size()
	c, err := render.FitVolume(d, v.session.RenderVolume(), float64(sz.Width/max(sz.Height, 1)))
	if err != nil {
		v.fail(err)
		return
	}
	v.camera = c
	v.Refresh()
}

// SetRenderer draws the view with r from the next frame.
func (v *View3D) SetRenderer(r render.SceneRenderer) { v.renderer = r; v.Refresh() }

// Camera is the view's camera.
func (v *View3D) Camera() render.Camera { return v.camera }

// SetPlanes shows or hides the slice planes.
func (v *View3D) SetPlanes(on bool) { v.planes = on; v.Refresh() }

// SetPreset sets the volume rendering (render.NoVolume: none).
func (v *View3D) SetPreset(p render.Preset) {
	v.preset = p
	if v.onPreset != nil {
		v.onPreset(p)
	}
	v.Refresh()
}

// Frames is how many images the view has rendered.
func (v *View3D) Frames() int { return v.frames }

// WaitLight waits until the light copies of the surfaces drawn while the
// mouse moves are built (benchmarks time the frames that use them).
func (v *View3D) WaitLight() { v.built.WaitLight() }

// Busy is the time the view has spent rendering.
func (v *View3D) Busy() time.Duration { return v.busy }

// LastSize is the resolution of the last image rendered: below the view's
// while the mouse moves and frames are slow.
func (v *View3D) LastSize() image.Point { return v.lastSize }

// Rotate turns the camera as a left drag of (dx, dy) does.
func (v *View3D) Rotate(dx, dy float64) {
	if v.session == nil {
		return
	}
	v.camera = v.camera.Trackball(dx, dy, int(v.Size().Height))
	v.interacting()
	v.Refresh()
}

func (v *View3D) fail(err error) {
	if v.OnRenderError != nil {
		v.OnRenderError(err)
	}
}

// CreateRenderer implements fyne.Widget.
func (v *View3D) CreateRenderer() fyne.WidgetRenderer {
	r := &view3DRenderer{v: v}
	r.raster = canvas.NewRaster(r.paint)
	v.raster = r.raster
	r.raster.ScaleMode = canvas.ImageScaleSmooth // coarse frames are scaled up
	return r
}

// render draws the scene into a w x h image (reusing img when it fits) on
// the calling goroutine.
func (v *View3D) render(img *image.RGBA, w, h int) *image.RGBA {
	if img == nil || img.Rect.Dx() != w || img.Rect.Dy() != h {
		img = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	if v.session == nil {
		fillBackground(img)
		return img
	}
	start := time.Now()
	v.measureInterval(start)
	v.withScene(func(sc *render.Scene) {
		if err := v.renderer.RenderScene(img, sc, v.camera); err != nil {
			v.fail(err)
		}
	})
	v.lastTook = time.Since(start)
	v.account(img, v.lastTook)
	return img
}

func fillBackground(img *image.RGBA) {
	bg := render.Background
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = bg.R, bg.G, bg.B, 255
	}
}

// withScene brings the surfaces up to the labels and calls fn with the
// scene, inside Editor.RenderLabels (which holds the label map's read lock
// and changes the editor's state: UI goroutine only).
func (v *View3D) withScene(fn func(*render.Scene)) {
	s := v.session
	e := s.Edit()
	colors := e.SurfaceColors() // outside RenderLabels, which holds the map's read lock
	e.RenderLabels(func(l *render.Labels) {
		v.surfaces = v.built.Update(l, s.Volume.Dims, s.Volume.Geom)
		viewer.ColorSurfaces(v.surfaces, colors)
		drawn := v.surfaces
		if v.moving { // the light copies, as 3D Slicer's adaptive quality: the cost is per triangle
			drawn = v.built.Light(v.surfaces)
		}
		fn(&render.Scene{Surfaces: drawn, Volume: s.RenderVolume(), Preset: v.preset, Window: s.Options(),
			Labels: l, Planes: v.planes, Cursor: s.Cursor(), ShowCursor: !v.coarse})
	})
}

// account counts a frame of size img that took took.
func (v *View3D) account(img *image.RGBA, took time.Duration) {
	v.busy += took
	v.pixelTime = took.Seconds() / float64(img.Rect.Dx()*img.Rect.Dy())
	v.frames++
	v.lastSize = img.Rect.Size()
}

// async reports whether full-resolution frames go to a worker: with the
// CPU renderer only. render/gl holds its mutex for a whole frame and the
// slice views draw through the same renderer, so a worker would move the
// wait to the slice views; its frames stay on the UI goroutine.
func (v *View3D) async() bool {
	_, ok := v.renderer.(*cpu.Renderer)
	return ok && v.session != nil
}

// renderFull asks the worker for a full w x h frame of the picture numbered
// v.gen: now when it is free, else when the frame it is drawing, abandoned
// by newPicture, has stopped. The scene is taken here, on the UI goroutine: the
// surfaces slice copied (the next frame recolours it), the labels copied
// where the planes need them; the meshes and the volume are never changed
// in place.
func (v *View3D) renderFull(w, h int) {
	if v.working {
		v.pending = image.Pt(w, h)
		return
	}
	var sc *render.Scene
	v.withScene(func(s *render.Scene) {
		s.Surfaces = slices.Clone(s.Surfaces)
		s.Labels = v.snapshotLabels(s.Labels, s.Planes)
		sc = s
	})
	if v.worker == nil {
		v.worker = cpu.New()
	}
	gen, wr, cam := v.gen, v.worker, v.camera
	ctx, cancel := context.WithCancel(context.Background())
	v.working, v.abandon = true, cancel
	go func() {
		img := image.NewRGBA(image.Rect(0, 0, w, h)) // new: the last one may be on screen
		start := time.Now()
		err := wr.RenderSceneContext(ctx, img, sc, cam)
		took := time.Since(start)
		fyne.Do(func() {
			v.working, v.abandon = false, nil
			abandoned := ctx.Err() != nil
			cancel()
			if !abandoned {
				v.account(img, took)
			}
			switch {
			case abandoned:
			case err != nil:
				v.fail(err)
			case gen == v.gen:
				v.done, v.doneGen = img, gen
				v.raster.Refresh() // not v.Refresh, which asks for a new picture
			}
			if p := v.pending; p != (image.Point{}) {
				v.pending = image.Point{}
				v.renderFull(p.X, p.Y)
			}
		})
	}()
}

// newPicture numbers a new picture asked for: the worker's frame under
// way, for an older one, is abandoned.
func (v *View3D) newPicture() {
	v.gen++
	if v.abandon != nil {
		v.abandon()
	}
}

// snapshotLabels is the worker's copy of l: nil where the scene does not
// read the labels (the planes hidden or untinted).
func (v *View3D) snapshotLabels(l *render.Labels, planes bool) *render.Labels {
	if !planes || !l.Fill {
		return nil
	}
	d := v.session.Volume.Dims
	switch {
	case len(v.labSnap) != len(l.Data) || l.Changed == nil:
		v.labSnap = slices.Clone(l.Data)
	case l.Revision != v.labRev:
		lo, hi, ok := l.Changed(v.labRev)
		if !ok {
			copy(v.labSnap, l.Data)
			break
		}
		for k := lo[2]; k <= hi[2]; k++ {
			for j := lo[1]; j <= hi[1]; j++ {
				at := d[0] * (j + d[1]*k)
				copy(v.labSnap[at+lo[0]:at+hi[0]+1], l.Data[at+lo[0]:at+hi[0]+1])
			}
		}
	}
	v.labRev = l.Revision
	return &render.Labels{Data: v.labSnap, Colors: l.Colors, Fill: l.Fill, Outline: l.Outline, Revision: l.Revision}
}

// measureInterval, called as a frame's render starts, updates the time a
// frame costs outside rendering from the interval since the last frame;
// only between frames of one movement (a pause is not a frame's cost).
func (v *View3D) measureInterval(start time.Time) {
	if !v.moving {
		v.lastStart = time.Time{}
		return
	}
	if !v.lastStart.IsZero() {
		if gap := start.Sub(v.lastStart) - v.lastTook; gap > 0 && gap < time.Second {
			v.outside = (3*v.outside + gap) / 4
		}
	}
	v.lastStart = start
}

// budget is the time a frame's render may take while the mouse moves.
func (v *View3D) budget() time.Duration {
	return min(max(frameTarget-v.outside, minBudget), coarseBudget)
}

// scale is the fraction of a w x h view's pixels along each axis to
// render: all of them at rest; while moving as many as fit in the budget
// at the last frame's time per pixel (at least a tenth along each axis).
func (v *View3D) scale(w, h int) float64 {
	if !v.moving {
		return 1
	}
	if v.pixelTime == 0 {
		// Nothing measured yet (the full frame at rest was abandoned
		// half-way): a quarter, which the next frame corrects. Taken as
		// free, the first frame of a turn of CT bone was drawn whole, 3 s.
		return 0.25
	}
	full := v.pixelTime * float64(w*h)
	b := v.budget().Seconds()
	if full <= b {
		return 1
	}
	return max(math.Sqrt(b/full), 0.1)
}

// interacting marks the mouse as moving, and schedules the refinement.
func (v *View3D) interacting() {
	v.moving = true
	if v.refine != nil {
		v.refine.Stop()
	}
	v.refine = time.AfterFunc(refineAfter, func() {
		fyne.Do(func() {
			if v.button == 0 {
				v.moving = false
				v.Refresh()
			}
		})
	})
}

// pixelsPerUnit is the raster's pixels per Fyne unit.
func (v *View3D) pixelsPerUnit() float64 {
	if c := fyne.CurrentApp().Driver().CanvasForObject(v); c != nil {
		return float64(c.Scale())
	}
	return 1
}

// MouseDown starts a drag with the button pressed.
func (v *View3D) MouseDown(ev *desktop.MouseEvent) { v.button, v.last = ev.Button, ev.Position }

// MouseUp ends a drag.
func (v *View3D) MouseUp(*desktop.MouseEvent) {
	v.button = 0
	v.interacting()
}

// Dragged rotates (left button) or pans (middle button).
func (v *View3D) Dragged(ev *fyne.DragEvent) {
	if v.session == nil {
		return
	}
	h := int(v.Size().Height)
	dx, dy := float64(ev.Dragged.DX), float64(ev.Dragged.DY)
	switch v.button {
	case desktop.MouseButtonTertiary:
		v.camera = v.camera.Pan(dx, dy, h)
	case desktop.MouseButtonSecondary:
		v.camera = v.camera.Zoom(math.Pow(1.01, -dy))
	default: // left, or a drag whose press the driver did not report
		v.Rotate(dx, dy)
		return
	}
	v.interacting()
	v.Refresh()
}

// DragEnd refines the picture.
func (v *View3D) DragEnd() {
	v.button = 0
	v.interacting()
}

// MouseIn implements desktop.Hoverable.
func (v *View3D) MouseIn(*desktop.MouseEvent) {}

// MouseMoved zooms during a right drag, which the driver reports here:
// up comes closer.
func (v *View3D) MouseMoved(ev *desktop.MouseEvent) {
	if v.button == desktop.MouseButtonSecondary && v.session != nil {
		v.camera = v.camera.Zoom(math.Pow(1.01, float64(v.last.Y-ev.Position.Y)))
		v.last = ev.Position
		v.interacting()
		v.Refresh()
	}
}

// MouseOut implements desktop.Hoverable.
func (v *View3D) MouseOut() {}

// Scrolled zooms: a notch up comes closer.
func (v *View3D) Scrolled(ev *fyne.ScrollEvent) {
	if v.session == nil || ev.Scrolled.DY == 0 {
		return
	}
	f := zoomStep
	if ev.Scrolled.DY < 0 {
		f = 1 / zoomStep
	}
	v.camera = v.camera.Zoom(f)
	v.interacting()
	v.Refresh()
}

// Tapped moves the cursor to the surface point clicked, so that the slices
// go there.
func (v *View3D) Tapped(ev *fyne.PointEvent) {
	if v.session == nil {
		return
	}
	sz := v.Size()
	k := v.pixelsPerUnit()
	w, h := int(math.Round(float64(sz.Width)*k)), int(math.Round(float64(sz.Height)*k))
	if p, _, ok := render.Pick(v.surfaces, v.camera, w, h, float64(ev.Position.X)*k, float64(ev.Position.Y)*k); ok {
		v.session.SetCursor(p)
	}
}

// DoubleTapped maximises the pane (or restores the layout).
func (v *View3D) DoubleTapped(*fyne.PointEvent) {
	if v.OnDoubleTap != nil {
		v.OnDoubleTap()
	}
}

// view3DRenderer draws a View3D as one raster.
type view3DRenderer struct {
	v      *View3D
	raster *canvas.Raster
	img    *image.RGBA
}

// paint shows the worker's frame when it is the one asked for at this
// size; else it asks for a new picture: drawn here while the mouse moves
// (or by render/gl), by the worker at rest, the last frame shown meanwhile.
func (r *view3DRenderer) paint(w, h int) image.Image {
	v := r.v
	if d := v.done; d != nil && v.doneGen == v.gen && d.Rect.Size() == image.Pt(w, h) {
		v.done, r.img = nil, d
		return d
	}
	v.done = nil
	v.newPicture()
	if v.moving || !v.async() {
		v.pending = image.Point{} // superseded
		s := v.scale(w, h)
		v.coarse = s < 0.5
		r.img = v.render(r.img, max(int(float64(w)*s), 1), max(int(float64(h)*s), 1))
		return r.img
	}
	v.coarse = false
	v.renderFull(w, h)
	if r.img == nil {
		r.img = image.NewRGBA(image.Rect(0, 0, 1, 1)) // until the first frame
		fillBackground(r.img)
	}
	return r.img
}

func (r *view3DRenderer) Destroy()                     {}
func (r *view3DRenderer) MinSize() fyne.Size           { return fyne.NewSize(120, 120) }
func (r *view3DRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.raster} }
func (r *view3DRenderer) Layout(size fyne.Size)        { r.raster.Resize(size) }

// Refresh asks for a new picture: a worker's frame for an older one is
// abandoned.
func (r *view3DRenderer) Refresh() { r.v.newPicture(); r.raster.Refresh() }

// view3DPane is the 3D view under its tool rows: the six standard
// directions, reset and the slice planes, then the volume rendering preset
// across the pane's width (in one row they overflowed the pane of a 2x2
// layout on a 1366-wide screen, and the preset's name was cut short).
func view3DPane(v *View3D) fyne.CanvasObject {
	row := container.NewHBox()
	for _, d := range render.Directions() {
		b := widget.NewButton(d.String(), func() { v.LookFrom(d) })
		b.Importance = widget.LowImportance
		row.Add(b)
	}
	reset := widget.NewButton("Reset", v.ResetCamera)
	reset.Importance = widget.LowImportance
	planes := widget.NewCheck("Planes", v.SetPlanes)
	names := []string{"No volume"}
	for _, p := range render.Presets() {
		names = append(names, presetLabel[p])
	}
	vol := widget.NewSelect(names, func(s string) {
		for p, n := range presetLabel {
			if n == s {
				v.SetPreset(p)
				return
			}
		}
		v.SetPreset(render.NoVolume)
	})
	vol.SetSelectedIndex(0)
	v.onPreset = func(p render.Preset) {
		n, ok := presetLabel[p]
		if !ok {
			n = names[0]
		}
		if vol.Selected != n { // SetSelected calls SetPreset back, even unchanged
			vol.SetSelected(n)
		}
	}
	row.Add(reset)
	row.Add(planes)
	tools := container.NewVBox(container.NewHScroll(row), container.NewBorder(nil, nil, widget.NewLabel("Volume"), nil, vol))
	return container.NewBorder(tools, nil, nil, nil, v)
}

// presetLabel names the volume rendering presets in the menu.
var presetLabel = map[render.Preset]string{
	render.CTBone:       "CT bone",
	render.CTSoftTissue: "CT soft tissue",
	render.CTAngio:      "CT angiography",
	render.MRDefault:    "MR default",
	render.MIP:          "MIP",
}
