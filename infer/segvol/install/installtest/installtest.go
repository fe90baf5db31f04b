// Package installtest makes checkpoints for the tests of the SegVol
// installer's front ends (the CLI, the app).
package installtest

import (
	"encoding/binary"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Checkpoint writes into dir a Hugging Face folder, SegVol, holding a full-size
// SegVol checkpoint as safetensors with every key the shipped graph
// templates read ("model." prefixed), its data a sparse run of zeros: the
// installer checks names, shapes and dtypes and copies the bytes, which
// zeros exercise as well as real weights do, at no disk cost.
func Checkpoint(t testing.TB, tpl fs.FS, dir string) string {
	t.Helper()
	raw, err := fs.ReadFile(tpl, "templates.json")
	if err != nil {
		t.Fatal(err)
	}
	var index struct {
		Graphs map[string]struct {
			Initializers []struct {
				Key   string  `json:"key"`
				Shape []int64 `json:"shape"`
			} `json:"initializers"`
		} `json:"graphs"`
		UnusedKeys map[string][]int64 `json:"unused_keys"`
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		t.Fatal(err)
	}
	shapes := map[string][]int64{}
	for _, g := range index.Graphs {
		for _, in := range g.Initializers {
			shapes[in.Key] = in.Shape
		}
	}
	for k, s := range index.UnusedKeys {
		shapes[k] = s
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range shapes {
			if !yield(k) {
				return
			}
		}
	})
	header := map[string]any{}
	var end int64
	for _, k := range keys {
		n := int64(4)
		for _, d := range shapes[k] {
			n *= d
		}
		header["model."+k] = map[string]any{"dtype": "F32", "shape": shapes[k], "data_offsets": []int64{end, end + n}}
		end += n
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(dir, "SegVol")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := binary.Write(f, binary.LittleEndian, uint64(len(h))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(h); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(8 + int64(len(h)) + end); err != nil {
		t.Fatal(err)
	}
	return dir
}
