package batch

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/segvolapp/segvol/infer"
	"github.com/segvolapp/segvol/infer/classic"
	"github.com/segvolapp/segvol/infer/eval"
	"github.com/segvolapp/segvol/internal/testenv"
	"github.com/segvolapp/segvol/viewer/dicom/seg"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/study"
)

const (
	sampleCT  = "../assets/sample/example_ct_sm.nii.gz"
	sampleSeg = "../assets/sample/example_seg.nii.gz"
	ct3slice  = "../testdata/dcmqi_ct3slice_seg/ct-3slice"
)

// Boxes (LPS mm) around the sample's liver (TotalSegmentator label 5),
// spleen (1) and right kidney (2): their label maps' bounding boxes'
// voxel centres, as a researcher would read them off the viewer.
const (
	liverBox  = "54.9 -86.3 94.3 -137.0 -269.3 181.3"
	spleenBox = "148 -77.3 94.3 48.9 -182.3 181.3"
	kidneyBox = "-32 -98.3 94.3 -98 -164.3 148.3"
)

// cohort makes n studies in dir, each a link to the sample CT (s0.nii.gz
// ...), with the sample's label map as ref.nii.gz, and a manifest of the
// liver and spleen in each; extra rows are appended as written.
func cohort(t testing.TB, dir string, n int, extra ...string) string {
	t.Helper()
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if err := os.Symlink(abs(sampleSeg), filepath.Join(dir, "ref.nii.gz")); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("study,name,box,reference,reference_label\n")
	for i := range n {
		name := fmt.Sprintf("s%d.nii.gz", i)
		if err := os.Symlink(abs(sampleCT), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s,liver,%s,ref.nii.gz,5\n%s,spleen,%s,ref.nii.gz,1\n", name, liverBox, name, spleenBox)
	}
	for _, e := range extra {
		b.WriteString(e + "\n")
	}
	path := filepath.Join(dir, "manifest.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readManifest(t testing.TB, path string) *Manifest {
	t.Helper()
	m, err := ReadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readResults(t testing.TB, path string) []Result {
	t.Helper()
	res, err := ReadResultsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestManifestErrors(t *testing.T) {
	dir := t.TempDir()
	cohort(t, dir, 1)
	for _, c := range []struct{ csv, want string }{
		{"study,box\ns0.nii.gz,1 2 3 4 5 6\n", `missing column "name"`},
		{"study,name,boxes\n", `unknown column "boxes"`},
		{"study,name,box\ns0.nii.gz,liver,1 2 x 4 5 6\n", `manifest.csv:2: box: "x" is not a number`},
		{"study,name,box\ns0.nii.gz,liver,1 2 3 4 5\n", "manifest.csv:2: box: want 6 numbers"},
		{"study,name,box\nnone.nii.gz,liver,1 2 3 4 5 6\n", "manifest.csv:2: study " + filepath.Join(dir, "none.nii.gz") + " does not exist"},
		{"study,name,label,box\ns0.nii.gz,liver,3,1 2 3 4 5 6\ns0.nii.gz,spleen,3,1 2 3 4 5 6\n", `manifest.csv:3: label 3 is already "liver" (line 2)`},
		{"study,name,label,box\ns0.nii.gz,liver,300,1 2 3 4 5 6\n", `manifest.csv:2: label "300" is not a whole number 1..255`},
		{"study,name\ns0.nii.gz,liver\n", "manifest.csv:2: no prompt"},
		{"study,name,points,reference\ns0.nii.gz,liver,1 2 3,ref.nii.gz\n", "manifest.csv:2: reference_label \"\" is not a positive whole number"},
		{"study,name,points,negative\ns0.nii.gz,liver,1 2 3,1 2\n", "manifest.csv:2: negative: want 3 numbers"},
		{"study,id,name,text\ns0.nii.gz,a,liver,liver\nref.nii.gz,a,liver,liver\n", `manifest.csv:3: id "a" is already the output folder of s0.nii.gz`},
		{"study,name\n", "no rows"},
	} {
		path := filepath.Join(dir, "manifest.csv")
		if err := os.WriteFile(path, []byte(c.csv), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadManifest(path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("manifest %q: error %v, want one with %q", c.csv, err, c.want)
		}
	}
	// Every row's error is reported at once, each with its line.
	os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte("study,name,box\ns0.nii.gz,a,1\ns0.nii.gz,,1 2 3 4 5 6\nx.nii,b,1 2 3 4 5 6\n"), 0o644)
	_, err := ReadManifest(filepath.Join(dir, "manifest.csv"))
	for _, want := range []string{"manifest.csv:2: box", "manifest.csv:3: name is empty", "manifest.csv:4: study"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

// A cohort of two good studies, one unreadable and one with a box in
// voxels rather than mm: the good ones are segmented as the engine alone
// does, the table says what was measured, and the bad ones are rows with
// their error while the batch goes on.
func TestRunCohort(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "broken.nii.gz"), []byte("not a NIfTI file"), 0o644); err != nil {
		t.Fatal(err)
	}
	man := cohort(t, dir, 2, "broken.nii.gz,liver,"+liverBox+",,",
		// s1 again under its own id, with a box in voxel indices: not in the image.
		"s1.nii.gz,kidney,0 0 0 20 20 10,,")
	m := readManifest(t, man)
	if len(m.Studies) != 3 {
		t.Fatalf("%d studies, want 3 (s0, s1 with 3 rows, broken)", len(m.Studies))
	}
	out := filepath.Join(dir, "out")
	sum, err := Run(context.Background(), m, Options{Out: out, Workers: 2, Engine: classic.Segmenter{}, Device: "CPU"})
	if err != nil {
		t.Fatal(err)
	}
	if sum != (Summary{Done: 1, Failed: 2, Total: 3}) {
		t.Errorf("summary %+v", sum)
	}
	res := readResults(t, filepath.Join(out, ResultsFile))
	if len(res) != 6 {
		t.Fatalf("%d result rows, want 6", len(res))
	}
	ct, err := study.Open(context.Background(), sampleCT, study.Options{})
	if err != nil {
		t.Fatal(err)
	}
	vol := ct.Volume
	img := infer.Image{Dims: vol.Dims, Spacing: vol.Geom.Spacing(), Voxels: vol.Data, Slope: vol.Slope, Intercept: vol.Intercept}
	lm, err := labels.Load(filepath.Join(out, "s0", SegmentationFile), vol)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := study.Open(context.Background(), sampleSeg, study.Options{})
	stats := lm.Statistics()
	for i, r := range res[:2] {
		if r.Status != StatusOK || r.Study != "s0.nii.gz" || r.Label != i+1 || r.Engine != "classic" || r.Device != "CPU" {
			t.Errorf("row %d: %+v", i, r)
		}
		// The saved label map holds the engine's own mask for the box.
		mask, err := classic.Segmenter{}.Segment(context.Background(), img, mustPrompt(t, m.Studies[0].Rows[i], ct), nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := eval.Dice(mask, lm.Mask(uint8(i+1))); d < 0.99 {
			t.Errorf("%s: saved segment vs the engine's mask: Dice %.4f", r.Name, d)
		}
		s := stats[i]
		if r.Voxels != s.Voxels || math.Abs(r.ML-s.VolumeML) > 1e-3 || math.Abs(r.Mean-s.Mean) > 1e-3 || r.Min != s.Min || r.Max != s.Max {
			t.Errorf("%s: results %+v, the saved label map's statistics %+v", r.Name, r, s)
		}
		want := 1.0
		if r.Name == "liver" {
			want = 5
		}
		target := make([]uint8, vol.Len())
		for n := range target {
			if ref.Volume.Stored(n) == want {
				target[n] = 1
			}
		}
		if d := eval.Dice(lm.Mask(uint8(i+1)), target); math.Abs(d-r.Dice) > 1e-4 || d < 0.8 {
			t.Errorf("%s: Dice %.4f in results, %.4f recomputed (want > 0.8 from a tight box)", r.Name, r.Dice, d)
		}
		if !(r.HD95 > 0 && r.HD95 < 40) {
			t.Errorf("%s: HD95 %g mm", r.Name, r.HD95)
		}
		// Non-contrast CT: soft tissue.
		if !(r.Mean > 0 && r.Mean < 100) {
			t.Errorf("%s: mean %g HU", r.Name, r.Mean)
		}
	}
	if _, err := labels.ReadDescription(filepath.Join(out, "s0", "segmentation.txt")); err != nil {
		t.Errorf("ITK-SNAP label file: %v", err)
	}
	byName := map[string]Result{}
	for _, r := range res[2:] {
		byName[r.Study+" "+r.Name] = r
	}
	if r := byName["s1.nii.gz kidney"]; !strings.Contains(r.Status, "line 7: box 0 0 0 20 20 10 mm lies outside the image") {
		t.Errorf("box in voxels: status %q", r.Status)
	}
	if r := byName["s1.nii.gz liver"]; r.Status != StatusOK || r.Voxels != res[0].Voxels {
		t.Errorf("s1's good rows are kept beside its bad one: %+v", r)
	}
	if r := byName["broken.nii.gz liver"]; r.Status == StatusOK || !strings.Contains(r.Status, "broken.nii.gz") {
		t.Errorf("unreadable study: status %q", r.Status)
	}
	if Done(out, m.Studies[1], false) || Done(out, m.Studies[2], false) || !Done(out, m.Studies[0], false) {
		t.Error("only the study without errors counts as done")
	}
}

func mustPrompt(t testing.TB, r Row, st *study.Study) infer.Prompt {
	t.Helper()
	p, err := prompt(r, st.Volume.Geom, st.Volume.Dims)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// modTimes maps each study's segmentation to its modification time.
func modTimes(t *testing.T, out string, m *Manifest) map[string]int64 {
	t.Helper()
	mt := map[string]int64{}
	for _, st := range m.Studies {
		fi, err := os.Stat(filepath.Join(out, st.ID, StudyResultsFile))
		if err != nil {
			t.Fatal(err)
		}
		mt[st.ID] = fi.ModTime().UnixNano()
	}
	return mt
}

// Rerunning skips what is done; a changed row redoes its study only;
// Force redoes all. Two workers give the same table as one.
func TestResume(t *testing.T) {
	dir := t.TempDir()
	man := cohort(t, dir, 3)
	m := readManifest(t, man)
	out := filepath.Join(dir, "out")
	var bar strings.Builder
	opt := Options{Out: out, Workers: 2, Engine: classic.Segmenter{}, Device: "CPU", Progress: &bar, Terminal: true}
	if _, err := Run(context.Background(), m, opt); err != nil {
		t.Fatal(err)
	}
	// On a terminal: a bar redrawn in place with the count, rate and time left.
	if !regexp.MustCompile(`\r\x1b\[K\[=+\] 3/3  [0-9.]+ studies/min  0s left\n$`).MatchString(bar.String()) {
		t.Errorf("progress bar %q", bar.String())
	}
	opt.Progress = nil
	first := readResults(t, filepath.Join(out, ResultsFile))
	before := modTimes(t, out, m)
	// A study skipped is not even read.
	s0 := filepath.Join(dir, "s0.nii.gz")
	link, _ := os.Readlink(s0)
	w := watchReads(t, s0)
	sum, err := Run(context.Background(), m, opt)
	if err != nil || sum.Skipped != 3 || sum.Done != 0 {
		t.Fatalf("rerun: %+v %v", sum, err)
	}
	if w.reads() {
		t.Error("the rerun read s0, which it skips")
	}
	os.Remove(s0)
	os.Symlink(link, s0)
	if after := modTimes(t, out, m); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Error("a rerun rewrote finished studies")
	}
	b, _ := os.ReadFile(man)
	changed := strings.Replace(string(b), "s1.nii.gz,spleen,"+spleenBox, "s1.nii.gz,spleen,"+kidneyBox, 1)
	os.WriteFile(man, []byte(changed), 0o644)
	m2 := readManifest(t, man)
	opt.Workers = 1
	sum, err = Run(context.Background(), m2, opt)
	if err != nil || sum.Skipped != 2 || sum.Done != 1 {
		t.Fatalf("after changing s1: %+v %v", sum, err)
	}
	res := readResults(t, filepath.Join(out, ResultsFile))
	if res[3].Voxels == first[3].Voxels || res[1].Voxels != first[1].Voxels || res[5].Voxels != first[5].Voxels {
		t.Errorf("s1's spleen row should change, the others not: %d->%d", first[3].Voxels, res[3].Voxels)
	}
	opt.Force = true
	if sum, err = Run(context.Background(), m2, opt); err != nil || sum.Done != 3 {
		t.Fatalf("force: %+v %v", sum, err)
	}
	same(t, readResults(t, filepath.Join(out, ResultsFile)), res)
}

// same fails the test unless a and b agree but for the seconds.
func same(t testing.TB, a, b []Result) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d rows vs %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		x.Seconds, y.Seconds = 0, 0
		if fmt.Sprint(x) != fmt.Sprint(y) {
			t.Errorf("row %d: %+v\nvs %+v", i, x, y)
		}
	}
}

// cancelOnFirst is the real engine, with the run's cancel called as the
// first study starts segmenting: Ctrl+C while it is in flight.
type cancelOnFirst struct {
	classic.Segmenter
	cancel context.CancelFunc
}

func (c cancelOnFirst) Segment(ctx context.Context, img infer.Image, p infer.Prompt, pr infer.Progress) ([]uint8, error) {
	c.cancel()
	return c.Segmenter.Segment(ctx, img, p, pr)
}

func TestInterruptFinishesStudiesInFlight(t *testing.T) {
	dir := t.TempDir()
	m := readManifest(t, cohort(t, dir, 4))
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithCancel(context.Background())
	sum, err := Run(ctx, m, Options{Out: out, Workers: 1, Engine: cancelOnFirst{cancel: cancel}, Device: "CPU"})
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("error %v, want interrupted", err)
	}
	if sum != (Summary{Done: 1, Total: 4}) {
		t.Errorf("summary %+v: the study in flight finishes, no other starts", sum)
	}
	if !Done(out, m.Studies[0], false) || Done(out, m.Studies[3], false) {
		t.Error("the first study should be done, the last not")
	}
	if res := readResults(t, filepath.Join(out, ResultsFile)); len(res) != 2*sum.Done {
		t.Errorf("results.csv holds %d rows for %d studies done", len(res), sum.Done)
	}
}

// readWatch is a study file replaced by a FIFO that records each reader:
// a goroutine opens its write end as soon as a reader has it open, and
// closes it at once, so the reader sees an empty file and fails fast
// rather than waiting.
type readWatch struct {
	n          atomic.Int32
	stop, done chan struct{}
}

func watchReads(t *testing.T, path string) *readWatch {
	t.Helper()
	os.Remove(path)
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	w := &readWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(time.Millisecond):
			}
			// Without blocking, the write end opens only while read.
			if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.n.Add(1)
				f.Close()
			}
		}
	}()
	t.Cleanup(func() { w.reads() })
	return w
}

