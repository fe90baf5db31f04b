package cpu

import (
	"image"
	"image/color"
	"path/filepath"
	"testing"

	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/render/rendertest"
	"github.com/segvolapp/segvol/viewer/nifti"
)

var (
	red  = color.NRGBA{R: 200, A: 255}
	blue = color.NRGBA{B: 200, A: 255}
)

func renderScene(t *testing.T, s *render.Scene, c render.Camera, w, h int) *image.RGBA {
	t.Helper()
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if err := New().RenderScene(dst, s, c); err != nil {
		t.Fatal(err)
	}
	return dst
}

func isBackground(img *image.RGBA, x, y int) bool {
	q := img.Pix[y*img.Stride+4*x:]
	bg := render.Background
	return q[0] == bg.R && q[1] == bg.G && q[2] == bg.B
}

// TestBoxSilhouette draws a box from each side: the pixels it covers must
// be exactly those whose centres its projected rectangle holds, placed as
// the standard view's orientation says.
func TestBoxSilhouette(t *testing.T) {
	// 100x100 pixels over 200 mm: 2 mm a pixel, the image centre at 0.
	box := rendertest.Box([3]float32{-30, -10, -50}, [3]float32{10, 30, 50}, 1, red)
	s := &render.Scene{Surfaces: []render.Surface{box}}
	cases := []struct {
		d              render.Direction
		x0, x1, y0, y1 int // covered pixel columns [x0, x1) and rows [y0, y1)
	}{
		{render.Anterior, 35, 55, 25, 75},  // x -30..10 right, z up
		{render.Posterior, 45, 65, 25, 75}, // x mirrored
		{render.Left, 45, 65, 25, 75},      // y -10..30 to the right
		// From above the patient's right (-x) is on the image's right and
		// the face (-y) up.
		{render.Superior, 45, 65, 45, 65},
	}
	for _, c := range cases {
		img := renderScene(t, s, render.View(c.d, [3]float64{}, 200), 100, 100)
		for y := range 100 {
			for x := range 100 {
				in := x >= c.x0 && x < c.x1 && y >= c.y0 && y < c.y1
				if in == isBackground(img, x, y) {
					t.Fatalf("%v view: pixel (%d,%d) covered %v, want %v", c.d, x, y, !in, in)
				}
			}
		}
	}
}

// TestDepthAndShading: of two overlapping boxes the nearer shows, from
// either side; a face square to the camera gets the full headlight (all of
// its colour).
func TestDepthAndShading(t *testing.T) {
	front := rendertest.Box([3]float32{-20, -40, -20}, [3]float32{20, -20, 20}, 1, red)
	back := rendertest.Box([3]float32{-10, 0, -10}, [3]float32{30, 20, 10}, 2, blue)
	s := &render.Scene{Surfaces: []render.Surface{back, front}}
	img := renderScene(t, s, render.View(render.Anterior, [3]float64{}, 100), 50, 50)
	diff := render.Shade([3]float64{0, -1, 0}, [3]float64{0, 1, 0})
	want := color.RGBA{R: clamp255(200 * diff), A: 255}
	if got := img.RGBAAt(27, 25); got != want {
		t.Errorf("front box from the front: %v, want %v", got, want)
	}
	img = renderScene(t, s, render.View(render.Posterior, [3]float64{}, 100), 50, 50)
	// From behind, x = 5 mm is at column 22: the blue box hides the red.
	if got := img.RGBAAt(22, 25); got.B < 200 || got.R != got.G {
		t.Errorf("back box from behind: %v, want blue", got)
	}
	// x = -15 mm, column 32: only the red box is there.
	if got := img.RGBAAt(32, 25); got.R < 200 || got.B != got.G {
		t.Errorf("front box from behind, beside the other: %v, want red", got)
	}
}

