package app

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/segvolapp/segvol/batch"
	"github.com/segvolapp/segvol/infer/classic"
	"github.com/segvolapp/segvol/infer/eval"
	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/mpr"
	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/volume"
)

// reviewBatch runs a real batch of two studies (links to the sample CT,
// the liver's box, the sample's label map as the reference) and returns
// its output folder.
func reviewBatch(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	abs, _ := filepath.Abs(samplePath)
	var m strings.Builder
	ref, _ := filepath.Abs(sampleSeg)
	m.WriteString("study,name,box,reference,reference_label\n")
	for i := range 2 {
		if err := os.Symlink(abs, filepath.Join(dir, fmt.Sprintf("s%d.nii.gz", i))); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&m, "s%d.nii.gz,liver,54.9 -86.3 94.3 -137.0 -269.3 181.3,%s,5\n", i, ref)
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
// back into the batch, recomputing the study's rows of results.csv from
// them, and writes the flag into results.csv.
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
	typeLikeDriver(v.win.Canvas(), "d")
	if got := v.Session().Edit().Tool(); got != viewer.ToolBrush {
		t.Errorf("D typed after a click on Needs review: tool %v, want the brush", got)
	}
	v.SetTool(viewer.ToolNavigate)
	b, _ := os.ReadFile(filepath.Join(out, "results.csv"))
	if !strings.Contains(string(b), "s1.nii.gz,,liver,1,") || !strings.HasSuffix(strings.TrimSpace(string(b)), ",ok,yes,") || strings.Contains(strings.Split(string(b), "\n")[1], "yes") {
		t.Errorf("results.csv after flagging s1:\n%s", b)
	}
	// A correction: an eraser stroke across the liver; Previous asks
	// first, and Save writes it back into the batch's folder before going
	// on.
	before := liver()
	v.SetTool(viewer.ToolEraser)
	x, y := v.Session().CursorOnScreen(mpr.Axial)
	dragIn(t, v, mpr.Axial, x-60, y, x+60, y)
	if liver() >= before {
		t.Fatalf("the eraser took nothing from the liver (%d voxels, %d before)", liver(), before)
	}
	batchRows := readRows(t, filepath.Join(out, "results.csv"))
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
	v.save(nil) // the Save menu item, Ctrl+S
	if v.Session().Edit().Dirty() {
		t.Fatal("Save did not save")
	}
	checkCorrected(t, out, "s1", batchRows)
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
	// On the smallest common screen, with the long reason, the bar's
	// controls are whole and inside the window.
	v.FitScreen(fyne.NewSize(1024, 640))
	at := fyne.CurrentApp().Driver().AbsolutePositionForObject(r.content).Subtract(r.content.Position())
	for _, bad := range outside(t, r.content, at, 0, v.Window().Canvas().Size().Width) {
		t.Error("review bar at 1024x640: " + bad)
	}
	test.Tap(r.next)
	if err := await(t, "the good study", loaded); err != nil {
		t.Fatal(err)
	}
	if p := r.problem.Text; p != "" || r.label.Text != "Batch study 2 of 2: s1" {
		t.Errorf("the bar says %q, %q over a study segmented without error", r.label.Text, p)
	}

	// Corrected by hand and saved back, the failed study's rows are "ok":
	// the bar no longer says it failed.
	test.Tap(r.prev)
	if err := await(t, "the failed study again", loaded); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Session().Edit().AddSegment("spleen"); err != nil {
		t.Fatal(err)
	}
	v.save(nil)
	if p := r.problem.Text; p != "" || r.items[0].Failed != "" {
		t.Errorf("after the correction was saved the bar still says %q", p)
	}

	// Another study opened from the menus leaves the review: the bar's
	// flag and in-place Save would act on a study that is not shown.
	other := filepath.Join(t.TempDir(), "other.nii.gz")
	if err := os.Symlink(abs, other); err != nil {
		t.Fatal(err)
	}
	v.openOther(other, "")
	if err := await(t, "another study", loaded); err != nil {
		t.Fatal(err)
	}
	if v.review != nil || slices.Contains(v.top.Objects, r.content) {
		t.Error("the review bar stayed over a study that is none of the batch's")
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

func readRows(t *testing.T, path string) []batch.Result {
	t.Helper()
	res, err := batch.ReadResultsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// checkCorrected compares study id's liver row in the batch's results.csv
// with statistics computed here, from the saved NIfTI files alone: the
// rows must be the corrected map's, marked corrected, with the batch's
// engine, device and seconds, and the other studies' rows as the batch
// wrote them.
func checkCorrected(t *testing.T, out, id string, batchRows []batch.Result) {
	t.Helper()
	read := func(p string) *volume.Volume {
		v, err := nifti.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ct, seg, ref := read(samplePath), read(filepath.Join(out, id, batch.SegmentationFile)), read(sampleSeg)
	var n, both, inRef int
	var sum, sum2 float64
	lo, hi := math.Inf(1), math.Inf(-1)
	pred, target := make([]uint8, ct.Len()), make([]uint8, ct.Len())
	for i := range ct.Len() {
		if ref.Value(i) == 5 {
			target[i] = 1
			inRef++
		}
		if seg.Value(i) != 1 {
			continue
		}
		pred[i] = 1
		x := ct.Value(i)
		n, sum, sum2, lo, hi = n+1, sum+x, sum2+x*x, min(lo, x), max(hi, x)
		if target[i] == 1 {
			both++
		}
	}
	sp := ct.Geom.Spacing()
	mean := sum / float64(n)
	ml, std, dice := float64(n)*sp[0]*sp[1]*sp[2]/1000, math.Sqrt(sum2/float64(n)-mean*mean), 2*float64(both)/float64(n+inRef)
	rows := readRows(t, filepath.Join(out, "results.csv"))
	if len(rows) != len(batchRows) {
		t.Fatalf("%d rows, the batch wrote %d", len(rows), len(batchRows))
	}
	for i, r := range rows {
		b := batchRows[i]
		if !strings.HasPrefix(r.Study, id+".") {
			if r != b {
				t.Errorf("another study's row changed:\n%+v\n%+v", b, r)
			}
			continue
		}
		t.Logf("%s: batch %d voxels, Dice %.4f; corrected %d voxels, Dice %.4f (recomputed here %d, %.4f)", r.Name, b.Voxels, b.Dice, r.Voxels, r.Dice, n, dice)
		if !r.Corrected || r.Status != "ok" || r.Engine != b.Engine || r.Device != b.Device || r.Seconds != b.Seconds || r.NeedsReview != b.NeedsReview {
			t.Errorf("row %+v after the batch's %+v", r, b)
		}
		if r.Voxels != n || r.Voxels == b.Voxels || math.Abs(r.ML-ml) > 1e-3 || math.Abs(r.Mean-mean) > 1e-3 || math.Abs(r.Std-std) > 1e-3 ||
			r.Min != lo || r.Max != hi || math.Abs(r.Dice-dice) > 1e-4 {
			t.Errorf("results.csv %+v; from the saved files: %d voxels, %.4f mL, mean %.3f, std %.3f, %g..%g, Dice %.4f", r, n, ml, mean, std, lo, hi, dice)
		}
		if hd := eval.HD95(pred, target, ct.Dims, sp); math.Abs(r.HD95-hd) > 1e-3 {
			t.Errorf("HD95 %.3f in results.csv, %.3f on the saved map", r.HD95, hd)
		}
	}
}
