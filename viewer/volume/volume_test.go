package volume

import (
	"errors"
	"math"
	"testing"
)

func near(a, b [3]float64, tol float64) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

func TestIndexWorldRoundTrip(t *testing.T) {
	// An oblique, anisotropic grid: 15 degrees about S, spacing 0.8, 0.8, 2.5.
	c, s := math.Cos(math.Pi/12), math.Sin(math.Pi/12)
	g := NewGeometry([3]float64{-120, 80, -300}, [3]float64{0.8, 0.8, 2.5},
		[3][3]float64{{c, s, 0}, {-s, c, 0}, {0, 0, 1}})
	p := [3]float64{10, 20, 3}
	w := g.IndexToWorld(p)
	want := [3]float64{-120 + 8*c - 16*s, 80 + 8*s + 16*c, -300 + 7.5}
	if !near(w, want, 1e-9) {
		t.Fatalf("IndexToWorld = %v, want %v", w, want)
	}
	back, err := g.WorldToIndex(w)
	if err != nil {
		t.Fatal(err)
	}
	if !near(back, p, 1e-9) {
		t.Fatalf("WorldToIndex = %v, want %v", back, p)
	}
	if sp := g.Spacing(); !near(sp, [3]float64{0.8, 0.8, 2.5}, 1e-12) {
		t.Fatalf("Spacing = %v", sp)
	}
	if g.Sheared() {
		t.Fatal("orthogonal grid reported as sheared")
	}
}

func TestShearedGeometry(t *testing.T) {
	// A gantry tilt of 20 degrees: the slice step leans along P.
	tilt := 20 * math.Pi / 180
	g := Geometry{Axes: [3][3]float64{{0.7, 0, 0}, {0, 0.7, 0}, {0, 3 * math.Sin(tilt), 3 * math.Cos(tilt)}}}
	if !g.Sheared() {
		t.Fatal("tilted grid not reported as sheared")
	}
	w := g.IndexToWorld([3]float64{0, 0, 10})
	if !near(w, [3]float64{0, 30 * math.Sin(tilt), 30 * math.Cos(tilt)}, 1e-9) {
		t.Fatalf("slice 10 at %v", w)
	}
	p, err := g.WorldToIndex(w)
	if err != nil || !near(p, [3]float64{0, 0, 10}, 1e-9) {
		t.Fatalf("WorldToIndex = %v, %v", p, err)
	}
}

func TestRASConversion(t *testing.T) {
	// A NIfTI affine in RAS with the usual x flip of radiological storage.
	ras := [4][4]float64{{-2, 0, 0, 90}, {0, 2, 0, -126}, {0, 0, 2, -72}, {0, 0, 0, 1}}
	g := FromAffineRAS(ras)
	// Voxel (0,0,0) is at RAS (90,-126,-72) = LPS (-90,126,-72).
	if !near(g.Origin, [3]float64{-90, 126, -72}, 0) {
		t.Fatalf("origin %v", g.Origin)
	}
	if o := g.Orientation(); o != "LAS" {
		t.Fatalf("orientation %q, want LAS", o)
	}
	if got := g.AffineRAS(); got != ras {
		t.Fatalf("AffineRAS round trip = %v", got)
	}
}

func TestSingularGeometry(t *testing.T) {
	g := Geometry{Axes: [3][3]float64{{1, 0, 0}, {2, 0, 0}, {0, 0, 1}}}
	if _, err := g.WorldToIndex([3]float64{}); !errors.Is(err, ErrSingular) {
		t.Fatalf("err = %v, want ErrSingular", err)
	}
}

func TestAllocBounds(t *testing.T) {
	if _, err := Alloc(Int16, [3]int{60000, 60000, 60000}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("60000^3: err = %v, want ErrTooLarge", err)
	}
	if _, err := Alloc(Int16, [3]int{4, 0, 4}); err == nil {
		t.Fatal("zero dimension accepted")
	}
	d, err := Alloc(Uint16, [3]int{3, 4, 5})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := d.([]uint16); !ok || len(s) != 60 {
		t.Fatalf("Alloc gave %T of len %d", d, len(s))
	}
}

func TestRangeAndRescale(t *testing.T) {
	v, err := New(Int16, [3]int{2, 2, 1}, Identity())
	if err != nil {
		t.Fatal(err)
	}
	copy(v.Data.([]int16), []int16{-1024, 0, 3071, 40})
	v.Slope, v.Intercept = 0.5, -10
	if lo, hi := v.StoredRange(); lo != -1024 || hi != 3071 {
		t.Fatalf("stored range %v..%v", lo, hi)
	}
	if lo, hi := v.Range(); lo != -522 || hi != 1525.5 {
		t.Fatalf("range %v..%v", lo, hi)
	}
	if got := v.Value(v.Offset(1, 1, 0)); got != 10 {
		t.Fatalf("value at (1,1,0) = %v", got)
	}
	if err := v.Validate(); err != nil {
		t.Fatal(err)
	}
	v.Data = []int16{1, 2, 3}
	if err := v.Validate(); err == nil {
		t.Fatal("short voxel slice accepted")
	}
	// A negative slope flips the range.
	v.Data, v.Slope, v.Intercept = []int16{0, 1, 2, 3}, -1, 0
	if lo, hi := v.Range(); lo != -3 || hi != 0 {
		t.Fatalf("negative slope range %v..%v", lo, hi)
	}
}

func TestFloatRangeIgnoresNaN(t *testing.T) {
	v := &Volume{Dims: [3]int{3, 1, 1}, Data: []float32{float32(math.NaN()), 2, -1}, Slope: 1}
	if lo, hi := v.StoredRange(); lo != -1 || hi != 2 {
		t.Fatalf("range %v..%v", lo, hi)
	}
}

func TestOnGridReorders(t *testing.T) {
	// A 4x3x2 grid stored LPS, and the same voxels stored with rows and
	// columns flipped (as dcm2niix writes a DICOM series).
	g := NewGeometry([3]float64{-10, 20, 5}, [3]float64{0.5, 0.8, 2}, [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}})
	dims := [3]int{4, 3, 2}
	img, _ := New(Uint8, dims, g)
	flipped := Geometry{Origin: g.IndexToWorld([3]float64{3, 2, 0}),
		Axes: [3][3]float64{{-0.5, 0, 0}, {0, -0.8, 0}, {0, 0, 2}}}
	lab, _ := New(Uint8, dims, flipped)
	ld := lab.Data.([]uint8)
	for n := range ld {
		ld[n] = uint8(n + 1)
	}
	got, err := lab.OnGrid(img.Dims, img.Geom)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 2; k++ {
		for j := 0; j < 3; j++ {
			for i := 0; i < 4; i++ {
				want := ld[lab.Offset(3-i, 2-j, k)]
				if v := got.Data.([]uint8)[got.Offset(i, j, k)]; v != want {
					t.Fatalf("voxel (%d,%d,%d) = %d, want %d", i, j, k, v, want)
				}
			}
		}
	}
	if same, _ := img.OnGrid(img.Dims, img.Geom); same != img {
		t.Fatal("same grid was copied")
	}
	shifted := Geometry{Origin: [3]float64{-9.75, 20, 5}, Axes: g.Axes}
	moved, _ := New(Uint8, dims, shifted)
	if _, err := moved.OnGrid(img.Dims, img.Geom); err == nil {
		t.Fatal("a grid shifted by half a voxel was accepted")
	}
	small, _ := New(Uint8, [3]int{2, 3, 2}, g)
	if _, err := small.OnGrid(img.Dims, img.Geom); err == nil {
		t.Fatal("a label map that does not cover the image was accepted")
	}
}
