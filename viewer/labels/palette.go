package labels

import (
	"image/color"
	"math"
)

// DefaultColor is the colour given to label value v before the user picks
// one: hues spread by the golden angle so that neighbouring values (liver 5,
// stomach 6) look different, at a saturation and value that read well over
// grey CT. Label 0 (background) is transparent.
func DefaultColor(v uint8) color.NRGBA {
	if v == 0 {
		return color.NRGBA{}
	}
	h := math.Mod(float64(v)*137.50776405, 360)
	s, val := 0.75, 0.95
	if v%2 == 0 {
		val = 0.8
	}
	r, g, b := hsv(h, s, val)
	return color.NRGBA{R: r, G: g, B: b, A: 255}
}

// Palette is the default colours of labels 0..255 with fill opacity alpha.
func Palette(alpha uint8) []color.NRGBA {
	p := make([]color.NRGBA, 256)
	for v := 1; v < 256; v++ {
		p[v] = DefaultColor(uint8(v))
		p[v].A = alpha
	}
	return p
}

func hsv(h, s, v float64) (uint8, uint8, uint8) {
	c := v * s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	m := v - c
	var r, g, b float64
	switch {
	case h < 60:
		r, g, b = c, x, 0
	case h < 120:
		r, g, b = x, c, 0
	case h < 180:
		r, g, b = 0, c, x
	case h < 240:
		r, g, b = 0, x, c
	case h < 300:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	to := func(f float64) uint8 { return uint8(math.Round((f + m) * 255)) }
	return to(r), to(g), to(b)
}
