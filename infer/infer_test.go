package infer

import "testing"

// TestMin: the smallest real value, through the rescale; a negative slope
// turns the largest stored value into the smallest (engines tell HU from
// other units by it).
func TestMin(t *testing.T) {
	for _, c := range []struct {
		img  Image
		want float64
	}{
		{Image{Voxels: []uint16{0, 3000, 12}, Slope: 1, Intercept: -1024}, -1024},
		{Image{Voxels: []int16{-2000, 40, 7}, Slope: 1}, -2000},
		{Image{Voxels: []uint8{2, 9, 4}, Slope: -2, Intercept: 10}, -8},
		{Image{Voxels: []float32{0.5, -0.25}, Slope: 1}, -0.25},
		{Image{Voxels: []float64{}, Slope: 1, Intercept: 3}, 3},
	} {
		if got := c.img.Min(); got != c.want {
			t.Errorf("%T %v slope %g intercept %g: Min %g, want %g", c.img.Voxels, c.img.Voxels, c.img.Slope, c.img.Intercept, got, c.want)
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
