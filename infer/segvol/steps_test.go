package segvol

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/segvolapp/segvol/infer"
	"github.com/segvolapp/segvol/viewer/nifti"
)

var samplePath = filepath.Join("..", "..", "assets", "sample", "example_ct_sm.nii.gz")

func sampleImage(t testing.TB) infer.Image {
	t.Helper()
	v, err := nifti.Read(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	return infer.Image{Dims: v.Dims, Spacing: v.Geom.Spacing(), Voxels: v.Data, Slope: v.Slope, Intercept: v.Intercept}
}

// numpyPython is a python3 that imports numpy and nibabel.
func numpyPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import nibabel, numpy").Run() == nil {
			return py
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("python3 with numpy and nibabel is not installed (Debian: python3-nibabel)")
	}
	t.Fatal("python3 with numpy and nibabel is not installed (Debian: python3-nibabel)")
	return ""
}

// refScript is the contract's preprocessing written with numpy on the
// float64 image: it prints the statistics and the crop and writes the
// cropped [D,H,W] volume as float32 to argv[2].
const refScript = `
import json, sys
import numpy as np, nibabel as nib
x = nib.load(sys.argv[1]).get_fdata()
thr = x.mean()
fg = x[x > thr]
lo, hi = np.percentile(fg, 0.05), np.percentile(fg, 99.95)
mu, sd = fg.mean(), fg.std()
y = (np.clip(x, lo, hi) - mu) / max(sd, 1e-8)
y = y - y.min()
y = y / max(y.max(), 1e-8)
y = np.swapaxes(y, 0, 2)
nz = np.nonzero(y > 0)
a = [int(v.min()) for v in nz]
b = [int(v.max()) + 1 for v in nz]
np.ascontiguousarray(y[a[0]:b[0], a[1]:b[1], a[2]:b[2]], dtype=np.float32).tofile(sys.argv[2])
print(json.dumps(dict(lo=lo, hi=hi, mu=mu, sd=sd, origin=a, end=b)))
`

func TestPrepareMatchesNumpy(t *testing.T) {
	py := numpyPython(t)
	raw := filepath.Join(t.TempDir(), "crop.f32")
	out, err := exec.Command(py, "-c", refScript, samplePath, raw).Output()
	if err != nil {
		t.Fatalf("reference script: %v", err)
	}
	var ref struct {
		Lo, Hi, Mu, Sd float64
		Origin, End    []int
	}
	if err := json.Unmarshal(out, &ref); err != nil {
		t.Fatal(err)
	}
	img := sampleImage(t)
	n, err := newNorm(img)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		got, ref float64
	}{{"0.05th percentile", n.lo, ref.Lo}, {"99.95th percentile", n.hi, ref.Hi}, {"mean", n.mu, ref.Mu}, {"std", n.sd, ref.Sd}} {
		if math.Abs(c.got-c.ref) > 1e-9*max(1, math.Abs(c.ref)) {
			t.Errorf("%s = %.12g, numpy %.12g", c.name, c.got, c.ref)
		}
	}
	p, err := prepare(img)
	if err != nil {
		t.Fatal(err)
	}
	want := [3]int{ref.End[0] - ref.Origin[0], ref.End[1] - ref.Origin[1], ref.End[2] - ref.Origin[2]}
	if p.origin != [3]int(ref.Origin) || p.dims != want {
		t.Fatalf("crop at %v size %v, numpy at %v size %v", p.origin, p.dims, ref.Origin, want)
	}
	buf, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for x, v := range p.data {
		r := math.Float32frombits(binary.LittleEndian.Uint32(buf[4*x:]))
		worst = max(worst, math.Abs(float64(v-r)))
	}
	if worst > 1e-6 {
		t.Errorf("normalised crop differs from numpy by up to %g", worst)
	}
	t.Logf("sample: lo %.2f hi %.2f mu %.3f sd %.3f, crop %v at %v, max diff %g", n.lo, n.hi, n.mu, n.sd, p.dims, p.origin, worst)
}

func TestPercentileByHand(t *testing.T) {
	vals := []float64{1, 2, 3, 4, 10}
	r := ranked{n: len(vals), at: func(k int) float64 { return vals[k] }}
	for _, c := range []struct{ p, want float64 }{
		{0, 1}, {100, 10}, {50, 3}, {25, 2}, {87.5, 7}, // index 3.5: 4 + 0.5*6
		{0.05, 1.002}, {99.95, 9.988}, // index 0.002 and 3.998
	} {
		if got := percentile(r, c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("percentile %g = %.15g, want %g", c.p, got, c.want)
		}
	}
}

