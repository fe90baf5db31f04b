package labels

import "testing"

func TestPaletteDistinct(t *testing.T) {
	p := Palette(128)
	if p[0].A != 0 {
		t.Fatal("background is visible")
	}
	seen := map[[3]uint8]int{}
	for v := 1; v < 256; v++ {
		c := p[v]
		if c.A != 128 {
			t.Fatalf("label %d alpha %d", v, c.A)
		}
		k := [3]uint8{c.R, c.G, c.B}
		if w, dup := seen[k]; dup {
			t.Fatalf("labels %d and %d share colour %v", w, v, k)
		}
		seen[k] = v
	}
	// Neighbouring values must differ clearly (sum of channel differences).
	for v := 1; v < 255; v++ {
		a, b := p[v], p[v+1]
		d := absDiff(a.R, b.R) + absDiff(a.G, b.G) + absDiff(a.B, b.B)
		if d < 60 {
			t.Errorf("labels %d and %d are too alike: %v %v", v, v+1, a, b)
		}
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}
