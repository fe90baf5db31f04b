package batch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/segvolapp/segvol/infer"
	"github.com/segvolapp/segvol/infer/eval"
	"github.com/segvolapp/segvol/internal/atomicfile"
	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/dicom"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/study"
	"github.com/segvolapp/segvol/viewer/volume"
)

// Files a study's output folder DIR/ID holds. Its results.csv is written
// last, its first line the hash of the study's manifest rows: with the
// manifest's hash it says the study is done.
const (
	SegmentationFile = "segmentation.nii.gz"
	SEGFile          = "segmentation.dcm"
	StudyResultsFile = "results.csv"
	ResultsFile      = "results.csv" // DIR/results.csv, every study's rows
)

// hashLine starts a study's results.csv.
const hashLine = "# manifest rows sha256 "

// Options say how to run a batch.
type Options struct {
	Out     string // the output folder DIR
	Workers int    // studies in flight at once (at least 1)
	Engine  infer.Segmenter
	Device  string // the engine's device, for results.csv
	SEG     bool   // also write a DICOM SEG for DICOM studies
	Force   bool   // redo studies already done
	// Shard, of Shards (0: no sharding), restricts the run to one
	// contiguous part of the studies: one Slurm array task's.
	Shard, Shards int
	// Progress receives a bar (Terminal) or one line per study.
	Progress io.Writer
	Terminal bool
}

// Summary counts what a run did.
type Summary struct {
	Done, Failed, Skipped, Total int
}

// ErrInterrupted is returned when the context ended the run early: the
// studies in flight were finished, the others not started.
var ErrInterrupted = errors.New("interrupted")

// Run segments the studies of m (or of one shard) into opt.Out, skipping
// those done with the same manifest rows unless opt.Force. A study that
// fails is reported in its rows' status and the run goes on. Without
// sharding, DIR/results.csv is rewritten at the end with every study's
// rows. Cancelling ctx stops the run after the studies in flight.
func Run(ctx context.Context, m *Manifest, opt Options) (Summary, error) {
	if opt.Engine == nil {
		return Summary{}, errors.New("batch: no engine")
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return Summary{}, err
	}
	// Array tasks leave the state to the submission that wrote it.
	if opt.Shards == 0 {
		if err := writeState(opt.Out, m.Path); err != nil {
			return Summary{}, err
		}
	}
	todo := m.Studies
	if opt.Shards > 0 {
		todo = ShardOf(m.Studies, opt.Shard, opt.Shards)
	}
	sum := Summary{Total: len(todo)}
	prog := newProgress(opt.Progress, opt.Terminal, len(todo))
	jobs := make(chan *Study)
	var wg sync.WaitGroup
	var mu sync.Mutex
	// The studies in flight finish even when ctx ends: a half-done
	// study's time would be lost, and its files are written whole anyway.
	work := context.WithoutCancel(ctx)
	for range max(opt.Workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each worker reads its next study while the engine runs its
			// current one, mostly on one core: reading the sample CT is
			// 3 ms of a study's 60, on the other core (BenchmarkStudyOverhead).
			// The worker returns once jobs has closed and its last read
			// ahead has ended.
			next := readAhead(ctx, jobs)
			for {
				o, ok := <-next
				if !ok {
					return
				}
				next = readAhead(ctx, jobs)
				if ctx.Err() != nil {
					continue // interrupted: o is not started, only dropped
				}
				t0 := time.Now()
				res := runStudy(work, o, opt)
				mu.Lock()
				if allOK(res) {
					sum.Done++
				} else {
					sum.Failed++
				}
				mu.Unlock()
				prog.study(o.st.ID, firstError(res), time.Since(t0))
			}
		}()
	}
	interrupted := false
