package labels

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	m := sampleMap(t)
	m.Rename(liver, `Liver "right lobe" too`)
	m.Recolor(liver, color.NRGBA{R: 221, G: 130, B: 101, A: 255})
	m.SetOpacity(liver, 0.5)
	m.SetVisible(spleen, false)
	// The lock comes back (it rides in a comment line ITK-SNAP skips,
	// which the python reader below skips the same way).
	m.SetLocked(spleen, true)
	m.SetLocked(liver, true)
	empty, _ := m.AddSegment("planned, still empty")
	path := filepath.Join(t.TempDir(), "seg.nii.gz")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path, m.Image())
	if err != nil {
		t.Fatal(err)
	}
	if string(snapshot(back)) != string(snapshot(m)) {
		t.Fatal("voxels differ after save and load")
	}
	want := m.Segments()
	for i := range want {
		if want[i].Value == liver {
			want[i].Name = `Liver 'right lobe' too` // quotes cannot survive the format
		}
	}
	if got := back.Segments(); !reflect.DeepEqual(got, want) {
		t.Fatalf("segments after load:\n%v\nwant\n%v", got, want)
	}
	if s, ok := back.Segment(empty); !ok || s.Name != "planned, still empty" {
		t.Fatal("the empty segment was lost")
	}

	// A second, independent reader: nibabel for the image, a regular
	// expression of ITK-SNAP's line format for the description.
	out := python(t, `
import sys, re, nibabel as nib, numpy as np
lab = nib.load(sys.argv[1]); ref = nib.load(sys.argv[2]); ct = nib.load(sys.argv[3])
a = np.asarray(lab.dataobj); b = np.asarray(ref.dataobj)
assert lab.get_data_dtype() == np.uint8, lab.get_data_dtype()
assert np.array_equal(a, b), "voxels differ"
assert np.allclose(lab.affine, ct.affine, atol=1e-4), (lab.affine, ct.affine)
line = re.compile(r'^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([0-9.eE+-]+)\s+([01])\s+([01])\s+"([^"]*)"\s*$')
rows = {}
for l in open(sys.argv[4]):
    if l.startswith('#') or not l.strip():
        continue
    m = line.match(l)
    assert m, "bad line: " + l
    rows[int(m.group(1))] = m.groups()
vals = set(int(v) for v in np.unique(a)) | {int(sys.argv[5])}
assert set(rows) == vals, (sorted(rows), sorted(vals))
print(len(rows), rows[5][7], rows[5][4], rows[1][5])
`, path, sampleSeg, sampleCT, DescriptionPath(path), fmt.Sprint(empty))
	if want := fmt.Sprintf("%d Liver 'right lobe' too 0.5 0", len(want)+1); out != want {
		t.Fatalf("python read %q, want %q", out, want)
	}
	txt, _ := os.ReadFile(DescriptionPath(path))
	t.Logf("description file starts:\n%s", strings.Join(strings.SplitN(string(txt), "\n", 12)[:11], "\n"))
}

func TestLoadWithoutDescription(t *testing.T) {
	m := sampleMap(t) // the sample has no .txt beside it
	segs := m.Segments()
	if len(segs) != 41 {
		t.Fatalf("%d segments, the sample has 41 labels", len(segs))
	}
	for _, s := range segs {
		want := DefaultColor(s.Value)
		want.A = 255
		if s.Name != fmt.Sprintf("Label %d", s.Value) || s.Color != want || !s.Visible || s.Opacity != 1 {
			t.Fatalf("segment %+v", s)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	img := sampleImage(t)
	m := sampleMap(t)
	path := filepath.Join(dir, "seg.nii.gz")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"six fields":      "1 255 0 0 1 1 \"x\"\n",
		"no name":         "1 255 0 0 1 1 1\n",
		"value too large": "300 255 0 0 1 1 1 \"x\"\n",
		"opacity":         "1 255 0 0 2 1 1 \"x\"\n",
		"colour":          "1 256 0 0 1 1 1 \"x\"\n",
		"twice":           "1 255 0 0 1 1 1 \"x\"\n1 0 0 0 1 1 1 \"y\"\n",
		"not a number":    "1 red 0 0 1 1 1 \"x\"\n",
	}
	for name, text := range bad {
		os.WriteFile(DescriptionPath(path), []byte("# header\n"+text), 0o644)
		if _, err := Load(path, img); err == nil || !strings.Contains(err.Error(), "seg.txt line") {
			t.Errorf("%s: %v", name, err)
		}
	}
	os.Remove(DescriptionPath(path))
	// Another grid: the CT shifted by a voxel.
	shifted := *img
	shifted.Geom.Origin[0] += 3
	if _, err := Load(path, &shifted); err == nil || !strings.Contains(err.Error(), "do not cover") {
		t.Errorf("shifted grid: %v", err)
	}
	// The CT itself is not a label map (negative values).
	if _, err := Load(sampleCT, img); err == nil || !strings.Contains(err.Error(), "0..255") {
		t.Errorf("CT as labels: %v", err)
	}
}

func TestAutosaveRecovery(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "recovery")
	m := sampleMap(t)
	if rs, err := FindRecovery(dir); err != nil || len(rs) != 0 {
		t.Fatalf("empty folder: %v %v", rs, err)
	}
	m.Rename(liver, "Liver")
	m.SetLocked(liver, true)
	rec, err := m.Autosave(dir)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.Stat(rec)
	// Nothing changed: no new write.
	if again, err := m.Autosave(dir); err != nil || again != rec {
		t.Fatal(again, err)
	}
	if st, _ := os.Stat(rec); !st.ModTime().Equal(first.ModTime()) {
		t.Fatal("an unchanged map was written again")
	}
	// Edits while autosaves run on another goroutine (go test -race).
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 5 {
			if _, err := m.Autosave(dir); err != nil {
				t.Error(err)
			}
		}
	}()
	g := m.Geometry()
	for s := range 10 {
		m.Paint(Brush{RadiusMM: 6}, g.IndexToWorld([3]float64{20 + 3*float64(s), 50, 10}), spleen)
	}
	wg.Wait()
	if _, err := m.Autosave(dir); err != nil {
		t.Fatal(err)
	}
	rs, err := FindRecovery(dir)
	if err != nil || len(rs) != 1 {
		t.Fatalf("recoveries %v %v", rs, err)
	}
	r := rs[0]
	if r.Source != sampleCT || time.Since(r.Time) > time.Minute || r.Dims != m.Dims() {
		t.Fatalf("recovery %+v", r)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 2 {
		t.Fatalf("%d files in the recovery folder, want the record and one label map", len(files))
	}
	back, err := LoadRecovery(r, m.Image())
	if err != nil {
		t.Fatal(err)
	}
	if string(snapshot(back)) != string(snapshot(m)) || !reflect.DeepEqual(back.Segments(), m.Segments()) {
		t.Fatal("the recovered map differs")
	}
	if err := RemoveRecovery(r); err != nil {
		t.Fatal(err)
	}
	if rs, _ := FindRecovery(dir); len(rs) != 0 {
		t.Fatal("recovery still listed after RemoveRecovery")
	}
}
