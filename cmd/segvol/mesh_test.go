package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/segvolapp/segvol/mesh/meshtest"
)

// sampleWithNames copies the sample's label map into a folder with an
// ITK-SNAP label description beside it naming the spleen and the liver.
func sampleWithNames(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(sampleLabels)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "seg.nii.gz")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	txt := `    0     0    0    0        0  0  0    "Clear Label"
    1   157  108  162        1  1  1    "spleen"
    5   221  130  101        1  1  1    "liver"
`
	if err := os.WriteFile(filepath.Join(dir, "seg.txt"), []byte(txt), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// stlTriangles reads a binary STL's header and triangle count, and checks
// the file is exactly as long as that count says.
func stlTriangles(t *testing.T, path string) (string, int) {
	t.Helper()
	f, err := meshtest.ReadSTL(path)
	if err != nil {
		t.Fatal(err)
	}
	return f.Header, len(f.Triangles)
}

// TestMeshPerSegmentByName exports two segments chosen by name and by
// value into a folder, one STL each named after its segment, LPS then RAS,
// with the triangle counts the command reports.
func TestMeshPerSegmentByName(t *testing.T) {
	seg := sampleWithNames(t)
	for _, ras := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "meshes") + "/"
		args := []string{"mesh", "--labels", seg, "--label", "LIVER", "--label", "1", "--out", out}
		space := "LPS"
		if ras {
			args, space = append(args, "--ras"), "RAS"
		}
		st, stdout, errs := segvol(t, args...)
		if st != 0 {
			t.Fatalf("status %d: %s", st, errs)
		}
		for _, name := range []string{"liver", "spleen"} {
			header, n := stlTriangles(t, filepath.Join(out, name+".stl"))
			if !strings.HasPrefix(header, "SPACE="+space) {
				t.Errorf("%s.stl header %q, want SPACE=%s", name, header, space)
			}
			m := regexp.MustCompile(`(?m)^\s*\d+ ` + name + `\s+(\d+) triangles`).FindStringSubmatch(stdout)
			if m == nil || m[1] != strconv.Itoa(n) {
				t.Errorf("%s.stl holds %d triangles; the command said %q", name, n, stdout)
			}
		}
		if entries, _ := os.ReadDir(out); len(entries) != 2 {
			t.Errorf("%d files in %s, want the two segments'", len(entries), out)
		}
	}
}

// TestMeshOneFile writes every segment of the sample into one OBJ: one
// object per segment, vertices and faces for each; --decimate 0.5 halves
// the faces.
func TestMeshOneFile(t *testing.T) {
	seg := sampleWithNames(t)
	out := filepath.Join(t.TempDir(), "all.obj")
	if st, _, errs := segvol(t, "mesh", "--labels", seg, "--smooth", "0.2", "--out", out); st != 0 {
		t.Fatalf("status %d: %s", st, errs)
	}
	half := filepath.Join(t.TempDir(), "half.obj")
	if st, _, errs := segvol(t, "mesh", "--labels", seg, "--smooth", "0.2", "--decimate", "0.5", "--out", half); st != 0 {
		t.Fatalf("status %d: %s", st, errs)
	}
	faces := func(path string) int {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "\nf ")
	}
	if n, h := faces(out), faces(half); n == 0 || h < n*45/100 || h > n*55/100 {
		t.Errorf("--decimate 0.5 kept %d of %d faces", h, n)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.HasPrefix(s, "# SPACE=LPS\n") || strings.Count(s, "\no ") != 41 ||
		!strings.Contains(s, "\no liver\n") || !strings.Contains(s, "\no spleen\n") || !strings.Contains(s, "\no Label 117\n") {
		t.Fatalf("%s: want 41 objects (liver, spleen, Label 117...) after a SPACE=LPS comment; starts %q", out, s[:min(len(s), 200)])
	}
}

// TestMeshDicomSEG exports dcmqi's liver DICOM SEG (a real, human-made
// segmentation of a 3-slice GE CT) against its series: the segment keeps
// the SEG's name.
func TestMeshDicomSEG(t *testing.T) {
	dir := "../../testdata/dcmqi_ct3slice_seg"
	out := t.TempDir() + "/"
	st, stdout, errs := segvol(t, "mesh", "--labels", dir+"/liver.dcm", "--image", dir+"/ct-3slice", "--out", out, "--format", "ply")
	if st != 0 {
		t.Fatalf("status %d: %s", st, errs)
	}
	entries, err := os.ReadDir(out)
	if err != nil || len(entries) != 1 || entries[0].Name() != "Liver.ply" {
		t.Fatalf("files %v (%v), want Liver.ply; output %s", entries, err, stdout)
	}
	b, _ := os.ReadFile(filepath.Join(out, "Liver.ply"))
	if !strings.Contains(string(b[:200]), "comment SPACE=LPS\ncomment segment 1 Liver\n") {
		t.Errorf("Liver.ply header: %q", b[:200])
	}
}

// TestMeshRejects checks each mistake exits 2 with a message that says
// what is wrong.
func TestMeshRejects(t *testing.T) {
	seg := sampleWithNames(t)
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--labels", seg}, "--out"},
		{[]string{"--labels", seg, "--out", dir + "/x.vtk"}, "want stl, obj or ply"},
		{[]string{"--labels", seg, "--out", dir + "/x.stl", "--smooth", "2"}, "outside 0..1"},
		{[]string{"--labels", seg, "--out", dir + "/x.stl", "--decimate", "1"}, "outside 0..0.99"},
		{[]string{"--labels", seg, "--out", dir + "/x.stl", "--label", "heart"}, `"heart": no such segment (there are: 1 spleen,`},
		{[]string{"--labels", "../../testdata/dcmqi_ct3slice_seg/liver.dcm", "--out", dir + "/x.stl"}, "needs --image"},
	} {
		st, _, errs := segvol(t, append([]string{"mesh"}, c.args...)...)
		if st != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: status %d, %q; want 2 and %q", c.args, st, errs, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused command left %d files", len(entries))
	}
}

// TestMeshWithImage reads the NIfTI label map onto its study (--image):
// the same grid, so the same liver surface as from the label map alone.
func TestMeshWithImage(t *testing.T) {
	seg := sampleWithNames(t)
	dir := t.TempDir()
	alone, with := filepath.Join(dir, "alone.stl"), filepath.Join(dir, "with.stl")
	if st, _, errs := segvol(t, "mesh", "--labels", seg, "--label", "liver", "--out", alone); st != 0 {
		t.Fatalf("status %d: %s", st, errs)
	}
	if st, _, errs := segvol(t, "mesh", "--labels", seg, "--image", sample, "--label", "liver", "--out", with); st != 0 {
		t.Fatalf("status %d: %s", st, errs)
	}
	a, _ := os.ReadFile(alone)
	b, _ := os.ReadFile(with)
	if _, n := stlTriangles(t, alone); n == 0 || !bytes.Equal(a, b) {
		t.Errorf("the liver differs with --image (%d and %d bytes)", len(a), len(b))
	}
}
