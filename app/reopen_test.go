package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReopenedStudyBringsItsSegmentation: a study saved under the name
// Save offers (<study>_seg.nii.gz beside it) comes back with its
// segmentation when opened again, and the status bar says from where; a
// user reopened a study, found no segments and no hint their work was
// saved. A file of that name that does not fit the study is left alone,
// in words.
func TestReopenedStudyBringsItsSegmentation(t *testing.T) {
	dir := t.TempDir()
	study := filepath.Join(dir, "ct.nii.gz")
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(study, data, 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, study)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(v.Session().Edit().Labels().Segments()); n != 0 {
		t.Fatalf("a study never saved opens with %d segments", n)
	}
	if _, err := v.Session().Edit().AddSegment("lesion"); err != nil {
		t.Fatal(err)
	}
	d, name := v.studyFile("_seg.nii.gz")
	if err := v.SaveLabels(filepath.Join(d, name)); err != nil {
		t.Fatal(err)
	}

	w, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, study)
	if err != nil {
		t.Fatal(err)
	}
	segs := w.Session().Edit().Labels().Segments()
	if len(segs) != 1 || segs[0].Name != "lesion" || w.Session().Edit().Dirty() {
		t.Fatalf("the reopened study has %+v, dirty %v", segs, w.Session().Edit().Dirty())
	}
	if !strings.Contains(w.loadInfo, "ct_seg.nii.gz") || !strings.Contains(w.loadInfo, "saved beside the study") {
		t.Errorf("the status says %q", w.loadInfo)
	}
	if w.files.path != filepath.Join(d, name) {
		t.Errorf("Save would write to %q, not the file opened", w.files.path)
	}

	// The saved segmentation beside another study, of another grid.
	small, err := os.ReadFile(filepath.Join("..", "testdata", "nibabel_testdata", "standard.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	std := filepath.Join(dir, "std.nii.gz")
	if err := os.WriteFile(std, small, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(d, name), filepath.Join(dir, "std_seg.nii.gz")); err != nil {
		t.Fatal(err)
	}
	u, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, std)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(u.Session().Edit().Labels().Segments()); n != 0 || !strings.Contains(u.loadInfo, "std_seg.nii.gz is beside the study but was not opened") {
		t.Errorf("a segmentation of another grid: %d segments, status %q", n, u.loadInfo)
	}
}
