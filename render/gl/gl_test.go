package gl

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/render/cpu"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/volume"
)

var sampleDir = filepath.Join("..", "..", "assets", "sample")

// newRenderer starts a standalone GL renderer, or skips where no display or
// GL can be had (but fails in CI, which runs this under xvfb-run).
func newRenderer(tb testing.TB) *Renderer {
	tb.Helper()
	r, err := NewStandalone()
	if err != nil {
		if os.Getenv("CI") == "" {
			tb.Skipf("no OpenGL here (run under xvfb-run): %v", err)
		}
		tb.Fatal(err)
	}
	tb.Cleanup(r.Close)
	return r
}

// study is a volume and its label map ready for rendering.
type study struct {
	frame mpr.Frame
	vol   *render.Volume
	seg   []uint8
}

func loadSample(tb testing.TB) study {
	tb.Helper()
	ct, err := nifti.Read(filepath.Join(sampleDir, "example_ct_sm.nii.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	seg, err := nifti.Read(filepath.Join(sampleDir, "example_seg.nii.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	lab, ok := seg.Data.([]uint8)
	if !ok || seg.Dims != ct.Dims {
		tb.Fatalf("label map is %T %v for a %v volume", seg.Data, seg.Dims, ct.Dims)
	}
	return newStudy(tb, ct, lab)
}

func newStudy(tb testing.TB, v *volume.Volume, seg []uint8) study {
	tb.Helper()
	rv, err := v.ForRender()
	if err != nil {
		tb.Fatal(err)
	}
	return study{frame: mpr.Frame{Geom: v.Geom, Dims: v.Dims}, vol: rv, seg: seg}
}

// planes are the three views through cursor, size x size pixels.
func (s study) planes(cursor [3]float64, size int) []render.Plane {
	var ps []render.Plane
	for _, o := range []mpr.Orientation{mpr.Axial, mpr.Coronal, mpr.Sagittal} {
		ps = append(ps, mpr.View{Orient: o, Width: size, Height: size, Zoom: 1}.Plane(s.frame, cursor))
	}
	return ps
}

// diff is the largest per-channel difference and the number of pixels that
// differ at all.
func diff(a, b *image.RGBA) (maxDiff, pixels int) {
	for i := 0; i < len(a.Pix); i += 4 {
		d := 0
		for c := 0; c < 4; c++ {
			d = max(d, int(a.Pix[i+c])-int(b.Pix[i+c]), int(b.Pix[i+c])-int(a.Pix[i+c]))
		}
		if d > 0 {
			pixels++
		}
		maxDiff = max(maxDiff, d)
	}
	return maxDiff, pixels
}

// compare renders each plane with both renderers in every mode and checks
// that they agree to within 2 grey levels per channel.
func compare(t *testing.T, r *Renderer, s study, planes []render.Plane, size int) {
	t.Helper()
	ref := cpu.New()
	want := image.NewRGBA(image.Rect(0, 0, size, size))
	got := image.NewRGBA(want.Rect)
	for pi, p := range planes {
		for _, interp := range []render.Interp{render.Nearest, render.Linear} {
			for _, mode := range []struct {
				fill, outline bool
				hatched       uint8
			}{{true, false, 0}, {false, true, 0}, {true, true, 0}, {true, true, commonest(s.seg)}} {
				l := &render.Labels{Data: s.seg, Colors: labels.Palette(128), Fill: mode.fill, Outline: mode.outline, Hatched: mode.hatched}
				o := render.Options{Center: 40, Width: 400, Interp: interp}
				if err := ref.Render(want, p, s.vol, l, o); err != nil {
					t.Fatal(err)
				}
				if err := r.Render(got, p, s.vol, l, o); err != nil {
					t.Fatal(err)
				}
				name := fmt.Sprintf("plane %d interp %d fill %v outline %v hatched %d", pi, interp, mode.fill, mode.outline, mode.hatched)
				if blank(want) {
					t.Errorf("%s: the reference image is blank", name)
				}
				m, n := diff(want, got)
				t.Logf("%s: max difference %d, %d pixels differ", name, m, n)
				if m > 2 {
					t.Errorf("%s: max channel difference %d (> 2), %d pixels differ", name, m, n)
				}
			}
		}
	}
}

// commonest is the label most voxels have (0 for none): the one whose
// hatching covers most pixels.
func commonest(seg []uint8) uint8 {
	var n [256]int
	for _, v := range seg {
		n[v]++
	}
	best, most := 0, 0
	for v := 1; v < 256; v++ {
		if n[v] > most {
			best, most = v, n[v]
		}
	}
	return uint8(best)
}

func blank(img *image.RGBA) bool {
	for i := 0; i < len(img.Pix); i += 4 {
		if img.Pix[i] != 0 || img.Pix[i+1] != 0 || img.Pix[i+2] != 0 {
			return false
		}
	}
	return true
}

// TestSampleViews: the sample study's three views through its centre (where
// an axial plane falls exactly between two slices: a nearest-sampling tie)
// and through an off-centre cursor.
func TestSampleViews(t *testing.T) {
	r := newRenderer(t)
	s := loadSample(t)
	c := s.frame.Centre()
	planes := s.planes(c, 512)
	planes = append(planes, s.planes([3]float64{c[0] + 17.3, c[1] - 9.1, c[2] + 4.4}, 512)...)
	compare(t, r, s, planes, 512)
}

// TestObliqueVolume: the sample rotated by 20 degrees about an oblique axis
// through its centre, drawn in axial planes of patient space.
func TestObliqueVolume(t *testing.T) {
	r := newRenderer(t)
	s := loadSample(t)
	g := s.frame.Geom
	centre := s.frame.Centre()
	rot := rotation([3]float64{1, 1, 0}, 20*math.Pi/180)
	var ng volume.Geometry
	for a := 0; a < 3; a++ {
		ng.Axes[a] = mulVec(rot, g.Axes[a])
	}
	oc := mulVec(rot, sub(g.Origin, centre))
	for c := 0; c < 3; c++ {
		ng.Origin[c] = centre[c] + oc[c]
	}
	vol := &volume.Volume{Dims: s.frame.Dims, Data: s.vol.Voxels, Slope: s.vol.Slope, Intercept: s.vol.Intercept, Geom: ng}
	os := newStudy(t, vol, s.seg)
	var planes []render.Plane
	for _, dz := range []float64{-20, 0, 13} {
		v := mpr.View{Orient: mpr.Axial, Width: 300, Height: 260, Zoom: 1.3}
		planes = append(planes, v.Plane(os.frame, [3]float64{centre[0], centre[1], centre[2] + dz}))
	}
	ref := cpu.New()
	want := image.NewRGBA(image.Rect(0, 0, 300, 260))
	got := image.NewRGBA(want.Rect)
	for i, p := range planes {
		for _, interp := range []render.Interp{render.Nearest, render.Linear} {
			l := &render.Labels{Data: os.seg, Colors: labels.Palette(100), Fill: true, Outline: true}
			o := render.Options{Center: 40, Width: 400, Interp: interp}
			if err := ref.Render(want, p, os.vol, l, o); err != nil {
				t.Fatal(err)
			}
			if err := r.Render(got, p, os.vol, l, o); err != nil {
				t.Fatal(err)
			}
			m, n := diff(want, got)
			t.Logf("oblique plane %d interp %d: max difference %d, %d pixels differ", i, interp, m, n)
			if m > 2 || blank(got) {
				t.Errorf("oblique plane %d interp %d: max channel difference %d, %d pixels differ, blank %v", i, interp, m, n, blank(got))
			}
		}
	}
}

// rotation is the matrix of a rotation by angle about axis (Rodrigues).
func rotation(axis [3]float64, angle float64) [3][3]float64 {
	n := math.Sqrt(axis[0]*axis[0] + axis[1]*axis[1] + axis[2]*axis[2])
	x, y, z := axis[0]/n, axis[1]/n, axis[2]/n
	c, s := math.Cos(angle), math.Sin(angle)
	return [3][3]float64{
		{c + x*x*(1-c), x*y*(1-c) - z*s, x*z*(1-c) + y*s},
		{y*x*(1-c) + z*s, c + y*y*(1-c), y*z*(1-c) - x*s},
		{z*x*(1-c) - y*s, z*y*(1-c) + x*s, c + z*z*(1-c)},
	}
}

func mulVec(m [3][3]float64, v [3]float64) [3]float64 {
	var r [3]float64
	for i := 0; i < 3; i++ {
		r[i] = m[i][0]*v[0] + m[i][1]*v[1] + m[i][2]*v[2]
	}
	return r
}

func sub(a, b [3]float64) [3]float64 { return [3]float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }

// TestVoxelTypes: every voxel type the renderer accepts gives render/cpu's
// image, on a small synthetic volume with values across each type's range.
func TestVoxelTypes(t *testing.T) {
	r := newRenderer(t)
	dims := [3]int{7, 5, 4}
	n := dims[0] * dims[1] * dims[2]
	ramp := func(i int) float64 { return float64(i*37%n) / float64(n-1) } // 0..1, shuffled
	types := map[string]any{
		"int8":    fill[int8](n, func(i int) int8 { return int8(ramp(i)*255 - 128) }),
		"uint8":   fill[uint8](n, func(i int) uint8 { return uint8(ramp(i) * 255) }),
		"int16":   fill[int16](n, func(i int) int16 { return int16(ramp(i)*4000 - 1000) }),
		"uint16":  fill[uint16](n, func(i int) uint16 { return uint16(ramp(i) * 60000) }),
		"int32":   fill[int32](n, func(i int) int32 { return int32(ramp(i)*4000 - 1000) }),
		"uint32":  fill[uint32](n, func(i int) uint32 { return uint32(ramp(i) * 4000) }),
		"float32": fill[float32](n, func(i int) float32 { return float32(ramp(i)*4000 - 1000) }),
		"float64": fill[float64](n, func(i int) float64 { return ramp(i)*4000 - 1000 }),
	}
	seg := fill[uint8](n, func(i int) uint8 { return uint8(i % 3) })
	g := volume.NewGeometry([3]float64{-3, -2, -1}, [3]float64{1, 1.5, 2}, [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}})
	ref := cpu.New()
	want := image.NewRGBA(image.Rect(0, 0, 40, 30))
	got := image.NewRGBA(want.Rect)
	for name, data := range types {
		s := newStudy(t, &volume.Volume{Dims: dims, Data: data, Slope: 1.5, Intercept: -7, Geom: g}, seg)
		for _, interp := range []render.Interp{render.Nearest, render.Linear} {
			p := mpr.View{Orient: mpr.Coronal, Width: 40, Height: 30, Zoom: 0.9}.Plane(s.frame, s.frame.Centre())
			l := &render.Labels{Data: seg, Colors: labels.Palette(90), Fill: true, Outline: true}
			o := render.Options{Center: 1000, Width: 3000, Interp: interp}
			if err := ref.Render(want, p, s.vol, l, o); err != nil {
				t.Fatal(err)
			}
			if err := r.Render(got, p, s.vol, l, o); err != nil {
				t.Fatal(err)
			}
			if m, k := diff(want, got); m > 2 {
				t.Errorf("%s interp %d: max channel difference %d, %d pixels differ", name, interp, m, k)
			}
		}
	}
}

func fill[T any](n int, f func(int) T) []T {
	d := make([]T, n)
	for i := range d {
		d[i] = f(i)
	}
	return d
}

// TestInvalidate: voxels changed in place show after Invalidate, and a
// closed renderer says so.
func TestInvalidate(t *testing.T) {
	r, err := NewStandalone()
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no OpenGL here (run under xvfb-run): %v", err)
		}
		t.Fatal(err)
	}
	data := make([]int16, 8)
	s := newStudy(t, &volume.Volume{Dims: [3]int{2, 2, 2}, Data: data, Slope: 1, Geom: volume.Identity()}, nil)
	p := render.Plane{Origin: [3]float64{0, 0, 0}, U: [3]float64{1, 0, 0}, V: [3]float64{0, 1, 0}}
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	o := render.Options{Center: 50, Width: 100}
	if err := r.Render(img, p, s.vol, nil, o); err != nil {
		t.Fatal(err)
	}
	if img.Pix[0] != 0 {
		t.Fatalf("grey %d for value 0, want 0", img.Pix[0])
	}
	data[0] = 100
	r.Invalidate()
	if err := r.Render(img, p, s.vol, nil, o); err != nil {
		t.Fatal(err)
	}
	if img.Pix[0] != 255 {
		t.Errorf("grey %d after changing the voxel to 100 and Invalidate, want 255", img.Pix[0])
	}
	// An edit of the labels re-uploads them alone: the label shows, and a
	// voxel changed without Invalidate is not re-read.
	lab := make([]uint8, 8)
	colors := make([]color.NRGBA, 2)
	colors[1] = color.NRGBA{R: 255, A: 255}
	l := &render.Labels{Data: lab, Colors: colors, Fill: true}
	if err := r.Render(img, p, s.vol, l, o); err != nil {
		t.Fatal(err)
	}
	lab[0], data[1] = 1, 100
	r.InvalidateLabels()
	if err := r.Render(img, p, s.vol, l, o); err != nil {
		t.Fatal(err)
	}
	if c := img.RGBAAt(0, 0); c.R != 255 || c.G != 0 {
		t.Errorf("pixel %v after labelling voxel 0 and InvalidateLabels, want red", c)
	}
	if img.Pix[4] != 0 {
		t.Errorf("grey %d at voxel 1: the voxels were uploaded again", img.Pix[4])
	}
	r.Close()
	if err := r.Render(img, p, s.vol, nil, o); err != ErrClosed {
		t.Errorf("Render after Close: %v, want ErrClosed", err)
	}
}

