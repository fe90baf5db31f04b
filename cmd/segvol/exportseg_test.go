package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/segvolapp/segvol/internal/testenv"
	"github.com/segvolapp/segvol/viewer/dicom/seg"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/study"
	"github.com/segvolapp/segvol/viewer/volume"
)

// loadDICOM loads the one series of dir.
func loadDICOM(t *testing.T, dir string) *volume.Volume {
	t.Helper()
	st, err := study.Open(context.Background(), dir, study.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st.Volume
}

// exportAndCheck runs export-seg and checks the SEG read back against the
// label map, segment by segment.
func exportAndCheck(t *testing.T, dicomDir string, lab *volume.Volume, names map[int]string) *seg.SEG {
	t.Helper()
	dir := t.TempDir()
	labPath := filepath.Join(dir, "labels.nii.gz")
	if err := nifti.Write(labPath, lab); err != nil {
		t.Fatal(err)
	}
	args := []string{"--image", dicomDir, "--labels", labPath, "--out", filepath.Join(dir, "seg.dcm")}
	if names != nil {
		var b strings.Builder
		b.WriteString("# ITK-SnAP Label Description File\n    0     0    0    0        0  0  0    \"Clear Label\"\n")
		for v, n := range names {
			b.WriteString(strings.Join([]string{strconv.Itoa(v), "10", "20", "30", "1", "1", "1", `"` + n + `"`}, " ") + "\n")
		}
		p := filepath.Join(dir, "labels.txt")
		os.WriteFile(p, []byte(b.String()), 0o644)
		args = append(args, "--names", p)
	}
	var stdout, stderr bytes.Buffer
	if err := cmdExportSeg(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(stdout.String() + stderr.String()))
	out := filepath.Join(dir, "seg.dcm")
	testenv.Dciodvfy(t, out)
	img := loadDICOM(t, dicomDir)
	s, err := seg.Read(out, img)
	if err != nil {
		t.Fatal(err)
	}
	lab, err = lab.OnGrid(img.Dims, img.Geom)
	if err != nil {
		t.Fatal(err)
	}
	values, err := labelValues(lab)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Segments) != len(values) {
		t.Fatalf("%d segments for %d label values", len(s.Segments), len(values))
	}
	for i, v := range values {
		want := "Segment " + strconv.Itoa(v)
		if n, ok := names[v]; ok {
			want = n
		}
		if s.Segments[i].Label != want {
			t.Errorf("segment %d: label %q, want %q", i+1, s.Segments[i].Label, want)
		}
		diff := 0
		for n := 0; n < lab.Len(); n++ {
			if (lab.Stored(n) == float64(v)) != (s.Masks[i][n] != 0) {
				diff++
			}
		}
		if diff != 0 {
			t.Errorf("label %d: %d voxels differ after the round trip", v, diff)
		}
	}
	return s
}

// TestExportSegTotalSegmentator exports TotalSegmentator's labels of its
// DICOM CT on the 5-slice copy in testdata (the labels cut to those slices).
func TestExportSegTotalSegmentator(t *testing.T) {
	labels := filepath.Join("..", "..", "..", "shared", "data", "totalsegmentator", "example_seg_dicom.nii.gz")
	if _, err := os.Stat(labels); err != nil {
		t.Skip("shared TotalSegmentator labels not present")
	}
	dicomDir := filepath.Join("..", "..", "testdata", "totalsegmentator", "example_ct_dicom_subset")
	img := loadDICOM(t, dicomDir)
	full, err := nifti.Read(labels)
	if err != nil {
		t.Fatal(err)
	}
	// Cut the labels to the subset's slices, keeping their storage order
	// (rows flipped against the DICOM's, as dcm2niix writes them): the
	// command puts them into the image's order.
	p, err := full.Geom.WorldToIndex(img.Geom.Origin)
	if err != nil {
		t.Fatal(err)
	}
	k0 := int(p[2] + 0.5)
	if k0 < 0 || k0+img.Dims[2] > full.Dims[2] {
		t.Fatalf("subset origin at index %v of the labels", p)
	}
	g := full.Geom
	g.Origin = g.IndexToWorld([3]float64{0, 0, float64(k0)})
	sub, err := volume.New(volume.Uint8, img.Dims, g)
	if err != nil {
		t.Fatal(err)
	}
	plane := img.Dims[0] * img.Dims[1]
	copy(sub.Data.([]uint8), full.Data.([]uint8)[k0*plane:(k0+img.Dims[2])*plane])
	s := exportAndCheck(t, dicomDir, sub, map[int]string{1: "spleen", 5: "liver", 52: "aorta", 2: "kidney_right", 79: "spinal_cord"})
	for _, sg := range s.Segments {
		if sg.Label == "liver" && sg.Type.Value != "10200004" {
			t.Errorf("liver coded %+v", sg.Type)
		}
	}
}

// TestExportSegSynthetic runs on a fresh clone: two labels drawn on the
// 3-slice CT of testdata, no names file.
func TestExportSegSynthetic(t *testing.T) {
	dicomDir := filepath.Join("..", "..", "testdata", "dcmqi_ct3slice_seg", "ct-3slice")
	img := loadDICOM(t, dicomDir)
	lab, err := volume.New(volume.Uint8, img.Dims, img.Geom)
	if err != nil {
		t.Fatal(err)
	}
	d := lab.Data.([]uint8)
	for j := 100; j < 200; j++ {
		for i := 150; i < 300; i++ {
			d[lab.Offset(i, j, 0)] = 3
			d[lab.Offset(i, j, 2)] = 9
		}
	}
	exportAndCheck(t, dicomDir, lab, nil)
}

func TestExportSegRefusals(t *testing.T) {
	dicomDir := filepath.Join("..", "..", "testdata", "dcmqi_ct3slice_seg", "ct-3slice")
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.nii.gz")
	img := loadDICOM(t, dicomDir)
	lab, _ := volume.New(volume.Uint8, img.Dims, img.Geom)
	if err := nifti.Write(empty, lab); err != nil {
		t.Fatal(err)
	}
	badNames := filepath.Join(dir, "bad.txt")
	os.WriteFile(badNames, []byte("1 2 3 liver\n"), 0o644)
	for _, c := range []struct {
		args  []string
		usage bool
		text  string
	}{
		{[]string{"--image", dicomDir}, true, "export-seg"},
		{[]string{"--image", dicomDir, "--labels", empty, "--out", filepath.Join(dir, "x.dcm")}, false, "empty"},
		{[]string{"--image", dicomDir, "--labels", sample, "--out", filepath.Join(dir, "x.dcm")}, false, "not on the same voxels"},
		{[]string{"--image", dicomDir, "--labels", empty, "--names", badNames, "--out", filepath.Join(dir, "x.dcm")}, false, "empty"},
	} {
		err := cmdExportSeg(context.Background(), c.args, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || errors.Is(err, errUsage) != c.usage || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%v: %v", c.args, err)
		}
	}
	if _, err := labels.ReadDescription(badNames); err == nil {
		t.Error("bad label description accepted")
	}
}
