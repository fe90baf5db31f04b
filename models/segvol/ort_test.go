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
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	clipfiles "github.com/segvolapp/segvol/assets/clip"
	"github.com/segvolapp/segvol/infer"
	"github.com/segvolapp/segvol/infer/eval"
	"github.com/segvolapp/segvol/infer/ort"
	"github.com/segvolapp/segvol/infer/segvol"
	"github.com/segvolapp/segvol/viewer/nifti"
)

// env returns the variable's value, skipping the test when it is unset.
func env(tb testing.TB, name string) string {
	v := os.Getenv(name)
	if v == "" {
		tb.Skipf("%s not set: run make test-export", name)
	}
	return v
}

// graphs are the three exported graphs opened through infer/ort, as the
// viewer opens them.
type graphs struct{ enc, prm, dec *ort.Session }

// openRuntime opens ONNX Runtime on $SEGVOL_DEVICE (default cpu); a GPU
// asked for must run, or the figures would be the CPU's under its name.
func openRuntime(tb testing.TB) *ort.Runtime {
	device := os.Getenv("SEGVOL_DEVICE")
	if device == "" {
		device = ort.CPU
	}
	rt, err := ort.Open(ort.Options{Device: device})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(rt.Close)
	if device != ort.CPU && strings.HasPrefix(rt.Provider(), "CPU") {
		tb.Fatalf("SEGVOL_DEVICE=%s, but sessions would run on %s", device, rt.Provider())
	}
	return rt
}

