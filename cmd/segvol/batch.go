package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	clipfiles "github.com/segvolapp/segvol/assets/clip"
	"github.com/segvolapp/segvol/batch"
	"github.com/segvolapp/segvol/infer/engine"
)

const batchUsage = `segvol batch MANIFEST.csv --out DIR [--workers N] [--seg] [--force] [--backend auto|classic|segvol] [--models DIR] [--device D]
       [--slurm [--slurm-script] [--shards N] [--partition P] [--gpus-per-task N] [--cpus-per-task N] [--mem M] [--time T] [--max-parallel K] [--sbatch-arg ARG]...]
  segvol batch --scan ROOT --out MANIFEST.csv [--modality CT]
  segvol batch status DIR
  segvol batch collect DIR`

// stringList collects a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func cmdBatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 2 && args[0] == "status" {
		return batchStatus(ctx, args[1], stdout)
	}
	if len(args) == 2 && args[0] == "collect" {
		return batchCollect(args[1], stdout)
	}
	fs := flag.NewFlagSet("batch", flag.ContinueOnError)
	out := fs.String("out", "", "output folder (or, with --scan, the manifest to write)")
	scan := fs.String("scan", "", "write a starting manifest for the studies under this folder")
	modality := fs.String("modality", "", "with --scan: only DICOM series of this modality")
	workers := fs.Int("workers", 1, "studies segmented at once")
	segOut := fs.Bool("seg", false, "also write a DICOM SEG for DICOM studies")
	force := fs.Bool("force", false, "redo studies already done")
	shard := fs.String("shard", "", "I/N: run only shard I (from 0) of N (what each Slurm array task runs)")
	eng := addEngineFlags(fs)
	slurm := fs.Bool("slurm", false, "run as a Slurm job array: write DIR/slurm/batch.sbatch and submit it")
	scriptOnly := fs.Bool("slurm-script", false, "with --slurm: write the script, do not submit it")
	var sl batch.Slurm
	fs.IntVar(&sl.Shards, "shards", 0, "array tasks (default: one per study)")
	fs.StringVar(&sl.Partition, "partition", "", "Slurm partition")
	fs.StringVar(&sl.Time, "time", "", "Slurm time limit per task")
	fs.StringVar(&sl.Mem, "mem", "", "Slurm memory per task")
	fs.IntVar(&sl.GPUsPerTask, "gpus-per-task", 0, "GPUs per array task")
	fs.IntVar(&sl.CPUsPerTask, "cpus-per-task", 0, "CPUs per array task")
	fs.IntVar(&sl.MaxParallel, "max-parallel", 0, "array tasks running at once (0: no limit)")
	fs.Var((*stringList)(&sl.SbatchArgs), "sbatch-arg", "another sbatch option for the script (repeatable)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if *scan != "" {
		if len(pos) != 0 || *out == "" {
			return usageError(batchUsage, pos, 0)
		}
		n, err := batch.Scan(ctx, *scan, *out, *modality)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: %d studies; fill in name and a prompt (text, box or points) for each structure\n", *out, n)
		return nil
	}
	if len(pos) != 1 || *out == "" {
		return usageError(batchUsage, pos, 1)
	}
	m, err := batch.ReadManifest(pos[0])
	if err != nil {
		return err
	}
	if *slurm {
		return batchSlurm(ctx, m, *out, sl, *force, *scriptOnly, fs, stdout)
	}
	opt := batch.Options{Out: *out, Workers: *workers, SEG: *segOut, Force: *force, Progress: stderr, Terminal: isTerminal(stderr)}
	if *shard != "" {
		if opt.Shard, opt.Shards, err = parseShard(*shard, len(m.Studies)); err != nil {
			return fmt.Errorf("%w: --shard: %v", errUsage, err)
		}
	}
	seg, info, err := engine.Open(engine.Options{Backend: *eng.backend, Models: *eng.models, Device: *eng.device, Library: *eng.ortLib,
		Tokenizer: string(clipfiles.TokenizerJSON)})
	if errors.Is(err, engine.ErrUnknownBackend) {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err != nil {
		return err
	}
	if info.Fallback != nil {
		fmt.Fprintf(stderr, "segvol: using the embedded default: %v\n", info.Fallback)
	}
	opt.Engine, opt.Device = seg, info.Device
	sum, err := batch.Run(ctx, m, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d studies: %d segmented, %d failed, %d done before\n", sum.Total, sum.Done, sum.Failed, sum.Skipped)
	if opt.Shards == 0 {
		fmt.Fprintf(stdout, "results: %s\n", *out+string(os.PathSeparator)+batch.ResultsFile)
	}
	if sum.Failed > 0 {
		return fmt.Errorf("%d of %d studies have failed rows: their status in results.csv says why", sum.Failed, sum.Total)
	}
	return nil
}

// batchSlurm writes the job array's script for the shards not done and,
// unless scriptOnly, submits it. The tasks get the engine flags and the
// other run options of this command line.
func batchSlurm(ctx context.Context, m *batch.Manifest, out string, sl batch.Slurm, force, scriptOnly bool, fs *flag.FlagSet, stdout io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	sl.Exe, sl.Force = exe, force
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "backend", "models", "device", "ort-lib", "workers":
			sl.Args = append(sl.Args, "--"+f.Name, f.Value.String())
		case "seg":
			sl.Args, sl.SEG = append(sl.Args, "--seg"), true
		}
	})
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	p, err := batch.WriteScript(m, out, sl)
	if err != nil {
		return err
	}
	if len(p.Tasks) == 0 {
		if _, err := batch.Collect(m, out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "every study is done: nothing to submit; results: %s\n", out+string(os.PathSeparator)+batch.ResultsFile)
		return nil
	}
	if scriptOnly {
		fmt.Fprintf(stdout, "wrote %s: %d array tasks of %d shards\n", p.Script, len(p.Tasks), p.Shards)
		return nil
	}
	job, err := batch.Submit(ctx, m, out, sl, p)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "submitted job %s: %d array tasks of %d shards (%s); results.csv is collected when they end\n", job, len(p.Tasks), p.Shards, p.Script)
	return nil
}

