package mesh_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/segvolapp/segvol/internal/atomicfile"
	"github.com/segvolapp/segvol/internal/testenv"
	"github.com/segvolapp/segvol/mesh"
)

// vtkRead reads mesh files with VTK's own readers (Debian's python3-vtk9),
// an implementation independent of ours, and reports per file what VTK
// sees: points, triangles, bounds, enclosed volume, and for PLY the
// distinct vertex colours.
const vtkRead = `
import json, sys
import vtk
from vtk.util.numpy_support import vtk_to_numpy
out = {}
for path in sys.argv[1:]:
    ext = path.rsplit(".", 1)[1]
    r = {"stl": vtk.vtkSTLReader, "obj": vtk.vtkOBJReader, "ply": vtk.vtkPLYReader}[ext]()
    r.SetFileName(path)
    r.Update()
    pd = r.GetOutput()
    tri = vtk.vtkTriangleFilter()
    tri.SetInputData(pd)
    mp = vtk.vtkMassProperties()
    mp.SetInputConnection(tri.GetOutputPort())
    mp.Update()
    colors = []
    sc = pd.GetPointData().GetScalars()
    if sc is not None:
        colors = sorted(set(map(tuple, vtk_to_numpy(sc).tolist())))
    out[path] = {"points": pd.GetNumberOfPoints(), "cells": pd.GetNumberOfPolys(),
                 "bounds": list(pd.GetBounds()), "volume": mp.GetVolume(), "colors": colors}
json.dump(out, sys.stdout)
`

type vtkSeen struct {
	Points, Cells int
	Bounds        [6]float64
	Volume        float64
	Colors        [][3]int
}

// TestExportReadByVTK writes the sample's spleen and liver as STL, OBJ and
// PLY, in LPS and in RAS, and reads each back with VTK: the same triangles,
// the same bounds (x and y negated in RAS), the same enclosed volume, the
// segments' colours in PLY, and the convention named in the file's header.
func TestExportReadByVTK(t *testing.T) {
	if _, err := os.Stat(testenv.Python); err != nil {
		testenv.Missing(t, "%s is missing", testenv.Python)
	}
	if err := exec.Command(testenv.Python, "-c", "import vtk").Run(); err != nil {
		testenv.Missing(t, "python3-vtk9 is not installed")
	}
	g, _ := readGrid(t, sampleLabels)
	ms, err := mesh.Extract(context.Background(), g, mesh.Options{Labels: []uint8{1, 5}, Smoothing: mesh.DefaultSmoothing})
	if err != nil {
		t.Fatal(err)
	}
	parts := []mesh.Part{{Mesh: &ms[0], Name: "spleen", Color: [3]uint8{157, 108, 162}}, {Mesh: &ms[1], Name: "liver", Color: [3]uint8{221, 130, 101}}}
	var tris, verts int
	var lo, hi [3]float64
	for a := range 3 {
		lo[a], hi[a] = math.Inf(1), math.Inf(-1)
	}
	vol := 0.0
	for _, p := range parts {
		tris += len(p.Mesh.Triangles) / 3
		verts += p.Mesh.Vertices()
		vol += p.Mesh.Volume()
		for i, x := range p.Mesh.Positions {
			lo[i%3], hi[i%3] = min(lo[i%3], float64(x)), max(hi[i%3], float64(x))
		}
	}

	dir := t.TempDir()
	var paths []string
	for _, f := range []mesh.Format{mesh.STL, mesh.OBJ, mesh.PLY} {
		for _, s := range []mesh.Space{mesh.LPS, mesh.RAS} {
			path := filepath.Join(dir, s.String()+f.Ext())
			if err := atomicfile.Write(path, func(w io.Writer) error { return mesh.Write(w, f, parts, s) }); err != nil {
				t.Fatal(err)
			}
			head, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(head[:min(len(head), 300)], []byte("SPACE="+s.String())) {
				t.Errorf("%s: no SPACE=%s in its header", filepath.Base(path), s)
			}
			paths = append(paths, path)
		}
	}
	out, err := exec.Command(testenv.Python, append([]string{"-c", vtkRead}, paths...)...).Output()
	if err != nil {
		t.Fatalf("VTK: %v", err)
	}
	seen := map[string]vtkSeen{}
	if err := json.Unmarshal(out, &seen); err != nil {
		t.Fatalf("VTK said %s: %v", out, err)
	}
	for _, path := range paths {
		got, name := seen[path], filepath.Base(path)
		if got.Cells != tris {
			t.Errorf("%s: VTK reads %d triangles, we wrote %d", name, got.Cells, tris)
		}
		if got.Points != verts {
			t.Errorf("%s: VTK reads %d points, we wrote %d", name, got.Points, verts)
		}
		if math.Abs(got.Volume/vol-1) > 1e-4 {
			t.Errorf("%s: VTK measures %.0f mm³, we %.0f", name, got.Volume, vol)
		}
		want := [6]float64{lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]}
		if strings.HasPrefix(name, "RAS") {
			want = [6]float64{-hi[0], -lo[0], -hi[1], -lo[1], lo[2], hi[2]}
		}
		for i := range want {
			if math.Abs(got.Bounds[i]-want[i]) > 1e-3 {
				t.Errorf("%s: VTK bounds %.3f, want %.3f", name, got.Bounds, want)
				break
			}
		}
		if strings.HasSuffix(name, ".ply") && (len(got.Colors) != 2 || got.Colors[0] != [3]int{157, 108, 162} || got.Colors[1] != [3]int{221, 130, 101}) {
			t.Errorf("%s: VTK reads colours %v, want the spleen's and the liver's", name, got.Colors)
		}
	}
}

// TestWriteFilesNames writes one file per segment: each named after its
// segment, made safe ("a/b" -> "a_b"), a name taken twice in any case
// ("Liver", "liver") told apart by the segment's value, every file whole.
func TestWriteFilesNames(t *testing.T) {
	g, _ := readGrid(t, sampleLabels)
	ms, err := mesh.Extract(context.Background(), g, mesh.Options{Labels: []uint8{1, 2, 5}})
	if err != nil {
		t.Fatal(err)
	}
	parts := []mesh.Part{{Mesh: &ms[0], Name: "Liver"}, {Mesh: &ms[1], Name: "a/b"}, {Mesh: &ms[2], Name: "liver"}}
	dir := filepath.Join(t.TempDir(), "new")
	paths, err := mesh.WriteFiles(dir, mesh.PLY, parts, mesh.LPS)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Liver.ply", "a_b.ply", "liver_5.ply"}
	for i, p := range paths {
		if filepath.Base(p) != want[i] {
			t.Errorf("file %d is %s, want %s", i, filepath.Base(p), want[i])
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte("element face "+strconv.Itoa(len(parts[i].Mesh.Triangles)/3)+"\n")) {
			t.Errorf("%s: %v, or not the segment's faces", p, err)
		}
	}
	if err := mesh.WriteFile(filepath.Join(dir, "all.vtk"), parts, mesh.LPS); err == nil || !strings.Contains(err.Error(), "want stl, obj or ply") {
		t.Errorf("writing all.vtk: %v", err)
	}
}
