package nifti

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func readTestFile(t testing.TB, folder, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testFile(t, folder, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gunzipAll(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// allocated is how many bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestBadInput: hostile or damaged files give a one-line error naming the
// file, never a panic, and allocate no more than the file could fill.
func TestBadInput(t *testing.T) {
	le := binary.LittleEndian
	ct := gunzipAll(t, readTestFile(t, "totalsegmentator", "example_ct_sm.nii.gz")) // NIfTI-1 LE int16
	nii2 := gunzipAll(t, readTestFile(t, "nibabel_testdata", "example_nifti2.nii.gz"))
	be := readTestFile(t, "nibabel_testdata", "anatomical.nii") // big endian

	edit := func(src []byte, f func(b []byte)) []byte {
		b := bytes.Clone(src)
		f(b)
		return b
	}
	dims1 := func(d ...int16) func([]byte) {
		return func(b []byte) {
			for i, x := range d {
				le.PutUint16(b[40+2*i:], uint16(x))
			}
		}
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"one byte", []byte{0x1f}, "too short"},
		{"not nifti", []byte(strings.Repeat("hello world ", 40)), "not a NIfTI file"},
		{"bad sizeof_hdr", edit(ct, func(b []byte) { le.PutUint32(b, 349) }), "sizeof_hdr is 349"},
		{"bad magic", edit(ct, func(b []byte) { copy(b[344:], "xyz\x00") }), "bad NIfTI magic"},
		{"pair header", edit(ct, func(b []byte) { copy(b[344:], "ni1\x00") }), ".hdr/.img pair"},
		{"30000^3 voxels", edit(ct, dims1(3, 30000, 30000, 30000)), "volume too large"},
		{"60000^3 voxels NIfTI-2", edit(nii2, func(b []byte) {
			for i, x := range []uint64{3, 60000, 60000, 60000} {
				le.PutUint64(b[16+8*i:], x)
			}
		}), "volume too large"},
		{"claims more than the file", edit(ct, dims1(3, 1000, 1000, 1000)), "truncated: the image needs 2000000352 bytes"},
		{"zero dim", edit(ct, dims1(3, 122, 0, 30)), "dim[2] is 0"},
		{"negative dim", edit(ct, dims1(3, 122, 101, -30)), "dim[3] is -30"},
		{"dim[0] 0", edit(ct, dims1(0)), "dim[0] is 0"},
		{"dim[0] 8", edit(ct, dims1(8)), "dim[0] is 8"},
		{"vox_offset past the end", edit(ct, func(b []byte) { le.PutUint32(b[108:], math.Float32bits(1e9)) }), "truncated"},
		{"vox_offset negative", edit(ct, func(b []byte) { le.PutUint32(b[108:], math.Float32bits(-16)) }), "invalid vox_offset"},
		{"vox_offset NaN", edit(ct, func(b []byte) { le.PutUint32(b[108:], math.Float32bits(float32(math.NaN()))) }), "invalid vox_offset"},
		{"unknown datatype", edit(ct, func(b []byte) { le.PutUint16(b[70:], 9999) }), "unknown datatype 9999"},
		{"int64", edit(ct, func(b []byte) { le.PutUint16(b[70:], 1024) }), "datatype 1024 (int64) is not supported"},
		{"zero sform", edit(ct, func(b []byte) { clear(b[280:328]) }), "unusable affine"},
		{"NaN sform", edit(ct, func(b []byte) { le.PutUint32(b[280:], math.Float32bits(float32(math.NaN()))) }), "unusable affine"},
		{"infinite scl_inter", edit(ct, func(b []byte) {
			le.PutUint32(b[112:], math.Float32bits(2))
			le.PutUint32(b[116:], math.Float32bits(float32(math.Inf(1))))
		}), "invalid scl_inter"},
		{"header only", ct[:352], "truncated"},
		{"truncated", ct[:len(ct)-1], "truncated"},
		{"truncated big endian", be[:len(be)/2], "truncated"},
		{"gzip header only", gzipBytes(ct[:352]), "inflate to at most"},
		{"gzip stream ends early", gzipBytes(ct[:len(ct)-5000]), "truncated"},
		{"gzip truncated stream", gzipBytes(ct)[:5000], "truncated"},
		{"gzip cut in the header", gzipBytes(ct)[:20], "too short"},
		{"gzip garbage", append([]byte{0x1f, 0x8b}, bytes.Repeat([]byte{7}, 500)...), "corrupt gzip data"},
		// A tiny gzip whose header claims 2.9 GB: refused before allocating.
		{"gzip 1200x1200x1000", gzipBytes(edit(ct, dims1(3, 1200, 1200, 1000))[:352]), "inflate to at most"},
		{"gzip 30000^3", gzipBytes(edit(ct, dims1(3, 30000, 30000, 30000))[:352]), "volume too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if n := allocated(func() { _, err = Decode("bad.nii", c.data) }); n > 2*uint64(len(c.data))+1<<20 {
				t.Errorf("allocated %d bytes for %d bytes of input", n, len(c.data))
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "nifti: bad.nii: ") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line %q", err, c.want)
			}
			// Read must agree with Decode on the same bytes.
			path := filepath.Join(t.TempDir(), "bad.nii")
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Read(path); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Read error %q, want %q", err, c.want)
			}
		})
	}
}

func TestReadMissingFile(t *testing.T) {
	_, err := Read(filepath.Join(t.TempDir(), "nope.nii.gz"))
	if err == nil || !strings.Contains(err.Error(), "nope.nii.gz") {
		t.Errorf("error %v, want one naming the file", err)
	}
}

// TestGzipPaddingAndMembers: a stream longer than the image (trailing
// bytes) and a multi-member gzip (bgzip, pigz --independent) both read.
func TestGzipPaddingAndMembers(t *testing.T) {
	plain := gunzipAll(t, readTestFile(t, "totalsegmentator", "example_ct_sm.nii.gz"))
	want, err := Decode("plain", plain)
	if err != nil {
		t.Fatal(err)
	}
	padded := gzipBytes(append(bytes.Clone(plain), make([]byte, 1000)...))
	members := append(gzipBytes(plain[:100000]), gzipBytes(plain[100000:])...)
	for name, data := range map[string][]byte{"padded": padded, "members": members} {
		v, err := Decode(name, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(voxelBytes(v.Data), voxelBytes(want.Data)) {
			t.Errorf("%s: voxels differ", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []struct{ folder, name string }{
		{"nibabel_testdata", "standard.nii.gz"},
		{"nibabel_testdata", "anatomical.nii"},
		{"nibabel_testdata", "functional.nii"},
		{"nibabel_testdata", "example_nifti2.nii.gz"},
		{"niivue_niivue_demos", "minimal.nii.gz"},
		{"totalsegmentator", "example_seg.nii.gz"},
	} {
		b := readTestFile(f, s.folder, s.name)
		f.Add(b)
		f.Add(b[:len(b)/2])
		if isGzip(b) {
			plain := gunzipAll(f, b)
			f.Add(plain[:min(len(plain), 600)])
		} else {
			f.Add(b[:352])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode("fuzz.nii", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "nifti: fuzz.nii: ") {
				t.Errorf("error without the file name: %v", err)
			}
			return
		}
		if err := v.Validate(); err != nil {
			t.Errorf("decoded an invalid volume: %v", err)
		}
	})
}
