package batch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/segvolapp/segvol/internal/atomicfile"
)

// Slurm says how to run a batch as a Slurm job array: one array task per
// shard of the manifest, each running `segvol batch ... --shard I/N`.
type Slurm struct {
	Exe                      string   // the segvol program the tasks run (on the shared file system)
	Args                     []string // passed on to every task: engine flags, --seg, --workers
	Shards                   int      // array tasks over the manifest (0: one per study)
	Partition, Time, Mem     string
	GPUsPerTask, CPUsPerTask int
	MaxParallel              int      // %K: tasks running at once (0: no limit)
	SbatchArgs               []string // more #SBATCH lines, as given
	Force                    bool     // every shard, done or not
	SEG                      bool     // the tasks write DICOM SEGs (--seg): a study without one is not done
}

// ScriptFile is DIR/slurm/batch.sbatch.
const ScriptFile = "batch.sbatch"

// Plan is a written job array: the script and the shards it runs.
type Plan struct {
	Script string
	Shards int   // shards the manifest is split into
	Tasks  []int // the shards not yet done: the array's indices
}

// WriteScript writes DIR/slurm/batch.sbatch for the shards of m that are
// not done (all with Force), atomically. Tasks is empty when every shard
// is done, and then no script is written.
func WriteScript(m *Manifest, dir string, s Slurm) (Plan, error) {
	n := s.Shards
	if n <= 0 || n > len(m.Studies) {
		n = len(m.Studies)
	}
	p := Plan{Script: filepath.Join(dir, "slurm", ScriptFile), Shards: n}
	for i := range n {
		for _, st := range ShardOf(m.Studies, i, n) {
			if s.Force || !Done(dir, st, s.SEG) {
				p.Tasks = append(p.Tasks, i)
				break
			}
		}
	}
	if len(p.Tasks) == 0 {
		return p, nil
	}
	if err := os.MkdirAll(filepath.Dir(p.Script), 0o755); err != nil {
		return p, err
	}
	outDir, err := filepath.Abs(dir)
	if err != nil {
		return p, err
	}
	var b bytes.Buffer
	b.WriteString("#!/bin/bash\n# Written by segvol batch --slurm: one array task per shard of the manifest.\n")
	array := joinInts(p.Tasks)
	if s.MaxParallel > 0 {
		array += "%" + strconv.Itoa(s.MaxParallel)
	}
	directive := func(k, v string) {
		if v != "" && v != "0" {
			fmt.Fprintf(&b, "#SBATCH --%s=%s\n", k, v)
		}
	}
	fmt.Fprintf(&b, "#SBATCH --job-name=segvol-batch\n#SBATCH --array=%s\n", array)
	directive("output", filepath.Join(outDir, "slurm", "shard-%a.out"))
	directive("partition", s.Partition)
	directive("time", s.Time)
	directive("mem", s.Mem)
	directive("gpus-per-task", strconv.Itoa(s.GPUsPerTask))
	directive("cpus-per-task", strconv.Itoa(s.CPUsPerTask))
	for _, a := range s.SbatchArgs {
		fmt.Fprintf(&b, "#SBATCH %s\n", a)
	}
	args := append([]string{s.Exe, "batch", m.Path, "--out", outDir}, s.Args...)
	if s.Force {
		args = append(args, "--force")
	}
	fmt.Fprintf(&b, "set -eu\nexec %s --shard \"$SLURM_ARRAY_TASK_ID/%d\"\n", shellJoin(args), n)
	return p, atomicfile.Write(p.Script, func(w io.Writer) error {
		_, err := w.Write(b.Bytes())
		return err
	})
}

// Submit submits the plan's script with sbatch, then a job that runs
// `segvol batch collect DIR` once every array task has ended (however it
// ended), and records the job in DIR/batch.json. It returns the array's
// job id.
func Submit(ctx context.Context, m *Manifest, dir string, s Slurm, p Plan) (string, error) {
	job, err := sbatch(ctx, p.Script)
	if err != nil {
		return "", err
	}
	outDir, err := filepath.Abs(dir)
	if err != nil {
		return job, err
	}
	args := []string{"--parsable", "--job-name=segvol-collect", "--dependency=afterany:" + job,
		"--output=" + filepath.Join(outDir, "slurm", "collect.out")}
	if s.Partition != "" {
		args = append(args, "--partition="+s.Partition)
	}
	args = append(args, "--wrap", shellJoin([]string{s.Exe, "batch", "collect", outDir}))
	collect, err := sbatch(ctx, args...)
	if err != nil {
		return job, fmt.Errorf("array job %s submitted, but its collect job not: %w", job, err)
	}
	return job, saveState(dir, State{Manifest: m.Path, Shards: p.Shards, Job: job, Collect: collect})
}

