//go:build cgo

package codec

/*
#cgo LDFLAGS: -lcharls
#include <stdint.h>
#include <string.h>
#include <charls/charls.h>

// jls_decode does the whole CharLS exchange in one call, so the library never
// keeps a Go pointer past it: read the header, compare it with the frame the
// DICOM header describes, and only then decode into dst.
static const char* jls_decode(const void* src, size_t n, void* dst, size_t cap,
                              int32_t w, int32_t h, int32_t comps, int32_t maxbits,
                              charls_frame_info* fi, int32_t* planar) {
	static const char mismatch[] = "JPEG-LS header disagrees with the DICOM frame";
	memset(fi, 0, sizeof *fi);
	charls_jpegls_decoder* d = charls_jpegls_decoder_create();
	if (!d) return "cannot create a CharLS decoder";
	charls_jpegls_errc e = charls_jpegls_decoder_set_source_buffer(d, src, n);
	if (!e) e = charls_jpegls_decoder_read_header(d);
	if (!e) e = charls_jpegls_decoder_get_frame_info(d, fi);
	charls_interleave_mode ilv = CHARLS_INTERLEAVE_MODE_NONE;
	if (!e) e = charls_jpegls_decoder_get_interleave_mode(d, &ilv);
	if (e) {
		charls_jpegls_decoder_destroy(d);
		return charls_get_error_message(e);
	}
	if ((int32_t)fi->width != w || (int32_t)fi->height != h || fi->component_count != comps ||
	    fi->bits_per_sample < 2 || fi->bits_per_sample > maxbits) {
		charls_jpegls_decoder_destroy(d);
		return mismatch;
	}
	size_t need = 0;
	e = charls_jpegls_decoder_get_destination_size(d, 0, &need);
	if (!e && need > cap) {
		charls_jpegls_decoder_destroy(d);
		return mismatch;
	}
	if (!e) e = charls_jpegls_decoder_decode_to_buffer(d, dst, need, 0);
	charls_jpegls_decoder_destroy(d);
	*planar = ilv == CHARLS_INTERLEAVE_MODE_NONE && comps > 1;
	return e ? charls_get_error_message(e) : NULL;
}
*/
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"unsafe"
)

func init() {
	decoders[JPEGLSLossless] = decodeJPEGLS
	decoders[JPEGLSNearLossless] = decodeJPEGLS
}

// decodeJPEGLS decodes with CharLS, which writes 1 byte per sample up to 8
// bits and 2 above, planes first when the stream is not interleaved.
func decodeJPEGLS(data []byte, f Frame, out []byte) error {
	// CharLS 2.4 spends tens of seconds on a stream cut off before its EOI
	// marker, so a truncated stream is refused before it gets there.
	end := bytes.TrimRight(data, "\x00") // fragments are padded to even length
	if !bytes.HasSuffix(end, []byte{0xFF, mEOI}) {
		return fmt.Errorf("%w: no EOI marker at the end", errTruncated)
	}
	var fi C.charls_frame_info
	var planar C.int32_t
	msg := C.jls_decode(unsafe.Pointer(&data[0]), C.size_t(len(data)),
		unsafe.Pointer(&out[0]), C.size_t(len(out)),
		C.int32_t(f.Cols), C.int32_t(f.Rows), C.int32_t(f.SamplesPerPixel), C.int32_t(f.BitsAllocated),
		&fi, &planar)
	if msg != nil {
		if fi.width != 0 { // the header was read: say how it disagrees
			if err := checkDims(f, int(fi.width), int(fi.height), int(fi.component_count), int(fi.bits_per_sample)); err != nil {
				return err
			}
		}
		return errors.New(C.GoString(msg))
	}
	got := 1
	if fi.bits_per_sample > 8 {
		got = 2
	}
	return widen(out, f, got, planar != 0)
}

// widen rearranges a decoder's output, which sits at the start of out with
// got bytes per sample (planar or pixel-interleaved), into the frame's
// interleaved BitsAllocated-bit samples.
func widen(out []byte, f Frame, got int, planar bool) error {
	want := f.BitsAllocated / 8
	if got > want {
		return fmt.Errorf("decoder gave %d-byte samples for %d-bit frames", got, f.BitsAllocated)
	}
	n := f.Rows * f.Cols * f.SamplesPerPixel
	if !planar && got == want {
		return nil
	}
	src := append([]byte(nil), out[:n*got]...)
	px := f.Rows * f.Cols
	for i := 0; i < n; i++ {
		j := i
		if planar { // sample c of pixel p lies in plane c
			j = (i%f.SamplesPerPixel)*px + i/f.SamplesPerPixel
		}
		v := uint32(src[j*got])
		if got == 2 {
			v |= uint32(src[j*got+1]) << 8
		}
		putSample(out, want, i, v)
	}
	return nil
}
