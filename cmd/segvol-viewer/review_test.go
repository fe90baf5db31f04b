package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/segvolapp/segvol/batch"
	"github.com/segvolapp/segvol/infer/classic"
)

// --review DIR opens the batch's first study (app's TestReviewBatch checks
// the segmentation, stepping, the flag and saving back).
func TestReviewUnderXvfb(t *testing.T) {
	bin, display := xserver(t)
	dir := t.TempDir()
	abs, _ := filepath.Abs("../../assets/sample/example_ct_sm.nii.gz")
	if err := os.Symlink(abs, filepath.Join(dir, "first.nii.gz")); err != nil {
		t.Fatal(err)
	}
	man := filepath.Join(dir, "manifest.csv")
	os.WriteFile(man, []byte("study,name,box\nfirst.nii.gz,liver,54.9 -86.3 94.3 -137.0 -269.3 181.3\n"), 0o644)
	m, err := batch.ReadManifest(man)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if _, err := batch.Run(context.Background(), m, batch.Options{Out: out, Workers: 1, Engine: classic.Segmenter{}}); err != nil {
		t.Fatal(err)
	}
	seen, _ := viewer(t, bin, display, "segvol-viewer: opened", "--renderer", "cpu", "--review", out)
	if last := seen[len(seen)-1]; !strings.HasSuffix(last, "first.nii.gz") {
		t.Errorf("opened %q, want the batch's study", last)
	}
}