func openGraphs(tb testing.TB, dir string) *graphs {
	rt := openRuntime(tb)
	open := func(name string, in, out []string) *ort.Session {
		s, err := rt.NewSession(filepath.Join(dir, name), in, out)
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
	return &graphs{
		enc: open(segvol.EncoderFile, []string{"image"}, []string{"image_embedding"}),
		prm: open(segvol.PromptFile, []string{"point_coords", "point_labels"}, []string{"point_tokens"}),
		dec: open(segvol.DecoderFile, []string{"image_embedding", "sparse_tokens", "text_embedding", "has_text"},
			[]string{"logits", "low_res_logits"}),
	}
}

type input = ort.Tensor

// decode runs the mask decoder and returns logits and low-resolution logits.
func (g *graphs) decode(emb, sparse, text input, hasText bool) (logits, lowRes []float32, err error) {
	flag := float32(0)
	if hasText {
		flag = 1
	}
	out, err := g.dec.Run(context.Background(), map[string]ort.Tensor{
		"image_embedding": emb, "sparse_tokens": sparse, "text_embedding": text,
		"has_text": {Shape: []int64{1}, Data: []float32{flag}}})
	if err != nil {
		return nil, nil, err
	}
	return out["logits"].Data, out["low_res_logits"].Data, nil
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
	return input{Shape: shape, Data: data}
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
	g := openGraphs(t, env(t, "SEGVOL_MODELS"))
	f := readFixtures(t, env(t, "SEGVOL_FIXTURES"))
	check := func(what, kind string, got, want []float32) {
		d := maxAbsDiff(t, what, got, want)
		tol := f.Tolerances[kind]
		fmt.Printf("  %-32s max |Go ORT - PyTorch| = %.3g (< %g)\n", what, d, tol)
		if !(d < tol) {
			t.Errorf("%s differs from PyTorch by %g (tolerance %g)", what, d, tol)
		}
	}
	ctx := context.Background()
	image, emb := f.tensor(t, "image"), f.tensor(t, "image_embedding")
	start := time.Now()
	got, err := g.enc.Run(ctx, map[string]ort.Tensor{"image": image})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("  image encoder: %v per window\n", time.Since(start).Round(time.Millisecond))
	check("image_embedding", "image_embedding", got["image_embedding"].Data, emb.Data)
	text := f.tensor(t, "text_embedding")
	for _, c := range f.Cases {
		name := c["name"]
		coords, labels := f.tensor(t, c["point_coords"]), f.tensor(t, c["point_labels"])
		if coords.Shape[1] > 0 {
			tok, err := g.prm.Run(ctx, map[string]ort.Tensor{"point_coords": coords, "point_labels": labels})
			if err != nil {
				t.Fatal(err)
			}
			check("point_tokens["+name+"]", "point_tokens", tok["point_tokens"].Data, f.tensor(t, c["point_tokens"]).Data)
		}
		start := time.Now()
		logits, lowRes, err := g.decode(emb, f.tensor(t, c["sparse_tokens"]), text, f.tensor(t, c["has_text"]).Data[0] != 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("  mask decoder [%s]: %v\n", name, time.Since(start).Round(time.Millisecond))
		check("logits["+name+"]", "logits", logits, f.tensor(t, c["logits"]).Data)
		check("low_res_logits["+name+"]", "logits", lowRes, f.tensor(t, c["low_res_logits"]).Data)
	}
}

// textCase is one entry of export.py's text.json: a reference phrase (its
// prompt and ids as clip_text.py's tokenizer gives them) or random ids, and
// PyTorch's vector (clip_text.TextEncoder).
type textCase struct {
	Phrase    string    `json:"phrase"`
	Prompt    string    `json:"prompt"`
	IDs       []int64   `json:"ids"`
	Embedding []float32 `json:"embedding"`
}

// TestTextEncoderMatchesPyTorch runs text_encoder.onnx from Go: the
// reference phrases through infer/clip and infer/segvol's TextEncoder
// (ids equal to Python's, vector within 1e-4 of PyTorch's), the random id
// sequences through the session, and every category name against the
// vectors export.py wrote to text_embeddings.bin (PyTorch, same tower), in
// $SEGVOL_TEXT_TABLE when set (an installed folder has no such file).
func TestTextEncoderMatchesPyTorch(t *testing.T) {
	dir := env(t, "SEGVOL_MODELS")
	tableDir := cmp.Or(os.Getenv("SEGVOL_TEXT_TABLE"), dir)
	f := readFixtures(t, env(t, "SEGVOL_FIXTURES"))
	raw, err := os.ReadFile(filepath.Join(f.dir, "text.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []textCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	tol := f.Tolerances["text_embedding"]
	rt := openRuntime(t)
	enc, err := segvol.LoadTextEncoder(dir, rt, clipfiles.TokenizerJSON)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := rt.NewSession(filepath.Join(dir, segvol.TextEncoderFile), []string{"input_ids"}, []string{"text_embedding"})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got, want []float32) {
		d := maxAbsDiff(t, what, got, want)
		fmt.Printf("  %-40s max |Go ORT - PyTorch| = %.3g (< %g)\n", what, d, tol)
		if !(d < tol) {
			t.Errorf("%s differs from PyTorch by %g (tolerance %g)", what, d, tol)
		}
	}
	ctx := context.Background()
	for _, c := range cases {
		if c.Phrase == "" {
			out, err := sess.Run(ctx, map[string]ort.Tensor{"input_ids": {Shape: []int64{1, int64(len(c.IDs))}, Int64: c.IDs}})
			if err != nil {
				t.Fatal(err)
			}
			check(fmt.Sprintf("random ids, L=%d", len(c.IDs)), out["text_embedding"].Data, c.Embedding)
			continue
		}
		v, err := enc.Encode(ctx, c.Phrase)
		if err != nil {
			t.Fatal(err)
		}
		if v.Prompt != c.Prompt || !slices.Equal(v.IDs, c.IDs) {
			t.Errorf("%q: Go tokenizes %q as %v, Python %q as %v", c.Phrase, v.Prompt, v.IDs, c.Prompt, c.IDs)
		}
		check(fmt.Sprintf("%q", shortPhrase(c.Phrase)), v.Embedding, c.Embedding)
	}
	table, err := segvol.LoadText(tableDir)
	if err != nil {
		t.Fatal(err)
	}
	worst, name := 0.0, ""
	for _, cat := range table.Categories() {
		want, err := table.Vector(cat)
		if err != nil {
			t.Fatal(err)
		}
		v, err := enc.Encode(ctx, cat)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(t, cat, v.Embedding, want); d > worst {
			worst, name = d, cat
		}
	}
	fmt.Printf("  %d categories: max |Go - text_embeddings.bin| = %.3g (%q)\n", len(table.Categories()), worst, name)
	if !(worst < tol) {
		t.Errorf("category %q differs from text_embeddings.bin by %g (tolerance %g)", name, worst, tol)
	}
}

func shortPhrase(s string) string {
	if len(s) > 30 {
		return s[:30] + "..."
	}
	return s
}

// BenchmarkTextNewPhrase times a phrase not seen before (tokenizer and the
// full-size CLIP tower: the random export's tower is always full size);
// BenchmarkTextCached, a phrase from the cache.
func BenchmarkTextNewPhrase(b *testing.B) { benchText(b, false) }
func BenchmarkTextCached(b *testing.B)    { benchText(b, true) }

func benchText(b *testing.B, cached bool) {
	enc, err := segvol.LoadTextEncoder(env(b, "SEGVOL_MODELS"), openRuntime(b), clipfiles.TokenizerJSON)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := enc.Encode(ctx, "right adrenal gland"); err != nil { // warms the session
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		phrase := "right adrenal gland"
		if !cached {
			phrase = fmt.Sprintf("lesion number %d of the left kidney", i)
			i++
		}
		if _, err := enc.Encode(ctx, phrase); err != nil {
			b.Fatal(err)
		}
	}
}

// TestZoomOutZoomIn runs infer/segvol's whole pipeline over the graphs on
// the sample CT with the liver's bounding box, as `segvol segment --backend
// segvol` does, and prints the time of each pass: the first (sessions cold),
// a whole pass with warm sessions (a copy of the image, so nothing is
// cached), and a click that reuses the cached embeddings (decoder only).
func TestZoomOutZoomIn(t *testing.T) {
	dir := env(t, "SEGVOL_MODELS")
	rt := openRuntime(t)
	seg, err := segvol.Load(dir, rt, clipfiles.TokenizerJSON)
	if err != nil {
		t.Fatal(err)
	}
	img, box := liverSample(t)
	warm := img
	warm.Voxels = append([]int16(nil), img.Voxels.([]int16)...)
	centre := infer.Point{I: (box.Min[0] + box.Max[0]) / 2, J: (box.Min[1] + box.Max[1]) / 2, K: (box.Min[2] + box.Max[2]) / 2, Positive: true}
	for _, c := range []struct {
		what string
		img  infer.Image
		p    infer.Prompt
	}{
		{"whole pass, sessions cold", img, infer.Prompt{Box: &box}},
		{"whole pass, sessions warm", warm, infer.Prompt{Box: &box}},
		{"click, embeddings cached", warm, infer.Prompt{Box: &box, Points: []infer.Point{centre}}},
	} {
		start := time.Now()
		mask, err := seg.Segment(context.Background(), c.img, c.p, nil)
		if err != nil {
			t.Fatal(err)
		}
		el := time.Since(start)
		if len(mask) != img.Len() {
			t.Fatalf("mask has %d voxels, the image %d", len(mask), img.Len())
		}
		inside := 0
		for _, x := range mask {
			inside += int(x)
		}
		fmt.Printf("  zoom-out-zoom-in on %v, liver box, %s (%s): %v, %d voxels inside\n",
			img.Dims, c.what, rt.Provider(), el.Round(time.Millisecond), inside)
	}
}

// liverSample is the sample CT and its liver's (label 5) bounding box.
func liverSample(tb testing.TB) (infer.Image, infer.Box) {
	sample := filepath.Join("..", "..", "assets", "sample")
	v, err := nifti.Read(filepath.Join(sample, "example_ct_sm.nii.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	labels, err := nifti.Read(filepath.Join(sample, "example_seg.nii.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	liver := make([]uint8, labels.Len())
	for n := range liver {
		if labels.Stored(n) == 5 {
			liver[n] = 1
		}
	}
	box, ok := eval.BoundingBox(liver, labels.Dims)
	if !ok {
		tb.Fatal("the sample's labels have no liver (5)")
	}
	return infer.Image{Dims: v.Dims, Spacing: v.Geom.Spacing(), Voxels: v.Data, Slope: v.Slope, Intercept: v.Intercept}, box
}

// BenchmarkLiverPass times a whole zoom-out-zoom-in with the liver's box on
// the sample upsampled to 512x512x300 (a thin-slice abdominal CT), sessions
// warm and nothing cached; BenchmarkLiverClick, a click on the liver once
// the window embeddings are cached (decoders only).
func BenchmarkLiverPass(b *testing.B)  { benchLiver(b, false) }
func BenchmarkLiverClick(b *testing.B) { benchLiver(b, true) }

func benchLiver(b *testing.B, click bool) {
	dir := env(b, "SEGVOL_MODELS")
	seg, err := segvol.Load(dir, openRuntime(b), clipfiles.TokenizerJSON)
	if err != nil {
		b.Fatal(err)
	}
	small, sbox := liverSample(b)
	img, box, err := eval.Upsample(small, [3]int{512, 512, 300}, sbox)
	if err != nil {
		b.Fatal(err)
	}
	p := infer.Prompt{Box: &box}
	if _, err := seg.Segment(context.Background(), img, p, nil); err != nil { // warms the sessions
		b.Fatal(err)
	}
	if click {
		p.Points = []infer.Point{{I: (box.Min[0] + box.Max[0]) / 2, J: (box.Min[1] + box.Max[1]) / 2, K: (box.Min[2] + box.Max[2]) / 2, Positive: true}}
	}
	vox := img.Voxels.([]int16)
	b.ResetTimer()
	for range b.N {
		if !click {
			b.StopTimer()
			img.Voxels = append([]int16(nil), vox...) // a new image: nothing cached
			b.StartTimer()
		}
		if _, err := seg.Segment(context.Background(), img, p, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncoder times one 32x256x256 window through the image encoder.
func BenchmarkEncoder(b *testing.B) {
	g := openGraphs(b, env(b, "SEGVOL_MODELS"))
	window := make([]float32, 32*256*256)
	for i := range window {
		window[i] = float32(i%251) / 250
	}
	in := map[string]ort.Tensor{"image": {Shape: []int64{1, 1, 32, 256, 256}, Data: window}}
	for b.Loop() {
		if _, err := g.enc.Run(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecoder times the mask decoder with two points, the pad and text.
func BenchmarkDecoder(b *testing.B) {
	g := openGraphs(b, env(b, "SEGVOL_MODELS"))
	emb := make([]float32, 768*8*16*16)
	for i := range emb {
		emb[i] = float32(math.Sin(float64(i)))
	}
	e := input{Shape: []int64{1, 768, 8, 16, 16}, Data: emb}
	sparse := input{Shape: []int64{1, 4, 768}, Data: make([]float32, 4*768)}
	text := input{Shape: []int64{1, 768}, Data: make([]float32, 768)}
	for b.Loop() {
		if _, _, err := g.decode(e, sparse, text, true); err != nil {
			b.Fatal(err)
		}
	}
}
