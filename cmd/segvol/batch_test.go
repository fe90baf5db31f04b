package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// batchManifest writes a manifest of the sample's liver (a box in LPS mm)
// with its reference, in a folder of its own.
func batchManifest(t *testing.T, rows string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	abs, _ := filepath.Abs(sample)
	ref, _ := filepath.Abs("../../assets/sample/example_seg.nii.gz")
	rows = strings.NewReplacer("SAMPLE", abs, "REF", ref).Replace(rows)
	path = filepath.Join(dir, "manifest.csv")
	if err := os.WriteFile(path, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

func TestBatchCLI(t *testing.T) {
	dir, man := batchManifest(t, "study,id,name,box,reference,reference_label\n"+
		"SAMPLE,ct,liver,54.9 -86.3 94.3 -137.0 -269.3 181.3,REF,5\n")
	out := filepath.Join(dir, "out")
	st, stdout, stderr := segvol(t, "batch", man, "--out", out, "--backend", "classic")
	if st != 0 || !strings.Contains(stdout, "1 studies: 1 segmented, 0 failed") {
		t.Fatalf("status %d\n%s%s", st, stdout, stderr)
	}
	// Not a terminal: one plain line per study.
	if !strings.Contains(stderr, "batch: [1/1] ct ok (") {
		t.Errorf("progress %q", stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	if lines[0] != "study,series,name,label,voxels,ml,mean,std,min,max,dice,hd95,engine,device,seconds,status,needs_review,corrected" ||
		!strings.HasSuffix(lines[1], ",ok,,") || !strings.Contains(lines[1], ",liver,1,") {
		t.Errorf("results.csv:\n%s", b)
	}
	st, stdout, _ = segvol(t, "batch", man, "--out", out, "--backend", "classic")
	if st != 0 || !strings.Contains(stdout, "1 done before") {
		t.Errorf("rerun: %d %s", st, stdout)
	}
	if st, stdout, _ = segvol(t, "batch", "status", out); st != 0 || !strings.Contains(stdout, "studies: 1 done, 0 failed, 0 pending") {
		t.Errorf("status: %d %s", st, stdout)
	}
	if st, stdout, _ = segvol(t, "batch", "collect", out); st != 0 || !strings.Contains(stdout, "1 of 1 studies") {
		t.Errorf("collect: %d %s", st, stdout)
	}
	script := filepath.Join(out, "slurm", "batch.sbatch")
	if st, stdout, _ = segvol(t, "batch", man, "--out", out, "--slurm", "--slurm-script", "--force", "--partition", "gpu", "--gpus-per-task", "1", "--time", "1:00:00"); st != 0 {
		t.Fatalf("--slurm-script: %d %s", st, stdout)
	}
	s, err := os.ReadFile(script)
	for _, want := range []string{"#SBATCH --array=0\n", "#SBATCH --partition=gpu\n", "#SBATCH --gpus-per-task=1\n", "#SBATCH --time=1:00:00\n", "'--force' --shard \"$SLURM_ARRAY_TASK_ID/1\""} {
		if err != nil || !strings.Contains(string(s), want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
}

// A bad manifest stops the batch before any work: nothing is written.
func TestBatchBadManifestWritesNothing(t *testing.T) {
	dir, man := batchManifest(t, "study,name,box\nSAMPLE,liver,1 2 3\nmissing.nii.gz,spleen,1 2 3 4 5 6\n")
	out := filepath.Join(dir, "out")
	st, _, stderr := segvol(t, "batch", man, "--out", out, "--backend", "classic")
	if st != 1 || !strings.Contains(stderr, "manifest.csv:2: box: want 6 numbers") || !strings.Contains(stderr, "manifest.csv:3: study") {
		t.Errorf("status %d, stderr %q", st, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the output folder was made for a manifest that failed its checks")
	}
	if st, _, stderr = segvol(t, "batch", man); st != 2 || !strings.Contains(stderr, "usage") {
		t.Errorf("no --out: %d %q", st, stderr)
	}
}

func TestBatchScanCLI(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m.csv")
	st, stdout, stderr := segvol(t, "batch", "--scan", "../../testdata/dcmqi_ct3slice_seg/ct-3slice", "--out", out, "--modality", "CT")
	if st != 0 || !strings.Contains(stdout, "1 studies") {
		t.Fatalf("%d %s %s", st, stdout, stderr)
	}
	// The starting manifest lacks names and prompts: running it says so.
	st, _, stderr = segvol(t, "batch", out, "--out", filepath.Join(dir, "o"))
	if st != 1 || !strings.Contains(stderr, "m.csv:2: name is empty") {
		t.Errorf("%d %q", st, stderr)
	}
}