// big is the sample upsampled to a 512x512x300 int16 CT with its labels,
// built once for the memory test and the benchmark.
var big = sync.OnceValue(func() study {
	ct, err := nifti.Read(filepath.Join(sampleDir, "example_ct_sm.nii.gz"))
	if err != nil {
		panic(err)
	}
	seg, err := nifti.Read(filepath.Join(sampleDir, "example_seg.nii.gz"))
	if err != nil {
		panic(err)
	}
	dims := [3]int{512, 512, 300}
	// Index tables: the nearest sample voxel along each axis.
	var near [3][]int
	var geom volume.Geometry
	for a := 0; a < 3; a++ {
		scale := float64(ct.Dims[a]) / float64(dims[a])
		near[a] = make([]int, dims[a])
		for i := range near[a] {
			near[a][i] = min(int((float64(i)+0.5)*scale), ct.Dims[a]-1)
		}
		for c := 0; c < 3; c++ {
			geom.Axes[a][c] = ct.Geom.Axes[a][c] * scale
			// Voxel 0 of the new grid is centred half a new voxel inside the
			// old grid's edge.
			geom.Origin[c] += ct.Geom.Axes[a][c] * (0.5*scale - 0.5)
		}
	}
	for c := 0; c < 3; c++ {
		geom.Origin[c] += ct.Geom.Origin[c]
	}
	src, lsrc := ct.Data.([]int16), seg.Data.([]uint8)
	// Allocated as the readers allocate (huge pages where Linux offers).
	va, err := volume.Alloc(volume.Int16, dims)
	if err != nil {
		panic(err)
	}
	la, err := volume.Alloc(volume.Uint8, dims)
	if err != nil {
		panic(err)
	}
	vox, lab := va.([]int16), la.([]uint8)
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			row := ct.Dims[0] * (near[1][j] + ct.Dims[1]*near[2][k])
			o := dims[0] * (j + dims[1]*k)
			for i := 0; i < dims[0]; i++ {
				vox[o+i] = src[row+near[0][i]]
				lab[o+i] = lsrc[row+near[0][i]]
			}
		}
	}
	v := &volume.Volume{Dims: dims, Data: vox, Slope: ct.Slope, Intercept: ct.Intercept, Geom: geom}
	rv, err := v.ForRender()
	if err != nil {
		panic(err)
	}
	return study{frame: mpr.Frame{Geom: geom, Dims: dims}, vol: rv, seg: lab}
})

