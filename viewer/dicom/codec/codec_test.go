package codec

import (
	"path/filepath"
	"strings"
	"testing"
)

// sameAs decodes each file and requires samples identical to the native
// reference file.
func sameAs(t *testing.T, ref string, files ...string) {
	want := readImage(t, dataFile(t, ref))
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			p := dataFile(t, name)
			img := readImage(t, p)
			compare(t, name, decodeAll(t, p, img), want, 0)
		})
	}
}

// TestDcmQATS: one Siemens image in seven encapsulated syntaxes must equal
// its explicit little endian original sample for sample.
func TestDcmQATS(t *testing.T) {
	var files []string
	for _, n := range []string{"4", "5", "6", "7", "8", "9"} {
		files = append(files, "dcm_qa_ts/In/"+n+".dcm")
	}
	sameAs(t, "dcm_qa_ts/In/1.dcm", files...)
}

// TestPydicomMRSmall: RLE, JPEG 2000 and JPEG-LS copies of MR_small.
func TestPydicomMRSmall(t *testing.T) {
	sameAs(t, "pydicom_test_files/MR_small.dcm",
		"pydicom_test_files/MR_small_RLE.dcm",
		"pydicom_test_files/MR_small_jp2klossless.dcm",
		"pydicom_test_files/MR_small_jpeg_ls_lossless.dcm")
}

const ct0012 = "dicomParser_testImages/testImages/encapsulated/multi-frame/CT0012."

// TestCT0012: a two-frame enhanced CT in RLE, JPEG lossless and JPEG-LS,
// fragmented or not, all equal to the RLE decode (and to the native file
// where ../shared/data has it).
func TestCT0012(t *testing.T) {
	variants := []string{"not_fragmented_bot_rle", "fragmented_no_bot_jpeg_lossless.57",
		"fragmented_no_bot_jpeg_lossless.70", "fragmented_no_bot_jpeg_ls.80",
		"not_fragmented_bot_jpeg_ls.80", "not_fragmented_no_bot_jpeg_ls.80", "not_fragmented_no_bot_rle"}
	var files []string
	for _, v := range variants {
		files = append(files, ct0012+v+".dcm")
	}
	t.Run("vs RLE", func(t *testing.T) {
		p := dataFile(t, files[0])
		img := readImage(t, p)
		ref := img
		ref.frames = decodeAll(t, p, img)
		for _, name := range files[1:] {
			t.Run(filepath.Base(name), func(t *testing.T) {
				q := dataFile(t, name)
				compare(t, name, decodeAll(t, q, readImage(t, q)), ref, 0)
			})
		}
	})
	t.Run("vs native", func(t *testing.T) {
		sameAs(t, ct0012+"explicit_little_endian.dcm", files...)
	})
}

// TestCT1UNC: a 512x512 CT in JPEG-LS with and without offset table and
// fragmentation, against its explicit little endian original.
func TestCT1UNC(t *testing.T) {
	const dir = "dicomParser_testImages/testImages/encapsulated/single-frame/CT1_UNC."
	sameAs(t, dir+"explicit_little_endian.dcm",
		dir+"fragmented_bot_jpeg_ls.80.dcm", dir+"fragmented_no_bot_jpeg_ls.80.dcm",
		dir+"not_fragmented_bot_jpeg_ls.80.dcm", dir+"not_fragmented_no_bot_jpeg_ls.80.dcm")
}

// TestJPEGLSNearLossless: .81 is lossy (NEAR > 0), so it must equal
// dcmdjpls's decode exactly and the original within NEAR.
func TestJPEGLSNearLossless(t *testing.T) {
	againstTool(t, "dcmdjpls", nil, []toolCase{{ct0012 + "fragmented_no_bot_jpeg_ls.81.dcm", 0}})
	p := dataFile(t, ct0012+"fragmented_no_bot_jpeg_ls.81.dcm")
	ref := readImage(t, dataFile(t, ct0012+"not_fragmented_bot_rle.dcm"))
	ref.frames = decodeAll(t, "RLE", ref)
	d := compare(t, p, decodeAll(t, p, readImage(t, p)), ref, 2)
	t.Logf("JPEG-LS near-lossless vs original: max difference %d", d)
}

// toolCase is a file compared with a reference toolkit's decompression.
type toolCase struct {
	file string
	tol  int64 // 0 for lossless; IJG and Go round DCT and colour differently
}

func againstTool(t *testing.T, tool string, args []string, cases []toolCase) {
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			p := dataFile(t, c.file)
			img := readImage(t, p)
			ref := toolRef(t, p, tool, args...)
			d := compare(t, c.file, decodeAll(t, p, img), ref, c.tol)
			t.Logf("%s (%s, %s): max difference %d vs %s", c.file, Name(img.ts), img.f.Photometric, d, tool)
		})
	}
}

const pyd = "pydicom_test_files/"