// reads stops the watch and says whether the file was read.
func (w *readWatch) reads() bool {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	return w.n.Load() > 0
}

// awaitRead is the real engine that first waits up to 10 s for the
// watched study to be read: while one worker is in the engine on a study,
// the next is read. missed counts the calls that waited in vain; cancel,
// if set, is called then: Ctrl+C with the next study read ahead.
type awaitRead struct {
	classic.Segmenter
	w      *readWatch
	missed *atomic.Int32
	cancel context.CancelFunc
}

func (e awaitRead) Segment(ctx context.Context, img infer.Image, p infer.Prompt, pr infer.Progress) ([]uint8, error) {
	deadline := time.Now().Add(10 * time.Second)
	for e.w.n.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if e.w.n.Load() == 0 {
		e.missed.Add(1)
	}
	if e.cancel != nil {
		e.cancel()
	}
	return e.Segmenter.Segment(ctx, img, p, pr)
}

// One worker reads s1 while the engine runs on s0; s1's read error (an
// empty file) is s1's rows' status, the batch going on as without reading
// ahead.
func TestNextStudyReadDuringEngine(t *testing.T) {
	dir := t.TempDir()
	m := readManifest(t, cohort(t, dir, 2))
	w := watchReads(t, filepath.Join(dir, "s1.nii.gz"))
	var missed atomic.Int32
	out := filepath.Join(dir, "out")
	sum, err := Run(context.Background(), m, Options{Out: out, Workers: 1, Engine: awaitRead{w: w, missed: &missed}})
	if err != nil || sum != (Summary{Done: 1, Failed: 1, Total: 2}) {
		t.Fatalf("%+v %v", sum, err)
	}
	if missed.Load() != 0 {
		t.Error("s1 was not read while the engine ran on s0")
	}
	res := readResults(t, filepath.Join(out, ResultsFile))
	if len(res) != 4 || res[0].Status != StatusOK || res[1].Status != StatusOK {
		t.Fatalf("%+v", res)
	}
	for _, r := range res[2:] {
		if r.Study != "s1.nii.gz" || !strings.Contains(r.Status, filepath.Join(dir, "s1.nii.gz")) {
			t.Errorf("s1's row: %+v", r)
		}
	}
}

