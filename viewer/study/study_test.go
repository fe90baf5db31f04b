package study

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const root = "../../"

func TestIsNIfTI(t *testing.T) {
	dir := t.TempDir()
	// A gzip file that is not a NIfTI: judged by content, not by name.
	fake := filepath.Join(dir, "fake.nii.gz")
	f, err := os.Create(fake)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write(make([]byte, 400))
	zw.Close()
	f.Close()
	cases := map[string]bool{
		root + "assets/sample/example_ct_sm.nii.gz":              true, // NIfTI-1, gzip
		root + "testdata/nibabel_testdata/anatomical.nii":        true, // big endian
		root + "testdata/nibabel_testdata/example_nifti2.nii.gz": true, // NIfTI-2
		root + "testdata/pydicom_test_files/CT_small.dcm":        false,
		root + "testdata/dcmqi_ct3slice_seg":                     false, // a folder
		fake:                                                     false,
		filepath.Join(dir, "missing.nii"):                        false,
	}
	for p, want := range cases {
		if got := IsNIfTI(p); got != want {
			t.Errorf("IsNIfTI(%s) = %v, want %v", p, got, want)
		}
	}
}

func TestOpenDispatches(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, root+"assets/sample/example_ct_sm.nii.gz", Options{})
	if err != nil || st.Volume == nil || st.Scan != nil || st.Volume.Meta.Format != "NIfTI-1" {
		t.Fatalf("NIfTI: %+v, %v", st, err)
	}
	if _, err := Open(ctx, root+"assets/sample/example_ct_sm.nii.gz", Options{Series: "2"}); err == nil {
		t.Error("a series choice on a NIfTI file was accepted")
	}
	done := 0
	st, err = Open(ctx, root+"testdata/dcmqi_ct3slice_seg/ct-3slice", Options{Progress: func(d, total int) { done = d }})
	if err != nil || st.Volume.Meta.Format != "DICOM" || st.Volume.Dims != [3]int{512, 512, 3} {
		t.Fatalf("DICOM folder: %v", err)
	}
	if done != 3 {
		t.Errorf("progress reached %d of 3 files", done)
	}
	_, err = Open(ctx, filepath.Join(t.TempDir(), "nothing"), Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot open") || strings.Count(err.Error(), "nothing") != 1 {
		t.Errorf("missing path: %v", err)
	}
}

// TestOpenNIfTINamedSaysNIfTI: a file named .nii or .nii.gz that is no
// NIfTI (text, a gzip of something else, noise) is refused in NIfTI's
// words; it was scanned as DICOM, and "not a DICOM file" puzzled its user.
func TestOpenNIfTINamedSaysNIfTI(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.nii.gz")
	noise := filepath.Join(dir, "noise.NII")
	if err := os.WriteFile(text, []byte("hello world\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noise, make([]byte, 600), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{text, noise} {
		_, err := Open(context.Background(), p, Options{})
		if err == nil || !strings.Contains(err.Error(), "NIfTI") || strings.Contains(err.Error(), "DICOM") {
			t.Errorf("%s: %v", filepath.Base(p), err)
		}
	}
}