// TestTextureMemory: a 512x512x300 int16 CT with its label map takes at
// most twice its voxel bytes on the GPU.
func TestTextureMemory(t *testing.T) {
	r := newRenderer(t)
	s := big()
	img := image.NewRGBA(image.Rect(0, 0, 512, 512))
	l := &render.Labels{Data: s.seg, Colors: labels.Palette(128), Fill: true}
	for _, p := range s.planes(s.frame.Centre(), 512) {
		if err := r.Render(img, p, s.vol, l, render.Options{Center: 40, Width: 400}); err != nil {
			t.Fatal(err)
		}
	}
	voxelBytes := int64(len(s.seg)) * 2
	got := r.TextureBytes()
	t.Logf("texture bytes %d for %d voxel bytes (%.3fx)", got, voxelBytes, float64(got)/float64(voxelBytes))
	if got > 2*voxelBytes {
		t.Errorf("texture bytes %d > 2 x %d voxel bytes", got, voxelBytes)
	}
}

// BenchmarkRender3Views draws the three 512x512 views of a 512x512x300 CT
// with its label overlay (fill and outline) per op, with render/cpu (one
// renderer per view) and render/gl, so their ratio comes from one run.
func BenchmarkRender3Views(b *testing.B) {
	s := big()
	planes := s.planes(s.frame.Centre(), 512)
	l := &render.Labels{Data: s.seg, Colors: labels.Palette(128), Fill: true, Outline: true}
	imgs := make([]*image.RGBA, 3)
	for i := range imgs {
		imgs[i] = image.NewRGBA(image.Rect(0, 0, 512, 512))
	}
	run := func(b *testing.B, rs []render.Renderer, interp render.Interp) {
		o := render.Options{Center: 40, Width: 400, Interp: interp}
		// The first frame uploads the textures and compiles the shaders.
		for i, p := range planes {
			if err := rs[i].Render(imgs[i], p, s.vol, l, o); err != nil {
				b.Fatal(err)
			}
		}
		cpu0 := processCPU()
		for b.Loop() {
			for i, p := range planes {
				if err := rs[i].Render(imgs[i], p, s.vol, l, o); err != nil {
					b.Fatal(err)
				}
			}
		}
		// On a shared machine the wall time depends on the neighbours; the
		// CPU time the process spent (llvmpipe's threads included) less so.
		b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	}
	for _, interp := range []render.Interp{render.Nearest, render.Linear} {
		name := map[render.Interp]string{render.Nearest: "nearest", render.Linear: "linear"}[interp]
		b.Run("cpu/"+name, func(b *testing.B) {
			run(b, []render.Renderer{cpu.New(), cpu.New(), cpu.New()}, interp)
		})
		b.Run("gl/"+name, func(b *testing.B) {
			r := newRenderer(b)
			run(b, []render.Renderer{r, r, r}, interp)
		})
	}
}

