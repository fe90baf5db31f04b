package codec

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// Test helpers: find real files, read their frames with suyashkumar/dicom,
// and make reference decodes with the installed DICOM toolkits.

// repoRoot is three levels above this package directory.
const repoRoot = "../../.."

// dataFile returns rel under testdata/ (copied small files) or, failing
// that, under ../shared/data; it skips the test when neither has it.
func dataFile(t testing.TB, rel string) string {
	t.Helper()
	for _, dir := range []string{"testdata", "../shared/data"} {
		p := filepath.Join(repoRoot, dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("%s is neither in testdata nor in ../shared/data", rel)
	return ""
}

// dicomImage is one file's pixel layout, syntax and pixel data: encoded
// frames for encapsulated syntaxes, else native bytes split per frame.
type dicomImage struct {
	ts     string
	f      Frame
	frames [][]byte
	planar bool
}

func readImage(t testing.TB, path string) dicomImage {
	t.Helper()
	ds, err := dicom.ParseFile(path, nil, dicom.SkipProcessingPixelDataValue(), dicom.AllowUnknownSpecificCharacterSet())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	str := func(tg tag.Tag) string {
		e, err := ds.FindElementByTag(tg)
		if err != nil {
			return ""
		}
		if s, ok := e.Value.GetValue().([]string); ok && len(s) > 0 {
			return strings.TrimSpace(strings.TrimRight(s[0], "\x00"))
		}
		return ""
	}
	num := func(tg tag.Tag) int {
		e, err := ds.FindElementByTag(tg)
		if err != nil {
			return 0
		}
		switch v := e.Value.GetValue().(type) {
		case []int:
			if len(v) > 0 {
				return v[0]
			}
		case []string:
			if len(v) > 0 {
				n, _ := strconv.Atoi(strings.TrimSpace(v[0]))
				return n
			}
		}
		return 0
	}
	img := dicomImage{ts: str(tag.TransferSyntaxUID), planar: num(tag.PlanarConfiguration) == 1}
	img.f = Frame{
		Rows: num(tag.Rows), Cols: num(tag.Columns), SamplesPerPixel: num(tag.SamplesPerPixel),
		BitsAllocated: num(tag.BitsAllocated), BitsStored: num(tag.BitsStored),
		Signed: num(tag.PixelRepresentation) == 1, Photometric: str(tag.PhotometricInterpretation),
	}
	nframes := max(num(tag.NumberOfFrames), 1)
	e, err := ds.FindElementByTag(tag.PixelData)
	if err != nil {
		t.Fatalf("%s: no pixel data: %v", path, err)
	}
	info := dicom.MustGetPixelDataInfo(e.Value)
	if !info.IsEncapsulated {
		raw := info.UnprocessedValueData
		size, _ := img.f.size()
		for i := 0; i < nframes; i++ {
			img.frames = append(img.frames, raw[i*size:(i+1)*size])
		}
		return img
	}
	var frags [][]byte
	for _, fr := range info.Frames {
		frags = append(frags, fr.EncapsulatedData.Data)
	}
	img.frames = groupFragments(frags, nframes)
	if len(img.frames) != nframes {
		t.Fatalf("%s: %d fragments make %d frames, header says %d", path, len(frags), len(img.frames), nframes)
	}
	return img
}

// groupFragments joins fragments into frames: all of them for one frame, one
// each when the counts agree, else a new frame at every JPEG start marker
// (v1.1.0 drops the basic offset table, so the codestream must tell).
func groupFragments(frags [][]byte, nframes int) [][]byte {
	if nframes == 1 {
		return [][]byte{bytes.Join(frags, nil)}
	}
	if len(frags) == nframes {
		return frags
	}
	var frames [][]byte
	for _, fr := range frags {
		if len(frames) == 0 || bytes.HasPrefix(fr, []byte{0xFF, 0xD8}) || bytes.HasPrefix(fr, []byte{0xFF, 0x4F}) {
			frames = append(frames, nil)
		}
		frames[len(frames)-1] = append(frames[len(frames)-1], fr...)
	}
	return frames
}

// native returns frame i of a native image pixel-interleaved.
func (img dicomImage) native(i int) []byte {
	fr := img.frames[i]
	if !img.planar || img.f.SamplesPerPixel == 1 {
		return fr
	}
	bps := img.f.BitsAllocated / 8
	px := img.f.Rows * img.f.Cols
	out := make([]byte, len(fr))
	for p := 0; p < px; p++ {
		for c := 0; c < 3; c++ {
			copy(out[(p*3+c)*bps:(p*3+c+1)*bps], fr[(c*px+p)*bps:(c*px+p+1)*bps])
		}
	}
	return out
}

// toolRef decompresses path with a reference tool into a temp dir and reads
// the result: `tool args... in out.dcm` (dcmdjpeg, dcmdjpls, dcmdrle), or
// for gdcmraw `gdcmraw -i in -o out.raw -P`, bare interleaved samples.
func toolRef(t testing.TB, path, tool string, args ...string) dicomImage {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("reference tool %s is missing", tool)
		}
		t.Skipf("reference tool %s is missing", tool)
	}
	out := filepath.Join(t.TempDir(), "ref.dcm")
	args = append(args, path, out)
	if tool == "gdcmraw" {
		args = []string{"-i", path, "-o", out, "-P"}
	}
	if msg, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, path, err, msg)
	}
	if tool != "gdcmraw" {
		return readImage(t, out)
	}
	ref := readImage(t, path)
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	ref.frames = [][]byte{raw}
	return ref
}

