package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/segvolapp/segvol/viewer/nifti"
)

func TestSegmentWritesMaskWithImageGeometry(t *testing.T) {
	ct := filepath.Join(sampleDir, "example_ct_sm.nii.gz")
	out := filepath.Join(t.TempDir(), "mask.nii.gz")
	var stdout bytes.Buffer
	// Left kidney's box in the sample, with one positive click inside it.
	err := cmdSegment(context.Background(), []string{"--image", ct, "--box", "62,35,0,78,55,13",
		"--point", "70,45,6", "--out", out}, &stdout, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	img, err := nifti.Read(ct)
	if err != nil {
		t.Fatal(err)
	}
	m, err := nifti.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Dims != img.Dims || m.Geom != img.Geom {
		t.Fatalf("mask geometry %v %+v, image %v %+v", m.Dims, m.Geom, img.Dims, img.Geom)
	}
	data, ok := m.Data.([]uint8)
	if !ok {
		t.Fatalf("mask voxels %T, want []uint8", m.Data)
	}
	n := 0
	for _, v := range data {
		n += int(v)
	}
	if n == 0 || !strings.Contains(stdout.String(), "classic") {
		t.Fatalf("empty mask or no report: %q", stdout.String())
	}
}

func TestSegmentRefusals(t *testing.T) {
	ct := filepath.Join(sampleDir, "example_ct_sm.nii.gz")
	out := filepath.Join(t.TempDir(), "m.nii")
	missing := filepath.Join(t.TempDir(), "no-models")
	for _, c := range []struct {
		args  []string
		usage bool
		text  string
	}{
		{[]string{"--image", ct}, true, ""},
		{[]string{"--image", ct, "--box", "1,2,3", "--out", out}, true, "6 comma-separated"},
		{[]string{"--image", ct, "--point", "1,2", "--out", out}, true, "3 comma-separated"},
		{[]string{"--image", ct, "--text", "liver", "--models", missing, "--out", out}, false, "cannot segment by name"},
		{[]string{"--image", ct, "--box", "0,0,0,9,9,9", "--backend", "segvol", "--models", missing, "--out", out}, false, "SegVol model files not found"},
		{[]string{"--image", ct, "--point", "500,1,1", "--out", out}, false, "outside"},
	} {
		err := cmdSegment(context.Background(), c.args, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || errors.Is(err, errUsage) != c.usage || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%v: got %v", c.args, err)
		}
	}
}

// TestAutoFallsBackToClassic: without SegVol's models, auto segments with
// the embedded default and says why on stderr.
func TestAutoFallsBackToClassic(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.nii.gz")
	missing := filepath.Join(t.TempDir(), "no-models")
	var stdout, stderr bytes.Buffer
	err := cmdSegment(context.Background(), []string{"--image", sample, "--box", "60,40,10,80,60,20",
		"--models", missing, "--out", out}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "using the embedded default") || !strings.Contains(stdout.String(), "by classic") {
		t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
}

// TestSegmentBoxAloneOnMR is the user's command on an MR (the example MR
// of TotalSegmentator, T1 values, not HU): a box with nothing else. This
// box holds no value of the CT soft-tissue window, and the engine then read
// the Previous mask the CLI does not pass: "internal error: index out of
// range", exit status 3. Now the mask is a structure inside the box that
// reaches its middle slice.
func TestSegmentBoxAloneOnMR(t *testing.T) {
	mr := filepath.Join("..", "..", "testdata", "totalsegmentator", "example_mr_sm.nii.gz")
	out := filepath.Join(t.TempDir(), "mask.nii.gz")
	if err := cmdSegment(context.Background(), []string{"--image", mr, "--box", "84,36,6,96,48,12", "--backend", "classic", "--out", out},
		&bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	m, err := nifti.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	d := m.Dims
	n, middle := 0, 0
	for o := range m.Len() {
		if m.Stored(o) == 0 {
			continue
		}
		i, j, k := o%d[0], o/d[0]%d[1], o/(d[0]*d[1])
		if i < 84 || i > 96 || j < 36 || j > 48 || k < 6 || k > 12 {
			t.Fatalf("voxel (%d,%d,%d) of the mask lies outside the box", i, j, k)
		}
		n++
		if k == 9 {
			middle++
		}
	}
	t.Logf("%d voxels, %d on the middle slice", n, middle)
	if n == 0 || middle == 0 {
		t.Errorf("%d voxels, %d on the box's middle slice 9", n, middle)
	}
}
