package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without SegVol, a text prompt and an empty `models list` name the
// commands that install it, with the --models folder the user gave.
func TestMissingSegVolNamesTheInstallCommands(t *testing.T) {
	models := filepath.Join(t.TempDir(), "no-models")
	out := filepath.Join(t.TempDir(), "m.nii.gz")
	st, _, errs := segvol(t, "segment", "--image", sample, "--text", "liver", "--models", models, "--out", out)
	if st != 1 {
		t.Fatalf("status %d, stderr %q", st, errs)
	}
	for _, want := range []string{"cannot segment by name", "segvol models download --models", "segvol models install SOURCE", "--box or --point"} {
		if !strings.Contains(errs, want) {
			t.Errorf("segment --text: no %q in %q", want, errs)
		}
	}
	if strings.Contains(errs, "documentation") {
		t.Errorf("segment --text still sends the user to the documentation: %q", errs)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a mask was written")
	}

	st, stdout, errs := segvol(t, "models", "list", "--models", models)
	if st != 0 {
		t.Fatalf("models list: status %d, stderr %q", st, errs)
	}
	for _, want := range []string{"no SegVol model installed", "segvol models download --models", "segvol models install SOURCE"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("models list: no %q in %q", want, stdout)
		}
	}
}

// export-seg given the NIfTI of a scan says it needs the DICOM series.
func TestExportSegOfNIfTIAsksForTheDICOMSeries(t *testing.T) {
	lab := filepath.Join(sampleDir, "example_seg.nii.gz")
	st, _, errs := segvol(t, "export-seg", "--image", sample, "--labels", lab, "--out", filepath.Join(t.TempDir(), "x.dcm"))
	if st != 1 || !strings.Contains(errs, "export-seg needs the DICOM series the labels belong to") {
		t.Fatalf("status %d, stderr %q", st, errs)
	}
}

// --box takes its corners in any order, as a drag does: each order gives
// the mask of the ordered box.
func TestSegmentBoxCornersInAnyOrder(t *testing.T) {
	dir := t.TempDir()
	models := filepath.Join(dir, "no-models")
	var masks [][]byte
	for i, box := range []string{"60,40,10,80,60,20", "80,60,20,60,40,10", "80,40,20,60,60,10"} {
		out := filepath.Join(dir, strings.Repeat("m", i+1)+".nii")
		st, stdout, errs := segvol(t, "segment", "--image", sample, "--box", box, "--models", models, "--out", out)
		if st != 0 {
			t.Fatalf("--box %s: status %d, stderr %q", box, st, errs)
		}
		if strings.Contains(stdout, " 0 voxels") {
			t.Fatalf("--box %s: empty mask: %s", box, stdout)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		masks = append(masks, b)
	}
	for i := 1; i < len(masks); i++ {
		if !bytes.Equal(masks[i], masks[0]) {
			t.Errorf("box order %d gives another mask than the ordered box", i)
		}
	}
}

// An argument a command does not take is named, not just the usage shown.
func TestExtraArgumentIsNamed(t *testing.T) {
	out := filepath.Join(t.TempDir(), "o.nii.gz")
	for _, args := range [][]string{
		{"info", sample, "extra"},
		{"convert", sample, out, "extra"},
		{"render", sample, "extra", "--out", out},
		{"segment", "--image", sample, "extra", "--out", out},
		{"eval", "--image", sample, "--labels", sample, "--label", "1", "extra"},
		{"export-seg", "--image", sample, "--labels", sample, "--out", out, "extra"},
		{"mesh", "--labels", sample, "--out", out, "extra"},
		{"batch", "a.csv", "extra", "--out", out},
		{"models", "list", "extra"},
		{"models", "download", "extra"},
		{"models", "install", "src", "extra"},
	} {
		st, _, errs := segvol(t, args...)
		if st != 2 || !strings.Contains(errs, `"extra" not understood`) || !strings.Contains(errs, "segvol "+args[0]) {
			t.Errorf("%v: status %d, stderr %q", args, st, errs)
		}
	}
}

// The README section batch --help sends the reader to is there.
func TestBatchHelpSectionExists(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "\n### Batch runs over a cohort") || !strings.Contains(usage, `section "Batch runs over a cohort"`) {
		t.Fatal("batch --help names a README section that is not there")
	}
}
