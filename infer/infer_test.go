package infer

import "testing"

// TestHasBelow: through the rescale; a negative slope turns the largest
// stored value into the smallest (engines tell HU from other units by it).
func TestHasBelow(t *testing.T) {
	for _, c := range []struct {
		img  Image
		x    float64
		want bool
	}{
		{Image{Voxels: []uint16{0, 3000, 12}, Slope: 1, Intercept: -1024}, -500, true},
		{Image{Voxels: []uint16{600, 3000, 12}, Slope: 1, Intercept: -1024}, -1012, false},
		{Image{Voxels: []int16{-2000, 40, 7}, Slope: 1}, -500, true},
		{Image{Voxels: []uint16{0, 1800, 400}, Slope: 1}, -500, false},
		{Image{Voxels: []uint8{2, 9, 4}, Slope: -2, Intercept: 10}, -7, true},
		{Image{Voxels: []uint8{2, 8, 4}, Slope: -2, Intercept: 10}, -7, false},
		{Image{Voxels: []float32{0.5, -0.25}, Slope: 1}, 0, true},
		{Image{Voxels: []float64{}, Slope: 1, Intercept: -3000}, 0, false},
	} {
		if got := c.img.HasBelow(c.x); got != c.want {
			t.Errorf("%T %v slope %g intercept %g: HasBelow(%g) %v, want %v", c.img.Voxels, c.img.Voxels, c.img.Slope, c.img.Intercept, c.x, got, c.want)
		}
	}
}

func TestBoxContains(t *testing.T) {
	b := Box{Min: [3]int{1, 2, 3}, Max: [3]int{1, 4, 3}}
	for _, c := range []struct {
		p    [3]int
		want bool
	}{{[3]int{1, 2, 3}, true}, {[3]int{1, 4, 3}, true}, {[3]int{0, 3, 3}, false}, {[3]int{1, 5, 3}, false}, {[3]int{1, 3, 4}, false}} {
		if got := b.Contains(c.p[0], c.p[1], c.p[2]); got != c.want {
			t.Errorf("%v in %v: %v, want %v", c.p, b, got, c.want)
		}
	}
}
