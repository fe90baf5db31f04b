// Package checkpoint reads PyTorch model checkpoints without Python: the zip
// format torch.save writes (since torch 1.6) and safetensors, as a single file
// or as a Hugging Face folder (pytorch_model.bin or model.safetensors, either
// possibly sharded with an index json).
//
// The pickle inside a torch checkpoint comes from the internet, so it is read
// by a restricted unpickler that builds only what a state dict of tensors
// needs (OrderedDict, torch's tensor and parameter rebuild functions, the
// storage types, plain containers and scalars) and refuses any other global,
// naming it, without calling anything: a checkpoint that would run a command
// under torch.load is an error here, nothing more.
//
// Use:
//
//	c, err := checkpoint.Open(path) // a file or a Hugging Face folder
//	if err != nil { ... }
//	defer c.Close()
//	for _, t := range c.Tensors { fmt.Println(t.Name, t.DType, t.Shape, t.Bytes()) }
//	err = c.Each(func(t checkpoint.Tensor, r io.Reader) error {
//		_, err := io.Copy(dst, r) // t's elements, C order, little-endian
//		return err
//	})
//
// The tensors of a torch checkpoint are its state dict's: the saved dict
// itself when it maps names to tensors, else its "state_dict" or "model"
// entry (a training script's checkpoint, as the GitHub SegVol_v1.pth is;
// the optimizer beside it is not read). Names are kept as saved: the
// `module.` (DataParallel) or `model.` prefixes are the caller's to strip.
//
// Listing reads only the pickle or the safetensors header. Data are read one
// tensor at a time straight from the file, so memory stays near the size of
// one tensor's storage at worst (a non-contiguous view, rare in state dicts,
// is gathered from its storage into C order). Only little-endian data are
// read: torch checkpoints saved as big-endian are refused.
package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DType is a tensor's element type.
type DType uint8

// The element types read; their names are torch's.
const (
	Float32 DType = iota + 1
	Float16
	BFloat16
	Float64
	Int64
	Int32
	Int16
	Int8
	Uint8
	Bool
)

var dtypes = [...]struct {
	name    string
	size    int64
	storage string // torch's legacy storage class
	st      string // safetensors' name
}{
	Float32:  {"float32", 4, "FloatStorage", "F32"},
	Float16:  {"float16", 2, "HalfStorage", "F16"},
	BFloat16: {"bfloat16", 2, "BFloat16Storage", "BF16"},
	Float64:  {"float64", 8, "DoubleStorage", "F64"},
	Int64:    {"int64", 8, "LongStorage", "I64"},
	Int32:    {"int32", 4, "IntStorage", "I32"},
	Int16:    {"int16", 2, "ShortStorage", "I16"},
	Int8:     {"int8", 1, "CharStorage", "I8"},
	Uint8:    {"uint8", 1, "ByteStorage", "U8"},
	Bool:     {"bool", 1, "BoolStorage", "BOOL"},
}

func (d DType) String() string {
	if d == 0 || int(d) >= len(dtypes) {
		return fmt.Sprintf("DType(%d)", uint8(d))
	}
	return dtypes[d].name
}

// Size is the bytes of one element.
func (d DType) Size() int64 { return dtypes[d].size }

// Tensor describes one tensor of a checkpoint; its data are read with
// Checkpoint.Reader or Checkpoint.Each.
type Tensor struct {
	Name  string
	DType DType
	Shape []int64 // empty for a scalar

	data    region  // the storage the tensor views
	offset  int64   // in bytes, into data
	strides []int64 // in elements; nil when the view is contiguous
}

// Elements is the number of elements.
func (t Tensor) Elements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Bytes is the size of the tensor's data as Reader yields them.
func (t Tensor) Bytes() int64 { return t.Elements() * t.DType.Size() }

// Checkpoint is an opened checkpoint: its tensors, in the order their data
// lie in the files, and the open files.
type Checkpoint struct {
	Format  string // "pytorch" or "safetensors"
	Tensors []Tensor
	files   []*os.File
}

