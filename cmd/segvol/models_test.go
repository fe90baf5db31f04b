package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestModelsUsage(t *testing.T) {
	for _, args := range [][]string{{"models"}, {"models", "bogus"}, {"models", "text", "--models", t.TempDir()}} {
		st, _, errs := segvol(t, args...)
		if st != 2 || !strings.Contains(errs, "models text [--models DIR] [--json]") {
			t.Errorf("segvol %v: status %d, stderr %q", args, st, errs)
		}
	}
	if st, out, _ := segvol(t, "help"); st != 0 || !strings.Contains(out, "models text") {
		t.Errorf("help does not list `models text`: %d %q", st, out)
	}
}

func TestModelsTextWithoutGraph(t *testing.T) {
	dir := t.TempDir()
	st, _, errs := segvol(t, "models", "text", "--models", dir, "liver")
	if st != 1 || !strings.Contains(errs, "text_encoder.onnx") || !strings.Contains(errs, dir) {
		t.Fatalf("status %d, stderr %q", st, errs)
	}
}

// TestModelsTextMatchesPyTorch runs `segvol models text` on the random
// export of make test-export and compares with export.py's text.json
// (PyTorch's clip_text.py): the prompt, the ids, and the 768 numbers,
// printed as JSON and as text.
func TestModelsTextMatchesPyTorch(t *testing.T) {
	models, fixtures := os.Getenv("SEGVOL_MODELS"), os.Getenv("SEGVOL_FIXTURES")
	if models == "" || fixtures == "" {
		t.Skip("SEGVOL_MODELS and SEGVOL_FIXTURES not set: run make test-export")
	}
	raw, err := os.ReadFile(filepath.Join(fixtures, "text.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref []textJSON
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	ref = slices.DeleteFunc(ref, func(c textJSON) bool { return c.Phrase == "" }) // random ids, no phrase
	args := []string{"models", "text", "--json", "--models", models}
	for _, c := range ref {
		args = append(args, c.Phrase)
	}
	st, out, errs := segvol(t, args...)
	if st != 0 {
		t.Fatalf("status %d, stderr %q", st, errs)
	}
	var got []textJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("bad JSON: %v", err)
	}
	if len(got) != len(ref) {
		t.Fatalf("%d objects for %d phrases", len(got), len(ref))
	}
	for i, c := range ref {
		g := got[i]
		if g.Phrase != c.Phrase || g.Prompt != c.Prompt || !slices.Equal(g.IDs, c.IDs) || len(g.Embedding) != 768 {
			t.Fatalf("%q: got %q %v (%d numbers), PyTorch's reference %q %v", c.Phrase, g.Prompt, g.IDs, len(g.Embedding), c.Prompt, c.IDs)
		}
		for k := range g.Embedding {
			if d := math.Abs(float64(g.Embedding[k] - c.Embedding[k])); !(d < 1e-4) {
				t.Fatalf("%q: embedding[%d] = %g, PyTorch %g", c.Phrase, k, g.Embedding[k], c.Embedding[k])
			}
		}
	}
	// The text form prints the same numbers.
	st, out, errs = segvol(t, "models", "text", "--models", models, ref[0].Phrase)
	if st != 0 {
		t.Fatalf("status %d, stderr %q", st, errs)
	}
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "embedding (768): "); ok {
			fields := strings.Fields(rest)
			if len(fields) != 768 {
				t.Fatalf("%d numbers on the embedding line", len(fields))
			}
			for k, f := range fields {
				x, err := strconv.ParseFloat(f, 32)
				if err != nil || float32(x) != got[0].Embedding[k] {
					t.Fatalf("embedding[%d] printed %q, JSON %g", k, f, got[0].Embedding[k])
				}
			}
			return
		}
	}
	t.Fatalf("no embedding line in %q", out)
}
