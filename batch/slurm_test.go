package batch

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segvolapp/segvol/internal/testenv"
)

// slurmCluster finds the cluster scripts/slurm-local.sh started (make test
// starts it; SLURM_CONF names it) and checks that its node takes jobs.
func slurmCluster(t testing.TB) {
	t.Helper()
	testenv.NeedTool(t, "sbatch")
	if os.Getenv("SLURM_CONF") == "" {
		if _, err := os.Stat("/tmp/segvol-slurm/slurm.conf"); err == nil {
			t.Setenv("SLURM_CONF", "/tmp/segvol-slurm/slurm.conf")
		}
	}
	out, err := exec.Command("sinfo", "-h", "-o", "%T").Output()
	if err != nil || !regexp.MustCompile(`idle|mixed|allocated`).Match(out) {
		testenv.Missing(t, "no Slurm cluster up (scripts/slurm-local.sh start): sinfo %q %v", out, err)
	}
}

// buildSegvol builds the command the array tasks run.
func buildSegvol(t testing.TB) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "segvol")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", exe, "../cmd/segvol")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

func segvolCmd(t testing.TB, exe string, args ...string) string {
	t.Helper()
	out, err := exec.Command(exe, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("segvol %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// waitJobs waits until squeue lists none of the jobs.
func waitJobs(t testing.TB, jobs ...string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		out, err := exec.Command("squeue", "-h", "-j", strings.Join(jobs, ",")).Output()
		if err == nil && strings.TrimSpace(string(out)) == "" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("jobs %v still queued after 3 minutes", jobs)
}

// A real job array on the local cluster: one task is cancelled while it
// runs (its study sits on a stalled file, a FIFO nobody writes), the rest
// finish and are collected; resubmitting runs only the missing shard, and
// the merged results.csv equals a local run's of the same manifest.
func TestSlurmArrayCancelResume(t *testing.T) {
	slurmCluster(t)
	exe := buildSegvol(t)
	dir := t.TempDir()
	man := cohort(t, dir, 4)
	stalled := filepath.Join(dir, "s2.nii.gz")
	real, err := os.Readlink(stalled)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(stalled)
	if err := syscall.Mkfifo(stalled, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	sub := segvolCmd(t, exe, "batch", man, "--out", out, "--slurm", "--backend", "classic", "--max-parallel", "2")
	if !strings.Contains(sub, "4 array tasks of 4 shards") {
		t.Fatalf("submission: %s", sub)
	}
	script, err := os.ReadFile(filepath.Join(out, "slurm", ScriptFile))
	if err != nil || !strings.Contains(string(script), "#SBATCH --array=0,1,2,3%2") || !strings.Contains(string(script), "'--backend' 'classic'") {
		t.Fatalf("script:\n%s", script)
	}
	st, err := ReadState(out)
	if err != nil || st.Job == "" || st.Collect == "" {
		t.Fatalf("state %+v %v", st, err)
	}
	// A test that stops early must not leave the stalled task holding a
	// CPU of the cluster.
	t.Cleanup(func() { exec.Command("scancel", st.Job, st.Collect).Run() })
	// Cancel shard 2 once it runs (it cannot end: its study never opens).
	task := st.Job + "_2"
	deadline := time.Now().Add(2 * time.Minute)
	for {
		o, _ := exec.Command("squeue", "-h", "-r", "-j", task, "-o", "%T").Output()
		if strings.TrimSpace(string(o)) == "RUNNING" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s not running after 2 minutes: %q", task, o)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// While it runs, status says so, from sacct, or, on a cluster without
	// accounting storage (the local one), from squeue with sacct's reason.
	status := segvolCmd(t, exe, "batch", "status", out)
	source := "slurm states from sacct and squeue"
	if o, err := exec.Command("sacct", "-n", "-X", "-j", st.Job).CombinedOutput(); err != nil {
		source = "slurm states from squeue only, tasks that ended not shown (sacct: " + strings.TrimSpace(string(o)) + ")"
	}
	if !strings.Contains(status, "shard 2: 0 done, 0 failed, 1 pending  slurm RUNNING") || !strings.Contains(status, source) {
		t.Errorf("status while shard 2 runs:\n%s\nwant %q", status, source)
	}
	if o, err := exec.Command("scancel", task).CombinedOutput(); err != nil {
		t.Fatalf("scancel: %v %s", err, o)
	}
	waitJobs(t, st.Job, st.Collect)
	status = segvolCmd(t, exe, "batch", "status", out)
	if !strings.Contains(status, "shard 2: 0 done, 0 failed, 1 pending") || !strings.Contains(status, "studies: 3 done, 0 failed, 1 pending") {
		t.Errorf("status after the cancel:\n%s", status)
	}
	if res := readResults(t, filepath.Join(out, ResultsFile)); len(res) != 6 {
		t.Errorf("collected %d rows, want 6 (3 studies)", len(res))
	}
	// The file system recovers; a rerun submits only what is missing.
	os.Remove(stalled)
	if err := os.Symlink(real, stalled); err != nil {
		t.Fatal(err)
	}
	sub = segvolCmd(t, exe, "batch", man, "--out", out, "--slurm", "--backend", "classic")
	if !strings.Contains(sub, "1 array tasks of 4 shards") {
		t.Fatalf("resubmission: %s", sub)
	}
	st, _ = ReadState(out)
	waitJobs(t, st.Job, st.Collect)
	local := filepath.Join(dir, "local")
	segvolCmd(t, exe, "batch", man, "--out", local, "--backend", "classic")
	same(t, readResults(t, filepath.Join(out, ResultsFile)), readResults(t, filepath.Join(local, ResultsFile)))
	if sub := segvolCmd(t, exe, "batch", man, "--out", out, "--slurm", "--backend", "classic"); !strings.Contains(sub, "nothing to submit") {
		t.Errorf("third submission: %s", sub)
	}
}

// sacct's job ids for an array's tasks: one ended or running task, or the
// tasks still pending in one line, with the running limit.
func TestArrayTasks(t *testing.T) {
	for id, want := range map[string][]int{
		"77_3":           {3},
		"77_[0-2,5%2]":   {0, 1, 2, 5},
		"77_[4]":         {4},
		"77":             nil, // the array itself
		"770_1":          nil, // another job
		"77_[1-x]":       nil,
		"77_3.batch":     nil, // a step (sacct -X leaves them out)
		"77_[10-12%100]": {10, 11, 12},
	} {
		if got := arrayTasks(id, "77"); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", id, got, want)
		}
	}
}