// Close closes the checkpoint's files.
func (c *Checkpoint) Close() error {
	var errs []error
	for _, f := range c.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// Files are the paths of the files the tensors are read from (one, or a
// sharded checkpoint's shards in name order): what a caller hashes to name
// the checkpoint.
func (c *Checkpoint) Files() []string {
	paths := make([]string, len(c.files))
	for i, f := range c.files {
		paths[i] = f.Name()
	}
	return paths
}

// Lookup finds a tensor by name.
func (c *Checkpoint) Lookup(name string) (Tensor, bool) {
	for _, t := range c.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

// Reader yields t's data: its elements in C order, little-endian.
func (c *Checkpoint) Reader(t Tensor) (io.Reader, error) {
	if t.strides == nil {
		return t.data.open(t.offset, t.Bytes())
	}
	return gather(t)
}

// Each calls fn for each tensor in file order with a reader of its data; it
// stops at fn's first error and returns it.
func (c *Checkpoint) Each(fn func(t Tensor, r io.Reader) error) error {
	for _, t := range c.Tensors {
		r, err := c.Reader(t)
		if err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		if err := fn(t, r); err != nil {
			return err
		}
	}
	return nil
}

// The files of a Hugging Face folder, in the order transformers prefers them.
var folderFiles = []string{"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"}

// Open opens a checkpoint file (torch zip or safetensors, told apart by their
// content) or a Hugging Face folder and lists its tensors.
func Open(path string) (*Checkpoint, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if !fi.IsDir() {
		return openFiles([]string{path})
	}
	for _, name := range folderFiles {
		p := filepath.Join(path, name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if filepath.Ext(name) != ".json" {
			return openFiles([]string{p})
		}
		return openSharded(p)
	}
	n := len(folderFiles)
	return nil, fmt.Errorf("checkpoint: %s holds none of %s or %s: choose the checkpoint file itself (a .pth) or a Hugging Face model folder",
		path, strings.Join(folderFiles[:n-1], ", "), folderFiles[n-1])
}

// openSharded opens the shards an index json names and checks that each
// tensor is where the index says.
func openSharded(index string) (*Checkpoint, error) {
	b, err := os.ReadFile(index)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", index, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("checkpoint: %s has no weight_map", index)
	}
	seen := map[string]bool{}
	var shards []string
	for _, f := range idx.WeightMap {
		if f != filepath.Base(f) || f == "." || f == ".." {
			return nil, fmt.Errorf("checkpoint: %s names shard %q outside its folder", index, f)
		}
		if !seen[f] {
			seen[f] = true
			shards = append(shards, f)
		}
	}
	sort.Strings(shards)
	paths := make([]string, len(shards))
	for i, f := range shards {
		paths[i] = filepath.Join(filepath.Dir(index), f)
	}
	c, err := openFiles(paths)
	if err != nil {
		return nil, err
	}
	for name, f := range idx.WeightMap {
		t, ok := c.Lookup(name)
		if !ok {
			c.Close()
			return nil, fmt.Errorf("checkpoint: %s lists %s in %s, which does not hold it", filepath.Base(index), name, f)
		}
		if got := filepath.Base(t.data.file.Name()); got != f {
			c.Close()
			return nil, fmt.Errorf("checkpoint: %s lists %s in %s, but it is in %s", filepath.Base(index), name, f, got)
		}
	}
	return c, nil
}

// openFiles reads the tensor lists of one or more files of one format.
func openFiles(paths []string) (*Checkpoint, error) {
	c := &Checkpoint{}
	names := map[string]string{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
		c.files = append(c.files, f)
		format, ts, err := readFile(f)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("checkpoint: %s: %w", p, err)
		}
		if c.Format != "" && format != c.Format {
			c.Close()
			return nil, fmt.Errorf("checkpoint: %s is %s, the other shards %s", p, format, c.Format)
		}
		c.Format = format
		for _, t := range ts {
			if other, dup := names[t.Name]; dup {
				c.Close()
				return nil, fmt.Errorf("checkpoint: tensor %s is in both %s and %s", t.Name, other, p)
			}
			names[t.Name] = p
		}
		c.Tensors = append(c.Tensors, ts...)
	}
	return c, nil
}

// readFile tells a file's format from its first bytes and lists its tensors
// in file order.
func readFile(f *os.File) (string, []Tensor, error) {
	fi, err := f.Stat()
	if err != nil {
		return "", nil, err
	}
	var head [16]byte
	n, _ := f.ReadAt(head[:], 0)
	var ts []Tensor
	format := ""
	switch {
	case n >= 4 && string(head[:4]) == "PK\x03\x04":
		format = "pytorch"
		ts, err = readTorch(f, fi.Size())
	case n >= 9 && head[8] == '{': // before the pickle: a header length may start with 0x80
		format = "safetensors"
		ts, err = readSafetensors(f, fi.Size())
	case n >= 2 && head[0] == 0x80 && head[1] <= 5:
		return "", nil, errors.New("a bare pickle (torch's format before 1.6, or pickle.dump): not supported; re-save it with torch.save from torch 1.6 or later")
	default:
		return "", nil, errors.New("neither a torch zip checkpoint nor safetensors")
	}
	if err != nil {
		return "", nil, err
	}
	sort.SliceStable(ts, func(i, j int) bool {
		return ts[i].data.base+ts[i].offset < ts[j].data.base+ts[j].offset
	})
	return format, ts, nil
}

// checkedShape multiplies a shape out, refusing negative dimensions and
// products beyond what a file can hold.
func checkedShape(shape []int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 || d > 1<<50 {
			return 0, fmt.Errorf("dimension %d in shape %v", d, shape)
		}
		if d != 0 && n > (1<<50)/d {
			return 0, fmt.Errorf("shape %v too large", shape)
		}
		n *= d
	}
	return n, nil
}
