package segvol

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/segvolapp/segvol/infer/ort"
)

// Load opens the SegVol models folder dir (see DefaultDir): the three ONNX
// graphs of the export contract, the manifest, and when present the text
// embeddings and text_encoder.onnx (then a text prompt may be any phrase;
// tokenizer is the CLIP tokenizer.json to use when dir has none, see
// LoadTextEncoder). A missing folder or graph gives an error wrapping
// ErrNoModels that says where the files go.
func Load(dir string, rt *ort.Runtime, tokenizer []byte) (*Segmenter, error) {
	paths, err := modelFiles(dir)
	if err != nil {
		return nil, err
	}
	text, err := loadTextIfPresent(dir)
	if err != nil {
		return nil, err
	}
	var m ortModel
	if m.enc, err = rt.NewSession(paths[0], []string{"image"}, []string{"image_embedding"}); err != nil {
		return nil, err
	}
	if m.prompt, err = rt.NewSession(paths[1], []string{"point_coords", "point_labels"}, []string{"point_tokens"}); err != nil {
		return nil, err
	}
	if m.dec, err = rt.NewSession(paths[2], []string{"image_embedding", "sparse_tokens", "text_embedding", "has_text"}, []string{"logits"}); err != nil {
		return nil, err
	}
	s := New(&m, text)
	if _, err := os.Stat(filepath.Join(dir, TextEncoderFile)); err == nil {
		if s.encoder, err = LoadTextEncoder(dir, rt, tokenizer); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ortModel runs the exported graphs through ONNX Runtime. The decoder
// writes every window's logits into the same buffer, kept in logits.
type ortModel struct {
	enc, prompt, dec *ort.Session
	logits           map[string]ort.Tensor
}

var (
	windowShape = []int64{1, 1, int64(Window[0]), int64(Window[1]), int64(Window[2])}
	embShape    = []int64{1, EmbeddingDim, 8, 16, 16}
)

func (m *ortModel) Encode(ctx context.Context, win []float32) ([]float32, error) {
	out, err := m.enc.Run(ctx, map[string]ort.Tensor{"image": {Shape: windowShape, Data: win}})
	if err != nil {
		return nil, err
	}
	return output(out, "image_embedding")
}

func (m *ortModel) Prompt(ctx context.Context, coords, labels []float32, n int) ([]float32, error) {
	out, err := m.prompt.Run(ctx, map[string]ort.Tensor{
		"point_coords": {Shape: []int64{1, int64(n), 3}, Data: coords},
		"point_labels": {Shape: []int64{1, int64(n)}, Data: labels},
	})
	if err != nil {
		return nil, err
	}
	return output(out, "point_tokens")
}

func (m *ortModel) Decode(ctx context.Context, emb, sparse []float32, t int, text []float32, hasText bool) ([]float32, error) {
	flag := float32(0)
	if hasText {
		flag = 1
	}
	if m.logits == nil {
		m.logits = map[string]ort.Tensor{}
	}
	err := m.dec.RunInto(ctx, map[string]ort.Tensor{
		"image_embedding": {Shape: embShape, Data: emb},
		"sparse_tokens":   {Shape: []int64{1, int64(t), EmbeddingDim}, Data: sparse},
		"text_embedding":  {Shape: []int64{1, EmbeddingDim}, Data: text},
		"has_text":        {Shape: []int64{1}, Data: []float32{flag}},
	}, m.logits)
	if err != nil {
		return nil, err
	}
	return output(m.logits, "logits")
}

func output(out map[string]ort.Tensor, name string) ([]float32, error) {
	t, ok := out[name]
	if !ok {
		return nil, fmt.Errorf("graph gave no output %q", name)
	}
	return t.Data, nil
}
