package codec

import (
	"errors"
	"fmt"
)

// The parts of ITU-T T.81 shared by the lossless (Annex H) and 12-bit
// sequential DCT decoders: markers, Huffman tables and the entropy bit reader.

const (
	mSOF0 = 0xC0 // baseline DCT
	mSOF1 = 0xC1 // extended sequential DCT, Huffman
	mSOF2 = 0xC2 // progressive DCT, Huffman
	mSOF3 = 0xC3 // lossless, Huffman
	mDHT  = 0xC4
	mRST0 = 0xD0
	mSOI  = 0xD8
	mEOI  = 0xD9
	mSOS  = 0xDA
	mDQT  = 0xDB
	mDNL  = 0xDC
	mDRI  = 0xDD
)

type jpegComponent struct {
	id, h, v, tq int
	td, ta       int     // DC and AC Huffman tables of the current scan
	plane        []int32 // decoded samples, width*height of the image
}

// jpegStream is the decoder state of one JPEG image.
type jpegStream struct {
	data          []byte
	pos           int
	sof           int
	precision     int
	width, height int
	comps         []jpegComponent
	dc, ac        [4]*huffman
	quant         [4][64]int32 // zigzag order, as DQT stores them
	restart       int          // MCUs per restart interval, 0 for none
	frameSeen     bool
	f             Frame
}

// readMarker returns the next marker code, skipping fill bytes.
func (s *jpegStream) readMarker() (int, error) {
	if s.pos+1 >= len(s.data) || s.data[s.pos] != 0xFF {
		return 0, errors.New("expected a JPEG marker")
	}
	for s.pos < len(s.data) && s.data[s.pos] == 0xFF {
		s.pos++
	}
	if s.pos >= len(s.data) {
		return 0, errTruncated
	}
	m := int(s.data[s.pos])
	s.pos++
	return m, nil
}

// segment returns the payload of the marker segment at pos and moves past it.
func (s *jpegStream) segment() ([]byte, error) {
	if s.pos+2 > len(s.data) {
		return nil, errTruncated
	}
	n := int(s.data[s.pos])<<8 | int(s.data[s.pos+1])
	if n < 2 || s.pos+n > len(s.data) {
		return nil, fmt.Errorf("%w: marker segment of %d bytes", errTruncated, n)
	}
	seg := s.data[s.pos+2 : s.pos+n]
	s.pos += n
	return seg, nil
}

// decodeJPEGStream parses markers and decodes every scan into component
// planes; it handles SOF3 (lossless) and 12-bit SOF0/SOF1 (DCT).
func (s *jpegStream) decode() error {
	if m, err := s.readMarker(); err != nil || m != mSOI {
		return errors.New("not a JPEG stream (no SOI marker)")
	}
	for {
		m, err := s.readMarker()
		if err != nil {
			return err
		}
		switch {
		case m == mEOI:
			if !s.frameSeen {
				return errors.New("JPEG stream ends before any image")
			}
			return nil
		case m == mSOS:
			seg, err := s.segment()
			if err != nil {
				return err
			}
			if err := s.scan(seg); err != nil {
				return err
			}
		case m >= mRST0 && m <= mRST0+7, m == 0x01:
			// standalone markers without a length
		default:
			seg, err := s.segment()
			if err != nil {
				return err
			}
			if err := s.header(m, seg); err != nil {
				return err
			}
		}
	}
}

// header interprets one table or frame marker segment.
func (s *jpegStream) header(m int, seg []byte) error {
	switch m {
	case mSOF0, mSOF1, mSOF3:
		return s.frameHeader(m, seg)
	case mDHT:
		return s.huffmanTables(seg)
	case mDQT:
		return s.quantTables(seg)
	case mDRI:
		if len(seg) != 2 {
			return errors.New("bad DRI segment")
		}
		s.restart = int(seg[0])<<8 | int(seg[1])
	case mDNL:
		return errors.New("DNL marker (height defined later) is not supported")
	default:
		if m >= 0xC0 && m <= 0xCF && m != 0xC8 && m != 0xCC {
			return fmt.Errorf("JPEG process SOF%d is not supported here", m-0xC0)
		}
	}
	return nil // APPn, COM and the like carry nothing the samples need
}

func (s *jpegStream) frameHeader(m int, seg []byte) error {
	if s.frameSeen {
		return errors.New("second frame header in one JPEG stream")
	}
	if len(seg) < 6 {
		return errTruncated
	}
	s.sof = m
	s.precision = int(seg[0])
	s.height = int(seg[1])<<8 | int(seg[2])
	s.width = int(seg[3])<<8 | int(seg[4])
	n := int(seg[5])
	if len(seg) != 6+3*n || n == 0 {
		return errors.New("bad SOF segment")
	}
	if err := checkDims(s.f, s.width, s.height, n, s.precision); err != nil {
		return err
	}
	lossless := m == mSOF3
	if lossless && (s.precision < 2 || s.precision > 16) || !lossless && s.precision != 12 {
		return fmt.Errorf("unsupported %d-bit precision for SOF%d", s.precision, m-0xC0)
	}
	for i := 0; i < n; i++ {
		c := jpegComponent{id: int(seg[6+3*i]), h: int(seg[7+3*i] >> 4), v: int(seg[7+3*i] & 15), tq: int(seg[8+3*i])}
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return errors.New("bad component in SOF segment")
		}
		if n > 1 && (c.h != 1 || c.v != 1) {
			return errors.New("subsampled components are not supported in lossless or 12-bit JPEG")
		}
		c.plane = make([]int32, s.width*s.height)
		s.comps = append(s.comps, c)
	}
	s.frameSeen = true
	return nil
}

