//go:build unix

package checkpoint

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkStream streams every tensor of a random torch checkpoint
// (CHECKPOINT_BENCH_MB, 500 by default, made by torch) into one output
// file, as an installer writes ONNX external data, and reports the time
// against `cp` of the same file (x_cp) and the process's peak RSS:
//
//	go test ./infer/checkpoint -run XXX -bench Stream -benchtime 3x
func BenchmarkStream(b *testing.B) {
	if exec.Command(python, "-c", "import torch").Run() != nil {
		b.Skip("torch does not import in " + python + " (Debian: python3-torch): no checkpoint to read")
	}
	mb := 500
	if s := os.Getenv("CHECKPOINT_BENCH_MB"); s != "" {
		mb, _ = strconv.Atoi(s)
	}
	dir := b.TempDir()
	src := filepath.Join(dir, "big.pth")
	// 4 MB tensors, the size of a ViT-B block's weights, under "model".
	gen := `import sys, torch; n = int(sys.argv[2]) // 4
torch.save({"model": {"module.w%d" % i: torch.randn(1024, 1024) for i in range(n)}}, sys.argv[1])`
	if out, err := exec.Command(python, "-c", gen, src, strconv.Itoa(mb)).CombinedOutput(); err != nil {
		b.Fatalf("making the checkpoint: %v\n%s", err, out)
	}
	fi, err := os.Stat(src)
	if err != nil {
		b.Fatal(err)
	}
	var ours, cp time.Duration
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if out, err := exec.Command("cp", src, filepath.Join(dir, "copy")).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v\n%s", err, out)
		}
		cp += time.Since(t0)

		t0 = time.Now()
		streamTo(b, src, filepath.Join(dir, "weights.bin"))
		ours += time.Since(t0)
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(ours)/float64(cp), "x_cp")
	b.ReportMetric(float64(ru.Maxrss)/1024, "MB_peak_RSS") // Linux counts KB
	b.ReportMetric(float64(fi.Size()>>20), "MB_checkpoint")
}

func streamTo(b *testing.B, src, dst string) {
	c, err := Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	err = c.Each(func(t Tensor, r io.Reader) error {
		_, err := io.Copy(out, r)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}
