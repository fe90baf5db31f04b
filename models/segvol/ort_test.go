// Package modelcheck runs the graphs that export.py wrote through ONNX
// Runtime from Go, as the viewer will: against PyTorch's outputs on the same
// inputs (the fixtures export.py --fixtures writes), and through the whole
// zoom-out-zoom-in pipeline of infer/segvol on the sample CT.
//
// The tests need an exported models folder and run from
// scripts/test-export.sh (make test-export), which sets SEGVOL_MODELS and
// SEGVOL_FIXTURES; under a plain `go test ./...` they skip.
package modelcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/segvolapp/segvol/infer"
	"github.com/segvolapp/segvol/infer/segvol"
	"github.com/segvolapp/segvol/viewer/nifti"
)

// ortLibrary is where scripts/fetch-ort.sh (make ort) puts the CPU library.
var ortLibrary = filepath.Join("..", "..", "third_party", "onnxruntime", "1.30.0", runtime.GOOS+"-"+runtime.GOARCH, "libonnxruntime.so.1")

func TestMain(m *testing.M) {
	if os.Getenv("SEGVOL_MODELS") == "" {
		os.Exit(m.Run())
	}
	ort.SetSharedLibraryPath(ortLibrary)
	if err := ort.InitializeEnvironment(); err != nil {
		fmt.Fprintf(os.Stderr, "onnx runtime %s: %v (run make ort)\n", ortLibrary, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = ort.DestroyEnvironment()
	os.Exit(code)
}

// env returns the variable's value, skipping the test when it is unset.
func env(tb testing.TB, name string) string {
	v := os.Getenv(name)
	if v == "" {
		tb.Skipf("%s not set: run make test-export", name)
	}
	return v
}

// ortModel is segvol.Model over the three exported graphs.
type ortModel struct {
	enc, prm, dec *ort.DynamicAdvancedSession
	encodes       atomic.Int64
	decodes       atomic.Int64
}

func openModel(dir string) (*ortModel, error) {
	open := func(name string, in, out []string) (*ort.DynamicAdvancedSession, error) {
		s, err := ort.NewDynamicAdvancedSession(filepath.Join(dir, name), in, out, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return s, nil
	}
	var m ortModel
	var err error
	if m.enc, err = open("image_encoder.onnx", []string{"image"}, []string{"image_embedding"}); err != nil {
		return nil, err
	}
	if m.prm, err = open("prompt_encoder.onnx", []string{"point_coords", "point_labels"}, []string{"point_tokens"}); err != nil {
		return nil, err
	}
	m.dec, err = open("mask_decoder.onnx", []string{"image_embedding", "sparse_tokens", "text_embedding", "has_text"},
		[]string{"logits", "low_res_logits"})
	return &m, err
}

func (m *ortModel) close() {
	for _, s := range []*ort.DynamicAdvancedSession{m.enc, m.prm, m.dec} {
		if s != nil {
			_ = s.Destroy()
		}
	}
}

// run feeds the inputs (data and shape pairs) and returns every output's data.
func run(s *ort.DynamicAdvancedSession, nOut int, in ...input) ([][]float32, error) {
	values := make([]ort.Value, len(in))
	for i, x := range in {
		t, err := ort.NewTensor(ort.NewShape(x.shape...), x.data)
		if err != nil {
			return nil, err
		}
		defer t.Destroy()
		values[i] = t
	}
	outs := make([]ort.Value, nOut)
	if err := s.Run(values, outs); err != nil {
		return nil, err
	}
	res := make([][]float32, nOut)
	for i, o := range outs {
		res[i] = append([]float32(nil), o.(*ort.Tensor[float32]).GetData()...)
		_ = o.Destroy()
	}
	return res, nil
}

type input struct {
	data  []float32
	shape []int64
}

func (m *ortModel) Encode(_ context.Context, window []float32) ([]float32, error) {
	m.encodes.Add(1)
	out, err := run(m.enc, 1, input{window, []int64{1, 1, 32, 256, 256}})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

func (m *ortModel) Prompt(_ context.Context, coords, labels []float32, n int) ([]float32, error) {
	out, err := run(m.prm, 1, input{coords, []int64{1, int64(n), 3}}, input{labels, []int64{1, int64(n)}})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

func (m *ortModel) Decode(_ context.Context, emb, sparse []float32, t int, text []float32, hasText bool) ([]float32, error) {
	m.decodes.Add(1)
	out, err := m.decode(emb, sparse, t, text, hasText)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// decode returns logits and low-resolution logits.
func (m *ortModel) decode(emb, sparse []float32, t int, text []float32, hasText bool) ([][]float32, error) {
	if text == nil {
		text = make([]float32, segvol.EmbeddingDim)
	}
	flag := float32(0)
	if hasText {
		flag = 1
	}
	return run(m.dec, 2,
		input{emb, []int64{1, 768, 8, 16, 16}},
		input{sparse, []int64{1, int64(t), 768}},
		input{text, []int64{1, 768}},
		input{[]float32{flag}, []int64{1}})
}

// fixtures is export.py's index.json.
type fixtures struct {
	dir        string
	Tolerances map[string]float64
	Tensors    map[string][]int64
	Cases      []map[string]string
}

func readFixtures(tb testing.TB, dir string) *fixtures {
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixtures{dir: dir}
	if err := json.Unmarshal(raw, f); err != nil {
		tb.Fatalf("%s/index.json: %v", dir, err)
	}
	return f
}

// tensor reads one fixture tensor (raw little-endian float32).
func (f *fixtures) tensor(tb testing.TB, name string) input {
	shape, ok := f.Tensors[name]
	if !ok {
		tb.Fatalf("fixture %s is not in index.json", name)
	}
	raw, err := os.ReadFile(filepath.Join(f.dir, name+".f32"))
	if err != nil {
		tb.Fatal(err)
	}
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	if int64(len(raw)) != 4*n {
		tb.Fatalf("%s.f32 holds %d bytes, shape %v needs %d", name, len(raw), shape, 4*n)
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
	}
	return input{data, shape}
}

func maxAbsDiff(tb testing.TB, what string, got, want []float32) float64 {
	if len(got) != len(want) {
		tb.Fatalf("%s: %d values, PyTorch has %d", what, len(got), len(want))
	}
	d := 0.0
	for i := range got {
		d = max(d, math.Abs(float64(got[i])-float64(want[i])))
	}
	return d
}

// TestGraphsMatchPyTorch runs each graph from Go on export.py's random
// inputs and compares with PyTorch's outputs on the same inputs.
func TestGraphsMatchPyTorch(t *testing.T) {
	m, err := openModel(env(t, "SEGVOL_MODELS"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	f := readFixtures(t, env(t, "SEGVOL_FIXTURES"))
	check := func(what, kind string, got, want []float32) {
		d := maxAbsDiff(t, what, got, want)
		tol := f.Tolerances[kind]
		fmt.Printf("  %-32s max |Go ORT - PyTorch| = %.3g (< %g)\n", what, d, tol)
		if !(d < tol) {
			t.Errorf("%s differs from PyTorch by %g (tolerance %g)", what, d, tol)
		}
	}
	image, emb := f.tensor(t, "image"), f.tensor(t, "image_embedding")
	start := time.Now()
	got, err := m.Encode(context.Background(), image.data)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("  image encoder: %v per window\n", time.Since(start).Round(time.Millisecond))
	check("image_embedding", "image_embedding", got, emb.data)
	text := f.tensor(t, "text_embedding")
	for _, c := range f.Cases {
		name := c["name"]
		coords, labels := f.tensor(t, c["point_coords"]), f.tensor(t, c["point_labels"])
		if n := int(coords.shape[1]); n > 0 {
			tok, err := m.Prompt(context.Background(), coords.data, labels.data, n)
			if err != nil {
				t.Fatal(err)
			}
			check("point_tokens["+name+"]", "point_tokens", tok, f.tensor(t, c["point_tokens"]).data)
		}
		sparse := f.tensor(t, c["sparse_tokens"])
		start := time.Now()
		out, err := m.decode(emb.data, sparse.data, int(sparse.shape[1]), text.data, f.tensor(t, c["has_text"]).data[0] != 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("  mask decoder [%s]: %v\n", name, time.Since(start).Round(time.Millisecond))
		check("logits["+name+"]", "logits", out[0], f.tensor(t, c["logits"]).data)
		check("low_res_logits["+name+"]", "logits", out[1], f.tensor(t, c["low_res_logits"]).data)
	}
}

// TestZoomOutZoomIn runs infer/segvol's whole pipeline over the graphs on
// the sample CT with a box prompt, as `segvol segment --backend segvol` will.
func TestZoomOutZoomIn(t *testing.T) {
	dir := env(t, "SEGVOL_MODELS")
	m, err := openModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	v, err := nifti.Read(filepath.Join("..", "..", "testdata", "totalsegmentator", "example_ct_sm.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	img := infer.Image{Dims: v.Dims, Spacing: v.Geom.Spacing(), Voxels: v.Data, Slope: v.Slope, Intercept: v.Intercept}
	var text *segvol.TextEmbeddings
	if _, err := os.Stat(filepath.Join(dir, segvol.TextIndexFile)); err == nil {
		if text, err = segvol.LoadText(dir); err != nil {
			t.Fatal(err)
		}
	}
	seg := segvol.New(m, text)
	box := &infer.Box{Min: [3]int{20, 20, 5}, Max: [3]int{100, 80, 25}}
	start := time.Now()
	mask, err := seg.Segment(context.Background(), img, infer.Prompt{Box: box}, nil)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if len(mask) != img.Len() {
		t.Fatalf("mask has %d voxels, the image %d", len(mask), img.Len())
	}
	inside := 0
	for _, x := range mask {
		inside += int(x)
	}
	fmt.Printf("  zoom-out-zoom-in on %v: %v, %d encoder and %d decoder runs, %d voxels inside\n",
		img.Dims, elapsed.Round(time.Millisecond), m.encodes.Load(), m.decodes.Load(), inside)
	if m.decodes.Load() < 2 {
		t.Logf("the zoom-out view found nothing, so no window was zoomed in (random weights)")
	}
}

func benchModel(b *testing.B) *ortModel {
	m, err := openModel(env(b, "SEGVOL_MODELS"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(m.close)
	return m
}

// BenchmarkEncoder times one 32x256x256 window through the image encoder.
func BenchmarkEncoder(b *testing.B) {
	m := benchModel(b)
	window := make([]float32, 32*256*256)
	for i := range window {
		window[i] = float32(i%251) / 250
	}
	for b.Loop() {
		if _, err := m.Encode(context.Background(), window); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecoder times the mask decoder with two points, the pad and text.
func BenchmarkDecoder(b *testing.B) {
	m := benchModel(b)
	emb := make([]float32, 768*8*16*16)
	sparse := make([]float32, 4*768)
	text := make([]float32, 768)
	for i := range emb {
		emb[i] = float32(math.Sin(float64(i)))
	}
	for b.Loop() {
		if _, err := m.Decode(context.Background(), emb, sparse, 4, text, true); err != nil {
			b.Fatal(err)
		}
	}
}
