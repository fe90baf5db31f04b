package codec

import "image"

// fullChroma returns Cb and Cr at full resolution. 4:2:2 and 4:2:0 use the
// triangle ("fancy") filter of IJG's default decoder, which dcmtk and most
// DICOM viewers show; image/jpeg only replicates, which differs by tens of
// levels at colour edges. Other ratios are replicated.
func fullChroma(m *image.YCbCr) (cb, cr []uint8) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	cb, cr = make([]uint8, w*h), make([]uint8, w*h)
	for _, p := range [2]struct{ src, dst []uint8 }{{m.Cb, cb}, {m.Cr, cr}} {
		row := func(r int) []uint8 { return p.src[r*m.CStride : r*m.CStride+cw] }
		for y := 0; y < h; y++ {
			out := p.dst[y*w : (y+1)*w]
			switch m.SubsampleRatio {
			case image.YCbCrSubsampleRatio422:
				fancyH2V1(row(y), out)
			case image.YCbCrSubsampleRatio420:
				// each output row blends its chroma row 3:1 with the nearer neighbour
				r, near := y/2, y/2-1
				if y%2 == 1 {
					near = y/2 + 1
				}
				fancyH2V2(row(r), row(min(max(near, 0), ch-1)), out)
			default:
				for x := range out {
					out[x] = p.src[m.COffset(x+m.Rect.Min.X, y+m.Rect.Min.Y)]
				}
			}
		}
	}
	return cb, cr
}

// fancyH2V1 doubles a row: each output sample is 3/4 its own input and 1/4
// the neighbour on its side, with IJG's alternating rounding.
func fancyH2V1(in, out []uint8) {
	n := len(in)
	for c := 0; c < n; c++ {
		left, right := in[max(c-1, 0)], in[min(c+1, n-1)]
		v := 3 * int(in[c])
		put2(out, 2*c, uint8((v+int(left)+1)>>2), uint8((v+int(right)+2)>>2))
	}
}

// fancyH2V2 doubles a row horizontally after mixing 3:1 with the vertically
// nearer row (in sums of 16ths, as IJG does).
func fancyH2V2(in, near, out []uint8) {
	n := len(in)
	sum := func(c int) int {
		c = min(max(c, 0), n-1)
		return 3*int(in[c]) + int(near[c])
	}
	for c := 0; c < n; c++ {
		v := 3 * sum(c)
		put2(out, 2*c, uint8((v+sum(c-1)+8)>>4), uint8((v+sum(c+1)+7)>>4))
	}
}

// put2 stores a and b at out[i], out[i+1], dropping what falls past an odd
// width.
func put2(out []uint8, i int, a, b uint8) {
	out[i] = a
	if i+1 < len(out) {
		out[i+1] = b
	}
}
