package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/segvolapp/segvol/internal/testenv"
)

const sample = "../../assets/sample/example_ct_sm.nii.gz"

const python = testenv.Python

// segvol runs the CLI in-process and returns its exit status and output.
func segvol(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	st := run(args, &out, &errb)
	return st, out.String(), errb.String()
}

func TestInfoSampleJSON(t *testing.T) {
	st, out, errs := segvol(t, "info", sample, "--json")
	if st != 0 {
		t.Fatalf("status %d, stderr %q", st, errs)
	}
	var in infoJSON
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	if in.Dims != [3]int{122, 101, 30} || in.DType != "int16" || in.Format != "NIfTI-1" {
		t.Fatalf("dims %v dtype %s format %s", in.Dims, in.DType, in.Format)
	}
	for a, s := range in.Spacing {
		if math.Abs(s-3) > 1e-6 {
			t.Fatalf("spacing[%d] = %v, want 3", a, s)
		}
	}
	// The affine must be the one nibabel reports for the file.
	testenv.NeedTool(t, python)
	ref, err := exec.Command(python, "-c",
		"import sys,json,nibabel as nb; print(json.dumps(nb.load(sys.argv[1]).affine.tolist()))", sample).Output()
	if err != nil {
		t.Fatalf("nibabel: %v", err)
	}
	var aff [4][4]float64
	if err := json.Unmarshal(ref, &aff); err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 4; r++ {
		for c := 0; c < 4; c++ {
			if math.Abs(aff[r][c]-in.AffineRAS[r][c]) > 1e-4 {
				t.Fatalf("affine[%d][%d] = %v, nibabel %v", r, c, in.AffineRAS[r][c], aff[r][c])
			}
		}
	}
}

func TestInfoText(t *testing.T) {
	st, out, errs := segvol(t, "info", "--series", "", sample)
	if st != 0 {
		t.Fatalf("status %d, stderr %q", st, errs)
	}
	for _, want := range []string{"122 x 101 x 30", "int16", "Affine (index to RAS mm", "Origin (LPS mm)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestConvertRoundTrip converts the sample to NIfTI and checks with nibabel
// that voxels and affine are the source's.
func TestConvertRoundTrip(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.nii.gz")
	if st, _, errs := segvol(t, "convert", sample, out); st != 0 {
		t.Fatalf("status %d, stderr %q", st, errs)
	}
	testenv.NeedTool(t, python)
	script := `import sys,numpy as np,nibabel as nb
a,b=nb.load(sys.argv[1]),nb.load(sys.argv[2])
da,db=np.asanyarray(a.dataobj),np.asanyarray(b.dataobj)
assert da.shape==db.shape,(da.shape,db.shape)
assert np.array_equal(da,db),"voxels differ"
assert np.allclose(a.affine,b.affine,atol=1e-4),(a.affine,b.affine)
assert np.allclose(b.get_qform(),b.get_sform(),atol=1e-4),"qform and sform disagree"
print("ok")`
	res, err := exec.Command(python, "-c", script, sample, out).CombinedOutput()
	if err != nil {
		t.Fatalf("nibabel comparison failed: %v\n%s", err, res)
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	dir := t.TempDir()
	trunc := filepath.Join(dir, "trunc.nii.gz")
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trunc, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		args   []string
		status int
	}{
		{"missing path", []string{"info", filepath.Join(dir, "nope")}, 1},
		{"truncated gzip", []string{"info", trunc}, 1},
		{"empty folder", []string{"info", empty}, 1},
		{"unknown command", []string{"frobnicate"}, 2},
		{"bad flag", []string{"info", "--nope", sample}, 2},
		{"bad output name", []string{"convert", sample, filepath.Join(dir, "x.png")}, 2},
	}
	for _, c := range cases {
		st, _, errs := segvol(t, c.args...)
		if st != c.status {
			t.Errorf("%s: status %d, want %d (stderr %q)", c.name, st, c.status, errs)
		}
		if strings.Count(strings.TrimRight(errs, "\n"), "\n") != 0 || !strings.HasPrefix(errs, "segvol: ") {
			t.Errorf("%s: stderr is not one line: %q", c.name, errs)
		}
		if strings.Contains(errs, "goroutine") || strings.Contains(errs, "internal error") {
			t.Errorf("%s: panic: %q", c.name, errs)
		}
	}
}

// COMMAND --help prints that command's lines of the usage and its flags
// with what they do, on stdout, status 0: a researcher's first look at
// batch or mesh, which printed only "usage: flag: help requested".
func TestCommandHelp(t *testing.T) {
	for _, c := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"batch", "--help"}, []string{"batch MANIFEST.csv --out DIR", "batch status|collect DIR", "-workers", "studies segmented at once",
			"study, series, id, name, label, text, box, points, negative, reference, reference_label", `README.md, section "Batch runs over a cohort"`}, []string{"mesh --labels"}},
		{[]string{"render", "--help"}, []string{"--view axial|sagittal|coronal", "render PATH --view 3d", "--from A|P|L|R|S|I", "-azimuth"}, []string{"segment --image"}},
		{[]string{"mesh", "-h"}, []string{"mesh --labels MASK", "one file for all", "-decimate"}, []string{"batch MANIFEST"}},
		{[]string{"models", "install", "--help"}, []string{"models install SOURCE", "-models"}, []string{"models download"}},
		{[]string{"models", "--help"}, []string{"models install SOURCE", "models text"}, []string{"pacs find"}},
		{[]string{"pacs", "-h"}, []string{"pacs find --server URL", "pacs send"}, []string{"models install"}},
	} {
		st, out, errs := segvol(t, c.args...)
		if st != 0 || errs != "" {
			t.Errorf("%v: status %d, stderr %q", c.args, st, errs)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: no %q in\n%s", c.args, w, out)
			}
		}
		for _, n := range c.not {
			if strings.Contains(out, n) {
				t.Errorf("%v: another command's %q in\n%s", c.args, n, out)
			}
		}
	}
}
