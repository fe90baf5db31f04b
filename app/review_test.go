package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/segvolapp/segvol/batch"
	"github.com/segvolapp/segvol/infer/classic"
)

// reviewBatch runs a real batch of two studies (links to the sample CT,
// the liver's box) and returns its output folder.
func reviewBatch(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	abs, _ := filepath.Abs(samplePath)
	var m strings.Builder
	m.WriteString("study,name,box\n")
	for i := range 2 {
		if err := os.Symlink(abs, filepath.Join(dir, fmt.Sprintf("s%d.nii.gz", i))); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&m, "s%d.nii.gz,liver,54.9 -86.3 94.3 -137.0 -269.3 181.3\n", i)
	}
	path := filepath.Join(dir, "manifest.csv")
	os.WriteFile(path, []byte(m.String()), 0o644)
	man, err := batch.ReadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if _, err := batch.Run(context.Background(), man, batch.Options{Out: out, Workers: 1, Engine: classic.Segmenter{}}); err != nil {
		t.Fatal(err)
	}
	return out
}

// Review mode opens each study with its segmentation, steps with Next and
// Previous (asking first about unsaved corrections), saves corrections
// back into the batch and writes the flag into results.csv.
func TestReviewBatch(t *testing.T) {
	out := reviewBatch(t)
	loaded := make(chan error, 1)
	v := newViewer(t, newTestApp(t), Options{OnLoaded: func(err error) { loaded <- err }, RecoveryDir: t.TempDir(), AutosaveInterval: -1})
	if err := v.Review(out); err != nil {
		t.Fatal(err)
	}
	if err := await(t, "the first study", loaded); err != nil {
		t.Fatal(err)
	}
	r := v.review
	liver := func() int {
		segs := v.Session().Edit().Labels().Segments()
		if len(segs) != 1 || segs[0].Name != "liver" {
			t.Fatalf("segments %+v", segs)
		}
		return v.Session().Edit().Labels().Count(segs[0].Value)
	}
	if n := liver(); n < 30000 || r.label.Text != "Batch study 1 of 2: s0" || !r.prev.Disabled() || r.next.Disabled() {
		t.Fatalf("first study: %d liver voxels, bar %q", n, r.label.Text)
	}
	test.Tap(r.next)
	if err := await(t, "the second study", loaded); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(v.Session().Volume.Meta.Source, "s1.nii.gz") || r.label.Text != "Batch study 2 of 2: s1" || !r.next.Disabled() {
		t.Fatalf("second study: %s, bar %q", v.Session().Volume.Meta.Source, r.label.Text)
	}
	test.Tap(r.flag)
	b, _ := os.ReadFile(filepath.Join(out, "results.csv"))
	if !strings.Contains(string(b), "s1.nii.gz,,liver,1,") || !strings.HasSuffix(strings.TrimSpace(string(b)), ",ok,yes") || strings.Contains(strings.Split(string(b), "\n")[1], "yes") {
		t.Errorf("results.csv after flagging s1:\n%s", b)
	}
	// A correction: Previous asks first, and Save writes it back into the
	// batch's folder before going on.
	before := liver()
	if _, err := v.Session().Edit().Labels().KeepLargestIsland(1); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Session().Edit().AddSegment("spleen"); err != nil {
		t.Fatal(err)
	}
	if !v.Session().Edit().Dirty() {
		t.Fatal("not dirty after an edit")
	}
	test.Tap(r.prev)
	if v.closing == nil || r.at != 1 {
		t.Fatal("Previous went on without asking about the unsaved correction")
	}
	v.closing.Hide()
	if err := v.SaveLabels(filepath.Join(out, "s1", batch.SegmentationFile)); err != nil {
		t.Fatal(err)
	}
	test.Tap(r.prev)
	if err := await(t, "the first study again", loaded); err != nil {
		t.Fatal(err)
	}
	if r.label.Text != "Batch study 1 of 2: s0" || r.flag.Checked {
		t.Errorf("back on s0: bar %q, flag %v", r.label.Text, r.flag.Checked)
	}
	items, _ := batch.ReviewList(out)
	desc, err := os.ReadFile(filepath.Join(out, "s1", "segmentation.txt"))
	if err != nil || !strings.Contains(string(desc), "spleen") || !items[1].NeedsReview {
		t.Errorf("s1's saved label file:\n%s\n(flag %v, liver had %d voxels)", desc, items[1].NeedsReview, before)
	}
}

// A study the batch failed on (a box outside the image) opens in review
// with an empty segment: the bar says it failed and why, as results.csv
// does, instead of an empty segment with no word of explanation; the next
// study, segmented without error, says nothing of the kind.
func TestReviewShowsFailedStudy(t *testing.T) {
	dir := t.TempDir()
	abs, _ := filepath.Abs(samplePath)
	for _, name := range []string{"s0.nii.gz", "s1.nii.gz"} {
		if err := os.Symlink(abs, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "manifest.csv")
	os.WriteFile(path, []byte("study,name,box\n"+
		"s0.nii.gz,liver,1000 1000 1000 1100 1100 1100\n"+
		"s1.nii.gz,liver,54.9 -86.3 94.3 -137.0 -269.3 181.3\n"), 0o644)
	man, err := batch.ReadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if _, err := batch.Run(context.Background(), man, batch.Options{Out: out, Workers: 1, Engine: classic.Segmenter{}}); err != nil {
		t.Fatal(err)
	}
	loaded := make(chan error, 1)
	v := newViewer(t, newTestApp(t), Options{OnLoaded: func(err error) { loaded <- err }, RecoveryDir: t.TempDir(), AutosaveInterval: -1})
	if err := v.Review(out); err != nil {
		t.Fatal(err)
	}
	if err := await(t, "the failed study", loaded); err != nil {
		t.Fatal(err)
	}
	r := v.review
	if p := r.problem.Text; !strings.HasPrefix(p, "Failed in the batch: liver: ") || !strings.Contains(p, "outside the image") {
		t.Errorf("the bar says %q over the failed study", p)
	}
	test.Tap(r.next)
	if err := await(t, "the good study", loaded); err != nil {
		t.Fatal(err)
	}
	if p := r.problem.Text; p != "" || r.label.Text != "Batch study 2 of 2: s1" {
		t.Errorf("the bar says %q, %q over a study segmented without error", r.label.Text, p)
	}
}

// A folder that is no batch's output is refused in the window, not only
// on a terminal a user who started the viewer from a launcher never sees.
func TestReviewRefusesOtherFolder(t *testing.T) {
	v := newViewer(t, newTestApp(t), Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1})
	dir := t.TempDir()
	if err := v.Review(dir); err == nil {
		t.Fatal("an empty folder was taken for a batch")
	}
	if got := shownText(v); !strings.Contains(got, dir+" is not a batch output folder") {
		t.Errorf("the window says %q", got)
	}
}
