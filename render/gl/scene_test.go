package gl

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/render/cpu"
	"github.com/segvolapp/segvol/render/rendertest"
	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/nifti"
)

// sceneDiff counts the pixels whose channels differ by more than tol, and
// the mean absolute channel difference.
func sceneDiff(a, b *image.RGBA, tol int) (over int, mean float64) {
	sum := 0
	for i := 0; i < len(a.Pix); i += 4 {
		d := 0
		for c := range 3 {
			e := int(a.Pix[i+c]) - int(b.Pix[i+c])
			sum += max(e, -e)
			d = max(d, e, -e)
		}
		if d > tol {
			over++
		}
	}
	return over, float64(sum) / float64(len(a.Pix)/4*3)
}

// compareScene draws a scene with render/cpu and render/gl: at most
// maxOver of the pixels may differ by more than 8 levels (edges that a
// float32 rasteriser puts a pixel over), and the mean difference must stay
// under maxMean. The pictures go to $SEGVOL_3D_PICTURES when set.
func compareScene(t *testing.T, r *Renderer, name string, s *render.Scene, c render.Camera, w, h int, maxOver, maxMean float64) {
	t.Helper()
	want := image.NewRGBA(image.Rect(0, 0, w, h))
	got := image.NewRGBA(want.Rect)
	if err := cpu.New().RenderScene(want, s, c); err != nil {
		t.Fatal(err)
	}
	if err := r.RenderScene(got, s, c); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("SEGVOL_3D_PICTURES"); dir != "" {
		for k, img := range map[string]*image.RGBA{"cpu": want, "gl": got} {
			f, err := os.Create(filepath.Join(dir, name+"-"+k+".png"))
			if err == nil {
				png.Encode(f, img)
				f.Close()
			}
		}
	}
	if n := changed(want); n < w*h/50 {
		t.Fatalf("%s: the reference shows little (%d pixels off the background)", name, n)
	}
	over, mean := sceneDiff(want, got, 8)
	t.Logf("%s: %d of %d pixels differ by more than 8, mean difference %.2f", name, over, w*h, mean)
	if float64(over) > maxOver*float64(w*h) || mean > maxMean {
		t.Errorf("%s: %d pixels (%.2f%%) differ by more than 8 levels, mean difference %.2f", name, over, 100*float64(over)/float64(w*h), mean)
	}
}

// changed counts the pixels that are not the background.
func changed(img *image.RGBA) int {
	n := 0
	bg := render.Background
	for i := 0; i < len(img.Pix); i += 4 {
		if img.Pix[i] != bg.R || img.Pix[i+1] != bg.G || img.Pix[i+2] != bg.B {
			n++
		}
	}
	return n
}

// TestSceneMatchesCPU compares render/gl's 3D pictures with render/cpu's:
// shaded boxes and a sphere (with vertex normals), translucent and
// overlapping, in orthographic and perspective projection, the cursor.
func TestSceneMatchesCPU(t *testing.T) {
	r := newRenderer(t)
	s := &render.Scene{Surfaces: []render.Surface{
		rendertest.Box([3]float32{-30, -10, -50}, [3]float32{10, 30, 50}, 1, color.NRGBA{R: 200, G: 80, B: 40, A: 255}),
		rendertest.Sphere([3]float64{25, -5, 10}, 22, 24, 48, 2, color.NRGBA{R: 60, G: 180, B: 220, A: 255}),
		rendertest.Box([3]float32{-40, -60, -20}, [3]float32{40, -40, 0}, 3, color.NRGBA{R: 250, G: 250, B: 60, A: 110}),
	}, Cursor: [3]float64{-10, -12, 20}, ShowCursor: true}
	for _, persp := range []bool{false, true} {
		for _, turn := range [][2]float64{{0, 0}, {35, 20}, {-120, -40}} {
			c := render.View(render.Anterior, [3]float64{}, 180).Orbit(turn[0], turn[1])
			c.Perspective = persp
			compareScene(t, r, fmt.Sprintf("boxes-persp%v-az%g-el%g", persp, turn[0], turn[1]), s, c, 240, 200, 0.01, 1.5)
		}
	}
}

