package segvol

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/segvolapp/segvol/infer"
	"github.com/segvolapp/segvol/infer/ort"
	"github.com/segvolapp/segvol/infer/ort/orttest"
)

// writeGraphs writes three small graphs with the contract's input and
// output names and shapes: the encoder pools the window into 4x16x16
// blocks, the prompt encoder projects (coords, label), and the decoder
// marks blocks brighter than 0.25, shifted by a tiny multiple of the
// tokens and the text so that every input is used.
func writeGraphs(t *testing.T, dir string) {
	t.Helper()
	var enc orttest.Graph
	enc.Input("image", 1, 1, 32, 256, 256)
	enc.Output("image_embedding", 1, 768, 8, 16, 16)
	enc.Int64s("shape", 1, 768, 8, 16, 16)
	enc.Node("AveragePool", []string{"image"}, []string{"pooled"}, orttest.Ints("kernel_shape", 4, 16, 16), orttest.Ints("strides", 4, 16, 16))
	enc.Node("Expand", []string{"pooled", "shape"}, []string{"image_embedding"})

	var pe orttest.Graph
	pe.Input("point_coords", 1, -1, 3)
	pe.Input("point_labels", 1, -1)
	pe.Output("point_tokens", 1, -1, 768)
	pe.Int64s("axis", 2)
	w := make([]float32, 4*768)
	for x := range w {
		w[x] = float32(x%7) * 1e-3
	}
	pe.Floats("w", []int64{4, 768}, w)
	pe.Node("Unsqueeze", []string{"point_labels", "axis"}, []string{"l3"})
	pe.Node("Concat", []string{"point_coords", "l3"}, []string{"cl"}, orttest.Int("axis", 2))
	pe.Node("MatMul", []string{"cl", "w"}, []string{"point_tokens"})

	var dec orttest.Graph
	dec.Input("image_embedding", 1, 768, 8, 16, 16)
	dec.Input("sparse_tokens", 1, -1, 768)
	dec.Input("text_embedding", 1, 768)
	dec.Input("has_text", 1)
	dec.Output("logits", 1, 1, 32, 256, 256)
	dec.Output("low_res_logits", 1, 1, 32, 64, 64)
	dec.Floats("scales", []int64{5}, []float32{1, 1, 4, 16, 16})
	dec.Floats("thr", []int64{1}, []float32{0.25})
	dec.Floats("tiny", []int64{1}, []float32{1e-9})
	dec.Node("ReduceMean", []string{"image_embedding"}, []string{"m"}, orttest.Ints("axes", 1))
	dec.Node("ReduceSum", []string{"sparse_tokens"}, []string{"ts"}, orttest.Int("keepdims", 0))
	dec.Node("ReduceSum", []string{"text_embedding"}, []string{"xs"}, orttest.Int("keepdims", 0))
	dec.Node("Add", []string{"ts", "xs"}, []string{"s1"})
	dec.Node("Add", []string{"s1", "has_text"}, []string{"s2"})
	dec.Node("Mul", []string{"s2", "tiny"}, []string{"s3"})
	dec.Node("Sub", []string{"m", "thr"}, []string{"c"})
	dec.Node("Add", []string{"c", "s3"}, []string{"c2"})
	dec.Node("Resize", []string{"c2", "", "scales"}, []string{"logits"})
	dec.Node("AveragePool", []string{"logits"}, []string{"low_res_logits"}, orttest.Ints("kernel_shape", 1, 4, 4), orttest.Ints("strides", 1, 4, 4))
	for name, g := range map[string]*orttest.Graph{EncoderFile: &enc, PromptFile: &pe, DecoderFile: &dec} {
		if err := g.Write(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// The whole pipeline through the real ONNX Runtime on the sample CT.
func TestOnnxRuntimeEndToEnd(t *testing.T) {
	rt := cpuRuntime(t)
	if _, err := Load(filepath.Join(t.TempDir(), "none"), rt, nil); !errors.Is(err, ErrNoModels) {
		t.Fatalf("missing folder: %v", err)
	}
	dir := t.TempDir()
	writeGraphs(t, dir)
	s, err := Load(dir, rt, nil)
	if err != nil {
		t.Fatal(err)
	}
	img := sampleImage(t)
	box := infer.Box{Min: [3]int{20, 20, 5}, Max: [3]int{70, 70, 25}}
	m, err := s.Segment(context.Background(), img, infer.Prompt{Box: &box, Points: []infer.Point{{I: 40, J: 40, K: 15, Positive: true}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The graphs ignore the prompt's position: the mask is the bright
	// (soft tissue and bone) part of the zoom-in region, the same again
	// from the cached embeddings.
	again, err := s.Segment(context.Background(), img, infer.Prompt{Box: &box}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, same := 0, true
	for x := range m {
		n += int(m[x])
		same = same && m[x] == again[x]
	}
	if n == 0 || !same {
		t.Errorf("mask of %d voxels, same on a second run: %v", n, same)
	}
	t.Logf("ORT mask %d voxels, provider %s", n, rt.Provider())
}

// writeTextGraph writes a small text_encoder.onnx with the contract's input
// and output: every value of text_embedding is the mean of the ids.
func writeTextGraph(t *testing.T, dir string) {
	t.Helper()
	var g orttest.Graph
	g.InputInt64("input_ids", 1, -1)
	g.Output("text_embedding", 1, EmbeddingDim)
	g.Int64s("shape", 1, EmbeddingDim)
	g.Node("Cast", []string{"input_ids"}, []string{"f"}, orttest.Int("to", orttest.Float))
	g.Node("ReduceMean", []string{"f"}, []string{"m"}, orttest.Ints("axes", 1))
	g.Node("Expand", []string{"m", "shape"}, []string{"text_embedding"})
	if err := g.Write(filepath.Join(dir, TextEncoderFile)); err != nil {
		t.Fatal(err)
	}
}

// TestTextEncoderAnyPhrase loads a folder with text_encoder.onnx and no
// category list: any phrase is tokenized (the bundled tokenizer, as the
// programs pass it), run through the graph, cached, and segments.
func TestTextEncoderAnyPhrase(t *testing.T) {
	rt := cpuRuntime(t)
	dir := t.TempDir()
	writeGraphs(t, dir)
	img := sampleImage(t)
	// Without the graph nor the list, a text prompt says what is missing.
	s, err := Load(dir, rt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Segment(context.Background(), img, infer.Prompt{Text: "liver tumour"}, nil); err == nil || !strings.Contains(err.Error(), TextEncoderFile) {
		t.Fatalf("text prompt without text_encoder.onnx: %v", err)
	}
	writeTextGraph(t, dir)
	if _, err := Load(dir, rt, nil); err == nil || !strings.Contains(err.Error(), "no CLIP tokenizer") {
		t.Fatalf("text_encoder.onnx without any tokenizer: %v", err)
	}
	bundled, err := os.ReadFile(filepath.Join("..", "..", "assets", "clip", "tokenizer.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if s, err = Load(dir, rt, bundled); err != nil {
		t.Fatal(err)
	}
	enc := s.encoder
	ctx := context.Background()
	// docs/segvol.md's ids of "A computerized tomography of a liver.".
	liver := []int64{49406, 320, 11639, 704, 7690, 999, 22399, 539, 320, 12639, 269, 49407}
	v, err := enc.Encode(ctx, "liver")
	if err != nil {
		t.Fatal(err)
	}
	if v.Prompt != "A computerized tomography of a liver." || !slices.Equal(v.IDs, liver) {
		t.Fatalf("prompt %q ids %v, want %v", v.Prompt, v.IDs, liver)
	}
	mean := 0.0
	for _, id := range liver {
		mean += float64(id)
	}
	mean /= float64(len(liver))
	for c, x := range v.Embedding {
		if math.Abs(float64(x)-mean) > 1e-2 {
			t.Fatalf("embedding[%d] = %g, want the ids' mean %g", c, x, mean)
		}
	}
	again, err := enc.Encode(ctx, "liver")
	if err != nil || &again.Embedding[0] != &v.Embedding[0] {
		t.Fatalf("a second Encode of the same phrase is not the cached vector (%v)", err)
	}
	long := strings.Repeat("hepatic ", 80)
	if _, err := enc.Encode(ctx, long); err == nil || !strings.Contains(err.Error(), "at most 77") {
		t.Fatalf("a phrase over 77 tokens: %v", err)
	}
	if _, err := enc.Encode(ctx, "  "); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("an empty phrase: %v", err)
	}
	m, err := s.Segment(ctx, img, infer.Prompt{Text: "liver tumour"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != img.Len() {
		t.Fatalf("mask of %d voxels for an image of %d", len(m), img.Len())
	}
}

// cpuRuntime is ONNX Runtime on the CPU, closed at the end of the test;
// without the library the test is skipped, except in CI.
func cpuRuntime(t *testing.T) *ort.Runtime {
	t.Helper()
	rt, err := ort.Open(ort.Options{Device: ort.CPU})
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("ONNX Runtime: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}