// Ctrl+C while the first study runs, the second already read ahead: the
// first finishes; the second is dropped, nothing of it written; the third
// is never read; no goroutine of the run is left.
func TestInterruptDropsStudyReadAhead(t *testing.T) {
	dir := t.TempDir()
	m := readManifest(t, cohort(t, dir, 4))
	second, third := watchReads(t, filepath.Join(dir, "s1.nii.gz")), watchReads(t, filepath.Join(dir, "s2.nii.gz"))
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithCancel(context.Background())
	var missed atomic.Int32
	before := runtime.NumGoroutine()
	sum, err := Run(ctx, m, Options{Out: out, Workers: 1, Engine: awaitRead{w: second, missed: &missed, cancel: cancel}})
	if err == nil || sum != (Summary{Done: 1, Total: 4}) || missed.Load() != 0 {
		t.Fatalf("%+v %v, s1 read ahead: %v", sum, err, missed.Load() == 0)
	}
	// The workers' last reads ahead end as they close their channels.
	for deadline := time.Now().Add(time.Second); runtime.NumGoroutine() > before; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before the run, %d after", before, runtime.NumGoroutine())
		}
	}
	for _, id := range []string{"s1", "s2", "s3"} {
		if _, err := os.Stat(filepath.Join(out, id)); err == nil {
			t.Errorf("%s was not started, yet its folder was made", id)
		}
	}
	if third.reads() {
		t.Error("s2 was read after the interrupt")
	}
	if res := readResults(t, filepath.Join(out, ResultsFile)); len(res) != 2 || res[0].Study != "s0.nii.gz" {
		t.Errorf("results.csv: %+v", res)
	}
}

