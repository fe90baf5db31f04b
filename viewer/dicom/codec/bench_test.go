package codec

import "testing"

// BenchmarkDecode decodes one real frame per codec.
func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct{ name, file string }{
		{"RLE_512x512x16", ct0012 + "not_fragmented_bot_rle.dcm"},
		{"JPEGLossless70_512x512x16", ct0012 + "fragmented_no_bot_jpeg_lossless.70.dcm"},
		{"JPEGExtended12bit_512x512", ct0012 + "fragmented_no_bot_jpeg_baseline.51.dcm"},
		{"JPEGBaseline_RGB_256x256", pyd + "SC_jpeg_no_color_transform.dcm"},
		{"JPEGLS80_512x512x16", ct0012 + "not_fragmented_bot_jpeg_ls.80.dcm"},
		{"J2K_512x512x16", pyd + "693_J2KI.dcm"},
	} {
		b.Run(c.name, func(b *testing.B) {
			img := readImage(b, dataFile(b, c.file))
			if !Supported(img.ts) {
				b.Skipf("%s not in this build", Name(img.ts))
			}
			n, _ := img.f.size()
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := Decode(img.ts, img.frames[0], img.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
