package segvol

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/segvolapp/segvol/infer/clip"
	"github.com/segvolapp/segvol/infer/ort"
)

// TextEncoderFile is CLIP's text tower with dim_align: input_ids [1,L]
// int64 (L <= 77, no padding) to text_embedding [1,768] (docs/segvol.md).
// With it in the models folder a text prompt may be any phrase.
const TextEncoderFile = "text_encoder.onnx"

// maxCachedPhrases bounds the cache (3 KB a phrase); a full cache starts over.
const maxCachedPhrases = 4096

// TextVector is what SegVol is told for a phrase.
type TextVector struct {
	Phrase    string    // as given
	Prompt    string    // the sentence the model sees (clip.Template)
	IDs       []int64   // its CLIP token ids, start and end tokens included
	Embedding []float32 // EmbeddingDim values; shared with the cache, read only
}

// TextEncoder gives any phrase its text vector: the phrase in SegVol's
// template, CLIP's tokens, then text_encoder.onnx. Vectors are cached per
// phrase. It is safe for concurrent use.
type TextEncoder struct {
	tok  *clip.Tokenizer
	sess *ort.Session
	mu   sync.Mutex
	memo map[string]TextVector
}

// LoadTextEncoder opens dir's text_encoder.onnx with the tokenizer of dir
// (tokenizer.json, or vocab.json and merges.txt), else the tokenizer.json
// bytes given (the programs pass the one they carry, assets/clip: infer
// imports nothing of ours, so the bytes come from the caller).
func LoadTextEncoder(dir string, rt *ort.Runtime, tokenizer []byte) (*TextEncoder, error) {
	tok, err := clip.LoadOr(dir, tokenizer)
	if err != nil {
		if len(tokenizer) == 0 {
			return nil, fmt.Errorf("%s: no CLIP tokenizer for %s (put tokenizer.json there): %w", dir, TextEncoderFile, err)
		}
		return nil, err
	}
	sess, err := rt.NewSession(filepath.Join(dir, TextEncoderFile), []string{"input_ids"}, []string{"text_embedding"})
	if err != nil {
		return nil, err
	}
	return &TextEncoder{tok: tok, sess: sess, memo: map[string]TextVector{}}, nil
}

// Encode returns phrase's vector; an empty phrase or one over CLIP's 77
// tokens is an error that says so.
func (e *TextEncoder) Encode(ctx context.Context, phrase string) (TextVector, error) {
	e.mu.Lock()
	v, ok := e.memo[phrase]
	e.mu.Unlock()
	if ok {
		return v, nil
	}
	if strings.TrimSpace(phrase) == "" {
		return TextVector{}, fmt.Errorf("empty text prompt: type the structure to segment")
	}
	prompt, ids, err := e.tok.EncodePrompt(phrase)
	if err != nil {
		return TextVector{}, fmt.Errorf("text prompt: %w", err)
	}
	out, err := e.sess.Run(ctx, map[string]ort.Tensor{"input_ids": {Shape: []int64{1, int64(len(ids))}, Int64: ids}})
	if err != nil {
		return TextVector{}, err
	}
	emb, err := output(out, "text_embedding")
	if err != nil {
		return TextVector{}, err
	}
	if len(emb) != EmbeddingDim {
		return TextVector{}, fmt.Errorf("%s gave %d values, want %d", TextEncoderFile, len(emb), EmbeddingDim)
	}
	v = TextVector{Phrase: phrase, Prompt: prompt, IDs: ids, Embedding: emb}
	e.mu.Lock()
	if len(e.memo) >= maxCachedPhrases {
		clear(e.memo)
	}
	e.memo[phrase] = v
	e.mu.Unlock()
	return v, nil
}
