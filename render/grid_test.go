package render

import (
	"math"
	"strings"
	"testing"
)

// TestGridIndex: a plane through voxel centres and half-way between them
// is exact in fixed point, so ties are ties, and Nearest breaks them upward.
func TestGridIndex(t *testing.T) {
	v := &Volume{Dims: [3]int{10, 10, 10}, WorldToIndex: [3][4]float64{{0.5, 0, 0, 1}, {0, 2, 0, 0}, {0, 0, 1, 0.5}}}
	p := Plane{Origin: [3]float64{1, 0.25, 2}, U: [3]float64{1, 0, 0}, V: [3]float64{0, 0.5, 0}}
	g, err := NewGrid(p, v, 512, 512)
	if err != nil {
		t.Fatal(err)
	}
	if g.Frac != maxFrac {
		t.Errorf("Frac %d for a small frame, want %d", g.Frac, maxFrac)
	}
	one := int32(1) << g.Frac
	// Pixel (4, 2): index (0.5*5 + 1, 2*(0.25+1), 2 + 0.5) = (3.5, 2.5, 2.5).
	want := [3]int32{7 * one / 2, 5 * one / 2, 5 * one / 2}
	for a := 0; a < 3; a++ {
		if got := g.Index(a, 4, 2); got != want[a] {
			t.Errorf("axis %d: index %d, want %d", a, got, want[a])
		}
	}
	if n := g.Nearest(5 * one / 2); n != 3 {
		t.Errorf("Nearest(2.5) = %d, want 3", n)
	}
	if n := g.Nearest(-one / 2); n != 0 {
		t.Errorf("Nearest(-0.5) = %d, want 0", n)
	}
	if n := g.Nearest(-one/2 - 1); n != -1 {
		t.Errorf("Nearest(just below -0.5) = %d, want -1", n)
	}
}

// TestGridFrac: far-out planes get fewer fractional bits, never an index
// beyond 2^30; planes beyond that, or not a number, are refused.
func TestGridFrac(t *testing.T) {
	v := &Volume{Dims: [3]int{10, 10, 10}, WorldToIndex: [3][4]float64{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}}
	p := Plane{Origin: [3]float64{-100000, 5, 5}, U: [3]float64{3, 0, 0}, V: [3]float64{0, 1, 0}}
	g, err := NewGrid(p, v, 1000, 800)
	if err != nil {
		t.Fatal(err)
	}
	if g.Frac >= maxFrac || g.Frac < minFrac {
		t.Errorf("Frac %d for indices near 1e5", g.Frac)
	}
	for _, xy := range [][2]int{{0, 0}, {999, 0}, {0, 799}, {999, 799}} {
		if i := int64(g.Index(0, xy[0], xy[1])); i > indexLimit || i < -indexLimit {
			t.Errorf("index %d at %v beyond 2^30", i, xy)
		}
	}
	p.Origin[0] = -1e9
	if _, err := NewGrid(p, v, 1000, 800); err == nil || !strings.Contains(err.Error(), "too far") {
		t.Errorf("a plane 1e9 voxels out: %v", err)
	}
	p.U[0] = math.NaN()
	if _, err := NewGrid(p, v, 10, 10); err == nil {
		t.Error("a NaN plane accepted")
	}
}