dispatch:
	for _, st := range todo {
		// (select alone could still hand one more study to a free
		// worker after the cancel.)
		if ctx.Err() != nil {
			interrupted = true
			break
		}
		if !opt.Force && Done(opt.Out, st, opt.SEG) {
			sum.Skipped++
			prog.study(st.ID, "", -1)
			continue
		}
		select {
		case jobs <- st:
		case <-ctx.Done():
			interrupted = true
			break dispatch
		}
	}
	close(jobs)
	wg.Wait()
	prog.finish()
	if opt.Shards == 0 {
		if _, err := Collect(m, opt.Out); err != nil {
			return sum, err
		}
	}
	if interrupted {
		return sum, fmt.Errorf("%w: %d of %d studies done; run the same command again to resume", ErrInterrupted, sum.Done+sum.Skipped+sum.Failed, sum.Total)
	}
	return sum, nil
}

// ShardOf is shard i of n: a contiguous run of the studies, the shards
// differing in size by at most one.
func ShardOf(studies []*Study, i, n int) []*Study {
	return studies[i*len(studies)/n : (i+1)*len(studies)/n]
}

// Done reports whether st's outputs are in dir with the current manifest
// rows' hash and no failed row, and, when seg asks for one, with the DICOM
// SEG of a DICOM study.
func Done(dir string, st *Study, seg bool) bool {
	res, ok := readStudy(dir, st)
	if !ok || !allOK(res) {
		return false
	}
	if seg && !study.IsNIfTI(st.Path) {
		_, err := os.Stat(filepath.Join(dir, st.ID, SEGFile))
		return err == nil
	}
	return true
}

// readStudy reads st's rows of results when its hash file matches.
func readStudy(dir string, st *Study) ([]Result, bool) {
	d := filepath.Join(dir, st.ID)
	b, err := os.ReadFile(filepath.Join(d, StudyResultsFile))
	if err != nil {
		return nil, false
	}
	h, table, _ := strings.Cut(string(b), "\n")
	if h != hashLine+st.Hash() {
		return nil, false
	}
	res, err := ReadResults(strings.NewReader(table))
	if err != nil || len(res) != len(st.Rows) {
		return nil, false
	}
	if allOK(res) {
		if _, err := os.Stat(filepath.Join(d, SegmentationFile)); err != nil {
			return nil, false
		}
	}
	flagged := needsReview(dir, st.ID)
	for i := range res {
		res[i].NeedsReview = flagged
	}
	return res, true
}

func allOK(res []Result) bool {
	for _, r := range res {
		if r.Status != StatusOK {
			return false
		}
	}
	return true
}

func firstError(res []Result) string {
	for _, r := range res {
		if r.Status != StatusOK {
			return r.Name + ": " + r.Status
		}
	}
	return ""
}

// opened is a study read ahead of its turn: its image, or the error
// reading it, which becomes its rows' status when its turn comes.
type opened struct {
	st  *Study
	s   *study.Study
	err error
}

// readAhead takes the next study from jobs and reads it in the background.
// The channel yields it once read, or closes without it when jobs has
// closed. A worker holds at most one such study besides the one it runs,
// so the memory stays bounded by the workers: two studies each. Reading
// only reads: the study's folder and outputs are written in its turn, so a
// crash still loses only the study being run. After ctx ends, the study
// taken is not read, since it will not be run.
func readAhead(ctx context.Context, jobs <-chan *Study) <-chan opened {
	c := make(chan opened, 1)
	go func() {
		defer close(c)
		st, ok := <-jobs
		if !ok {
			return
		}
		r := opened{st: st}
		if ctx.Err() == nil {
			r.s, r.err = openStudy(ctx, st)
		}
		c <- r
	}()
	return c
}

// openStudy is study.Open of st, with a panic of the reader returned as
// the error: it fails that study only.
func openStudy(ctx context.Context, st *Study) (s *study.Study, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return study.Open(ctx, st.Path, study.Options{Series: st.Series})
}