// processCPU is the user and system CPU time of the process in nanoseconds.
func processCPU() int64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return u.Utime.Nano() + u.Stime.Nano()
}

// TestLabelBoxUpdate: after an edit the label texture takes only the box
// the label map says changed (a real LabelMap, read as the editor reads
// it), and when the map no longer knows, all of it.
func TestLabelBoxUpdate(t *testing.T) {
	r := newRenderer(t)
	dims := [3]int{32, 24, 8}
	vol := &volume.Volume{Dims: dims, Data: make([]int16, dims[0]*dims[1]*dims[2]), Slope: 1, Geom: volume.Identity()}
	s := newStudy(t, vol, nil)
	m, err := labels.New(vol)
	if err != nil {
		t.Fatal(err)
	}
	seg, err := m.AddSegment("box")
	if err != nil {
		t.Fatal(err)
	}
	// The axial plane through slice 3, one pixel per voxel.
	p := render.Plane{Origin: [3]float64{0, 0, 3}, U: [3]float64{1, 0, 0}, V: [3]float64{0, 1, 0}}
	img := image.NewRGBA(image.Rect(0, 0, dims[0], dims[1]))
	draw := func() {
		var l render.Labels
		m.ReadChanges(func(vox []uint8, rev uint64, since func(uint64) (labels.Change, bool)) {
			l = render.Labels{Data: vox, Colors: labels.Palette(4), Fill: true, Revision: rev,
				Changed: func(old uint64) (lo, hi [3]int, ok bool) {
					c, ok := since(old)
					lo, hi = c.Box()
					return lo, hi, ok
				}}
			if err := r.Render(img, p, s.vol, &l, render.Options{Center: 50, Width: 100}); err != nil {
				t.Fatal(err)
			}
		})
	}
	draw()
	full := r.st.labels.uploaded
	if want := int64(len(vol.Data.([]int16))); full != want {
		t.Fatalf("first upload sent %d bytes, want the whole map's %d", full, want)
	}
	box := func(i0, j0, i1, j1 int) []uint8 {
		mask := make([]uint8, len(vol.Data.([]int16)))
		for j := j0; j <= j1; j++ {
			for i := i0; i <= i1; i++ {
				mask[i+dims[0]*(j+dims[1]*3)] = 1
			}
		}
		return mask
	}
	if _, err := m.Apply(box(4, 5, 9, 7), seg, labels.Add); err != nil {
		t.Fatal(err)
	}
	draw()
	if got, want := r.st.labels.uploaded-full, int64(6*3*1); got != want {
		t.Errorf("an edit of 6x3x1 voxels sent %d bytes, want %d", got, want)
	}
	tinted := func(i, j int) bool { c := img.RGBAAt(i, j); return c.R != c.G || c.G != c.B }
	if !tinted(4, 5) || !tinted(9, 7) || tinted(3, 5) || tinted(10, 7) {
		t.Error("the edited box is not drawn exactly where it was labelled")
	}
	// 64 more revisions than the map remembers: the whole map again.
	for range 65 {
		if err := m.Recolor(seg, color.NRGBA{R: 255, A: 255}); err != nil {
			t.Fatal(err)
		}
	}
	before := r.st.labels.uploaded
	draw()
	if got := r.st.labels.uploaded - before; got != full {
		t.Errorf("after the map forgot the changes %d bytes were sent, want all %d", got, full)
	}
}