// decodeAll decodes every frame of an encapsulated image.
func decodeAll(t testing.TB, path string, img dicomImage) [][]byte {
	t.Helper()
	if !Supported(img.ts) {
		t.Skipf("%s: %s is not decodable in this build", path, Name(img.ts))
	}
	var out [][]byte
	for i, fr := range img.frames {
		got, err := Decode(img.ts, fr, img.f)
		if err != nil {
			t.Fatalf("%s frame %d: %v", path, i, err)
		}
		out = append(out, got)
	}
	return out
}

// maxDiff is the largest absolute difference between the samples of a and b
// (little endian, bits bits each, signed or not), and whether they differ
// in length.
func maxDiff(a, b []byte, f Frame) (int64, bool) {
	if len(a) != len(b) {
		return 0, false
	}
	bps := f.BitsAllocated / 8
	var worst int64
	for i := 0; i+bps <= len(a); i += bps {
		va, vb := sample(a[i:], bps, f.Signed), sample(b[i:], bps, f.Signed)
		d := va - vb
		if d < 0 {
			d = -d
		}
		worst = max(worst, d)
	}
	return worst, true
}

func sample(p []byte, bps int, signed bool) int64 {
	var v uint64
	for b := bps - 1; b >= 0; b-- {
		v = v<<8 | uint64(p[b])
	}
	if signed {
		shift := 64 - 8*bps
		return int64(v<<shift) >> shift
	}
	return int64(v)
}

// compare checks decoded frames against reference frames within tol.
func compare(t testing.TB, name string, got [][]byte, ref dicomImage, tol int64) int64 {
	t.Helper()
	if len(got) != len(ref.frames) {
		t.Fatalf("%s: %d frames decoded, reference has %d", name, len(got), len(ref.frames))
	}
	var worst int64
	for i := range got {
		d, ok := maxDiff(got[i], ref.native(i), ref.f)
		if !ok {
			t.Fatalf("%s frame %d: %d bytes decoded, reference has %d", name, i, len(got[i]), len(ref.native(i)))
		}
		worst = max(worst, d)
	}
	if worst > tol {
		t.Errorf("%s: max sample difference %d, allowed %d", name, worst, tol)
	}
	return worst
}
