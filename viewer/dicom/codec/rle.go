package codec

import (
	"encoding/binary"
	"fmt"
)

// decodeRLE decodes DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header of
// a segment count and 15 offsets, then one PackBits segment per byte plane,
// planes of each sample most significant byte first, samples in order.
func decodeRLE(data []byte, f Frame, out []byte) error {
	if len(data) < 64 {
		return fmt.Errorf("RLE header needs 64 bytes, frame has %d", len(data))
	}
	bytes := f.BitsAllocated / 8
	nseg := int(binary.LittleEndian.Uint32(data))
	if want := bytes * f.SamplesPerPixel; nseg != want {
		return fmt.Errorf("RLE frame has %d segments, header layout needs %d", nseg, want)
	}
	pixels := f.Rows * f.Cols
	stride := bytes * f.SamplesPerPixel // bytes between one pixel's samples
	for s := 0; s < nseg; s++ {
		start := int(binary.LittleEndian.Uint32(data[4+4*s:]))
		end := len(data)
		if s+1 < nseg {
			end = int(binary.LittleEndian.Uint32(data[8+4*s:]))
		}
		if start < 64 || start > end || end > len(data) {
			return fmt.Errorf("RLE segment %d spans bytes %d-%d of a %d-byte frame", s, start, end, len(data))
		}
		sample, plane := s/bytes, s%bytes
		// plane 0 is the most significant byte, which sits last in little endian
		first := sample*bytes + bytes - 1 - plane
		if err := unpackBits(data[start:end], out, first, stride, pixels); err != nil {
			return fmt.Errorf("RLE segment %d: %w", s, err)
		}
	}
	return nil
}

// unpackBits expands one PackBits segment into out[first], out[first+stride],
// ... for n bytes.
func unpackBits(src, out []byte, first, stride, n int) error {
	o, done := first, 0
	for i := 0; done < n; {
		if i >= len(src) {
			return fmt.Errorf("%w: %d of %d bytes decoded", errTruncated, done, n)
		}
		c := int8(src[i])
		i++
		switch {
		case c >= 0: // copy the next c+1 bytes
			k := int(c) + 1
			if i+k > len(src) {
				return fmt.Errorf("%w: literal run past the segment end", errTruncated)
			}
			if done+k > n {
				return fmt.Errorf("literal run overflows the frame by %d bytes", done+k-n)
			}
			for _, b := range src[i : i+k] {
				out[o] = b
				o += stride
			}
			i += k
			done += k
		case c != -128: // repeat the next byte 1-c times; -128 is a no-op
			k := 1 - int(c)
			if i >= len(src) {
				return fmt.Errorf("%w: repeat run without its byte", errTruncated)
			}
			if done+k > n {
				return fmt.Errorf("repeat run overflows the frame by %d bytes", done+k-n)
			}
			b := src[i]
			i++
			for ; k > 0; k-- {
				out[o] = b
				o += stride
			}
			done += 1 - int(c)
		}
	}
	return nil
}
