package app

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/mesh"
	"github.com/segvolapp/segvol/mesh/meshtest"
	"github.com/segvolapp/segvol/viewer/labels"
)

// readSTL reads a binary STL file the export wrote.
func readSTL(t *testing.T, path string) meshtest.STL {
	t.Helper()
	f, err := meshtest.ReadSTL(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// extracted is what the mesh engine builds from m's voxels with o: the
// reference the files are checked against.
func extracted(t *testing.T, m *labels.LabelMap, o mesh.Options) []mesh.Mesh {
	t.Helper()
	var ms []mesh.Mesh
	var err error
	m.Read(func(vox []uint8) {
		ms, err = mesh.Extract(context.Background(), mesh.Grid{Labels: vox, Dims: m.Dims(), IndexToWorld: m.Geometry().Affine()}, o)
	})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// firstTriangle is mesh m's first triangle with x and y times sign (-1 for RAS).
func firstTriangle(m mesh.Mesh, sign float32) (tri [3][3]float32) {
	for c := range 3 {
		i := 3 * int(m.Triangles[c])
		tri[c] = [3]float32{sign * m.Positions[i], sign * m.Positions[i+1], m.Positions[i+2]}
	}
	return tri
}

// meshDialog opens File > Export segments as meshes… and fills it in.
func meshDialog(t *testing.T, v *Viewer, segments string, f mesh.Format, files, space string, smoothing, decimation float64) {
	t.Helper()
	v.setStatusNote("") // for waitExported
	menuItem(v, "File", "Export segments as meshes…").Action()
	top := v.win.Canvas().Overlays().Top()
	sel := find(t, top, func(s *widget.Select) bool { return len(s.Options) > 0 && s.Options[0] == meshVisible })
	format := find(t, top, func(s *widget.Select) bool { return len(s.Options) > 0 && s.Options[0] == meshFormats[0] })
	per := find(t, top, func(r *widget.RadioGroup) bool { return slices.Contains(r.Options, meshPerSegment) })
	conv := find(t, top, func(r *widget.RadioGroup) bool { return slices.Contains(r.Options, meshRAS) })
	smooth := find(t, top, func(s *widget.Slider) bool { return s.Max == 1 })
	decim := find(t, top, func(s *widget.Slider) bool { return s.Max == 0.95 })
	if sel == nil || format == nil || per == nil || conv == nil || smooth == nil || decim == nil {
		t.Fatal("the export dialog lacks a control: segments, format, files, coordinates, smoothing or decimation")
	}
	sel.SetSelected(segments)
	format.SetSelected(meshFormats[f])
	per.SetSelected(files)
	conv.SetSelected(space)
	smooth.SetValue(smoothing)
	decim.SetValue(decimation)
	test.Tap(findButton(t, top, "Export…"))
}

// waitExported waits for the status bar's note of a finished export.
func waitExported(t *testing.T, v *Viewer) string {
	t.Helper()
	waitFor(t, "the export", func() bool { return strings.HasPrefix(v.loadInfo, "exported ") })
	return v.loadInfo
}

// File > Export segments as meshes… writes the sample's segments as one
// STL file (LPS, Slicer's default smoothing) and as one file per visible
// segment (RAS, decimated), and the active segment as OBJ: the files hold
// exactly the triangles the mesh engine builds, in the convention their
// header names, the status bar says what was written, and the dialog
// offers the last choices again.
func TestExportMeshes(t *testing.T) {
	v, e := sampleWithLabels(t)
	m := e.Labels()
	v.app.Preferences().SetString(meshFolderKey, "") // a fresh start: no last folder

	// One file, every segment, LPS.
	meshDialog(t, v, meshAll, mesh.STL, meshOneFile, meshLPS, mesh.DefaultSmoothing, 0)
	one := filepath.Join(t.TempDir(), "all") // typed without the extension
	name, save := shownFileDialog(t, v)
	if name.Text != "example_ct_sm_segments.stl" {
		t.Errorf("proposed name %q", name.Text)
	}
	name.SetText(one)
	test.Tap(save)
	note := waitExported(t, v)
	want := extracted(t, m, mesh.Options{Smoothing: mesh.DefaultSmoothing})
	if len(want) < 5 {
		t.Fatalf("the sample has %d segments with voxels", len(want))
	}
	f := readSTL(t, one+".stl")
	n := 0
	for _, ms := range want {
		n += len(ms.Triangles) / 3
	}
	if len(f.Triangles) != n || !strings.HasPrefix(f.Header, "SPACE=LPS") {
		t.Errorf("one file: %d triangles, header %q; want %d, SPACE=LPS", len(f.Triangles), f.Header, n)
	}
	if f.Triangles[0] != firstTriangle(want[0], 1) {
		t.Errorf("first triangle %v, the engine's %v (LPS)", f.Triangles[0], firstTriangle(want[0], 1))
	}
	if !strings.Contains(note, "all.stl") || !strings.Contains(note, "LPS") || !strings.Contains(note, " "+strconv.Itoa(n)+" triangles") {
		t.Errorf("status %q", note)
	}

	// One file per visible segment, RAS, half the triangles: the spleen (1)
	// hidden stays out.
	if err := m.SetVisible(1, false); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	v.app.Preferences().SetString(meshFolderKey, dir) // the folder dialog starts there
	meshDialog(t, v, meshVisible, mesh.STL, meshPerSegment, meshRAS, 0.3, 0.5)
	choose := find(t, v.win.Canvas().Overlays().Top(), func(b *widget.Button) bool { return b.Importance == widget.HighImportance })
	if choose == nil {
		t.Fatal("no folder dialog")
	}
	test.Tap(choose)
	note = waitExported(t, v)
	want = extracted(t, m, mesh.Options{Smoothing: 0.3, Decimation: 0.5})
	paths, _ := filepath.Glob(filepath.Join(dir, "*.stl"))
	if len(paths) != len(want)-1 {
		t.Fatalf("%d files for %d visible segments: %v", len(paths), len(want)-1, paths)
	}
	byName := map[string]meshtest.STL{}
	for _, p := range paths {
		f := readSTL(t, p)
		name, ok := strings.CutPrefix(f.Header, "SPACE=RAS segvol: ")
		if !ok {
			t.Errorf("%s: header %q", filepath.Base(p), f.Header)
		}
		byName[name] = f
	}
	for _, ms := range want {
		s, _ := m.Segment(ms.Label)
		f, ok := byName[s.Name]
		if ms.Label == 1 {
			if ok {
				t.Errorf("the hidden %s was exported", s.Name)
			}
			continue
		}
		if !ok || len(f.Triangles) != len(ms.Triangles)/3 || f.Triangles[0] != firstTriangle(ms, -1) {
			t.Errorf("%s: file %v, %d triangles; want %d, first %v (RAS)", s.Name, ok, len(f.Triangles), len(ms.Triangles)/3, firstTriangle(ms, -1))
		}
	}
	if !strings.Contains(note, strconv.Itoa(len(paths))+" STL files (RAS) to "+dir) {
		t.Errorf("status %q", note)
	}

	// The dialog offers the last choices.
	menuItem(v, "File", "Export segments as meshes…").Action()
	top := v.win.Canvas().Overlays().Top()
	per := find(t, top, func(r *widget.RadioGroup) bool { return slices.Contains(r.Options, meshPerSegment) })
	conv := find(t, top, func(r *widget.RadioGroup) bool { return slices.Contains(r.Options, meshRAS) })
	decim := find(t, top, func(s *widget.Slider) bool { return s.Max == 0.95 })
	sel := find(t, top, func(s *widget.Select) bool { return len(s.Options) > 0 && s.Options[0] == meshVisible })
	format := find(t, top, func(s *widget.Select) bool { return len(s.Options) > 0 && s.Options[0] == meshFormats[0] })
	smooth := find(t, top, func(s *widget.Slider) bool { return s.Max == 1 })
	if sel.Selected != meshVisible || format.Selected != meshFormats[mesh.STL] || per.Selected != meshPerSegment || conv.Selected != meshRAS ||
		math.Abs(smooth.Value-0.3) > 1e-9 || decim.Value != 0.5 {
		t.Errorf("the dialog offers %q, %q, %q, %q, smoothing %g, decimation %g: not the last choices",
			sel.Selected, format.Selected, per.Selected, conv.Selected, smooth.Value, decim.Value)
	}
	test.Tap(findButton(t, top, "Cancel"))

	// The active segment alone, as OBJ: one object of the engine's vertices
	// and triangles.
	if err := e.SetActive(5); err != nil {
		t.Fatal(err)
	}
	meshDialog(t, v, meshActive, mesh.OBJ, meshOneFile, meshLPS, mesh.DefaultSmoothing, 0)
	name, save = shownFileDialog(t, v)
	if name.Text != "example_ct_sm_segments.obj" {
		t.Errorf("proposed name %q", name.Text)
	}
	obj := filepath.Join(t.TempDir(), "active.obj")
	name.SetText(obj)
	test.Tap(save)
	waitExported(t, v)
	b, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	liver := extracted(t, m, mesh.Options{Labels: []uint8{5}, Smoothing: mesh.DefaultSmoothing})[0]
	s5, _ := m.Segment(5)
	lines := strings.Split(string(b), "\n")
	kinds := map[string]int{}
	for _, l := range lines {
		kinds[strings.SplitN(l, " ", 2)[0]]++
	}
	if lines[0] != "# SPACE=LPS" || kinds["o"] != 1 || !slices.Contains(lines, "o "+s5.Name) ||
		kinds["v"] != liver.Vertices() || kinds["f"] != len(liver.Triangles)/3 {
		t.Errorf("OBJ: first line %q, %v; want SPACE=LPS, one object %q, %d vertices, %d faces", lines[0], kinds, s5.Name, liver.Vertices(), len(liver.Triangles)/3)
	}
}

// An export that cannot be written leaves no new file and says why: one
// file under a path that is a file, and one file per segment where the
// liver's name is taken by a folder (after the spleen's and kidneys' files
// were written, one of them over an older file, which it names). Neither
// is refused by permissions, which root ignores.
func TestExportMeshesFailureLeavesNothing(t *testing.T) {
	v, e := sampleWithLabels(t)
	m := e.Labels()
	if err := m.Rename(5, "liver"); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	blocker := filepath.Join(root, "a file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	meshDialog(t, v, meshAll, mesh.STL, meshOneFile, meshLPS, mesh.DefaultSmoothing, 0)
	name, save := shownFileDialog(t, v)
	name.SetText(filepath.Join(blocker, "all.stl"))
	test.Tap(save)
	waitFor(t, "the failure", func() bool { return strings.Contains(shownText(v), "not exported as meshes (no new file left)") })
	if es, _ := os.ReadDir(root); len(es) != 1 {
		t.Errorf("left in the folder: %v", es)
	}
	test.Tap(findButton(t, v.win.Canvas().Overlays().Top(), "OK"))

	// A file the export replaces before it fails is named: the old one is gone.
	if err := m.Rename(2, "kidney"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "liver.stl"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kidney.stl"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	v.app.Preferences().SetString(meshFolderKey, dir)
	meshDialog(t, v, meshAll, mesh.STL, meshPerSegment, meshLPS, mesh.DefaultSmoothing, 0)
	test.Tap(find(t, v.win.Canvas().Overlays().Top(), func(b *widget.Button) bool { return b.Importance == widget.HighImportance }))
	waitFor(t, "the failure", func() bool { return strings.Contains(shownText(v), "not exported as meshes (no new file left)") })
	if !strings.Contains(shownText(v), "already replaced before it: kidney.stl") {
		t.Errorf("the replaced file is not named: %q", shownText(v))
	}
	es, _ := os.ReadDir(dir)
	if len(es) != 2 || es[0].Name() != "kidney.stl" || es[1].Name() != "liver.stl" {
		t.Errorf("left in the folder: %v", es)
	}
	if strings.HasPrefix(v.loadInfo, "exported") {
		t.Errorf("status %q after a failure", v.loadInfo)
	}
}

// Cancel in the progress dialog stops the build and writes nothing. (The
// test holds the UI while the workers report progress, so they wait for it
// after a label or two of the sample's forty.)
func TestExportMeshesCancel(t *testing.T) {
	v, _ := sampleWithLabels(t)
	meshDialog(t, v, meshAll, mesh.STL, meshOneFile, meshLPS, mesh.DefaultSmoothing, 0)
	out := filepath.Join(t.TempDir(), "all.stl")
	name, save := shownFileDialog(t, v)
	name.SetText(out)
	test.Tap(save)
	if !strings.Contains(shownText(v), "Building the surfaces") {
		t.Fatalf("no progress shown: %q", shownText(v))
	}
	test.Tap(findButton(t, v.win.Canvas().Overlays().Top(), "Cancel"))
	waitFor(t, "the cancel", func() bool { return v.loadInfo != "" })
	if v.loadInfo != "mesh export cancelled: nothing written" {
		t.Errorf("status %q", v.loadInfo)
	}
	if es, _ := os.ReadDir(filepath.Dir(out)); len(es) != 0 {
		t.Errorf("left behind: %v", es)
	}
}
