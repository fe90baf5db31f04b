package ort

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segvolapp/segvol/infer/ort/orttest"
)

// The test graphs have the input and output names and shapes of the SegVol
// graphs (../shared/docs/segvol.md, ONNX contract) and compute simple
// things that the tests compute again in Go.

var (
	modelsOnce sync.Once
	modelsDir  string
	modelsErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if modelsDir != "" {
		os.RemoveAll(modelsDir)
	}
	os.Exit(code)
}

// runtimeFor opens the runtime on the library `make ort` fetched; without
// it the test skips, or fails in CI.
func runtimeFor(t testing.TB, device string) *Runtime {
	t.Helper()
	found := os.Getenv(EnvLib) != ""
	for _, p := range places("") {
		if _, err := os.Stat(p.path); err == nil && p.where == "make ort" {
			found = true
		}
	}
	if !found {
		if os.Getenv("CI") != "" {
			t.Fatal("no ONNX Runtime library: run `make ort`")
		}
		t.Skip("no ONNX Runtime library: run `make ort`")
	}
	r, err := Open(Options{Device: device})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// model writes the test graphs once and returns the path of one.
func model(t testing.TB, name string) string {
	t.Helper()
	modelsOnce.Do(func() {
		modelsDir, modelsErr = os.MkdirTemp("", "ort-test")
		if modelsErr != nil {
			return
		}
		for name, g := range map[string]*orttest.Graph{
			"image_encoder.onnx":  encoderGraph(),
			"prompt_encoder.onnx": promptGraph(),
			"mask_decoder.onnx":   decoderGraph(),
			"chain.onnx":          chainGraph(),
			"text_encoder.onnx":   textGraph(),
		} {
			if modelsErr = g.Write(filepath.Join(modelsDir, name)); modelsErr != nil {
				return
			}
		}
	})
	if modelsErr != nil {
		t.Fatal(modelsErr)
	}
	return filepath.Join(modelsDir, name)
}

// Encoder: the patch embedding, a Conv3d(1,768,kernel=stride=(4,16,16)) with
// weights u[c]*v[kd,kh,kw] (so that Go checks it patch by patch) and bias b.
func encoderWeights() (u, v, b []float32) {
	rng := rand.New(rand.NewPCG(1, 2))
	u, v, b = make([]float32, 768), make([]float32, 4*16*16), make([]float32, 768)
	for i := range u {
		u[i], b[i] = rng.Float32()*2-1, rng.Float32()-0.5
	}
	for i := range v {
		v[i] = rng.Float32()*2 - 1
	}
	return u, v, b
}

func encoderGraph() *orttest.Graph {
	u, v, b := encoderWeights()
	w := make([]float32, 0, 768*len(v))
	for c := range u {
		for _, x := range v {
			w = append(w, u[c]*x)
		}
	}
	g := &orttest.Graph{}
	g.Input("image", 1, 1, 32, 256, 256)
	g.Floats("w", []int64{768, 1, 4, 16, 16}, w)
	g.Floats("b", []int64{768}, b)
	g.Node("Conv", []string{"image", "w", "b"}, []string{"image_embedding"},
		orttest.Ints("kernel_shape", 4, 16, 16), orttest.Ints("strides", 4, 16, 16))
	g.Output("image_embedding", 1, 768, 8, 16, 16)
	return g
}

// Prompt encoder: point_tokens = point_coords @ W + point_labels * v.
func promptWeights() (w, v []float32) {
	rng := rand.New(rand.NewPCG(3, 4))
	w, v = make([]float32, 3*768), make([]float32, 768)
	for i := range w {
		w[i] = rng.Float32()*2 - 1
	}
	for i := range v {
		v[i] = rng.Float32()*2 - 1
	}
	return w, v
}

func promptGraph() *orttest.Graph {
	w, v := promptWeights()
	g := &orttest.Graph{}
	g.Input("point_coords", 1, -1, 3)
	g.Input("point_labels", 1, -1)
	g.Floats("w", []int64{3, 768}, w)
	g.Floats("v", []int64{768}, v)
	g.Int64s("axis2", 2)
	g.Node("MatMul", []string{"point_coords", "w"}, []string{"m"})
	g.Node("Unsqueeze", []string{"point_labels", "axis2"}, []string{"l"})
	g.Node("Mul", []string{"l", "v"}, []string{"lv"})
	g.Node("Add", []string{"m", "lv"}, []string{"point_tokens"})
	g.Output("point_tokens", 1, -1, 768)
	return g
}

// Decoder: the channel mean of the embedding tiled to both outputs, plus
// the sum of the sparse tokens and, when has_text is 1, of the text vector.
func decoderGraph() *orttest.Graph {
	g := &orttest.Graph{}
	g.Input("image_embedding", 1, 768, 8, 16, 16)
	g.Input("sparse_tokens", 1, -1, 768)
	g.Input("text_embedding", 1, 768)
	g.Input("has_text", 1)
	g.Int64s("axes12", 1, 2)
	g.Int64s("axis1", 1)
	g.Int64s("shape5", 1, 1, 1, 1, 1)
	g.Int64s("tile_low", 1, 1, 4, 4, 4)
	g.Int64s("tile_high", 1, 1, 4, 16, 16)
	g.Node("ReduceMean", []string{"image_embedding"}, []string{"e"}, orttest.Ints("axes", 1))
	g.Node("ReduceSum", []string{"sparse_tokens", "axes12"}, []string{"s"})
	g.Node("Mul", []string{"text_embedding", "has_text"}, []string{"tx"})
	g.Node("ReduceSum", []string{"tx", "axis1"}, []string{"ts"})
	g.Node("Add", []string{"s", "ts"}, []string{"bias"})
	g.Node("Reshape", []string{"bias", "shape5"}, []string{"bias5"})
	g.Node("Tile", []string{"e", "tile_low"}, []string{"low"})
	g.Node("Add", []string{"low", "bias5"}, []string{"low_res_logits"})
	g.Node("Tile", []string{"e", "tile_high"}, []string{"high"})
	g.Node("Add", []string{"high", "bias5"}, []string{"logits"})
	g.Output("logits", 1, 1, 32, 256, 256)
	g.Output("low_res_logits", 1, 1, 32, 64, 64)
	return g
}

// chainGraph is 2000 cheap operators in a row over a 32x256x256 volume,
// long enough to cancel in the middle: y = f(f(...f(x))), f(x) = -(x+1).
func chainGraph() *orttest.Graph {
	g := &orttest.Graph{}
	g.Input("x", 1, 1, 32, 256, 256)
	g.Floats("one", []int64{1}, []float32{1})
	g.Floats("minus", []int64{1}, []float32{-1})
	prev := "x"
	for i := range 1000 {
		a, m := "a"+strconv.Itoa(i), "m"+strconv.Itoa(i)
		if i == 999 {
			m = "y"
		}
		g.Node("Add", []string{prev, "one"}, []string{a})
		g.Node("Mul", []string{a, "minus"}, []string{m})
		prev = m
	}
	g.Output("y", 1, 1, 32, 256, 256)
	return g
}

// textGraph has text_encoder.onnx's int64 input: text_embedding is the
// mean of the rows of a random [100,768] table that input_ids pick.
func textGraph() *orttest.Graph {
	g := &orttest.Graph{}
	g.InputInt64("input_ids", 1, -1)
	table := randomTensor(9, 100, 768)
	g.Floats("table", table.Shape, table.Data)
	g.Node("Gather", []string{"table", "input_ids"}, []string{"rows"})
	g.Node("ReduceMean", []string{"rows"}, []string{"text_embedding"}, orttest.Ints("axes", 1), orttest.Int("keepdims", 0))
	g.Output("text_embedding", 1, 768)
	return g
}

// TestInt64Input feeds token ids of several lengths to an int64 input, and
// refuses float32 values there.
func TestInt64Input(t *testing.T) {
	r := runtimeFor(t, CPU)
	s, err := r.NewSession(model(t, "text_encoder.onnx"), []string{"input_ids"}, []string{"text_embedding"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	table := randomTensor(9, 100, 768).Data
	for _, ids := range [][]int64{{7}, {0, 99, 3, 3}, make([]int64, 77)} {
		out, err := s.Run(context.Background(), map[string]Tensor{"input_ids": {Shape: []int64{1, int64(len(ids))}, Int64: ids}})
		if err != nil {
			t.Fatalf("%d ids: %v", len(ids), err)
		}
		got := out["text_embedding"].Data
		for c := range 768 {
			want := 0.0
			for _, id := range ids {
				want += float64(table[768*id+int64(c)])
			}
			want /= float64(len(ids))
			if math.Abs(float64(got[c])-want) > 1e-5 {
				t.Fatalf("%d ids: text_embedding[%d] = %g, want %g", len(ids), c, got[c], want)
			}
		}
	}
	_, err = s.Run(context.Background(), map[string]Tensor{"input_ids": {Shape: []int64{1, 2}, Data: []float32{1, 2}}})
	if err == nil || !strings.Contains(err.Error(), "0 int64 values") {
		t.Fatalf("float32 values for an int64 input: %v", err)
	}
}

func randomTensor(seed uint64, shape ...int64) Tensor {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	data := make([]float32, count(shape))
	for i := range data {
		data[i] = rng.Float32()
	}
	return Tensor{Shape: shape, Data: data}
}

func TestOpen(t *testing.T) {
	r := runtimeFor(t, CPU)
	if got := r.Provider(); got != "CPU" {
		t.Errorf("Provider() = %q, want CPU", got)
	}
	if os.Getenv(EnvLib) == "" {
		if r.Version() != PinnedVersion {
			t.Errorf("Version() = %q, want %s", r.Version(), PinnedVersion)
		}
		want := filepath.Join("third_party", "onnxruntime", PinnedVersion)
		if !strings.Contains(r.LibraryPath(), want) {
			t.Errorf("LibraryPath() = %s, want one under %s", r.LibraryPath(), want)
		}
	}
	// The library is loaded once: a second Open shares it, another path is refused.
	r2, err := Open(Options{})
	if err != nil || r2.LibraryPath() != r.LibraryPath() {
		t.Errorf("second Open: %v, %v", r2, err)
	}
	if _, err := Open(Options{LibPath: "ort_test.go"}); err == nil || !strings.Contains(err.Error(), "already loaded") {
		t.Errorf("Open with another library: %v", err)
	}
	if _, err := Open(Options{Device: "tpu"}); err == nil || !strings.Contains(err.Error(), `unknown device "tpu"`) {
		t.Errorf("unknown device: %v", err)
	}
}

// The script and the Go side must agree on the version they pin.
func TestPinnedVersionMatchesScript(t *testing.T) {
	b, err := os.ReadFile("../../scripts/fetch-ort.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nCPU_VERSION="+PinnedVersion+"\n") {
		t.Errorf("scripts/fetch-ort.sh does not pin CPU_VERSION=%s", PinnedVersion)
	}
}

func TestEncoderGraph(t *testing.T) {
	r := runtimeFor(t, CPU)
	s, err := r.NewSession(model(t, "image_encoder.onnx"), []string{"image"}, []string{"image_embedding"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	img := randomTensor(7, 1, 1, 32, 256, 256)
	out, err := s.Run(context.Background(), map[string]Tensor{"image": img})
	if err != nil {
		t.Fatal(err)
	}
	emb := out["image_embedding"]
	if shapeString(emb.Shape) != "[1,768,8,16,16]" || len(emb.Data) != 768*2048 {
		t.Fatalf("image_embedding shape %v, %d values", emb.Shape, len(emb.Data))
	}
	u, v, b := encoderWeights()
	worst := 0.0
	for pd := range 8 {
		for ph := range 16 {
			for pw := range 16 {
				var dot, abs float64
				for kd := range 4 {
					for kh := range 16 {
						for kw := range 16 {
							x := float64(img.Data[((pd*4+kd)*256+ph*16+kh)*256+pw*16+kw])
							w := float64(v[(kd*16+kh)*16+kw])
							dot += w * x
							abs += math.Abs(w * x)
						}
					}
				}
				for c := range 768 {
					want := float64(u[c])*dot + float64(b[c])
					got := float64(emb.Data[((c*8+pd)*16+ph)*16+pw])
					// float32 sums of 1024 products: within 1e-5 of their magnitude
					if e := math.Abs(got - want); e > 1e-5*(abs+1) {
						t.Fatalf("image_embedding[%d,%d,%d,%d] = %g, want %g", c, pd, ph, pw, got, want)
					} else if e > worst {
						worst = e
					}
				}
			}
		}
	}
	t.Logf("largest difference from Go: %.3g", worst)
}

func TestPromptGraphDynamicN(t *testing.T) {
	r := runtimeFor(t, CPU)
	s, err := r.NewSession(model(t, "prompt_encoder.onnx"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, v := promptWeights()
	for _, n := range []int64{1, 3, 7} {
		coords := randomTensor(uint64(n), 1, n, 3)
		labels := Tensor{Shape: []int64{1, n}, Data: make([]float32, n)}
		for i := range labels.Data {
			labels.Data[i] = float32(i%4) - 1 // -1, 0, 1, 2: pad, negative, positive, box
		}
		out, err := s.Run(context.Background(), map[string]Tensor{"point_coords": coords, "point_labels": labels})
		if err != nil {
			t.Fatalf("N=%d: %v", n, err)
		}
		tok := out["point_tokens"]
		if shapeString(tok.Shape) != shapeString([]int64{1, n, 768}) {
			t.Fatalf("N=%d: point_tokens shape %v", n, tok.Shape)
		}
		for i := range int(n) {
			for c := range 768 {
				want := float64(labels.Data[i]) * float64(v[c])
				for k := range 3 {
					want += float64(coords.Data[3*i+k]) * float64(w[768*k+c])
				}
				if got := float64(tok.Data[768*i+c]); math.Abs(got-want) > 1e-5 {
					t.Fatalf("N=%d: point_tokens[%d,%d] = %g, want %g", n, i, c, got, want)
				}
			}
		}
	}
}

func TestDecoderGraphDynamicTAndReuse(t *testing.T) {
	r := runtimeFor(t, CPU)
	s, err := r.NewSession(model(t, "mask_decoder.onnx"),
		[]string{"image_embedding", "sparse_tokens", "text_embedding", "has_text"},
		[]string{"logits", "low_res_logits"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	emb := randomTensor(11, 1, 768, 8, 16, 16)
	mean := make([]float64, 2048)
	for c := range 768 {
		for i := range mean {
			mean[i] += float64(emb.Data[c*2048+i]) / 768
		}
	}
	text := randomTensor(12, 1, 768)
	out := map[string]Tensor{}
	var logits0 *float32
	for _, tc := range []struct {
		tokens  int64
		hasText float32
	}{{2, 0}, {5, 1}, {1, 1}} {
		tokens := randomTensor(uint64(13+tc.tokens), 1, tc.tokens, 768)
		bias := 0.0
		for _, x := range tokens.Data {
			bias += float64(x)
		}
		for _, x := range text.Data {
			bias += float64(tc.hasText) * float64(x)
		}
		err := s.RunInto(context.Background(), map[string]Tensor{
			"image_embedding": emb, "sparse_tokens": tokens, "text_embedding": text,
			"has_text": {Shape: []int64{1}, Data: []float32{tc.hasText}},
		}, out)
		if err != nil {
			t.Fatalf("T=%d: %v", tc.tokens, err)
		}
		logits, low := out["logits"], out["low_res_logits"]
		if logits0 == nil {
			logits0 = &logits.Data[0]
		} else if &logits.Data[0] != logits0 {
			t.Errorf("T=%d: logits buffer not reused", tc.tokens)
		}
		check := func(name string, got Tensor, h, w int) {
			if len(got.Data) != 32*h*w {
				t.Fatalf("T=%d: %s has %d values", tc.tokens, name, len(got.Data))
			}
			for d := range 32 {
				for y := range h {
					for x := range w {
						want := mean[((d%8)*16+y%16)*16+x%16] + bias
						if g := float64(got.Data[(d*h+y)*w+x]); math.Abs(g-want) > 1e-4*(1+math.Abs(bias)) {
							t.Fatalf("T=%d: %s[%d,%d,%d] = %g, want %g", tc.tokens, name, d, y, x, g, want)
						}
					}
				}
			}
		}
		check("logits", logits, 256, 256)
		check("low_res_logits", low, 64, 64)
	}
}

func TestBadInputs(t *testing.T) {
	r := runtimeFor(t, CPU)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.onnx")
	os.WriteFile(garbage, []byte("not a protobuf at all"), 0o644)
	for _, tc := range []struct {
		model   string
		in, out []string
		want    string
	}{
		{filepath.Join(dir, "absent.onnx"), nil, nil, "no model file"},
		{dir, nil, nil, "no model file"},
		{garbage, nil, nil, "is not a model ONNX Runtime can load"},
		{model(t, "image_encoder.onnx"), []string{"img"}, nil, `has no input "img" (its inputs: image)`},
		{model(t, "image_encoder.onnx"), nil, []string{"logits"}, `has no output "logits"`},
	} {
		if _, err := r.NewSession(tc.model, tc.in, tc.out); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewSession(%s, %v, %v) = %v, want an error with %q", filepath.Base(tc.model), tc.in, tc.out, err, tc.want)
		}
	}

	s, err := r.NewSession(model(t, "image_encoder.onnx"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		in   map[string]Tensor
		want string
	}{
		{map[string]Tensor{"image": randomTensor(1, 1, 1, 16, 256, 256)},
			`image_encoder.onnx: input "image": shape [1,1,16,256,256], the model wants [1,1,32,256,256]`},
		{map[string]Tensor{"image": randomTensor(1, 1, 32, 256, 256)}, "shape [1,32,256,256], the model wants"},
		{map[string]Tensor{"image": {Shape: []int64{1, 1, 32, 256, 256}, Data: make([]float32, 10)}}, "10 values for shape [1,1,32,256,256]"},
		{map[string]Tensor{"image": {Shape: []int64{1, 1, -32, 256, 256}}}, "shape [1,1,?,256,256]"},
		{map[string]Tensor{}, `input "image" is missing`},
		{map[string]Tensor{"image": randomTensor(1, 1, 1, 32, 256, 256), "text": {}}, `has no input "text"`},
	} {
		if _, err := s.Run(ctx, tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run: %v, want an error with %q", err, tc.want)
		}
	}
	// A reused output buffer of the wrong size is refused too.
	out := map[string]Tensor{"image_embedding": {Shape: []int64{1, 768, 8, 16, 16}, Data: make([]float32, 5)}}
	if err := s.RunInto(ctx, map[string]Tensor{"image": randomTensor(1, 1, 1, 32, 256, 256)}, out); err == nil ||
		!strings.Contains(err.Error(), `output "image_embedding": 5 values`) {
		t.Errorf("RunInto with a short output: %v", err)
	}
	s.Close()
	if _, err := s.Run(ctx, map[string]Tensor{"image": randomTensor(1, 1, 1, 32, 256, 256)}); err == nil || !strings.Contains(err.Error(), "session is closed") {
		t.Errorf("Run after Close: %v", err)
	}
}

// On a machine without the CUDA provider library the session runs on the
// CPU and says why.
func TestCUDAFallsBackToCPU(t *testing.T) {
	for _, device := range []string{CUDA, Auto} {
		r := runtimeFor(t, device)
		cudaLib := filepath.Join(filepath.Dir(r.LibraryPath()), "libonnxruntime_providers_cuda.so")
		if _, err := os.Stat(cudaLib); err == nil {
			t.Skipf("%s is present: this library may run CUDA", cudaLib)
		}
		want := "CPU (CUDA: libonnxruntime_providers_cuda.so not found in " + filepath.Dir(r.LibraryPath()) + ")"
		if got := r.Provider(); got != want {
			t.Errorf("device %s: Provider() = %q, want %q", device, got, want)
		}
		s, err := r.NewSession(model(t, "prompt_encoder.onnx"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.Provider() != want {
			t.Errorf("device %s: session Provider() = %q", device, s.Provider())
		}
		if _, err := s.Run(context.Background(), map[string]Tensor{
			"point_coords": randomTensor(1, 1, 2, 3), "point_labels": randomTensor(2, 1, 2),
		}); err != nil {
			t.Errorf("device %s: %v", device, err)
		}
		r.Close() // closes s
		if _, err := r.NewSession(model(t, "prompt_encoder.onnx"), nil, nil); err == nil {
			t.Error("NewSession after Runtime.Close succeeded")
		}
	}
}

func TestCancel(t *testing.T) {
	r := runtimeFor(t, CPU)
	s, err := r.NewSession(model(t, "chain.onnx"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	x := randomTensor(1, 1, 1, 32, 256, 256)

	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Run(done, map[string]Tensor{"x": x}); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context: %v", err)
	}

	// Uncancelled, the chain is the identity up to rounding.
	start := time.Now()
	full, err := s.Run(context.Background(), map[string]Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the whole chain takes %v", time.Since(start))
	for i, v := range full["y"].Data {
		if math.Abs(float64(v-x.Data[i])) > 1e-5 {
			t.Fatalf("y[%d] = %g, want %g", i, v, x.Data[i])
		}
	}

	// Cancelled in the middle: the terminate flag stops the chain before its
	// last operator writes the output, which stays zero.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	out := map[string]Tensor{}
	err = s.RunInto(ctx, map[string]Tensor{"x": x}, out)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run cancelled midway: %v", err)
	}
	for i, v := range out["y"].Data {
		if v != 0 {
			t.Fatalf("y[%d] = %g: the run went to the end", i, v)
		}
	}
}

// The library search, in a child process (the library loads once per
// process): with nothing to find, the error lists every place tried; a file
// that is not a library is reported as such.
func TestLibraryNotFound(t *testing.T) {
	if mode := os.Getenv("ORT_TEST_CHILD"); mode != "" {
		_, err := Open(Options{LibPath: os.Getenv("ORT_TEST_SETTINGS")})
		os.Stdout.WriteString(err.Error())
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	notLib := filepath.Join(dir, "libonnxruntime.so.1")
	os.WriteFile(notLib, []byte("text"), 0o644)
	for _, tc := range []struct {
		env, settings string
		want          []string
	}{
		{"", "", []string{"no ONNX Runtime library found", "settings: not set", "$SEGVOL_ORT_LIB: not set", "next to the executable: " + filepath.Dir(exe), "make ort: no segvol checkout above"}},
		{filepath.Join(dir, "absent.so"), "", []string{"no ONNX Runtime library found", "$SEGVOL_ORT_LIB: " + filepath.Join(dir, "absent.so") + " absent"}},
		{notLib, "", []string{"cannot load ONNX Runtime from " + notLib + " ($SEGVOL_ORT_LIB)"}},
		// A library set by hand that is gone is reported, not replaced by
		// the one $SEGVOL_ORT_LIB names.
		{notLib, filepath.Join(dir, "moved.so"), []string{"the ONNX Runtime library chosen in the settings, " + filepath.Join(dir, "moved.so") + ", is not there"}},
	} {
		cmd := exec.Command(exe, "-test.run=^TestLibraryNotFound$")
		cmd.Dir = dir // no module root above: `make ort`'s folder is not found
		cmd.Env = append(os.Environ(), "ORT_TEST_CHILD=1", EnvLib+"="+tc.env, "ORT_TEST_SETTINGS="+tc.settings)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, b)
		}
		t.Logf("%s=%q: %s", EnvLib, tc.env, b)
		for _, w := range tc.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s=%q: %s\nwant it to contain %q", EnvLib, tc.env, b, w)
			}
		}
	}
}

// benchRuntime opens the runtime on $SEGVOL_DEVICE (default cpu) for the
// benchmarks; a GPU asked for must run.
func benchRuntime(b *testing.B) *Runtime {
	device := os.Getenv("SEGVOL_DEVICE")
	if device == "" {
		device = CPU
	}
	r := runtimeFor(b, device)
	if device != CPU && strings.HasPrefix(r.Provider(), "CPU") {
		b.Fatalf("SEGVOL_DEVICE=%s, but sessions would run on %s", device, r.Provider())
	}
	return r
}

func BenchmarkEncoderGraph(b *testing.B) {
	r := benchRuntime(b)
	s, err := r.NewSession(model(b, "image_encoder.onnx"), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	in := map[string]Tensor{"image": randomTensor(1, 1, 1, 32, 256, 256)}
	out := map[string]Tensor{}
	for b.Loop() {
		if err := s.RunInto(context.Background(), in, out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecoderGraph(b *testing.B) {
	r := benchRuntime(b)
	s, err := r.NewSession(model(b, "mask_decoder.onnx"), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	in := map[string]Tensor{
		"image_embedding": randomTensor(1, 1, 768, 8, 16, 16), "sparse_tokens": randomTensor(2, 1, 4, 768),
		"text_embedding": randomTensor(3, 1, 768), "has_text": {Shape: []int64{1}, Data: []float32{1}},
	}
	out := map[string]Tensor{}
	for b.Loop() {
		if err := s.RunInto(context.Background(), in, out); err != nil {
			b.Fatal(err)
		}
	}
}

// Sessions run from several goroutines at once, here with one thread each.
func TestConcurrentRuns(t *testing.T) {
	runtimeFor(t, CPU)
	r, err := Open(Options{Device: CPU, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s, err := r.NewSession(model(t, "prompt_encoder.onnx"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]Tensor{"point_coords": randomTensor(1, 1, 4, 3), "point_labels": randomTensor(2, 1, 4)}
	want, err := s.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				got, err := s.Run(context.Background(), in)
				if err != nil {
					t.Error(err)
					return
				}
				for i, v := range got["point_tokens"].Data {
					if v != want["point_tokens"].Data[i] {
						t.Errorf("point_tokens[%d] = %g, then %g", i, want["point_tokens"].Data[i], v)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