// The histogram path (16-bit) and the sorting path (float) agree, and a
// negative slope ranks real values, not stored ones.
func TestNormPathsAgree(t *testing.T) {
	img := sampleImage(t)
	s := img.Voxels.([]int16)
	f := make([]float32, len(s))
	neg := make([]int16, len(s))
	for x, v := range s {
		f[x] = float32(v)
		neg[x] = -v
	}
	a, err := newNorm(img)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newNorm(infer.Image{Dims: img.Dims, Voxels: f, Slope: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := newNorm(infer.Image{Dims: img.Dims, Voxels: neg, Slope: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []*norm{b, c} {
		if math.Abs(o.lo-a.lo) > 1e-9 || math.Abs(o.hi-a.hi) > 1e-9 || math.Abs(o.mu-a.mu) > 1e-9 || math.Abs(o.sd-a.sd) > 1e-9 {
			t.Errorf("norm %+v, want %+v", *o, *a)
		}
	}
}

func TestConstantImage(t *testing.T) {
	img := infer.Image{Dims: [3]int{4, 4, 4}, Spacing: [3]float64{1, 1, 1}, Voxels: make([]int16, 64), Slope: 1}
	if _, err := prepare(img); err != errNoForeground {
		t.Fatalf("constant image: %v", err)
	}
}

// Index maps against torch's formulas worked out by hand (ATen's
// nearest_neighbor_exact_compute_source_index and
// nearest_neighbor_compute_source_index with a float32 scale).
func TestIndexMaps(t *testing.T) {
	for _, c := range []struct {
		exact   bool
		in, out int
		want    []int
	}{
		{true, 3, 2, []int{0, 2}},          // (0.5, 1.5) * 1.5
		{true, 2, 5, []int{0, 0, 1, 1, 1}}, // (0.5..4.5) * 0.4
		{true, 5, 2, []int{1, 3}},          // (0.5, 1.5) * 2.5
		{true, 4, 4, []int{0, 1, 2, 3}},
		{false, 3, 2, []int{0, 1}},          // (0, 1) * 1.5
		{false, 2, 5, []int{0, 0, 0, 1, 1}}, // (0..4) * 0.4
		{false, 4, 8, []int{0, 0, 1, 1, 2, 2, 3, 3}},
		{false, 32, 30, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30}},
	} {
		f := legacyMap
		if c.exact {
			f = exactMap
		}
		if got := f(c.in, c.out); !slices.Equal(got, c.want) {
			t.Errorf("exact=%v %d->%d: %v, want %v", c.exact, c.in, c.out, got, c.want)
		}
	}
}

func TestPreimageAndZoomPrompt(t *testing.T) {
	up := exactMap(2, 5)   // 0 0 1 1 1
	down := exactMap(5, 2) // 1 3
	for _, c := range []struct {
		m      []int
		lo, hi int
		a, b   int
	}{
		{up, 0, 0, 0, 1}, {up, 1, 1, 2, 4}, {up, 0, 1, 0, 4},
		{down, 3, 3, 1, 1}, {down, 2, 4, 1, 1},
		{down, 0, 0, 0, 0}, // skipped: nearest sampled source is 1
		{down, 2, 2, 0, 0}, // tie between sources 1 and 3: the lower
		{down, 4, 4, 1, 1},
	} {
		if a, b := preimage(c.m, c.lo, c.hi); a != c.a || b != c.b {
			t.Errorf("preimage %v [%d,%d] = %d,%d, want %d,%d", c.m, c.lo, c.hi, a, b, c.a, c.b)
		}
	}
	// A 30x101x122 crop (the sample's shape in D,H,W) into 32x256x256.
	crop := [3]int{30, 101, 122}
	var maps [3][]int
	for a := range 3 {
		maps[a] = exactMap(crop[a], Window[a])
	}
	pts, box := zoomPrompt(
		[]point{{at: [3]int{0, 0, 0}, label: 1}, {at: [3]int{29, 100, 121}, label: 0}, {at: [3]int{15, 50, 60}, label: 1}},
		&box3{lo: [3]int{2, 10, 20}, hi: [3]int{20, 60, 100}}, maps, crop)
	// d: 30->32, scale 0.9375: slices 0, 29, 15 are sampled by window
	// slices 0, 31, 16 only. h: 101->256, scale 0.39453125: rows 0, 100, 50
	// by 0..2, 253..255, 127..128. w: 122->256, scale 0.4765625: columns 0,
	// 121, 60 by 0..1, 254..255, 126..127. A point takes the middle (lower).
	want := []point{{[3]int{0, 1, 0}, 1}, {[3]int{31, 254, 254}, 0}, {[3]int{16, 127, 126}, 1}}
	if !slices.Equal(pts, want) {
		t.Errorf("points %v, want %v", pts, want)
	}
	// Box: the first window voxel sampled from >= lo, the last from <= hi:
	// d (dst+0.5)*0.9375 in [2,21) gives 2..21; h 10/0.39453125 = 25.3 and
	// 61/0.39453125 = 154.6 give 25..154; w 20/0.4765625 = 42.0 and
	// 101/0.4765625 = 211.9 give 42..211.
	wantBox := box3{lo: [3]int{2, 25, 42}, hi: [3]int{21, 154, 211}}
	if *box != wantBox {
		t.Errorf("box %v, want %v", *box, wantBox)
	}
}

func TestTokenOrder(t *testing.T) {
	pts := []point{{[3]int{1, 2, 3}, labelPositive}, {[3]int{4, 5, 6}, labelNegative}}
	box := &box3{lo: [3]int{7, 8, 9}, hi: [3]int{10, 11, 12}}
	for _, c := range []struct {
		name   string
		pts    []point
		box    *box3
		coords []float32
		labels []float32
	}{
		{"points", pts, nil, []float32{1, 2, 3, 4, 5, 6, 0, 0, 0}, []float32{1, 0, -1}},
		{"points and box", pts, box, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, []float32{1, 0, 2, 3}},
		{"box", nil, box, []float32{7, 8, 9, 10, 11, 12}, []float32{2, 3}},
		{"empty box", nil, &noBox, []float32{-1, -1, -1, -1, -1, -1}, []float32{2, 3}},
		{"nothing (text only)", nil, nil, nil, nil},
	} {
		coords, labels := tokens(c.pts, c.box)
		if !slices.Equal(coords, c.coords) || !slices.Equal(labels, c.labels) {
			t.Errorf("%s: %v %v, want %v %v", c.name, coords, labels, c.coords, c.labels)
		}
	}
}

func TestROIPad(t *testing.T) {
	dims := [3]int{100, 300, 400}
	fg := box3{lo: [3]int{10, 100, 50}, hi: [3]int{14, 199, 349}}
	// d: extent 5, pad 27 -> 13 each side, clamped at 0; h: extent 100,
	// pad 156 -> 78; w: extent 300 >= 256, unchanged.
	want := box3{lo: [3]int{0, 22, 50}, hi: [3]int{27, 277, 349}}
	if got := roi(fg, dims); got != want {
		t.Errorf("roi %v, want %v", got, want)
	}
	// An odd pad leaves one voxel short; the far clamp.
	fg = box3{lo: [3]int{90, 0, 0}, hi: [3]int{98, 254, 398}}
	want = box3{lo: [3]int{79, 0, 0}, hi: [3]int{99, 254, 398}}
	if got := roi(fg, dims); got != want {
		t.Errorf("roi %v, want %v", got, want)
	}
}

func TestWindowStarts(t *testing.T) {
	for _, c := range []struct {
		n, win int
		want   []int
	}{
		{20, 32, []int{0}}, {32, 32, []int{0}}, {33, 32, []int{0, 1}}, {64, 32, []int{0, 16, 32}},
		{70, 32, []int{0, 16, 32, 38}}, {256, 256, []int{0}}, {300, 256, []int{0, 44}}, {400, 256, []int{0, 128, 144}},
	} {
		if got := starts(c.n, c.win); !slices.Equal(got, c.want) {
			t.Errorf("starts(%d,%d) = %v, want %v", c.n, c.win, got, c.want)
		}
	}
	if got := padLeft(20, 32); got != 6 {
		t.Errorf("padLeft(20,32) = %d", got)
	}
	if got := padLeft(255, 256); got != 0 {
		t.Errorf("padLeft(255,256) = %d", got)
	}
	// A 20x256x300 region: two windows along W, D padded 6 before and 6 after.
	ts := tiles([3]int{20, 256, 300})
	if len(ts) != 2 {
		t.Fatalf("%d tiles", len(ts))
	}
	want := []tile{
		{start: [3]int{0, 0, 0}, valid: box3{lo: [3]int{6, 0, 0}, hi: [3]int{25, 255, 255}}},
		{start: [3]int{0, 0, 44}, valid: box3{lo: [3]int{6, 0, 0}, hi: [3]int{25, 255, 255}}},
	}
	if !slices.Equal(ts, want) {
		t.Errorf("tiles %v, want %v", ts, want)
	}
	if o := ts[1].origin([3]int{20, 256, 300}); o != [3]int{-6, 0, 44} {
		t.Errorf("origin %v", o)
	}
}

// Two windows along W: voxels seen by one keep its logit, the overlap gets
// the mean; padding never reaches the region.
func TestBlendAverages(t *testing.T) {
	size := [3]int{20, 256, 300}
	b := newBlend(size)
	n := Window[0] * Window[1] * Window[2]
	for x, v := range []float32{1, 4} {
		l := make([]float32, n)
		for i := range l {
			l[i] = v
		}
		tl := tiles(size)[x]
		b.add(l, tl.origin(size), tl.valid)
	}
	m := b.mean()
	for _, c := range []struct {
		w    int
		want float32
	}{{0, 1}, {43, 1}, {44, 2.5}, {255, 2.5}, {256, 4}, {299, 4}} {
		for _, d := range []int{0, 19} {
			if got := m.at(d, 100, c.w); got != c.want {
				t.Errorf("(%d,100,%d) = %g, want %g", d, c.w, got, c.want)
			}
		}
	}
}

func TestCutPads(t *testing.T) {
	src := &volume3{dims: [3]int{20, 256, 256}, data: make([]float32, 20*256*256)}
	for x := range src.data {
		src.data[x] = 1
	}
	tl := tiles(src.dims)[0]
	w := cut(src, tl.origin(src.dims), tl.valid)
	plane := Window[1] * Window[2]
	for _, c := range []struct {
		d    int
		want float32
	}{{0, 0}, {5, 0}, {6, 1}, {25, 1}, {26, 0}, {31, 0}} {
		if got := w[c.d*plane+777]; got != c.want {
			t.Errorf("window slice %d = %g, want %g", c.d, got, c.want)
		}
	}
}

func TestWindowPromptMapping(t *testing.T) {
	valid := box3{lo: [3]int{6, 0, 0}, hi: [3]int{25, 255, 255}}
	org := [3]int{-6, 10, 44}
	pts := []point{{[3]int{0, 10, 44}, 1}, {[3]int{19, 265, 299}, 0}, {[3]int{20, 20, 50}, 1}, {[3]int{5, 9, 50}, 1}}
	got := inWindow(pts, org, valid)
	want := []point{{[3]int{6, 0, 0}, 1}, {[3]int{25, 255, 255}, 0}}
	if !slices.Equal(got, want) {
		t.Errorf("points in window %v, want %v", got, want)
	}
	b := boxInWindow(box3{lo: [3]int{-3, 0, 100}, hi: [3]int{5, 400, 120}}, org, valid)
	if want := (box3{lo: [3]int{6, 0, 56}, hi: [3]int{11, 255, 76}}); b != want {
		t.Errorf("box in window %v, want %v", b, want)
	}
	if b := boxInWindow(box3{lo: [3]int{0, 0, 0}, hi: [3]int{5, 5, 40}}, org, valid); b != noBox {
		t.Errorf("box outside the window: %v", b)
	}
}

func TestPaste(t *testing.T) {
	l := &volume3{dims: [3]int{1, 2, 3}, data: []float32{1, -1, 0, 0.5, 2, -3}}
	m := paste(l, [3]int{1, 0, 2}, [3]int{5, 2, 2}) // (d,h,w) -> (i,j,k) = (w+2, h, d+1)
	want := make([]uint8, 20)
	for _, ijk := range [][3]int{{2, 0, 1}, {2, 1, 1}, {3, 1, 1}} {
		want[ijk[0]+5*(ijk[1]+2*ijk[2])] = 1
	}
	if !slices.Equal(m, want) {
		t.Errorf("mask %v, want %v", m, want)
	}
}
