package main

import (
	"bufio"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// need finds a tool, skipping without it unless CI is set.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing", tool)
			}
			t.Skipf("%s is missing", tool)
		}
	}
}

// xserver starts Xvfb on a free display (it picks one and tells us) and
// builds the viewer; it returns the binary and the DISPLAY value.
func xserver(t *testing.T) (bin, display string) {
	t.Helper()
	need(t, "Xvfb", "xwd", "convert")
	dir := t.TempDir()
	bin = filepath.Join(dir, "segvol-viewer")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	x := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1400x700x24", "-nolisten", "tcp")
	x.ExtraFiles = []*os.File{w}
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { x.Process.Kill(); x.Wait() })
	n, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("Xvfb gave no display: %v", err)
	}
	return bin, ":" + strings.TrimSpace(n)
}

// viewer starts the app on display and returns its further output lines
// once it printed prefix.
func viewer(t *testing.T, bin, display, prefix string, args ...string) <-chan string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	// A private HOME keeps the user's cache and preferences out of it.
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "HOME="+t.TempDir(), "XDG_CACHE_HOME=", "XDG_CONFIG_HOME=", "LANG=C.UTF-8")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the viewer exited before printing %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				t.Log(l)
				return lines
			}
		case <-timeout:
			t.Fatalf("no %q from the viewer in 60 s", prefix)
		}
	}
}

// TestAppShowsSampleUnderXvfb starts the real viewer on the bundled sample,
// takes a screenshot and checks that the three views show three different
// images of it.
func TestAppShowsSampleUnderXvfb(t *testing.T) {
	bin, display := xserver(t)
	viewer(t, bin, display, "segvol-viewer: opened")
	time.Sleep(2 * time.Second) // a few frames to paint
	shot := filepath.Join(t.TempDir(), "shot.png")
	xwd := exec.Command("sh", "-c", fmt.Sprintf("xwd -root -display %s | convert xwd:- %s", display, shot))
	if out, err := xwd.CombinedOutput(); err != nil {
		t.Fatalf("screenshot: %v\n%s", err, out)
	}
	if dst := os.Getenv("SEGVOL_SCREENSHOT"); dst != "" {
		data, _ := os.ReadFile(shot)
		os.WriteFile(dst, data, 0o644)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The window is 1280 wide at the top left (Xvfb has no window
	// manager); each view is a third of it. Crop the middle of each.
	var crops [3][]float64
	for i := range crops {
		x0 := i*1280/3 + 40
		crops[i] = gray(img, image.Rect(x0, 120, x0+340, 400))
		mean, sd := stats(crops[i])
		t.Logf("view %d: mean %.1f, sd %.1f", i, mean, sd)
		if sd < 20 || mean < 10 {
			t.Errorf("view %d looks blank: mean %.1f, sd %.1f", i, mean, sd)
		}
	}
	for i := 0; i < 3; i++ {
		for j := i + 1; j < 3; j++ {
			if d := meanAbsDiff(crops[i], crops[j]); d < 10 {
				t.Errorf("views %d and %d look the same (mean difference %.1f)", i, j, d)
			}
		}
	}
}

// TestScrollFrameRateUnderXvfb counts the frames the real viewer presents
// while its axial view scrolls; it reports the rate (no assertion: the
// machine is shared).
func TestScrollFrameRateUnderXvfb(t *testing.T) {
	bin, display := xserver(t)
	for l := range viewer(t, bin, display, "segvol-viewer: opened", "--bench-scroll", "4s") {
		if strings.HasPrefix(l, "segvol-viewer: scrolling") {
			t.Log(l)
			return
		}
	}
	t.Fatal("no frame count from the viewer")
}

func gray(img image.Image, r image.Rectangle) []float64 {
	var out []float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			out = append(out, float64(cr+cg+cb)/3/257)
		}
	}
	return out
}

func stats(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)))
}

func meanAbsDiff(a, b []float64) float64 {
	var d float64
	for i := range a {
		d += math.Abs(a[i] - b[i])
	}
	return d / float64(len(a))
}
