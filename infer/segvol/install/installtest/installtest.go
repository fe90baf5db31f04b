// Package installtest makes checkpoints for the tests of the SegVol
// installer and its front ends (the CLI, the app).
package installtest

import (
	"encoding/binary"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Tensor is one tensor of a test checkpoint: its safetensors dtype, its
// shape and the bytes it starts with (the rest are zero).
type Tensor struct {
	Dtype string
	Shape []int64
	Data  []byte
}

var elemSize = map[string]int64{"F32": 4, "I32": 4, "F16": 2, "BF16": 2}

// Full lists every key the graph templates tpl know (the keys the graphs
// read and those they leave), at its shape, as float32 zeros.
func Full(t testing.TB, tpl fs.FS) map[string]*Tensor {
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
	ts := map[string]*Tensor{}
	for _, g := range index.Graphs {
		for _, in := range g.Initializers {
			ts[in.Key] = &Tensor{Dtype: "F32", Shape: in.Shape}
		}
	}
	for k, s := range index.UnusedKeys {
		ts[k] = &Tensor{Dtype: "F32", Shape: s}
	}
	return ts
}

// WriteSafetensors writes the tensors, their names under prefix, as a
// safetensors file whose unset data are a hole: a full-size checkpoint
// costs no disk.
func WriteSafetensors(t testing.TB, path, prefix string, ts map[string]*Tensor) {
	t.Helper()
	names := slices.Sorted(maps.Keys(ts))
	header := map[string]any{}
	offsets := map[string]int64{}
	var end int64
	for _, k := range names {
		n := elemSize[ts[k].Dtype]
		for _, d := range ts[k].Shape {
			n *= d
		}
		header[prefix+k] = map[string]any{"dtype": ts[k].Dtype, "shape": ts[k].Shape, "data_offsets": []int64{end, end + n}}
		offsets[k] = end
		end += n
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hl [8]byte
	binary.LittleEndian.PutUint64(hl[:], uint64(len(h)))
	base := int64(8 + len(h))
	if _, err := f.Write(append(hl[:], h...)); err != nil {
		t.Fatal(err)
	}
	for _, k := range names {
		if ts[k].Data != nil {
			if _, err := f.WriteAt(ts[k].Data, base+offsets[k]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.Truncate(base + end); err != nil {
		t.Fatal(err)
	}
}

// Checkpoint writes into dir a Hugging Face folder, SegVol, holding a
// full-size SegVol checkpoint (Full, "model." prefixed) as sparse
// safetensors: the installer checks names, shapes and dtypes and copies
// the bytes, which zeros exercise as well as real weights do.
func Checkpoint(t testing.TB, tpl fs.FS, dir string) string {
	t.Helper()
	dir = filepath.Join(dir, "SegVol")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	WriteSafetensors(t, filepath.Join(dir, "model.safetensors"), "model.", Full(t, tpl))
	return dir
}
