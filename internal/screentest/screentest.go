// Package screentest reads screenshots of the real viewer under Xvfb for
// the tests that start it: the Linux build (cmd/segvol-viewer) and the
// Windows build under Wine (packaging).
package screentest

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

// Screenshot waits for a few frames, then captures the screen (copied to
// $SEGVOL_SCREENSHOT when set).
func Screenshot(t testing.TB, display string) image.Image {
	t.Helper()
	time.Sleep(2 * time.Second)
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
	return img
}

// ViewRects reads the views' places in screen pixels from the lines the
// viewer printed, relative to its window's top left.
func ViewRects(t testing.TB, lines []string) map[string]image.Rectangle {
	t.Helper()
	out := map[string]image.Rectangle{}
	for _, l := range lines {
		var name string
		var x, y, w, h, scale float64
		if n, _ := fmt.Sscanf(l, "segvol-viewer: view %s at %g,%g size %gx%g scale %g", &name, &x, &y, &w, &h, &scale); n == 6 {
			px := func(v float64) int { return int(math.Round(v * scale)) }
			out[name] = image.Rect(px(x), px(y), px(x+w), px(y+h))
		}
	}
	if len(out) < 3 {
		t.Fatalf("view places not printed: %q", lines)
	}
	t.Logf("views %v", out)
	return out
}

// ThreeViews checks that the middle of each view (the window's top left
// at origin on the screen img) shows a study: not blank, and each view
// different from the others.
func ThreeViews(t testing.TB, img image.Image, rects map[string]image.Rectangle, origin image.Point) {
	t.Helper()
	var crops [3][]float64
	for i, o := range []string{"axial", "coronal", "sagittal"} {
		// The same size from each, about the middle 80%.
		r := rects[o].Add(origin)
		c := image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2)
		w, h := rects["axial"].Dx()*4/10, rects["axial"].Dy()*3/10
		crops[i] = Gray(img, image.Rect(c.X-w, c.Y-h, c.X+w, c.Y+h))
		mean, sd := Stats(crops[i])
		t.Logf("view %d: mean %.1f, sd %.1f", i, mean, sd)
		if sd < 20 || mean < 10 {
			t.Errorf("view %d looks blank: mean %.1f, sd %.1f", i, mean, sd)
		}
	}
	for i := 0; i < 3; i++ {
		for j := i + 1; j < 3; j++ {
			if d := MeanAbsDiff(crops[i], crops[j]); d < 10 {
				t.Errorf("views %d and %d look the same (mean difference %.1f)", i, j, d)
			}
		}
	}
}

// Gray is the grey level (0-255) of each pixel of r in img, row by row.
func Gray(img image.Image, r image.Rectangle) []float64 {
	var out []float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			out = append(out, float64(cr+cg+cb)/3/257)
		}
	}
	return out
}

// Stats is the mean and standard deviation of v.
func Stats(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)))
}

// MeanAbsDiff is the mean absolute difference of a and b, of equal length.
func MeanAbsDiff(a, b []float64) float64 {
	var d float64
	for i := range a {
		d += math.Abs(a[i] - b[i])
	}
	return d / float64(len(a))
}

// Start starts the viewer's cmd and returns, once it printed a line
// starting with prefix, the lines it printed until then and a channel of
// its further lines; the process is killed when the test ends.
func Start(t testing.TB, cmd *exec.Cmd, prefix string, timeout time.Duration) ([]string, <-chan string) {
	t.Helper()
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
	deadline := time.After(timeout)
	var seen []string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the viewer exited before printing %q", prefix)
			}
			seen = append(seen, l)
			if strings.HasPrefix(l, prefix) {
				t.Log(l)
				return seen, lines
			}
		case <-deadline:
			t.Fatalf("no %q from the viewer in %v", prefix, timeout)
		}
	}
}

// WaitLine returns the first of the viewer's further lines that starts
// with prefix, failing the test when the viewer exits or timeout passes
// first.
func WaitLine(t testing.TB, lines <-chan string, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the viewer exited before printing %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				t.Log(l)
				return l
			}
		case <-deadline:
			t.Fatalf("no %q from the viewer in %v", prefix, timeout)
		}
	}
}
