package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segvolapp/segvol/batch"
	"github.com/segvolapp/segvol/infer/classic"
	"github.com/segvolapp/segvol/viewer/nifti"
)

// --review DIR opens the batch's first study; an eraser stroke across the
// axial view and Ctrl+S, as a reviewer corrects, save the map back and
// recompute the study's row of results.csv from it (app's TestReviewBatch
// checks the segmentation, stepping, the flag, and every statistic of the
// recomputed row).
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
	rows := func() []batch.Result {
		res, err := batch.ReadResultsFile(filepath.Join(out, batch.ResultsFile))
		if err != nil || len(res) != 1 {
			t.Fatalf("results.csv: %v %v", res, err)
		}
		return res
	}
	before := rows()[0]
	// Every axial slice of the sample shows liver: a stroke across the
	// middle of the view crosses it.
	r := viewRects(t, seen)["axial"]
	y := fmt.Sprint(r.Min.Y + r.Dy()/2)
	xdo(t, display, "mousemove", fmt.Sprint(r.Min.X+r.Dx()/2), y, "click", "1") // the view takes the keyboard
	xdo(t, display, "key", "e", "mousemove", fmt.Sprint(r.Min.X+4), y, "mousedown", "1")
	for x := r.Min.X + 4; x < r.Max.X-4; x += 8 {
		xdo(t, display, "mousemove", fmt.Sprint(x), y)
	}
	xdo(t, display, "mouseup", "1")
	xdo(t, display, "keydown", "ctrl")
	xdo(t, display, "key", "s")
	xdo(t, display, "keyup", "ctrl")
	var after batch.Result
	for deadline := time.Now().Add(20 * time.Second); !after.Corrected; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("results.csv not recomputed after the stroke and Ctrl+S: %+v", rows())
		}
		after = rows()[0]
	}
	saved, err := nifti.Read(filepath.Join(out, "first", batch.SegmentationFile))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range saved.Len() {
		if saved.Value(i) == 1 {
			n++
		}
	}
	t.Logf("liver: %d voxels in the batch, %d after the correction, %d in the saved file", before.Voxels, after.Voxels, n)
	if after.Voxels != n || n >= before.Voxels || after.Seconds != before.Seconds {
		t.Errorf("results.csv %+v after the batch's %+v; the saved map holds %d liver voxels", after, before, n)
	}
}