// A DICOM study with --seg gets a DICOM SEG that reads back as the label
// map saved beside it.
func TestDICOMSEG(t *testing.T) {
	dir := t.TempDir()
	ct, err := study.Open(context.Background(), ct3slice, study.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := ct.Volume.Geom
	a, b := g.IndexToWorld([3]float64{200, 200, 0}), g.IndexToWorld([3]float64{300, 300, 2})
	abs, _ := filepath.Abs(ct3slice)
	csv := fmt.Sprintf("study,id,name,box\n%s,ct,tissue,%g %g %g %g %g %g\n", abs, a[0], a[1], a[2], b[0], b[1], b[2])
	man := filepath.Join(dir, "m.csv")
	os.WriteFile(man, []byte(csv), 0o644)
	out := filepath.Join(dir, "out")
	m := readManifest(t, man)
	if _, err := Run(context.Background(), m, Options{Out: out, Workers: 1, Engine: classic.Segmenter{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "ct", SEGFile)); err == nil {
		t.Fatal("a DICOM SEG without --seg")
	}
	// Asking for the SEG later redoes the study, which lacks it.
	sum, err := Run(context.Background(), m, Options{Out: out, Workers: 1, Engine: classic.Segmenter{}, SEG: true})
	if err != nil || sum.Done != 1 {
		t.Fatalf("%+v %v", sum, err)
	}
	if !Done(out, m.Studies[0], true) {
		t.Error("not done with its SEG")
	}
	lm, err := labels.Load(filepath.Join(out, "ct", SegmentationFile), ct.Volume)
	if err != nil {
		t.Fatal(err)
	}
	sg, err := seg.Read(filepath.Join(out, "ct", SEGFile), ct.Volume)
	if err != nil {
		t.Fatal(err)
	}
	if len(sg.Segments) != 1 || sg.Segments[0].Label != "tissue" {
		t.Fatalf("SEG segments %+v", sg.Segments)
	}
	if n := lm.Count(1); n == 0 || eval.Dice(sg.Masks[0], lm.Mask(1)) != 1 {
		t.Errorf("SEG mask differs from the label map (%d voxels)", n)
	}
	testenv.Dciodvfy(t, filepath.Join(out, "ct", SEGFile))
}

// Shards run apart and collected give the table of one whole run.
func TestShardsCollectToWholeRun(t *testing.T) {
	dir := t.TempDir()
	m := readManifest(t, cohort(t, dir, 3))
	whole, parts := filepath.Join(dir, "whole"), filepath.Join(dir, "parts")
	if _, err := Run(context.Background(), m, Options{Out: whole, Workers: 1, Engine: classic.Segmenter{}}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		sum, err := Run(context.Background(), m, Options{Out: parts, Workers: 1, Engine: classic.Segmenter{}, Shard: i, Shards: 2})
		if err != nil || sum.Total != len(ShardOf(m.Studies, i, 2)) {
			t.Fatalf("shard %d: %+v %v", i, sum, err)
		}
		if _, err := os.Stat(filepath.Join(parts, ResultsFile)); err == nil {
			t.Fatal("a shard wrote results.csv: only collect does")
		}
	}
	if missing, err := Collect(m, parts); err != nil || missing != 0 {
		t.Fatalf("collect: %d missing, %v", missing, err)
	}
	same(t, readResults(t, filepath.Join(parts, ResultsFile)), readResults(t, filepath.Join(whole, ResultsFile)))
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	os.MkdirAll(filepath.Join(root, "nifti"), 0o755)
	abs, _ := filepath.Abs(sampleCT)
	os.Symlink(abs, filepath.Join(root, "nifti", "ct.nii.gz"))
	os.MkdirAll(filepath.Join(root, "dicom"), 0o755)
	files, _ := filepath.Glob(filepath.Join(ct3slice, "*.dcm"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(root, "dicom", filepath.Base(f)), b, 0o644)
	}
	os.WriteFile(filepath.Join(root, "notes.txt"), []byte("not an image"), 0o644)
	for _, c := range []struct {
		modality string
		rows     []string
	}{
		{"", []string{"root/nifti/ct.nii.gz,", "root/dicom,1.2."}},
		{"ct", []string{"root/nifti/ct.nii.gz,", "root/dicom,1.2."}},
		{"MR", []string{"root/nifti/ct.nii.gz,"}},
	} {
		out := filepath.Join(dir, "manifest.csv")
		n, err := Scan(context.Background(), root, out, c.modality)
		if err != nil || n != len(c.rows) {
			t.Fatalf("modality %q: %d rows, %v", c.modality, n, err)
		}
		b, _ := os.ReadFile(out)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if lines[0] != strings.Join(Columns, ",") || len(lines) != len(c.rows)+1 {
			t.Fatalf("manifest:\n%s", b)
		}
		for i, want := range c.rows {
			if !strings.HasPrefix(lines[i+1], want) {
				t.Errorf("modality %q: row %q, want it to start %q", c.modality, lines[i+1], want)
			}
		}
	}
}

// peakHeap runs fn while sampling the heap in use, and returns its peak.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	done := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var ms runtime.MemStats
		var p uint64
		for {
			runtime.ReadMemStats(&ms)
			p = max(p, ms.HeapInuse)
			select {
			case <-done:
				peak <- p
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	fn()
	close(done)
	return <-peak
}

// Memory is bounded by the studies in flight: 12 studies through one
// worker peak at about what 2 do (each study's voxels are dropped when it
// ends), where keeping them would take several times as much.
func TestMemoryBoundedByWorkers(t *testing.T) {
	// A tight collector, so that the peak is what is live, not garbage the
	// default pacing lets pile up to twice that (the test failed so under
	// load: 28.4 MB for 12 studies, 13.8 MB for 2).
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	dir := t.TempDir()
	m := readManifest(t, cohort(t, dir, 12))
	run := func(studies []*Study, out string) func() {
		return func() {
			mm := &Manifest{Path: m.Path, Studies: studies}
			if _, err := Run(context.Background(), mm, Options{Out: filepath.Join(dir, out), Workers: 1, Engine: classic.Segmenter{}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	few := peakHeap(run(m.Studies[:2], "few"))
	many := peakHeap(run(m.Studies, "many"))
	t.Logf("peak heap in use: 2 studies %.1f MB, 12 studies %.1f MB", float64(few)/1e6, float64(many)/1e6)
	if float64(many) > 1.7*float64(few) {
		t.Errorf("12 studies peaked at %.1f MB, 2 at %.1f MB: studies are kept after they end", float64(many)/1e6, float64(few)/1e6)
	}
}

// panicking is an engine that panics, as a reader or engine bug would.
type panicking struct{ classic.Segmenter }

func (panicking) Segment(context.Context, infer.Image, infer.Prompt, infer.Progress) ([]uint8, error) {
	panic("index out of range")
}

// A panic in one study fails that study's rows; the batch goes on.
func TestPanicFailsOnlyItsStudy(t *testing.T) {
	dir := t.TempDir()
	m := readManifest(t, cohort(t, dir, 2))
	out := filepath.Join(dir, "out")
	sum, err := Run(context.Background(), m, Options{Out: out, Workers: 2, Engine: panicking{}})
	if err != nil || sum != (Summary{Failed: 2, Total: 2}) {
		t.Fatalf("%+v %v", sum, err)
	}
	for _, r := range readResults(t, filepath.Join(out, ResultsFile)) {
		if r.Status != "internal error: index out of range" {
			t.Errorf("status %q", r.Status)
		}
	}
}

// The review list holds the studies with a segmentation; the flag set on
// one shows in results.csv and survives a rerun's collect.
func TestReviewFlag(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "broken.nii.gz"), []byte("no"), 0o644)
	m := readManifest(t, cohort(t, dir, 2, "broken.nii.gz,liver,"+liverBox+",,"))
	out := filepath.Join(dir, "out")
	if _, err := Run(context.Background(), m, Options{Out: out, Workers: 1, Engine: classic.Segmenter{}}); err != nil {
		t.Fatal(err)
	}
	items, err := ReviewList(out)
	if err != nil || len(items) != 2 || items[1].ID != "s1" || items[1].Segmentation != filepath.Join(out, "s1", SegmentationFile) {
		t.Fatalf("%+v %v", items, err)
	}
	if err := SetNeedsReview(out, "s1", true); err != nil {
		t.Fatal(err)
	}
	check := func(want bool) {
		t.Helper()
		for _, r := range readResults(t, filepath.Join(out, ResultsFile)) {
			if r.NeedsReview != (want && r.Study == "s1.nii.gz") {
				t.Errorf("%s %s: needs_review %v", r.Study, r.Name, r.NeedsReview)
			}
		}
	}
	check(true)
	if _, err := Collect(m, out); err != nil {
		t.Fatal(err)
	}
	check(true)
	if items, _ := ReviewList(out); !items[1].NeedsReview || items[0].NeedsReview {
		t.Errorf("%+v", items)
	}
	if err := SetNeedsReview(out, "s1", false); err != nil {
		t.Fatal(err)
	}
	check(false)
}

// A study corrected in review (half its liver erased, saved back) gets
// its rows recomputed from the corrected map by Corrected: statistics,
// Dice and HD95 as the batch computes them on that map, the batch's
// engine, device and seconds kept, marked corrected; the other study's
// rows and the flags stay, and a rerun keeps the correction.
func TestCorrectedRows(t *testing.T) {
	dir := t.TempDir()
	m := readManifest(t, cohort(t, dir, 2))
	out := filepath.Join(dir, "out")
	opt := Options{Out: out, Workers: 1, Engine: classic.Segmenter{}, Device: "CPU"}
	if _, err := Run(context.Background(), m, opt); err != nil {
		t.Fatal(err)
	}
	if err := SetNeedsReview(out, "s0", true); err != nil {
		t.Fatal(err)
	}
	before := readResults(t, filepath.Join(out, ResultsFile))
	ct, err := study.Open(context.Background(), sampleCT, study.Options{})
	if err != nil {
		t.Fatal(err)
	}
	vol := ct.Volume
	path := filepath.Join(out, "s1", SegmentationFile)
	lm, err := labels.Load(path, vol)
	if err != nil {
		t.Fatal(err)
	}
	half := lm.Mask(1)
	clear(half[len(half)/2:])
	if _, err := lm.Apply(half, 1, labels.Subtract); err != nil {
		t.Fatal(err)
	}
	if err := lm.Save(path); err != nil {
		t.Fatal(err)
	}
	if err := Corrected(out, "s1", vol, lm); err != nil {
		t.Fatal(err)
	}
	after := readResults(t, filepath.Join(out, ResultsFile))
	if len(after) != 4 {
		t.Fatalf("%d rows", len(after))
	}
	for i, r := range after[:2] {
		if r != before[i] || !r.NeedsReview || r.Corrected {
			t.Errorf("s0's row %d changed or lost its flag:\n%+v\n%+v", i, before[i], r)
		}
	}
	ref, _ := study.Open(context.Background(), sampleSeg, study.Options{})
	stats := lm.Statistics()
	for i, r := range after[2:] {
		b, s := before[2+i], stats[i]
		if !r.Corrected || r.NeedsReview || r.Status != StatusOK || r.Engine != b.Engine || r.Device != "CPU" || r.Seconds != b.Seconds {
			t.Errorf("%s: %+v (batch's %+v)", r.Name, r, b)
		}
		if r.Voxels != s.Voxels || math.Abs(r.ML-s.VolumeML) > 1e-3 || math.Abs(r.Mean-s.Mean) > 1e-3 || math.Abs(r.Std-s.Std) > 1e-3 || r.Min != s.Min || r.Max != s.Max {
			t.Errorf("%s: results %+v, the corrected map's statistics %+v", r.Name, r, s)
		}
		want := map[string]float64{"liver": 5, "spleen": 1}[r.Name]
		target := make([]uint8, vol.Len())
		for n := range target {
			if ref.Volume.Stored(n) == want {
				target[n] = 1
			}
		}
		pred := lm.Mask(uint8(i + 1))
		d, hd := eval.Dice(pred, target), eval.HD95(pred, target, vol.Dims, vol.Geom.Spacing())
		if math.Abs(d-r.Dice) > 1e-4 || math.Abs(hd-r.HD95) > 1e-3 {
			t.Errorf("%s: Dice %.4f HD95 %.3f in results, %.4f %.3f on the corrected map", r.Name, r.Dice, r.HD95, d, hd)
		}
		// Only the liver was cut: its numbers moved, the spleen's not.
		if moved := r.Voxels != b.Voxels; moved != (r.Name == "liver") || (r.Name == "liver" && r.Dice >= b.Dice) {
			t.Errorf("%s: %d voxels, Dice %.4f after the correction; the batch's %d, %.4f", r.Name, r.Voxels, r.Dice, b.Voxels, b.Dice)
		}
	}
	// A rerun of the batch skips the corrected study, keeping its rows.
	sum, err := Run(context.Background(), m, opt)
	if err != nil || sum.Skipped != 2 {
		t.Fatalf("rerun: %+v %v", sum, err)
	}
	if again := readResults(t, filepath.Join(out, ResultsFile)); fmt.Sprint(again) != fmt.Sprint(after) {
		t.Errorf("rerun changed results.csv:\n%+v\n%+v", after, again)
	}
	if err := Corrected(out, "s9", vol, lm); err == nil || !strings.Contains(err.Error(), "s9 is not a study") {
		t.Errorf("unknown study: %v", err)
	}
	// A structure the reviewer deleted has nothing inside: no intensities.
	if _, err := lm.DeleteSegment(2); err != nil {
		t.Fatal(err)
	}
	if err := Corrected(out, "s1", vol, lm); err != nil {
		t.Fatal(err)
	}
	if r := readResults(t, filepath.Join(out, ResultsFile))[3]; r.Name != "spleen" || r.Voxels != 0 || r.ML != 0 || !math.IsNaN(r.Mean) || !math.IsNaN(r.Min) || r.Dice != 0 || !r.Corrected {
		t.Errorf("deleted spleen's row: %+v", r)
	}
}