// runStudy segments one study, read ahead as o, and writes its outputs;
// every failure ends up in the rows' status. Nothing of the study is kept
// when it returns: a batch holds only the studies in flight. (Forcing
// their memory back to the OS after each, debug.FreeOSMemory, cost a
// quarter more CPU per study in page faults; Go's scavenger returns it
// anyway.)
func runStudy(ctx context.Context, o opened, opt Options) (out []Result) {
	st := o.st
	res := make([]Result, len(st.Rows))
	for i, r := range st.Rows {
		res[i] = Result{Study: st.Given, Series: st.Series, Name: r.Name, Label: int(r.Label),
			Engine: opt.Engine.Name(), Device: opt.Device, Status: StatusOK}
	}
	failAll := func(err error) []Result {
		for i := range res {
			if res[i].Status == StatusOK {
				res[i].Status = oneLine(err)
			}
		}
		saveRows(opt.Out, st, res)
		return res
	}
	// A reader or engine that panics on one study fails that study only.
	defer func() {
		if r := recover(); r != nil {
			out = failAll(fmt.Errorf("internal error: %v", r))
		}
	}()
	dir := filepath.Join(opt.Out, st.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return failAll(err)
	}
	// A rerun first drops the old results: until the new ones are written
	// the study counts as not done, whatever mix of old and new files is
	// there.
	if err := os.Remove(filepath.Join(dir, StudyResultsFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return failAll(err)
	}
	if o.err != nil {
		return failAll(o.err)
	}
	s := o.s
	vol := s.Volume
	img := infer.Image{Dims: vol.Dims, Spacing: vol.Geom.Spacing(), Voxels: vol.Data, Slope: vol.Slope, Intercept: vol.Intercept}
	masks := make([][]uint8, len(st.Rows))
	segs := make([]labels.Segment, len(st.Rows))
	for i, r := range st.Rows {
		c := labels.DefaultColor(r.Label)
		c.A = 255
		segs[i] = labels.Segment{Value: r.Label, Name: r.Name, Color: c, Visible: true, Opacity: 1}
		p, err := prompt(r, vol.Geom, vol.Dims)
		if err != nil {
			res[i].Status = err.Error()
			continue
		}
		t0 := time.Now()
		masks[i], err = opt.Engine.Segment(ctx, img, p, nil)
		res[i].Seconds = time.Since(t0).Seconds()
		if err != nil {
			res[i].Status = oneLine(err)
		}
	}
	lm, _, err := labels.FromMasks(vol, masks, segs)
	if err != nil {
		return failAll(err)
	}
	masks = nil
	measure(ctx, st, res, lm, vol)
	// The label map and its label file are synced but not their folder:
	// writeStudyResults syncs it once after results.csv, the study's
	// last file (see there why that keeps the crash rule).
	if err := lm.SaveWith(filepath.Join(dir, SegmentationFile), atomicfile.WriteNoDirSync); err != nil {
		return failAll(err)
	}
	if opt.SEG && s.Scan != nil {
		if err := writeSEG(filepath.Join(dir, SEGFile), s.Scan, st.Series, vol, lm); err != nil {
			return failAll(fmt.Errorf("DICOM SEG: %w", err))
		}
	}
	saveRows(opt.Out, st, res)
	return res
}

// measure fills the rows' statistics of st from lm on vol (the study's
// image) and, for the rows segmented without error, Dice and HD95 against
// their reference: the batch's numbers, and the reviewer's after a
// correction (Corrected).
func measure(ctx context.Context, st *Study, res []Result, lm *labels.LabelMap, vol *volume.Volume) {
	stats := map[uint8]labels.Stats{}
	for _, s := range lm.Statistics() {
		stats[s.Value] = s
	}
	refs := map[string]*volume.Volume{}
	for i, r := range st.Rows {
		s, ok := stats[r.Label]
		if !ok { // a segment the reviewer deleted: nothing inside
			s = labels.Stats{Mean: nan, Std: nan, Min: nan, Max: nan}
		}
		res[i].Voxels, res[i].ML, res[i].Mean, res[i].Std, res[i].Min, res[i].Max = s.Voxels, s.VolumeML, s.Mean, s.Std, s.Min, s.Max
		res[i].Dice, res[i].HD95 = nan, nan
		if r.Reference == "" || res[i].Status != StatusOK {
			continue
		}
		if err := compare(ctx, &res[i], r, lm, vol, refs); err != nil {
			res[i].Status = oneLine(err)
		}
	}
}

// saveRows is writeStudyResults for a run: a failure to write the rows
// becomes their status.
func saveRows(out string, st *Study, res []Result) {
	if err := writeStudyResults(out, st, res); err != nil {
		for i := range res {
			res[i].Status = oneLine(err)
		}
	}
}

func writeSEG(path string, scan *dicom.ScanResult, series string, vol *volume.Volume, lm *labels.LabelMap) error {
	sr, err := scan.Select(series)
	if err != nil {
		return err
	}
	return viewer.WriteSEG(path, sr, vol, lm)
}

// compare fills a row's Dice and HD95 against its reference label map,
// read once per study (refs) and taken onto the image's grid.
func compare(ctx context.Context, res *Result, r Row, lm *labels.LabelMap, vol *volume.Volume, refs map[string]*volume.Volume) error {
	ref := refs[r.Reference]
	if ref == nil {
		s, err := study.Open(ctx, r.Reference, study.Options{})
		if err != nil {
			return fmt.Errorf("reference: %w", err)
		}
		if ref, err = s.Volume.OnGrid(vol.Dims, vol.Geom); err != nil {
			return fmt.Errorf("reference %s: %w", filepath.Base(r.Reference), err)
		}
		refs[r.Reference] = ref
	}
	target := make([]uint8, ref.Len())
	found := false
	for n := range target {
		if ref.Value(n) == float64(r.ReferenceLabel) {
			target[n], found = 1, true
		}
	}
	if !found {
		return fmt.Errorf("reference %s has no voxel of label %d", filepath.Base(r.Reference), r.ReferenceLabel)
	}
	pred := lm.Mask(r.Label)
	res.Dice = eval.Dice(pred, target)
	res.HD95 = eval.HD95(pred, target, vol.Dims, vol.Geom.Spacing())
	return nil
}

// writeStudyResults writes the study's hash and rows atomically; a
// failure to write them leaves the study not done.
//
// One sync of the study's folder, here after the last rename, stands for
// the three that atomicfile.Write would do (one per file, each a journal
// commit: 1-10 ms on this machine's ext4, with others writing, the most
// of the batch's own wall time). A crash still loses only the
// study in flight: every file's bytes are synced before its rename, so a
// name that survives names a whole file; results.csv, the mark that the
// study is done, is renamed last, so if its rename survived without the
// folder's sync, the journal (ext4, XFS: metadata in order) kept the
// earlier renames too; if it did not survive, the study is not done and
// the next run redoes it.
func writeStudyResults(out string, st *Study, res []Result) error {
	dir := filepath.Join(out, st.ID)
	err := atomicfile.WriteNoDirSync(filepath.Join(dir, StudyResultsFile), func(w io.Writer) error {
		if _, err := io.WriteString(w, hashLine+st.Hash()+"\n"); err != nil {
			return err
		}
		return WriteResults(w, res)
	})
	if err != nil {
		return err
	}
	return atomicfile.SyncDir(dir)
}

// Collect merges the rows of every study done with the manifest's current
// rows into DIR/results.csv, in manifest order, and returns how many
// studies were missing.
func Collect(m *Manifest, dir string) (missing int, err error) {
	var all []Result
	for _, st := range m.Studies {
		res, ok := readStudy(dir, st)
		if !ok {
			missing++
			continue
		}
		all = append(all, res...)
	}
	return missing, atomicfile.Write(filepath.Join(dir, ResultsFile), func(w io.Writer) error { return WriteResults(w, all) })
}
