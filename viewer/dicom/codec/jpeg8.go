package codec

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
)

// decodeJPEG8 decodes 8-bit DCT JPEG with the standard library, after
// checking the stream's header against the frame so nothing larger than the
// frame is ever allocated. YCbCr is converted to RGB, as DICOM readers
// expect from a decompressed YBR_FULL(_422) frame.
func decodeJPEG8(data []byte, f Frame, out []byte) error {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return err
	}
	comps := 1
	if cfg.ColorModel != color.GrayModel {
		comps = 3
	}
	if err := checkDims(f, cfg.Width, cfg.Height, comps, 8); err != nil {
		return err
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return err
	}
	if b := img.Bounds(); b.Dx() != f.Cols || b.Dy() != f.Rows {
		return fmt.Errorf("decoded image is %dx%d, header says %dx%d", b.Dx(), b.Dy(), f.Cols, f.Rows)
	}
	bytes := f.BitsAllocated / 8
	w := f.Cols
	// DICOM's Photometric Interpretation, not JFIF/Adobe guesses, says
	// whether the three components are YCbCr (PS3.5 8.2.1).
	ybr := strings.HasPrefix(f.Photometric, "YBR")
	var cb, cr []uint8
	if m, ok := img.(*image.YCbCr); ok {
		cb, cr = fullChroma(m)
	}
	for y := 0; y < f.Rows; y++ {
		for x := 0; x < w; x++ {
			var c [3]uint8
			switch m := img.(type) {
			case *image.Gray:
				c[0] = m.Pix[y*m.Stride+x]
			case *image.YCbCr:
				c = [3]uint8{m.Y[m.YOffset(x, y)], cb[y*w+x], cr[y*w+x]}
			case *image.RGBA: // components exactly as coded
				p := m.Pix[y*m.Stride+4*x:]
				c = [3]uint8{p[0], p[1], p[2]}
			default:
				return fmt.Errorf("JPEG colour model %T is not grayscale, YCbCr or RGB", img)
			}
			if ybr && comps == 3 {
				c[0], c[1], c[2] = color.YCbCrToRGB(c[0], c[1], c[2])
			}
			for k := 0; k < comps; k++ {
				putSample(out, bytes, (y*w+x)*comps+k, uint32(c[k]))
			}
		}
	}
	return nil
}