func (s *jpegStream) quantTables(seg []byte) error {
	for len(seg) > 0 {
		pq, tq := int(seg[0]>>4), int(seg[0]&15)
		size := 64 * (pq + 1)
		if tq > 3 || pq > 1 || len(seg) < 1+size {
			return errors.New("bad DQT segment")
		}
		for k := 0; k < 64; k++ {
			if pq == 0 {
				s.quant[tq][k] = int32(seg[1+k])
			} else {
				s.quant[tq][k] = int32(seg[1+2*k])<<8 | int32(seg[2+2*k])
			}
		}
		seg = seg[1+size:]
	}
	return nil
}

// huffman is a decoding table built from DHT code lengths (T.81 F.2.2.3),
// with a lookup for codes of up to lookupBits bits.
type huffman struct {
	lookup  [1 << lookupBits]uint16 // length<<8 | value, 0 when longer
	maxcode [18]int32
	valptr  [17]int32
	mincode [17]int32
	values  []byte
}

const lookupBits = 9

func (s *jpegStream) huffmanTables(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return errors.New("bad DHT segment")
		}
		tc, th := int(seg[0]>>4), int(seg[0]&15)
		if tc > 1 || th > 3 {
			return errors.New("bad DHT table id")
		}
		total := 0
		for _, c := range seg[1:17] {
			total += int(c)
		}
		if total > 256 || len(seg) < 17+total {
			return errors.New("bad DHT segment")
		}
		h := &huffman{values: append([]byte(nil), seg[17:17+total]...)}
		code, k := int32(0), int32(0)
		for l := 1; l <= 16; l++ {
			n := int32(seg[l])
			// Checked before the lookup table is filled with these codes.
			if code+n > 1<<l {
				return errors.New("DHT codes overflow their lengths")
			}
			h.valptr[l] = k
			h.mincode[l] = code
			for i := int32(0); i < n; i++ {
				if l <= lookupBits {
					lo := int(code+i) << (lookupBits - l)
					for j := 0; j < 1<<(lookupBits-l); j++ {
						h.lookup[lo+j] = uint16(l)<<8 | uint16(h.values[k+i])
					}
				}
			}
			code += n
			k += n
			h.maxcode[l] = code - 1
			if n == 0 {
				h.maxcode[l] = -1
			}
			code <<= 1
		}
		h.maxcode[17] = 1 << 30 // sentinel so decoding always ends
		if tc == 0 {
			s.dc[th] = h
		} else {
			s.ac[th] = h
		}
		seg = seg[17+total:]
	}
	return nil
}

// bitReader reads entropy-coded bits, undoing 0xFF00 stuffing and stopping
// at the next marker, past which it feeds zeros as T.81 decoders do.
type bitReader struct {
	data  []byte
	pos   int
	acc   uint64
	nbits uint
	// marker is set once a marker stops the data.
	marker bool
	// zeros counts bits fed past the end, to catch streams that are cut off.
	zeros int
}

func (b *bitReader) fill() {
	for b.nbits <= 56 {
		if b.marker || b.pos >= len(b.data) {
			b.acc <<= 8
			b.nbits += 8
			b.zeros += 8
			b.marker = true
			continue
		}
		c := b.data[b.pos]
		if c == 0xFF {
			if b.pos+1 < len(b.data) && b.data[b.pos+1] == 0 {
				b.pos += 2
			} else {
				b.marker = true
				continue
			}
		} else {
			b.pos++
		}
		b.acc = b.acc<<8 | uint64(c)
		b.nbits += 8
	}
}

func (b *bitReader) bits(n uint) int32 {
	if n == 0 {
		return 0
	}
	if b.nbits < n {
		b.fill()
	}
	b.nbits -= n
	return int32(b.acc>>b.nbits) & (1<<n - 1)
}

// overrun reports whether decoding consumed bits that the stream never had.
func (b *bitReader) overrun() bool { return b.zeros > 0 && b.zeros-int(b.nbits) > 0 }

// decode reads one Huffman-coded value.
func (b *bitReader) decode(h *huffman) (int, error) {
	if h == nil {
		return 0, errors.New("scan uses an undefined Huffman table")
	}
	if b.nbits < 16 {
		b.fill()
	}
	if e := h.lookup[(b.acc>>(b.nbits-lookupBits))&(1<<lookupBits-1)]; e != 0 {
		b.nbits -= uint(e >> 8)
		return int(e & 0xFF), nil
	}
	code := int32(0)
	for l := 1; l <= 16; l++ {
		code = code<<1 | b.bits(1)
		if code <= h.maxcode[l] {
			return int(h.values[h.valptr[l]+code-h.mincode[l]]), nil
		}
	}
	return 0, errors.New("bad Huffman code")
}