// TestJPEGvsDCMTK: baseline, extended (8 and 12-bit) and lossless JPEG
// against dcmdjpeg (IJG), colour converted to RGB, pixel-interleaved.
func TestJPEGvsDCMTK(t *testing.T) {
	againstTool(t, "dcmdjpeg", []string{"+px"}, []toolCase{
		{pyd + "SC_rgb_jpeg_dcmtk.dcm", 2},
		{pyd + "SC_rgb_dcmtk_+eb+cy+np.dcm", 2},
		{pyd + "SC_rgb_dcmtk_+eb+cy+n1.dcm", 2},
		{pyd + "SC_rgb_dcmtk_+eb+cy+n2.dcm", 2},
		{pyd + "SC_rgb_dcmtk_+eb+cy+s2.dcm", 2},
		{pyd + "SC_rgb_dcmtk_+eb+cy+s4.dcm", 2},
		{pyd + "SC_rgb_dcmtk_+eb+cr.dcm", 2},
		{pyd + "SC_rgb_jpeg_lossy_gdcm.dcm", 2},
		{pyd + "SC_rgb_small_odd_jpeg.dcm", 2},
		{pyd + "SC_jpeg_no_color_transform.dcm", 2},
		{pyd + "SC_jpeg_no_color_transform_2.dcm", 2},
		{pyd + "SC_rgb_jpeg_gdcm.dcm", 0},
		{pyd + "JPGExtended.dcm", 2},
		{pyd + "JPEG-lossy.dcm", 2},
		{ct0012 + "fragmented_no_bot_jpeg_baseline.51.dcm", 2},
		// image/jpeg's IDCT rounds differently from IJG's islow: 0.01% of samples off by 3-4
		{"dicomParser_testImages/testImages/encapsulated/multi-frame/IM00001.fragmented_no_bot_jpeg_baseline.50.dcm", 4},
	})
}

// TestRLEvsDCMTK: colour RLE in 8, 16 and 32 bits, one and two frames.
func TestRLEvsDCMTK(t *testing.T) {
	var cases []toolCase
	for _, s := range []string{"", "_2frame", "_16bit", "_16bit_2frame", "_32bit", "_32bit_2frame"} {
		cases = append(cases, toolCase{pyd + "SC_rgb_rle" + s + ".dcm", 0})
	}
	againstTool(t, "dcmdrle", nil, cases)
}

// TestJ2KvsGDCM: JPEG 2000 (lossy and lossless, signed, RCT colour) against
// GDCM's OpenJPEG-based decompression.
func TestJ2KvsGDCM(t *testing.T) {
	againstTool(t, "gdcmraw", nil, []toolCase{
		{pyd + "JPEG2000.dcm", 0},
		{pyd + "GDCMJ2K_TextGBR.dcm", 0},
		{pyd + "693_J2KI.dcm", 0},
		{"totalsegmentator/example_ct_dicom/CT.1.3.12.2.1107.5.1.4.60064.30000022120808113428000016573", 0},
	})
}

func TestName(t *testing.T) {
	for ts, want := range map[string]string{
		ExplicitVRLittleEndian: "Explicit VR Little Endian",
		JPEGLosslessSV1:        "JPEG Lossless SV1",
		"1.2.3":                "unknown transfer syntax 1.2.3",
	} {
		if got := Name(ts); got != want {
			t.Errorf("Name(%s) = %q, want %q", ts, got, want)
		}
	}
	if Supported(ExplicitVRLittleEndian) || !Supported(RLELossless) {
		t.Error("Supported must cover encapsulated syntaxes only")
	}
	if _, err := Decode(ExplicitVRBigEndian, []byte{1}, Frame{Rows: 1, Cols: 1, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8}); err == nil || !strings.Contains(err.Error(), "Big Endian") {
		t.Errorf("native syntax: got %v", err)
	}
}

// TestBadInput: per codec, a truncated stream and a DICOM header that
// disagrees with the stream must give an error; a corrupted body must give
// an error or a frame of the right size.
func TestBadInput(t *testing.T) {
	for _, name := range []string{pyd + "MR_small_RLE.dcm", pyd + "SC_rgb_jpeg_gdcm.dcm", pyd + "JPGExtended.dcm",
		pyd + "SC_rgb_dcmtk_+eb+cy+s2.dcm", pyd + "MR_small_jpeg_ls_lossless.dcm", pyd + "MR_small_jp2klossless.dcm"} {
		t.Run(filepath.Base(name), func(t *testing.T) {
			img := readImage(t, dataFile(t, name))
			if !Supported(img.ts) {
				t.Skipf("%s not in this build", Name(img.ts))
			}
			fr := img.frames[0]
			if _, err := Decode(img.ts, fr[:len(fr)/2], img.f); err == nil {
				t.Error("half a stream decoded without error")
			}
			wide := img.f
			wide.Cols++
			if _, err := Decode(img.ts, fr, wide); err == nil {
				t.Error("stream decoded into a frame of other dimensions")
			}
			bad := append([]byte(nil), fr...)
			for i := len(bad) / 3; i < len(bad)/2; i += 7 {
				bad[i] ^= 0x5A
			}
			n, _ := img.f.size()
			if out, err := Decode(img.ts, bad, img.f); err == nil && len(out) != n {
				t.Errorf("corrupt stream gave %d bytes for a %d-byte frame", len(out), n)
			}
		})
	}
}
