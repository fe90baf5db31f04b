// Package codec decompresses the encapsulated pixel data of DICOM frames into
// the native little-endian samples an uncompressed Pixel Data element holds.
//
// Decoder per transfer syntax, and why:
//   - RLE Lossless (1.2.840.10008.1.2.5): pure Go (rle.go). PackBits is a
//     page of code and exact by construction; no library is worth a cgo edge.
//   - JPEG Baseline and Extended (.4.50, .4.51), 8-bit: Go's image/jpeg, the
//     standard library's maintained decoder (progressive included), with
//     IJG-style chroma upsampling and the colour space taken from the DICOM
//     Photometric Interpretation (jpeg8.go, upsample.go). 12-bit Extended,
//     which image/jpeg refuses: our own sequential Huffman DCT decoder with
//     an exact float IDCT (jpeg.go, dct.go), grayscale only.
//   - JPEG Lossless (.4.57, .4.70): pure Go from ITU-T T.81 Annex H
//     (lossless.go): a small, exact integer process shared with the DCT
//     path's marker and Huffman code.
//   - JPEG-LS (.4.80, .4.81): CharLS through cgo (jpegls_cgo.go), the
//     reference implementation that DICOM toolkits use; T.87's context
//     modelling and near-lossless modes are too large to re-derive safely.
//   - JPEG 2000 and HTJ2K (.4.90, .4.91, .4.201-.4.203): OpenJPEG through cgo
//     (j2k_cgo.go), the ISO reference decoder; wavelets, tiling and HT block
//     coding are out of reach for a hand-written decoder.
//
// Without cgo the last two families report Supported false and Decode returns
// a clear error; everything else is pure Go.
//
// Deflate and big endian are whole-dataset encodings handled by the parser;
// this package only names them.
package codec

import (
	"errors"
	"fmt"
)

// Frame is the pixel layout of one frame, as the DICOM header gives it.
type Frame struct {
	Rows, Cols, SamplesPerPixel, BitsAllocated, BitsStored int
	Signed                                                 bool   // PixelRepresentation == 1
	Photometric                                            string // PhotometricInterpretation, e.g. MONOCHROME2, RGB, YBR_FULL_422
}

// Transfer syntax UIDs this package knows by name.
const (
	ImplicitVRLittleEndian = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
	DeflatedExplicitVRLE   = "1.2.840.10008.1.2.1.99"
	ExplicitVRBigEndian    = "1.2.840.10008.1.2.2"
	RLELossless            = "1.2.840.10008.1.2.5"
	JPEGBaseline           = "1.2.840.10008.1.2.4.50"
	JPEGExtended           = "1.2.840.10008.1.2.4.51"
	JPEGLossless           = "1.2.840.10008.1.2.4.57"
	JPEGLosslessSV1        = "1.2.840.10008.1.2.4.70"
	JPEGLSLossless         = "1.2.840.10008.1.2.4.80"
	JPEGLSNearLossless     = "1.2.840.10008.1.2.4.81"
	JPEG2000Lossless       = "1.2.840.10008.1.2.4.90"
	JPEG2000               = "1.2.840.10008.1.2.4.91"
	HTJ2KLossless          = "1.2.840.10008.1.2.4.201"
	HTJ2KLosslessRPCL      = "1.2.840.10008.1.2.4.202"
	HTJ2K                  = "1.2.840.10008.1.2.4.203"
)

var names = map[string]string{
	ImplicitVRLittleEndian: "Implicit VR Little Endian",
	ExplicitVRLittleEndian: "Explicit VR Little Endian",
	DeflatedExplicitVRLE:   "Deflated Explicit VR Little Endian",
	ExplicitVRBigEndian:    "Explicit VR Big Endian",
	RLELossless:            "RLE Lossless",
	JPEGBaseline:           "JPEG Baseline",
	JPEGExtended:           "JPEG Extended",
	JPEGLossless:           "JPEG Lossless",
	JPEGLosslessSV1:        "JPEG Lossless SV1",
	JPEGLSLossless:         "JPEG-LS Lossless",
	JPEGLSNearLossless:     "JPEG-LS Near-Lossless",
	JPEG2000Lossless:       "JPEG 2000 Lossless",
	JPEG2000:               "JPEG 2000",
	HTJ2KLossless:          "HTJ2K Lossless",
	HTJ2KLosslessRPCL:      "HTJ2K Lossless RPCL",
	HTJ2K:                  "HTJ2K",
}

// Name is a short human name of a transfer syntax UID (also for native ones:
// "Explicit VR Little Endian" ...), for messages and `segvol info`.
func Name(ts string) string {
	if n, ok := names[ts]; ok {
		return n
	}
	return "unknown transfer syntax " + ts
}

// decoder turns one frame's encapsulated bytes into native samples; out is
// already sized from Frame and zeroed.
type decoder func(data []byte, f Frame, out []byte) error

