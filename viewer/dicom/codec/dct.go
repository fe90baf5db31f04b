package codec

import (
	"errors"
	"fmt"
	"math"
)

// zigzag maps the k-th coefficient in coding order to its row-major index.
var zigzag = [64]int{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// idctCos[x*8+u] is C(u)/2 * cos((2x+1)u*pi/16), the 1-D inverse DCT basis.
var idctCos = func() (t [64]float64) {
	for x := 0; x < 8; x++ {
		for u := 0; u < 8; u++ {
			c := 0.5
			if u == 0 {
				c = 0.5 / math.Sqrt2
			}
			t[x*8+u] = c * math.Cos(float64(2*x+1)*float64(u)*math.Pi/16)
		}
	}
	return
}()

// dctScan decodes a sequential Huffman DCT scan of a 12-bit grayscale image
// (T.81 Annex F), the case image/jpeg does not cover.
func (s *jpegStream) dctScan(b *bitReader, comps []*jpegComponent) error {
	if len(s.comps) != 1 {
		return errors.New("12-bit JPEG with more than one component is not supported")
	}
	c := comps[0]
	q := &s.quant[c.tq]
	bw, bh := (s.width+7)/8, (s.height+7)/8
	maxv := int32(1)<<s.precision - 1
	shift := float64(int32(1) << (s.precision - 1))
	var pred int32
	var blk [64]int32
	var px [64]float64
	for n := 0; n < bw*bh; n++ {
		if s.restart > 0 && n > 0 && n%s.restart == 0 {
			if err := b.restartAt(); err != nil {
				return err
			}
			pred = 0
		}
		t, err := b.decode(s.dc[c.td])
		if err != nil {
			return err
		}
		if t > 15 {
			return fmt.Errorf("DC difference category %d is over 15", t)
		}
		pred += b.receiveExtend(t)
		blk = [64]int32{}
		blk[0] = pred * q[0]
		for k := 1; k < 64; {
			rs, err := b.decode(s.ac[c.ta])
			if err != nil {
				return err
			}
			r, sz := rs>>4, rs&15
			if sz == 0 {
				if r != 15 {
					break // end of block
				}
				k += 16
				continue
			}
			k += r
			if k > 63 {
				return errors.New("AC coefficients run past the block")
			}
			blk[zigzag[k]] = b.receiveExtend(sz) * q[k]
			k++
		}
		idct(&blk, &px)
		x0, y0 := (n%bw)*8, (n/bw)*8
		for y := 0; y < 8 && y0+y < s.height; y++ {
			row := c.plane[(y0+y)*s.width:]
			for x := 0; x < 8 && x0+x < s.width; x++ {
				v := int32(math.Floor(px[y*8+x] + shift + 0.5))
				row[x0+x] = min(max(v, 0), maxv)
			}
		}
	}
	return nil
}

// idct is the separable 8x8 inverse DCT in float64, exact to rounding.
func idct(in *[64]int32, out *[64]float64) {
	var tmp [64]float64
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			var sum float64
			for u := 0; u < 8; u++ {
				if c := in[y*8+u]; c != 0 {
					sum += idctCos[x*8+u] * float64(c)
				}
			}
			tmp[y*8+x] = sum
		}
	}
	for x := 0; x < 8; x++ {
		for y := 0; y < 8; y++ {
			var sum float64
			for v := 0; v < 8; v++ {
				sum += idctCos[y*8+v] * tmp[v*8+x]
			}
			out[y*8+x] = sum
		}
	}
}
