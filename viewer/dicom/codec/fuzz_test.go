package codec

import "testing"

// Fuzz targets per codec family, seeded with real frames. Decode must return
// an error or exactly one frame's bytes, never panic; a frame's size is
// capped here because any claimed size is a legal allocation for Decode.

func fuzzFamily(f *testing.F, syntaxes []string, seeds ...string) {
	for _, s := range seeds {
		img := readImage(f, dataFile(f, s))
		fr := img.f
		f.Add(uint8(0), img.frames[0], fr.Rows, fr.Cols, fr.SamplesPerPixel, fr.BitsAllocated, fr.BitsStored, fr.Signed, fr.Photometric)
		// the same stream under a header claiming other dimensions
		f.Add(uint8(0), img.frames[0], fr.Cols+1, fr.Rows, fr.SamplesPerPixel, fr.BitsAllocated, fr.BitsStored, fr.Signed, fr.Photometric)
		f.Add(uint8(0), img.frames[0][:len(img.frames[0])/2], fr.Rows, fr.Cols, fr.SamplesPerPixel, fr.BitsAllocated, fr.BitsStored, fr.Signed, fr.Photometric)
	}
	f.Fuzz(func(t *testing.T, sel uint8, data []byte, rows, cols, spp, ba, bs int, signed bool, pi string) {
		fr := Frame{Rows: rows, Cols: cols, SamplesPerPixel: spp, BitsAllocated: ba, BitsStored: bs, Signed: signed, Photometric: pi}
		n, err := fr.size()
		if err != nil || n > 1<<22 {
			return
		}
		ts := syntaxes[int(sel)%len(syntaxes)]
		out, err := Decode(ts, data, fr)
		if err == nil && len(out) != n {
			t.Fatalf("%s: %d bytes for a %d-byte frame", Name(ts), len(out), n)
		}
	})
}

func FuzzRLE(f *testing.F) {
	fuzzFamily(f, []string{RLELossless}, pyd+"MR_small_RLE.dcm", pyd+"SC_rgb_rle_16bit.dcm")
}

func FuzzJPEG(f *testing.F) {
	fuzzFamily(f, []string{JPEGLosslessSV1, JPEGBaseline},
		pyd+"SC_rgb_jpeg_gdcm.dcm", pyd+"JPGExtended.dcm", pyd+"SC_rgb_dcmtk_+eb+cy+s2.dcm",
		ct0012+"fragmented_no_bot_jpeg_lossless.57.dcm")
}

func FuzzJPEGLS(f *testing.F) {
	if !Supported(JPEGLSLossless) {
		f.Skip("no JPEG-LS decoder in this build")
	}
	fuzzFamily(f, []string{JPEGLSLossless}, pyd+"MR_small_jpeg_ls_lossless.dcm", ct0012+"fragmented_no_bot_jpeg_ls.81.dcm")
}

func FuzzJ2K(f *testing.F) {
	if !Supported(JPEG2000Lossless) {
		f.Skip("no JPEG 2000 decoder in this build")
	}
	fuzzFamily(f, []string{JPEG2000Lossless}, pyd+"MR_small_jp2klossless.dcm", pyd+"GDCMJ2K_TextGBR.dcm", pyd+"JPEG2000.dcm")
}
