package main

import (
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
	"github.com/segvolapp/segvol/viewer/nifti"
)

const sampleLabels = "../../assets/sample/example_seg.nii.gz"

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestRenderShowsLiverWhereItIs renders the sample's middle axial slice with
// its labels and checks the pixel over a liver voxel is tinted with the
// liver's colour, and one over air outside the body is black-ish grey.
func TestRenderShowsLiverWhereItIs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ax.png")
	if st, _, errs := segvol(t, "render", sample, "--view", "axial", "--slice", "15",
		"--labels", sampleLabels, "--interp", "nearest", "--out", out); st != 0 {
		t.Fatalf("status %d: %s", st, errs)
	}
	img := readPNG(t, out)
	v, err := nifti.Read(sample)
	if err != nil {
		t.Fatal(err)
	}
	lab, err := nifti.Read(sampleLabels)
	if err != nil {
		t.Fatal(err)
	}
	// Find the liver voxel (label 5) of slice 15 that is deepest in the
	// organ along i, so its pixel is well inside the tint.
	data := lab.Data.([]uint8)
	bi, bj, run := -1, -1, 0
	for j := 0; j < v.Dims[1]; j++ {
		n := 0
		for i := 0; i < v.Dims[0]; i++ {
			if data[v.Offset(i, j, 15)] == 5 {
				n++
				if n > run {
					run, bi, bj = n, i-n/2, j
				}
			} else {
				n = 0
			}
		}
	}
	if run < 5 {
		t.Fatal("no liver on slice 15 of the sample")
	}
	f := mpr.Frame{Geom: v.Geom, Dims: v.Dims}
	view := mpr.View{Orient: mpr.Axial, Width: 512, Height: 512, Zoom: 1}
	w := v.Geom.IndexToWorld([3]float64{float64(bi), float64(bj), 15})
	x, y := view.WorldToScreen(f, w, w)
	r, g, b, _ := img.At(int(x), int(y)).RGBA()
	liver := labels.DefaultColor(5)
	// The fill blends the colour over grey: the pixel leans to it.
	grey := (r + g + b) / 3
	lean := func(c uint32, want uint8) bool {
		return (want > 128) == (c>>8 > grey>>8) || c>>8 == grey>>8
	}
	if !(lean(r, liver.R) && lean(g, liver.G) && lean(b, liver.B)) || (r == g && g == b) {
		t.Fatalf("pixel (%.0f,%.0f) over liver voxel (%d,%d,15) is %d,%d,%d: not tinted like %v", x, y, bi, bj, r>>8, g>>8, b>>8, liver)
	}
	// Voxel (0,0,15) is air outside the body: dark under a soft-tissue window.
	w0 := v.Geom.IndexToWorld([3]float64{0, 0, 15})
	x0, y0 := view.WorldToScreen(f, w, w0)
	if r0, _, _, _ := img.At(int(x0)+2, int(y0)+2).RGBA(); r0>>8 > 10 {
		t.Fatalf("air at (%.0f,%.0f) shows grey %d", x0, y0, r0>>8)
	}
}

func TestRenderViewsDiffer(t *testing.T) {
	dir := t.TempDir()
	var imgs []image.Image
	for _, o := range []string{"axial", "coronal", "sagittal"} {
		out := filepath.Join(dir, o+".png")
		if st, _, errs := segvol(t, "render", sample, "--view", o, "--out", out); st != 0 {
			t.Fatalf("%s: status %d: %s", o, st, errs)
		}
		imgs = append(imgs, readPNG(t, out))
	}
	for i, img := range imgs {
		if lit := litFraction(img); lit < 0.05 {
			t.Errorf("view %d is nearly blank: %.3f of pixels lit", i, lit)
		}
	}
	if same(imgs[0], imgs[1]) || same(imgs[1], imgs[2]) || same(imgs[0], imgs[2]) {
		t.Error("two views are identical")
	}
}

func TestRenderRejects(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.png")
	for _, args := range [][]string{
		{"render", sample, "--view", "oblique", "--out", out},
		{"render", sample, "--slice", "30", "--out", out},
		{"render", sample, "--window", "40", "--out", out},
		{"render", sample},
	} {
		if st, _, _ := segvol(t, args...); st != 2 {
			t.Errorf("%v: status %d, want 2", args, st)
		}
	}
	// A label map on another grid is refused.
	if st, _, errs := segvol(t, "render", sample, "--labels", "../../testdata/nibabel_testdata/standard.nii.gz", "--out", out); st != 1 {
		t.Errorf("mismatched labels: status %d (%s)", st, errs)
	}
}

func litFraction(img image.Image) float64 {
	b := img.Bounds()
	lit := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, _, _, _ := img.At(x, y).RGBA(); r>>8 > 20 {
				lit++
			}
		}
	}
	return float64(lit) / float64(b.Dx()*b.Dy())
}

func same(a, b image.Image) bool {
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

// TestRender3DPutsLiverOnPatientsRight renders the sample's segments in 3D
// from the front and from behind: the liver (on the patient's right) must
// fill the image's left half from the front and its right half from
// behind; the view from R equals the front view turned by azimuth -90.
func TestRender3DPutsLiverOnPatientsRight(t *testing.T) {
	dir := t.TempDir()
	pic := func(name string, args ...string) image.Image {
		out := filepath.Join(dir, name+".png")
		args = append([]string{"render", sample, "--view", "3d", "--labels", sampleLabels, "--size", "256", "--out", out}, args...)
		if st, _, errs := segvol(t, args...); st != 0 {
			t.Fatalf("%v: status %d: %s", args, st, errs)
		}
		return readPNG(t, out)
	}
	liver := labels.Palette(110)[5]
	// liverSides counts the pixels of the liver's colour, scaled by the
	// shading, in the left and right halves.
	liverSides := func(img image.Image) (left, right int) {
		for y := 0; y < 256; y++ {
			for x := 0; x < 256; x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				k := float64(r>>8) / float64(liver.R)
				if k < 0.3 || math.Abs(float64(g>>8)-k*float64(liver.G)) > 1.5 || math.Abs(float64(b>>8)-k*float64(liver.B)) > 1.5 {
					continue
				}
				if x < 128 {
					left++
				} else {
					right++
				}
			}
		}
		return left, right
	}
	l, r := liverSides(pic("a"))
	// Its left lobe crosses the midline: most of it, not all, is on one side.
	if l < 500 || 3*r > 2*l {
		t.Errorf("from the front: %d liver pixels on the left, %d on the right", l, r)
	}
	l, r = liverSides(pic("p", "--from", "P"))
	if r < 500 || 3*l > 2*r {
		t.Errorf("from behind: %d liver pixels on the left, %d on the right", l, r)
	}
	if !same(pic("r", "--from", "R"), pic("a90", "--azimuth", "-90")) {
		t.Error("the view from R differs from the front view turned by azimuth -90")
	}
	for _, args := range [][]string{{"--volume", "bogus"}, {"--from", "X"}} {
		a := append([]string{"render", sample, "--view", "3d", "--out", filepath.Join(dir, "x.png")}, args...)
		if st, _, _ := segvol(t, a...); st != 2 {
			t.Errorf("%v: status %d, want 2", args, st)
		}
	}
}