func parseShard(s string, studies int) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n || n > studies {
		return 0, 0, fmt.Errorf("want I/N with 0 <= I < N <= %d (the studies), got %q", studies, s)
	}
	return i, n, nil
}

func batchStatus(ctx context.Context, dir string, stdout io.Writer) error {
	st, shards, source, err := batch.Status(ctx, dir)
	if err != nil {
		return err
	}
	var done, failed, pending int
	for _, s := range shards {
		done, failed, pending = done+s.Done, failed+s.Failed, pending+s.Pending
		q := s.Queue
		if q == "" {
			q = "-"
		}
		fmt.Fprintf(stdout, "shard %d: %d done, %d failed, %d pending  slurm %s\n", s.Shard, s.Done, s.Failed, s.Pending, q)
	}
	job := ""
	if st.Job != "" {
		job = ", job " + st.Job
	}
	fmt.Fprintf(stdout, "studies: %d done, %d failed, %d pending (manifest %s%s)\n", done, failed, pending, st.Manifest, job)
	if source != "" {
		fmt.Fprintf(stdout, "slurm states from %s\n", source)
	}
	return nil
}

func batchCollect(dir string, stdout io.Writer) error {
	st, err := batch.ReadState(dir)
	if err != nil {
		return err
	}
	m, err := batch.ReadManifest(st.Manifest)
	if err != nil {
		return err
	}
	missing, err := batch.Collect(m, dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d of %d studies (%d not done)\n", dir+string(os.PathSeparator)+batch.ResultsFile, len(m.Studies)-missing, len(m.Studies), missing)
	return nil
}

// isTerminal reports whether w is a terminal, where progress is a bar.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