// sbatch runs sbatch --parsable and returns the job id.
func sbatch(ctx context.Context, args ...string) (string, error) {
	if len(args) == 1 {
		args = []string{"--parsable", args[0]}
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "sbatch", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("sbatch: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";") // "id;cluster" on a federation
	return id, nil
}

// ShardStatus is one shard's studies by state, and what Slurm says of its
// array task ("" when it knows nothing of it).
type ShardStatus struct {
	Shard                 int
	Done, Failed, Pending int
	Queue                 string
}

// Status counts each shard's studies in DIR's outputs and asks Slurm
// about the array's tasks (see taskStates); source says where the task
// states come from.
func Status(ctx context.Context, dir string) (st State, shards []ShardStatus, source string, err error) {
	st, err = ReadState(dir)
	if err != nil {
		return st, nil, "", err
	}
	m, err := ReadManifest(st.Manifest)
	if err != nil {
		return st, nil, "", err
	}
	n := st.Shards
	if n <= 0 {
		n = 1
	}
	queue := map[int]string{}
	if st.Job != "" {
		queue, source = taskStates(ctx, st.Job)
	}
	var out []ShardStatus
	for i := range n {
		s := ShardStatus{Shard: i, Queue: queue[i]}
		for _, study := range ShardOf(m.Studies, i, n) {
			res, ok := readStudy(dir, study)
			switch {
			case !ok:
				s.Pending++
			case allOK(res):
				s.Done++
			default:
				s.Failed++
			}
		}
		out = append(out, s)
	}
	return st, out, source, nil
}

// taskStates is the state of each task of array job, by task index: from
// sacct, which remembers the tasks that ended (COMPLETED, CANCELLED by
// ..., OUT_OF_MEMORY), with squeue's word for those queued or running,
// which is the fresher; or from squeue alone, which lists only those,
// when sacct does not answer (a cluster without accounting storage, as
// the local one). source says which, and why sacct was not used.
func taskStates(ctx context.Context, job string) (states map[int]string, source string) {
	states = map[int]string{}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "sacct", "-n", "-P", "-X", "-j", job, "-o", "JobID,State")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		source = "sacct and squeue"
		for _, l := range strings.Split(string(out), "\n") {
			id, state, ok := strings.Cut(strings.TrimSpace(l), "|")
			if !ok {
				continue
			}
			for _, i := range arrayTasks(id, job) {
				states[i] = state
			}
		}
	} else {
		why := strings.TrimSpace(stderr.String())
		if why == "" {
			why = strings.TrimSpace(string(out)) // Debian's sacct says it on stdout
		}
		if why == "" {
			why = err.Error()
		}
		why, _, _ = strings.Cut(why, "\n")
		source = "squeue only, tasks that ended not shown (sacct: " + why + ")"
	}
	if out, err := exec.CommandContext(ctx, "squeue", "-h", "-r", "-j", job, "-o", "%K %T").Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			if k, state, ok := strings.Cut(strings.TrimSpace(l), " "); ok {
				if i, err := strconv.Atoi(k); err == nil {
					states[i] = state
				}
			}
		}
	}
	return states, source
}

// arrayTasks is the task indices of one of sacct's job ids for array job:
// JOB_3, or JOB_[0-2,5%2] for tasks still pending; none for other jobs.
func arrayTasks(id, job string) []int {
	rest, ok := strings.CutPrefix(id, job+"_")
	if !ok {
		return nil
	}
	if i, err := strconv.Atoi(rest); err == nil {
		return []int{i}
	}
	rest, ok = strings.CutPrefix(rest, "[")
	if !ok {
		return nil
	}
	rest, _, _ = strings.Cut(strings.TrimSuffix(rest, "]"), "%")
	var out []int
	for _, r := range strings.Split(rest, ",") {
		a, b, isRange := strings.Cut(r, "-")
		lo, err1 := strconv.Atoi(a)
		hi, err2 := lo, error(nil)
		if isRange {
			hi, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil {
			return nil
		}
		for i := lo; i <= hi; i++ {
			out = append(out, i)
		}
	}
	return out
}

func joinInts(v []int) string {
	sort.Ints(v)
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// shellJoin quotes each word for bash.
func shellJoin(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
