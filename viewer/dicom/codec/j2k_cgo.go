//go:build cgo

package codec

/*
#cgo pkg-config: libopenjp2
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <openjpeg.h>

// A read-only memory stream, so frames never go through temporary files.
typedef struct { const uint8_t* p; OPJ_SIZE_T n, pos; } j2k_mem;

static OPJ_SIZE_T j2k_read(void* buf, OPJ_SIZE_T len, void* u) {
	j2k_mem* m = u;
	if (m->pos >= m->n) return (OPJ_SIZE_T)-1;
	if (len > m->n - m->pos) len = m->n - m->pos;
	memcpy(buf, m->p + m->pos, len);
	m->pos += len;
	return len;
}
static OPJ_OFF_T j2k_skip(OPJ_OFF_T len, void* u) {
	j2k_mem* m = u;
	if (len < 0 && (OPJ_SIZE_T)(-len) > m->pos) len = -(OPJ_OFF_T)m->pos;
	if (len > 0 && (OPJ_SIZE_T)len > m->n - m->pos) len = (OPJ_OFF_T)(m->n - m->pos);
	m->pos += len;
	return len;
}
static OPJ_BOOL j2k_seek(OPJ_OFF_T to, void* u) {
	j2k_mem* m = u;
	if (to < 0 || (OPJ_SIZE_T)to > m->n) return OPJ_FALSE;
	m->pos = (OPJ_SIZE_T)to;
	return OPJ_TRUE;
}
static void j2k_err(const char* msg, void* u) {
	char* dst = u;
	if (!dst[0]) snprintf(dst, 200, "%s", msg);
}
static void j2k_quiet(const char* msg, void* u) { (void)msg; (void)u; }

// j2k_decode reads the header, checks it against the DICOM frame (w x h,
// comps components of at most maxbits bits, none subsampled) before OpenJPEG
// allocates the image, decodes, and stores samples pixel-interleaved into dst
// with bpp bytes each. It returns NULL or an error message in err.
static const char* j2k_decode(const void* src, size_t n, void* dst, int bpp,
                              int w, int h, int comps, int maxbits, char* err) {
	const uint8_t* s = src;
	OPJ_CODEC_FORMAT fmt = OPJ_CODEC_J2K;
	if (n >= 12 && memcmp(s, "\0\0\0\x0cjP  \r\n\x87\n", 12) == 0) fmt = OPJ_CODEC_JP2;
	else if (n < 2 || s[0] != 0xFF || s[1] != 0x4F) return "not a JPEG 2000 codestream";
	j2k_mem m = { s, n, 0 };
	opj_stream_t* st = opj_stream_create(1 << 16, OPJ_TRUE);
	opj_codec_t* c = opj_create_decompress(fmt);
	opj_image_t* img = NULL;
	const char* res = NULL;
	if (!st || !c) { res = "cannot create an OpenJPEG decoder"; goto done; }
	opj_stream_set_user_data(st, &m, NULL);
	opj_stream_set_user_data_length(st, n);
	opj_stream_set_read_function(st, j2k_read);
	opj_stream_set_skip_function(st, j2k_skip);
	opj_stream_set_seek_function(st, j2k_seek);
	opj_set_error_handler(c, j2k_err, err);
	opj_set_warning_handler(c, j2k_quiet, NULL);
	opj_set_info_handler(c, j2k_quiet, NULL);
	opj_dparameters_t p;
	opj_set_default_decoder_parameters(&p);
	if (!opj_setup_decoder(c, &p) || !opj_read_header(st, c, &img) || !img) {
		res = "cannot read the JPEG 2000 header"; goto done;
	}
	if ((int)(img->x1 - img->x0) != w || (int)(img->y1 - img->y0) != h || (int)img->numcomps != comps) {
		res = "JPEG 2000 image size or component count disagrees with the DICOM frame"; goto done;
	}
	for (int i = 0; i < comps; i++) {
		opj_image_comp_t* k = &img->comps[i];
		if (k->dx != 1 || k->dy != 1 || k->prec < 1 || (int)k->prec > maxbits) {
			res = "JPEG 2000 component is subsampled or deeper than the DICOM frame"; goto done;
		}
	}
	if (!opj_decode(c, st, img) || !opj_end_decompress(c, st)) {
		res = "cannot decode the JPEG 2000 codestream"; goto done;
	}
	for (int i = 0; i < comps; i++) {
		if (!img->comps[i].data || (int)img->comps[i].w != w || (int)img->comps[i].h != h) {
			res = "JPEG 2000 decoder returned a component of the wrong size"; goto done;
		}
	}
	uint8_t* o = dst;
	size_t px = (size_t)w * h;
	for (size_t i = 0; i < px; i++) {
		for (int k = 0; k < comps; k++) {
			uint32_t v = (uint32_t)img->comps[k].data[i];
			uint8_t* q = o + (i * comps + k) * bpp;
			for (int b = 0; b < bpp; b++) q[b] = (uint8_t)(v >> (8 * b));
		}
	}
done:
	if (res && err[0]) res = err;
	if (img) opj_image_destroy(img);
	if (c) opj_destroy_codec(c);
	if (st) opj_stream_destroy(st);
	return res;
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

func init() {
	for _, ts := range []string{JPEG2000Lossless, JPEG2000, HTJ2KLossless, HTJ2KLosslessRPCL, HTJ2K} {
		decoders[ts] = decodeJ2K
	}
}

// decodeJ2K decodes JPEG 2000 and HTJ2K with OpenJPEG; OpenJPEG applies the
// inverse RCT/ICT itself, so YBR_RCT and YBR_ICT frames come out as RGB.
func decodeJ2K(data []byte, f Frame, out []byte) error {
	var msg [256]C.char
	res := C.j2k_decode(unsafe.Pointer(&data[0]), C.size_t(len(data)), unsafe.Pointer(&out[0]), C.int(f.BitsAllocated/8),
		C.int(f.Cols), C.int(f.Rows), C.int(f.SamplesPerPixel), C.int(f.BitsAllocated), &msg[0])
	if res != nil {
		return errors.New(C.GoString(res))
	}
	return nil
}
