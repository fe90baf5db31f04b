package codec

import "fmt"

// losslessScan decodes one lossless scan (T.81 Annex H): each sample is a
// prediction from its reconstructed neighbours plus a Huffman-coded
// difference, modulo 2^16; pt is the point transform (a left shift applied
// once the whole image is reconstructed).
func (s *jpegStream) losslessScan(b *bitReader, comps []*jpegComponent, predictor, pt int) error {
	if predictor < 1 || predictor > 7 {
		return fmt.Errorf("lossless predictor %d is not one of 1-7", predictor)
	}
	if pt >= s.precision {
		return fmt.Errorf("point transform %d leaves no bits of %d", pt, s.precision)
	}
	w, total := s.width, s.width*s.height
	initial := int32(1) << (s.precision - pt - 1)
	first := 0 // first sample of the current restart interval
	for i := 0; i < total; i++ {
		if s.restart > 0 && i > 0 && i%s.restart == 0 {
			if err := b.restartAt(); err != nil {
				return err
			}
			first = i
		}
		for _, c := range comps {
			t, err := b.decode(s.dc[c.td])
			if err != nil {
				return err
			}
			var diff int32
			switch {
			case t == 16:
				diff = 32768
			case t > 16:
				return fmt.Errorf("lossless difference category %d is over 16", t)
			default:
				diff = b.receiveExtend(t)
			}
			p := c.plane
			var px int32
			switch {
			case i == first:
				px = initial
			case i-first < w: // first line of the scan or interval: left neighbour
				px = p[i-1]
			case i%w == 0: // first column: the sample above
				px = p[i-w]
			default:
				px = predict(predictor, p[i-1], p[i-w], p[i-w-1])
			}
			p[i] = (px + diff) & 0xFFFF
		}
	}
	if pt > 0 {
		for _, c := range comps {
			for i := range c.plane {
				c.plane[i] <<= pt
			}
		}
	}
	return nil
}

// predict is T.81 Table H.1 with ra left, rb above and rc above-left.
func predict(sel int, ra, rb, rc int32) int32 {
	switch sel {
	case 1:
		return ra
	case 2:
		return rb
	case 3:
		return rc
	case 4:
		return ra + rb - rc
	case 5:
		return ra + (rb-rc)>>1
	case 6:
		return rb + (ra-rc)>>1
	default:
		return (ra + rb) >> 1
	}
}