// TestTranslucentSurface: a half-transparent box in front of an opaque one
// blends over it; an opacity of zero hides a surface.
func TestTranslucentSurface(t *testing.T) {
	glass := rendertest.Box([3]float32{-20, -40, -20}, [3]float32{20, -20, 20}, 1, color.NRGBA{R: 200, A: 128})
	back := rendertest.Box([3]float32{-10, 0, -10}, [3]float32{30, 20, 10}, 2, blue)
	c := render.View(render.Anterior, [3]float64{}, 100)
	behind := renderScene(t, &render.Scene{Surfaces: []render.Surface{back}}, c, 50, 50).RGBAAt(27, 25)
	img := renderScene(t, &render.Scene{Surfaces: []render.Surface{glass, back}}, c, 50, 50)
	got := img.RGBAAt(27, 25)
	diff := render.Shade([3]float64{0, -1, 0}, [3]float64{0, 1, 0})
	a := 128.0 / 255
	// The glass's front and back faces both blend over the blue box.
	blend := func(under, col float64) float64 { return under*(1-a) + col*diff*a }
	wantR := clamp255(blend(blend(float64(behind.R), 200), 200))
	wantB := clamp255(blend(blend(float64(behind.B), 0), 0))
	if absDiff(got.R, wantR) > 1 || absDiff(got.B, wantB) > 1 {
		t.Errorf("glass over blue: %v, want R %d B %d", got, wantR, wantB)
	}
	glass.Color.A = 0
	if got := renderScene(t, &render.Scene{Surfaces: []render.Surface{glass, back}}, c, 50, 50).RGBAAt(27, 25); got != behind {
		t.Errorf("a hidden surface changed the picture: %v, want %v", got, behind)
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// TestPerspectiveLooksLarger: in perspective the near face of a box is
// drawn larger than in orthographic projection, the far one smaller.
func TestPerspectiveLooksLarger(t *testing.T) {
	box := rendertest.Box([3]float32{-20, -20, -20}, [3]float32{20, 20, 20}, 1, red)
	c := render.View(render.Anterior, [3]float64{}, 100)
	count := func(img *image.RGBA) int {
		n := 0
		for y := range 100 {
			for x := range 100 {
				if !isBackground(img, x, y) {
					n++
				}
			}
		}
		return n
	}
	ortho := count(renderScene(t, &render.Scene{Surfaces: []render.Surface{box}}, c, 100, 100))
	c.Perspective = true
	persp := count(renderScene(t, &render.Scene{Surfaces: []render.Surface{box}}, c, 100, 100))
	if ortho != 40*40 || persp <= ortho {
		t.Errorf("covered pixels: orthographic %d (want 1600), perspective %d (want more)", ortho, persp)
	}
}

// TestPickFindsFrontFace: a click on a box hits its face towards the
// camera, at the clicked position; a click beside it hits nothing.
func TestPickFindsFrontFace(t *testing.T) {
	boxes := []render.Surface{
		rendertest.Box([3]float32{-20, -40, -20}, [3]float32{20, -20, 20}, 3, red),
		rendertest.Box([3]float32{-10, 0, -10}, [3]float32{30, 20, 10}, 7, blue),
	}
	for _, persp := range []bool{false, true} {
		c := render.View(render.Posterior, [3]float64{}, 100)
		c.Perspective = persp
		// Column 22 of 50 from behind is x = 5 mm, where the blue box is.
		hit, label, ok := render.Pick(boxes, c, 50, 50, 25, 25)
		if !ok || label != 7 || hit[1] != 20 {
			t.Errorf("perspective %v: pick at the centre from behind: %v label %d ok %v, want y = 20 on label 7", persp, hit, label, ok)
		}
		if _, _, ok := render.Pick(boxes, c, 50, 50, 2, 2); ok {
			t.Errorf("perspective %v: a click on the background hit something", persp)
		}
	}
}

// TestMIPAndPreset ray casts a ball of 500 HU in air: MIP shows the ball's
// grey in the window (0/2000: 500 HU is 191) and leaves the background
// where the ray meets only air; CT bone draws the ball opaque-ish and
// nothing around it.
func TestMIPAndPreset(t *testing.T) {
	v := rendertest.Ball([3]int{40, 40, 40}, [3]float64{2, 2, 2}, [3]float64{39, 39, 39}, 25, 500, -1000)
	c, err := render.FitVolume(render.Anterior, v, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := &render.Scene{Volume: v, Preset: render.MIP, Window: render.Options{Center: 0, Width: 2000}}
	img := renderScene(t, s, c, 64, 64)
	if got := img.RGBAAt(32, 32); got.R != 191 || got.G != 191 || got.B != 191 {
		t.Errorf("MIP through the ball: %v, want grey 191", got)
	}
	if !isBackground(img, 32, 3) {
		t.Errorf("MIP through air only: %v, want the background", img.RGBAAt(32, 3))
	}
	s.Preset = render.CTBone
	img = renderScene(t, s, c, 64, 64)
	if got := img.RGBAAt(32, 32); int(got.R)+int(got.G) < 300 {
		t.Errorf("CT bone through the ball: %v, want a bright bone colour", got)
	}
	if !isBackground(img, 32, 3) {
		t.Errorf("CT bone through air: %v, want the background", img.RGBAAt(32, 3))
	}
}

// TestSlicePlanes looks from the front at the coronal plane through the
// cursor: each pixel shows the windowed value of the volume there, tinted
// where labelled; the cursor is drawn over it.
func TestSlicePlanes(t *testing.T) {
	v, _ := grid([3]int{20, 10, 20}, [3]float64{1, 1, 1}, 0)
	// grid's origin is (-20, 15, -40); voxel (i, j, k) at (-20+i, 15+j, -40+k).
	lab := make([]uint8, 20*10*20)
	for n := range lab {
		if n%20 < 5 { // i < 5
			lab[n] = 1
		}
	}
	l := &render.Labels{Data: lab, Colors: []color.NRGBA{{}, {G: 255, A: 255}}, Fill: true}
	cursor := [3]float64{-10, 19, -30} // voxel (10, 4, 10)
	s := &render.Scene{Volume: v, Window: render.Options{Center: 0, Width: 2000}, Labels: l, Planes: true, Cursor: cursor}
	// A 20x20 mm view of the plane y = 19, 1 mm a pixel, looking along +y
	// from in front of the volume: pixel (x, y) is at x = -20+x+0.5 mm...
	c := render.View(render.Anterior, [3]float64{-10.5, 19, -30.5}, 20)
	img := renderScene(t, s, c, 20, 20)
	win := newWindow(s.Window)
	for _, px := range [][2]int{{10, 10}, {13, 4}, {19, 15}} {
		// Pixel centre (x+0.5, y+0.5) at world x = -20.5+x+0.5, z = -30.5+10-y-0.5.
		i, k := px[0], 19-px[1]
		want := win.gray(float64(i + 10*4 + 100*k - 500))
		if got := img.RGBAAt(px[0], px[1]); got.R != want || got.G != want {
			t.Errorf("pixel %v: %v, want grey %d of voxel (%d, 4, %d)", px, got, want, i, k)
		}
	}
	if got := img.RGBAAt(2, 10); got.G != 255 || got.R != 0 {
		t.Errorf("labelled pixel: %v, want the label's green", got)
	}
	s.ShowCursor = true
	img = renderScene(t, s, c, 20, 20)
	if got := img.RGBAAt(10, 9); got != (color.RGBA{render.CursorColor.R, render.CursorColor.G, render.CursorColor.B, 255}) {
		t.Errorf("cursor pixel: %v", got)
	}
}

// TestSceneRejectsBadInput: bad meshes and a volume-less volume rendering
// are errors, not panics.
func TestSceneRejectsBadInput(t *testing.T) {
	c := render.View(render.Anterior, [3]float64{}, 100)
	box := rendertest.Box([3]float32{0, 0, 0}, [3]float32{1, 1, 1}, 1, red)
	box.Indices[4] = 99
	dst := image.NewRGBA(image.Rect(0, 0, 10, 10))
	for name, s := range map[string]*render.Scene{
		"vertex out of range": {Surfaces: []render.Surface{box}},
		"preset, no volume":   {Preset: render.CTBone},
	} {
		if err := New().RenderScene(dst, s, c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	c.Up = c.Forward
	if err := New().RenderScene(dst, &render.Scene{}, c); err == nil {
		t.Error("a degenerate camera: no error")
	}
}

// TestBlockSkippingChangesNothing ray casts the sample CT with every
// preset, from an oblique perspective camera, stepping over blocks and
// sampling everything: the pictures must be the same, and blocks must
// have been skipped.
func TestBlockSkippingChangesNothing(t *testing.T) {
	ct, err := nifti.Read(filepath.Join("..", "..", "assets", "sample", "example_ct_sm.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := ct.ForRender()
	if err != nil {
		t.Fatal(err)
	}
	c, err := render.View(render.Anterior, [3]float64{}, 1).Orbit(40, 30).Fit(v, 1)
	if err != nil {
		t.Fatal(err)
	}
	c.Perspective = true
	for _, p := range render.Presets() {
		s := &render.Scene{Volume: v, Preset: p, Window: render.Options{Center: 40, Width: 400}}
		fast, slow := New(), New()
		slow.noBlocks = true
		a, b := image.NewRGBA(image.Rect(0, 0, 120, 100)), image.NewRGBA(image.Rect(0, 0, 120, 100))
		if err := fast.RenderScene(a, s, c); err != nil {
			t.Fatal(err)
		}
		if err := slow.RenderScene(b, s, c); err != nil {
			t.Fatal(err)
		}
		for i := range a.Pix {
			if a.Pix[i] != b.Pix[i] {
				t.Fatalf("%v: pixel %d differs with block skipping: %d, want %d", p, i/4, a.Pix[i], b.Pix[i])
			}
		}
	}
	// The blocks outside the body are transparent for CT bone.
	tf := render.NewTransfer(render.CTBone, render.Options{Center: 40, Width: 400})
	blocks := render.NewBlocks(v)
	clear := 0
	for i := range blocks.Max {
		if !tf.Visible(float64(blocks.Min[i]), float64(blocks.Max[i])) {
			clear++
		}
	}
	if clear == 0 || clear == len(blocks.Max) {
		t.Errorf("%d of %d blocks are transparent for CT bone", clear, len(blocks.Max))
	}
}
