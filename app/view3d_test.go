package app

import (
	"image"
	"math"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/render"
)

func near(a, b [3]float64) bool {
	return math.Abs(a[0]-b[0]) < 1e-9 && math.Abs(a[1]-b[1]) < 1e-9 && math.Abs(a[2]-b[2]) < 1e-9
}

// TestView3DPane drives the 3D pane of the 2x2 layout on the sample with
// its labels: the direction buttons, a drag, the wheel, a double click, and
// a click on a surface, which must move the cursor onto a labelled voxel.
func TestView3DPane(t *testing.T) {
	v, err := openViewer(t, Options{Labels: sampleSeg}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.Window().Resize(fyne.NewSize(1200, 900))
	v.SetLayout(Layout2x2)
	if len(v.panes.Objects) != 4 || v.panes.Objects[3] != v.pane3d {
		t.Fatalf("2x2 layout: the fourth pane is not the 3D view")
	}
	v3 := v.View3D()
	if v3.Size().Width < 100 {
		t.Fatalf("3D view is %v", v3.Size())
	}
	rv := v.Session().RenderVolume()
	for _, d := range render.Directions() {
		test.Tap(findButton(t, v.pane3d, d.String()))
		want, _ := render.FitVolume(d, rv, float64(v3.Size().Width/v3.Size().Height))
		if c := v3.Camera(); !near(c.Forward, want.Forward) || !near(c.Up, want.Up) {
			t.Errorf("button %v: camera %+v, want %+v", d, c, want)
		}
	}
	test.Tap(findButton(t, v.pane3d, "Reset"))
	front, _ := render.FitVolume(render.Anterior, rv, float64(v3.Size().Width/v3.Size().Height))
	if c := v3.Camera(); c != front {
		t.Fatalf("reset: camera %+v, want %+v", c, front)
	}
	// A left drag turns the camera as the trackball says.
	at := fyne.CurrentApp().Driver().AbsolutePositionForObject(v3).AddXY(50, 50)
	test.Drag(v.Window().Canvas(), at, 30, 0)
	if want := front.Trackball(30, 0, int(v3.Size().Height)); !near(v3.Camera().Forward, want.Forward) {
		t.Errorf("drag: forward %v, want %v", v3.Camera().Forward, want.Forward)
	}
	test.Scroll(v.Window().Canvas(), at, 0, 10)
	if h := v3.Camera().Height; math.Abs(h-front.Height/zoomStep) > 1e-9 {
		t.Errorf("wheel up: height %g, want %g", h, front.Height/zoomStep)
	}
	test.Tap(findButton(t, v.pane3d, "Reset"))

	// The picture from the front shows surfaces in segment colours.
	sz := v3.Size()
	img := v3.render(nil, int(sz.Width), int(sz.Height))
	if coloured(img) < 1000 {
		t.Fatalf("3D view shows %d coloured pixels", coloured(img))
	}
	// A click in the middle hits a surface: the cursor moves there, onto
	// the boundary of a labelled voxel.
	before := v.Session().Cursor()
	test.TapAt(v3, fyne.NewPos(sz.Width/2, sz.Height/2))
	after := v.Session().Cursor()
	if after == before {
		t.Fatal("a click on a surface left the cursor where it was")
	}
	if !labelledNear(v, after) {
		t.Errorf("the cursor went to %v, not next to a labelled voxel", after)
	}
	// A click beside the volume leaves it.
	test.TapAt(v3, fyne.NewPos(3, 3))
	if c := v.Session().Cursor(); c != after {
		t.Errorf("a click on the background moved the cursor to %v", c)
	}

	// The Planes check and the volume list, and what they draw.
	plain := v3.render(nil, 200, 200)
	planes := find(t, v.pane3d, func(c *widget.Check) bool { return c.Text == "Planes" })
	test.Tap(planes)
	if !v3.planes {
		t.Fatal("the Planes check did not show the planes")
	}
	withPlanes := v3.render(nil, 200, 200)
	test.Tap(planes)
	sel := find(t, v.pane3d, func(*widget.Select) bool { return true })
	sel.SetSelected("CT bone")
	if v3.preset != render.CTBone {
		t.Fatalf("choosing CT bone set preset %v", v3.preset)
	}
	withBone := v3.render(nil, 200, 200)
	sel.SetSelected("No volume")
	if v3.planes || v3.preset != render.NoVolume {
		t.Errorf("planes %v, preset %v after turning both off", v3.planes, v3.preset)
	}
	if samePix(plain, withPlanes) || samePix(plain, withBone) {
		t.Error("planes or the volume rendering did not change the picture")
	}

	// While the mouse moves a slow frame is drawn coarser, and the full
	// resolution comes back once it rests.
	v3.pixelTime = 1e-6 // a 1000x1000 frame would take a second
	v3.interacting()
	if s := v3.scale(1000, 1000); s > 0.3 {
		t.Errorf("moving with 1 s frames: scale %g", s)
	}
	waitFor(t, "the refinement", func() bool { return v3.scale(1000, 1000) == 1 })

	// Frames that cost 40 ms outside rendering (the window's drawing) get
	// a smaller render budget, so that the interval stays at 1/16 s; a
	// pause between movements is not counted.
	v3.interacting()
	t0 := time.Now()
	for i := range 20 {
		v3.lastTook = 30 * time.Millisecond
		v3.measureInterval(t0.Add(time.Duration(i) * 70 * time.Millisecond))
	}
	if got, want := v3.budget(), frameTarget-40*time.Millisecond; got < want-2*time.Millisecond || got > want+2*time.Millisecond {
		t.Errorf("with 40 ms outside rendering: budget %v, want about %v", got, want)
	}
	if s := v3.scale(1000, 1000); s > math.Sqrt(0.0235) {
		t.Errorf("moving with 1 s frames and 40 ms outside them: scale %g", s)
	}
	waitFor(t, "the refinement", func() bool { return v3.scale(1000, 1000) == 1 })
	v3.measureInterval(time.Now())
	if !v3.lastStart.IsZero() {
		t.Error("a frame at rest was counted as a movement's frame")
	}

	// Deleting the liver takes its surface away; undo brings it back.
	hasLiver := func() bool {
		v3.render(nil, 100, 100)
		for _, m := range v3.surfaces {
			if m.Label == 5 && len(m.Indices) > 0 {
				return true
			}
		}
		return false
	}
	e := v.Session().Edit()
	if !hasLiver() {
		t.Fatal("no liver surface")
	}
	if err := e.DeleteSegment(5); err != nil {
		t.Fatal(err)
	}
	if hasLiver() {
		t.Error("the deleted liver still has a surface")
	}
	e.Undo()
	if !hasLiver() {
		t.Error("undo did not bring the liver's surface back")
	}

	test.DoubleTap(v3)
	if len(v.panes.Objects) != 1 || v.panes.Objects[0] != v.pane3d {
		t.Fatal("double click did not maximise the 3D view")
	}
	test.DoubleTap(v3)
	if len(v.panes.Objects) != 4 {
		t.Fatal("second double click did not bring the layout back")
	}
}

// coloured counts the pixels whose channels differ (segment colours; the
// background and grey images have equal ones, nearly).
func coloured(img *image.RGBA) int {
	n := 0
	for i := 0; i < len(img.Pix); i += 4 {
		r, g, b := int(img.Pix[i]), int(img.Pix[i+1]), int(img.Pix[i+2])
		if max(r, g, b)-min(r, g, b) > 40 {
			n++
		}
	}
	return n
}

func samePix(a, b *image.RGBA) bool {
	for i := range a.Pix {
		if a.Pix[i] != b.Pix[i] {
			return false
		}
	}
	return true
}

// labelledNear reports whether a voxel within one voxel of p is labelled:
// a surface point lies on a labelled voxel's face.
func labelledNear(v *Viewer, p [3]float64) bool {
	s := v.Session()
	idx, err := s.Volume.Geom.WorldToIndex(p)
	if err != nil {
		return false
	}
	found := false
	s.Edit().RenderLabels(func(l *render.Labels) {
		d := s.Volume.Dims
		for dk := -1; dk <= 1; dk++ {
			for dj := -1; dj <= 1; dj++ {
				for di := -1; di <= 1; di++ {
					i, j, k := render.NearestVoxel(idx[0])+di, render.NearestVoxel(idx[1])+dj, render.NearestVoxel(idx[2])+dk
					if i >= 0 && j >= 0 && k >= 0 && i < d[0] && j < d[1] && k < d[2] && l.Data[i+d[0]*(j+d[1]*k)] != 0 {
						found = true
					}
				}
			}
		}
	})
	return found
}

// TestView3DPresetShowsInItsList: a preset set from outside the pane (as
// segvol-viewer --volume does) is the one its list shows, not "No volume"
// over a volume rendering.
func TestView3DPresetShowsInItsList(t *testing.T) {
	v, err := openViewer(t, Options{}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.SetLayout(Layout2x2)
	sel := find(t, v.pane3d, func(*widget.Select) bool { return true })
	for _, p := range []render.Preset{render.CTBone, render.MIP, render.NoVolume} {
		v.View3D().SetPreset(p)
		want := "No volume"
		if p != render.NoVolume {
			want = presetLabel[p]
		}
		if sel.Selected != want || v.View3D().preset != p {
			t.Errorf("preset %v: the list shows %q, want %q (view's preset %v)", p, sel.Selected, want, v.View3D().preset)
		}
	}
}

// TestView3DToolsFit: in the 2x2 layout on a 1366x768 laptop screen, the
// 3D pane's buttons fit without scrolling and the volume list is wide
// enough for its longest preset (in one row they overflowed the pane, the
// list's arrow went out of sight and "CT angiography" read "CT angiogr…").
func TestView3DToolsFit(t *testing.T) {
	v, err := openViewer(t, Options{}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.FitScreen(fyne.NewSize(1366, 768))
	v.SetLayout(Layout2x2)
	pane := v.pane3d.Size().Width
	scroll := find(t, v.pane3d, func(*container.Scroll) bool { return true })
	if need := scroll.Content.MinSize().Width; need > scroll.Size().Width+0.5 || scroll.Size().Width > pane+0.5 {
		t.Errorf("the 3D pane is %.0f wide; its button row needs %.0f and shows %.0f", pane, need, scroll.Size().Width)
	}
	sel := find(t, v.pane3d, func(*widget.Select) bool { return true })
	longest := float32(0)
	for _, o := range sel.Options {
		longest = max(longest, fyne.MeasureText(o, theme.TextSize(), fyne.TextStyle{}).Width)
	}
	// The text, the padding around it and the drop-down arrow.
	if need := longest + 2*theme.InnerPadding() + theme.IconInlineSize(); sel.Size().Width < need {
		t.Errorf("the volume list is %.0f wide, its longest preset needs %.0f", sel.Size().Width, need)
	}
}

// TestView3DRefinesOffTheUIGoroutine: at rest, the full-resolution frame
// (CT bone with the tinted slice planes on the sample, at 1400x900) is
// drawn by a worker: a fyne.Do function runs while it renders (the UI
// goroutine is free), paint shows the last picture meanwhile, the frame
// handed over equals the one drawn synchronously for the same camera, and
// a frame asked for before the camera turned is never shown.
func TestView3DRefinesOffTheUIGoroutine(t *testing.T) {
	v, err := openViewer(t, Options{Labels: sampleSeg}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.SetLayout(Layout2x2)
	v3 := v.View3D()
	v3.SetPreset(render.CTBone)
	v3.SetPlanes(true)
	waitFor(t, "the mouse to rest", func() bool { return !v3.moving })
	r := test.WidgetRenderer(v3).(*view3DRenderer)
	const w, h = 1400, 900

	start := time.Now()
	front := v3.render(nil, w, h) // synchronous, the reference
	t.Logf("a synchronous full frame takes %v", time.Since(start))
	shown := r.paint(w, h)
	if !v3.working {
		t.Fatal("paint at rest drew the full frame on the UI goroutine")
	}
	if shown.Bounds().Size() == image.Pt(w, h) && samePix(shown.(*image.RGBA), front) {
		t.Fatal("paint returned the new frame at once")
	}
	during := make(chan bool, 1)
	go fyne.Do(func() { during <- v3.working })
	if !await(t, "a fyne.Do function", during) {
		t.Fatal("the fyne.Do function ran only after the frame was done")
	}
	waitFor(t, "the worker's frame", func() bool { return v3.done != nil })
	if got := r.paint(w, h).(*image.RGBA); !samePix(got, front) {
		t.Fatal("the worker's frame differs from the synchronous one")
	}

	// Ask for a frame, turn the camera while it renders and ask again: the
	// first is abandoned (it would only have been dropped, after taking
	// both cores from the frames of the turn), the second waits for it and
	// is the one shown.
	f0 := v3.Frames()
	r.paint(w, h)
	v3.LookFrom(render.Left)
	if got := r.paint(w, h).(*image.RGBA); !samePix(got, front) || v3.pending != image.Pt(w, h) {
		t.Fatalf("the newer request while one renders: pending %v, or the picture changed", v3.pending)
	}
	left := v3.render(nil, w, h)
	f0++ // the synchronous one
	if samePix(left, front) {
		t.Fatal("the cameras give the same picture")
	}
	waitFor(t, "the second frame", func() bool { return v3.done != nil })
	if n := v3.Frames() - f0; n != 1 {
		t.Errorf("%d frames drawn to the end, want 1: the superseded one was not abandoned", n)
	}
	if got := r.paint(w, h).(*image.RGBA); !samePix(got, left) {
		t.Fatal("the frame shown is not the newer camera's")
	}

	// The worker's copy of the labels follows an edit (by the box that
	// changed), and its frame is the synchronous one.
	if err := v.Session().Edit().DeleteSegment(5); err != nil {
		t.Fatal(err)
	}
	v3.Refresh()
	r.paint(w, h)
	waitFor(t, "the frame after the edit", func() bool { return v3.done != nil })
	got := r.paint(w, h).(*image.RGBA)
	if want := v3.render(nil, w, h); !samePix(got, want) || samePix(got, left) {
		t.Fatal("after deleting the liver the worker's frame differs from the synchronous one, or is unchanged")
	}
	v.Session().Edit().RenderLabels(func(l *render.Labels) {
		if !slices.Equal(v3.labSnap, l.Data) {
			t.Error("the worker's copy of the labels is not the labels after the edit")
		}
	})
}

// TestView3DCoarseFramesHaveNoCursor: a frame drawn at under half the
// view's resolution while the mouse moves leaves the cursor out (its
// one-pixel lines, scaled up, showed as a yellow blob); the full frame at
// rest has it.
func TestView3DCoarseFramesHaveNoCursor(t *testing.T) {
	v, err := openViewer(t, Options{}, samplePath) // no surfaces to hide it
	if err != nil {
		t.Fatal(err)
	}
	v.SetLayout(Layout2x2)
	v3 := v.View3D()
	r := test.WidgetRenderer(v3).(*view3DRenderer)
	const w, h = 800, 600
	cursorPixels := func(img *image.RGBA) int {
		n := 0
		c := render.CursorColor
		for i := 0; i < len(img.Pix); i += 4 {
			if img.Pix[i] == c.R && img.Pix[i+1] == c.G && img.Pix[i+2] == c.B {
				n++
			}
		}
		return n
	}
	if n := cursorPixels(v3.render(nil, w, h)); n == 0 {
		t.Fatal("the full frame shows no cursor")
	}
	v3.moving, v3.pixelTime = true, 1e-6 // 0.48 s for a full frame: far over the budget
	img := r.paint(w, h).(*image.RGBA)
	if img.Rect.Dx() >= w/2 {
		t.Fatalf("the frame while moving is %v, not coarse", img.Rect)
	}
	if n := cursorPixels(img); n != 0 {
		t.Errorf("the coarse frame has %d cursor pixels", n)
	}
}
