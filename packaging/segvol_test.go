package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDebInstallsSegVol: the CLI of the .deb, with no Python in reach (an
// empty PATH), installs random-weight SegVol checkpoints in both published
// layouts and segments the sample from a box and from a free phrase; a
// checkpoint whose pickle would run a command is refused and runs nothing.
// The checkpoints come from scripts/test-checkpoints.sh in
// $SEGVOL_CHECKPOINTS (make test-packages makes them).
func TestDebInstallsSegVol(t *testing.T) {
	src := os.Getenv("SEGVOL_CHECKPOINTS")
	if src == "" {
		t.Skip("SEGVOL_CHECKPOINTS is not set (make test-packages sets it)")
	}
	deb := dist(t, "segvol_*_amd64.deb")
	dir := t.TempDir()
	run(t, dir, "dpkg-deb", "-x", deb, dir)
	cli := filepath.Join(dir, "opt/segvol/segvol")
	sample, err := filepath.Abs(filepath.Join("..", "assets", "sample", "example_ct_sm.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	segvol := func(args ...string) (string, error) {
		cmd := exec.Command(cli, args...)
		cmd.Dir = dir
		// No PATH: neither python nor any other helper program is found.
		cmd.Env = []string{"PATH=", "HOME=" + dir, "LANG=C.UTF-8"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := segvol(args...)
		if err != nil {
			t.Fatalf("segvol %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("segvol %s:\n%s", strings.Join(args, " "), out)
		return out
	}
	for _, c := range []struct{ name, source string }{
		{"huggingface", filepath.Join(src, "hf")},
		{"github", filepath.Join(src, "SegVol_v1.pth")},
	} {
		t.Run(c.name, func(t *testing.T) {
			models := filepath.Join(dir, "models-"+c.name)
			must("models", "install", c.source, "--models", models)
			if list := must("models", "list", "--models", models); !strings.Contains(list, filepath.Base(c.source)) {
				t.Errorf("models list does not name the source %s:\n%s", c.source, list)
			}
			for i, prompt := range [][]string{{"--box", "20,20,5,100,80,25"}, {"--text", "liver tumour"}} {
				out := filepath.Join(dir, c.name+"-mask"+string(rune('0'+i))+".nii.gz")
				args := append([]string{"segment", "--image", sample, "--backend", "segvol", "--device", "cpu", "--models", models, "--out", out}, prompt...)
				if log := must(args...); !strings.Contains(log, "by segvol") {
					t.Errorf("%v: not segmented by SegVol:\n%s", prompt, log)
				}
				if _, err := os.Stat(out); err != nil {
					t.Error(err)
				}
			}
		})
	}
	models := filepath.Join(dir, "models-exploit")
	out, err := segvol("models", "install", filepath.Join(src, "exploit.pth"), "--models", models)
	if err == nil || !strings.Contains(out, "system") {
		t.Errorf("the checkpoint that runs a command: err %v, output:\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "exploit-ran")); err == nil {
		t.Error("the exploit's command ran")
	}
	if entries, _ := os.ReadDir(models); len(entries) != 0 {
		t.Errorf("the refused install left %d files in the models folder", len(entries))
	}
}
