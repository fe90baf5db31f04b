package main

import (
	"image"
	"image/png"
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