// receiveExtend reads an s-bit magnitude and sign-extends it (T.81 F.2.2.1).
func (b *bitReader) receiveExtend(s int) int32 {
	if s == 0 {
		return 0
	}
	v := b.bits(uint(s))
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

// restartAt moves the reader to just past the RSTn marker that must follow.
func (b *bitReader) restartAt() error {
	b.acc, b.nbits, b.marker, b.zeros = 0, 0, false, 0
	for b.pos < len(b.data) && b.data[b.pos] != 0xFF {
		b.pos++ // tolerate padding left before the marker
	}
	for b.pos < len(b.data) && b.data[b.pos] == 0xFF {
		b.pos++
	}
	if b.pos >= len(b.data) || b.data[b.pos] < mRST0 || b.data[b.pos] > mRST0+7 {
		return errors.New("missing restart marker")
	}
	b.pos++
	return nil
}

// scanHeader parses SOS and returns the scan's components and the
// spectral/approximation bytes (Ss, Se, Ah/Al).
func (s *jpegStream) scanHeader(seg []byte) ([]*jpegComponent, [3]int, error) {
	var params [3]int
	if !s.frameSeen {
		return nil, params, errors.New("scan before frame header")
	}
	if len(seg) < 1 || len(seg) != 4+2*int(seg[0]) || seg[0] == 0 || int(seg[0]) > len(s.comps) {
		return nil, params, errors.New("bad SOS segment")
	}
	n := int(seg[0])
	comps := make([]*jpegComponent, n)
	for i := 0; i < n; i++ {
		id, tables := int(seg[1+2*i]), seg[2+2*i]
		for j := range s.comps {
			if s.comps[j].id == id {
				comps[i] = &s.comps[j]
			}
		}
		if comps[i] == nil {
			return nil, params, fmt.Errorf("scan names unknown component %d", id)
		}
		td, ta := int(tables>>4), int(tables&15)
		if td > 3 || ta > 3 {
			return nil, params, errors.New("bad SOS table ids")
		}
		comps[i].td, comps[i].ta = td, ta
	}
	p := seg[1+2*n:]
	params = [3]int{int(p[0]), int(p[1]), int(p[2])}
	return comps, params, nil
}

func (s *jpegStream) scan(seg []byte) error {
	comps, params, err := s.scanHeader(seg)
	if err != nil {
		return err
	}
	b := &bitReader{data: s.data, pos: s.pos}
	if s.sof == mSOF3 {
		err = s.losslessScan(b, comps, params[0], params[2]&15)
	} else {
		err = s.dctScan(b, comps)
	}
	if err != nil {
		return err
	}
	if b.overrun() {
		return fmt.Errorf("%w: entropy-coded data ends early", errTruncated)
	}
	// continue at the marker that ended the scan
	s.pos = b.pos
	for s.pos < len(s.data) && !(s.data[s.pos] == 0xFF && s.pos+1 < len(s.data) && s.data[s.pos+1] != 0 && (s.data[s.pos+1] < mRST0 || s.data[s.pos+1] > mRST0+7)) {
		s.pos++
	}
	if s.pos >= len(s.data) {
		return fmt.Errorf("%w: no EOI marker", errTruncated)
	}
	return nil
}

// decodeJPEG decodes all JPEG processes: 8-bit DCT through image/jpeg, the
// rest through jpegStream.
func decodeJPEG(data []byte, f Frame, out []byte) error {
	if p, ok := jpegPrecision(data); ok && p == 8 {
		return decodeJPEG8(data, f, out)
	}
	s := &jpegStream{data: data, f: f}
	if err := s.decode(); err != nil {
		return err
	}
	bytes := f.BitsAllocated / 8
	n := len(s.comps)
	for ci, c := range s.comps {
		for i, v := range c.plane {
			putSample(out, bytes, i*n+ci, uint32(v))
		}
	}
	return nil
}

// jpegPrecision finds the first frame header and returns its sample
// precision, telling 8-bit DCT streams from the rest.
func jpegPrecision(data []byte) (int, bool) {
	s := &jpegStream{data: data}
	if m, err := s.readMarker(); err != nil || m != mSOI {
		return 0, false
	}
	for {
		m, err := s.readMarker()
		if err != nil || m == mSOS || m == mEOI {
			return 0, false
		}
		seg, err := s.segment()
		if err != nil {
			return 0, false
		}
		if m >= 0xC0 && m <= 0xCF && m != mDHT && m != 0xC8 && m != 0xCC {
			if len(seg) == 0 || m == mSOF3 || m == 0xC7 || m == 0xCB || m == 0xCF {
				return 0, false
			}
			return int(seg[0]), true
		}
	}
}