// BenchmarkBrushEdit times the frame (three views) after a brush dab, a
// 20x20x3-voxel box of a 512x512x300 label map, on render/gl: "box" updates
// that box of the label texture, "all" re-uploads the whole map as an
// InvalidateLabels does.
func BenchmarkBrushEdit(b *testing.B) {
	s := big()
	planes := s.planes(s.frame.Centre(), 512)
	img := image.NewRGBA(image.Rect(0, 0, 512, 512))
	o := render.Options{Center: 40, Width: 400}
	for _, mode := range []string{"box", "all"} {
		b.Run(mode, func(b *testing.B) {
			r := newRenderer(b)
			l := &render.Labels{Data: s.seg, Colors: labels.Palette(128), Fill: true, Outline: true}
			if mode == "box" {
				l.Changed = func(old uint64) (lo, hi [3]int, ok bool) {
					if old == l.Revision {
						return [3]int{}, [3]int{-1, -1, -1}, true
					}
					return [3]int{246, 246, 149}, [3]int{265, 265, 151}, true
				}
			}
			for b.Loop() {
				l.Revision++
				if mode == "all" {
					r.InvalidateLabels()
				}
				for _, p := range planes {
					if err := r.Render(img, p, s.vol, l, o); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// Under Xvfb the driver is Mesa's llvmpipe, which Software recognises.
func TestSoftwareDevice(t *testing.T) {
	r := newRenderer(t)
	if r.Device() == "" {
		t.Fatal("no GL_RENDERER")
	}
	if want := strings.Contains(r.Device(), "llvmpipe"); r.Software() != want {
		t.Errorf("Software() = %v for %q", r.Software(), r.Device())
	}
	t.Logf("GL_RENDERER %q, software %v", r.Device(), r.Software())
}
