// Package installtest makes checkpoints for the tests of the SegVol
// installer and its front ends (the CLI, the app).
package installtest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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

// HubCommit is the commit Hub says main is at.
const HubCommit = "0123456789abcdef0123456789abcdef01234567"

// Hub serves the files of folder src as the Hugging Face hub serves
// BAAI/SegVol at main (the API listing, the resolve URLs with their size
// and SHA-256 headers, Range), and sets HF_ENDPOINT to it for the test.
// When stall is set, every file answer sends its first MiB and then waits
// until the client goes: a download in flight, for tests that cancel it.
func Hub(t testing.TB, src string, stall bool) {
	t.Helper()
	const commit = HubCommit
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	sums, sizes := map[string]string{}, map[string]int64{}
	var siblings []map[string]any
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		sums[e.Name()] = hex.EncodeToString(sum[:])
		size := int64(len(data))
		sizes[e.Name()] = size
		siblings = append(siblings, map[string]any{"rfilename": e.Name(), "size": size,
			"lfs": map[string]any{"sha256": sums[e.Name()], "size": size}})
	}
	closing := make(chan struct{})
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/models/BAAI/SegVol/revision/main" {
			json.NewEncoder(w).Encode(map[string]any{"sha": commit, "siblings": siblings})
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, "/BAAI/SegVol/resolve/"+commit+"/")
		if !ok || sums[name] == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Repo-Commit", commit)
		w.Header().Set("X-Linked-Etag", `"`+sums[name]+`"`)
		w.Header().Set("X-Linked-Size", strconv.FormatInt(sizes[name], 10))
		if !stall || r.Method == http.MethodHead {
			http.ServeFile(w, r, filepath.Join(src, name))
			return
		}
		f, err := os.Open(filepath.Join(src, name))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		io.CopyN(w, f, 1<<20)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-closing:
		}
	}))
	t.Cleanup(func() { close(closing); hub.Close() })
	t.Setenv("HF_ENDPOINT", hub.URL)
}