// decoders maps each encapsulated syntax to its decoder; the cgo files add
// theirs in init, so a build without cgo simply lacks them.
var decoders = map[string]decoder{
	RLELossless:     decodeRLE,
	JPEGBaseline:    decodeJPEG,
	JPEGExtended:    decodeJPEG,
	JPEGLossless:    decodeJPEG,
	JPEGLosslessSV1: decodeJPEG,
}

// Supported reports whether this build can decode transfer syntax ts
// (encapsulated ones only).
func Supported(ts string) bool {
	_, ok := decoders[ts]
	return ok
}

// maxDim is the largest Rows or Columns a DICOM US element can hold.
const maxDim = 65535

// Decode decompresses one complete frame of encapsulated pixel data (all its
// fragments already concatenated) in transfer syntax ts into native
// little-endian samples of BitsAllocated bits each (pixel-interleaved for
// colour: RGB as R,G,B per pixel, YBR from JPEG converted to RGB), exactly as
// an uncompressed little-endian Pixel Data element would hold them. It checks
// the decoded size against Rows*Cols*SamplesPerPixel and returns an error on
// any mismatch.
func Decode(ts string, data []byte, f Frame) ([]byte, error) {
	dec, ok := decoders[ts]
	if !ok {
		if why, known := unsupported[ts]; known {
			return nil, fmt.Errorf("%s (%s): %s", Name(ts), ts, why)
		}
		return nil, fmt.Errorf("%s is not an encapsulated syntax this build decodes", Name(ts))
	}
	n, err := f.size()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Name(ts), err)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: empty frame", Name(ts))
	}
	out := make([]byte, n)
	if err := dec(data, f, out); err != nil {
		return nil, fmt.Errorf("%s: %w", Name(ts), err)
	}
	if f.Signed {
		signExtend(out, f)
	}
	return out, nil
}

// unsupported explains, per syntax, why this build lacks a decoder; the
// !cgo file fills it.
var unsupported = map[string]string{}

// size checks the layout and returns the native byte count of one frame.
func (f Frame) size() (int, error) {
	switch {
	case f.Rows <= 0 || f.Cols <= 0 || f.Rows > maxDim || f.Cols > maxDim:
		return 0, fmt.Errorf("bad frame size %dx%d", f.Cols, f.Rows)
	case f.SamplesPerPixel != 1 && f.SamplesPerPixel != 3:
		return 0, fmt.Errorf("unsupported samples per pixel %d", f.SamplesPerPixel)
	case f.BitsAllocated != 8 && f.BitsAllocated != 16 && f.BitsAllocated != 32:
		return 0, fmt.Errorf("unsupported bits allocated %d", f.BitsAllocated)
	case f.BitsStored < 1 || f.BitsStored > f.BitsAllocated:
		return 0, fmt.Errorf("bits stored %d does not fit bits allocated %d", f.BitsStored, f.BitsAllocated)
	}
	return f.Rows * f.Cols * f.SamplesPerPixel * f.BitsAllocated / 8, nil
}

// signExtend widens BitsStored-bit two's complement samples to the full
// BitsAllocated word, as native signed Pixel Data holds them; decoders emit
// the bare BitsStored-bit pattern.
func signExtend(out []byte, f Frame) {
	if f.BitsStored == f.BitsAllocated {
		return
	}
	shift := uint(32 - f.BitsStored)
	bytes := f.BitsAllocated / 8
	for i := 0; i+bytes <= len(out); i += bytes {
		var v uint32
		for b := bytes - 1; b >= 0; b-- {
			v = v<<8 | uint32(out[i+b])
		}
		v = uint32(int32(v<<shift) >> shift)
		for b := 0; b < bytes; b++ {
			out[i+b] = byte(v >> (8 * b))
		}
	}
}

// putSample stores sample v at sample index i of out in the frame's width.
func putSample(out []byte, bytes, i int, v uint32) {
	switch bytes {
	case 1:
		out[i] = byte(v)
	case 2:
		out[2*i] = byte(v)
		out[2*i+1] = byte(v >> 8)
	default:
		out[4*i] = byte(v)
		out[4*i+1] = byte(v >> 8)
		out[4*i+2] = byte(v >> 16)
		out[4*i+3] = byte(v >> 24)
	}
}

// checkDims compares what a codec stream declares with the DICOM header.
func checkDims(f Frame, w, h, comps, bits int) error {
	if w != f.Cols || h != f.Rows || comps != f.SamplesPerPixel {
		return fmt.Errorf("stream is %dx%d with %d components, header says %dx%d with %d",
			w, h, comps, f.Cols, f.Rows, f.SamplesPerPixel)
	}
	if bits < 1 || bits > f.BitsAllocated {
		return fmt.Errorf("stream has %d-bit samples, header allocates %d bits", bits, f.BitsAllocated)
	}
	return nil
}

var errTruncated = errors.New("truncated stream")