// TestSampleSceneMatchesCPU compares the sample's segments (voxel-face
// surfaces), the slice planes with their labels, and each volume
// rendering preset.
func TestSampleSceneMatchesCPU(t *testing.T) {
	r := newRenderer(t)
	st := loadSample(t)
	seg, err := nifti.Read(filepath.Join(sampleDir, "example_seg.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	surfaces := viewer.AllSurfaces(st.seg, st.vol.Dims, seg.Geom)
	colors := labels.Palette(128)
	viewer.ColorSurfaces(surfaces, colors)
	l := &render.Labels{Data: st.seg, Colors: colors, Fill: true}
	cursor := st.frame.Centre()
	c, err := render.View(render.Anterior, [3]float64{}, 1).Orbit(30, 25).Fit(st.vol, 1.2)
	if err != nil {
		t.Fatal(err)
	}
	win := render.Options{Center: 40, Width: 400}
	compareScene(t, r, "sample-surfaces-planes", &render.Scene{Surfaces: surfaces, Volume: st.vol, Window: win, Labels: l, Planes: true, Cursor: cursor, ShowCursor: true}, c, 240, 200, 0.01, 1.5)
	for _, p := range render.Presets() {
		sc := &render.Scene{Volume: st.vol, Window: win, Preset: p}
		compareScene(t, r, "sample-"+p.String(), sc, c, 240, 200, 0.01, 1.5)
	}
	// A volume rendering behind opaque surfaces stops at them.
	compareScene(t, r, "sample-surfaces-bone", &render.Scene{Surfaces: surfaces, Volume: st.vol, Window: win, Preset: render.CTBone}, c, 240, 200, 0.01, 1.5)
	// A MIP stops at the surfaces and samples its rays' ends there.
	compareScene(t, r, "sample-surfaces-mip", &render.Scene{Surfaces: surfaces, Volume: st.vol, Window: win, Preset: render.MIP}, c, 240, 200, 0.01, 1.5)
}

// BenchmarkScene3D draws 1000x1000 3D frames of the 512x512x300 upsampled
// sample with render/cpu and render/gl in one run, so that their ratio
// comes from the same machine state: the segments' surfaces (voxel faces,
// the mesh engine's stand-in), and the volume rendered with CT bone and
// as a MIP. At 250x250 too: the coarse frames drawn while the mouse moves.
func BenchmarkScene3D(b *testing.B) {
	s := big()
	surfaces := viewer.AllSurfaces(s.seg, s.vol.Dims, s.frame.Geom)
	viewer.ColorSurfaces(surfaces, labels.Palette(255))
	tris := 0
	for _, m := range surfaces {
		tris += len(m.Indices) / 3
	}
	win := render.Options{Center: 40, Width: 400}
	scenes := []struct {
		name string
		sc   *render.Scene
	}{
		{"surfaces", &render.Scene{Surfaces: surfaces}},
		{"ct-bone", &render.Scene{Volume: s.vol, Window: win, Preset: render.CTBone}},
		{"mip", &render.Scene{Volume: s.vol, Window: win, Preset: render.MIP}},
	}
	c, err := render.View(render.Anterior, [3]float64{}, 1).Orbit(30, 20).Fit(s.vol, 1)
	if err != nil {
		b.Fatal(err)
	}
	gl := newRenderer(b)
	for _, size := range []int{1000, 250} {
		img := image.NewRGBA(image.Rect(0, 0, size, size))
		for _, sc := range scenes {
			for _, r := range []struct {
				name string
				r    render.SceneRenderer
			}{{"cpu", cpu.New()}, {"gl", gl}} {
				b.Run(fmt.Sprintf("%s/%d/%s", sc.name, size, r.name), func(b *testing.B) {
					// The first frame uploads the buffers and compiles the shaders.
					if err := r.r.RenderScene(img, sc.sc, c); err != nil {
						b.Fatal(err)
					}
					cpu0 := processCPU()
					for b.Loop() {
						if err := r.r.RenderScene(img, sc.sc, c); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
					if sc.name == "surfaces" {
						b.ReportMetric(float64(tris), "triangles")
					}
				})
			}
		}
	}
}
