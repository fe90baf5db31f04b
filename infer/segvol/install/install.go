// Package install turns a SegVol checkpoint into the models folder that
// infer/segvol loads, without Python: the Hugging Face folder of BAAI/SegVol
// (pytorch_model.bin or model.safetensors, keys `model.`) or the GitHub
// SegVol_v1.pth (`{'model': ...}`, keys `module.`).
//
// The ONNX graphs come from templates (assets/segvol, made once by
// models/segvol/templates.py): export.py's graphs with every weight stored as
// external data in one weights file and mapped to its checkpoint key in
// templates.json. Installing checks every key, shape and dtype the templates
// name before writing anything, then copies the graph files, streams the
// checkpoint's tensors one at a time into the weights files (float16 and
// bfloat16 widened to float32) and writes manifest.json, all in a staging
// folder inside the models folder that replaces the installed files only
// once everything is written.
//
// The text encoder graph is optional: installed, with its own weights file,
// only from a checkpoint that holds the CLIP text tower (the Hugging Face
// one); the GitHub .pth has only dim_align and gets the three other graphs,
// as export.py does.
package install

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/segvolapp/segvol/infer/checkpoint"
	"github.com/segvolapp/segvol/infer/segvol"
)

// TemplatesFile indexes a template folder; the graph files lie beside it.
const TemplatesFile = "templates.json"

// templates is templates.json as models/segvol/templates.py writes it.
type templates struct {
	Format          string             `json:"format"`
	EncoderDepth    int                `json:"encoder_depth"`
	Window          []int              `json:"window"`
	Patch           []int              `json:"patch"`
	Opset           int                `json:"opset"`
	Versions        map[string]string  `json:"versions"`
	Weights         weightsFile        `json:"weights"`
	Graphs          map[string]graph   `json:"graphs"`
	UnusedKeys      map[string][]int64 `json:"unused_keys"` // in a checkpoint, read by no graph
	IgnoredPrefixes []string           `json:"ignored_prefixes"`
}

// weightsFile is a file of external data the graphs point to.
type weightsFile struct {
	File  string `json:"file"`
	Bytes int64  `json:"bytes"`
}

type graph struct {
	Initializers []initializer    `json:"initializers"`
	Inputs       map[string][]any `json:"inputs"`
	Outputs      map[string][]any `json:"outputs"`
	// Weights is the graph's own weights file; nil: the templates' one.
	Weights *weightsFile `json:"weights"`
	// Optional, when set, is a key prefix: the graph is installed only from
	// a checkpoint with keys under it, and then needs all its keys. Its keys
	// outside the prefix are in every checkpoint and required either way.
	Optional string `json:"optional"`
}

// initializer is one weight of a graph: its checkpoint tensor and where its
// data go in the weights file.
type initializer struct {
	Name   string  `json:"name"`
	Key    string  `json:"key"`
	DType  string  `json:"dtype"`
	Shape  []int64 `json:"shape"`
	Offset int64   `json:"offset"`
	Length int64   `json:"length"`
	file   string  // the weights file it goes in
}

func readTemplates(t fs.FS) (*templates, error) {
	raw, err := fs.ReadFile(t, TemplatesFile)
	if err != nil {
		return nil, fmt.Errorf("install: graph templates: %w", err)
	}
	var tp templates
	if err := json.Unmarshal(raw, &tp); err != nil {
		return nil, fmt.Errorf("install: %s: %w", TemplatesFile, err)
	}
	if tp.Format != "segvol-templates/1" || len(tp.Graphs) == 0 || tp.Weights.File == "" {
		return nil, fmt.Errorf("install: %s is not a segvol-templates/1 index", TemplatesFile)
	}
	if !slices.Equal(tp.Window, segvol.Window[:]) {
		return nil, fmt.Errorf("install: the templates run window %v, this version %v", tp.Window, segvol.Window)
	}
	for _, g := range tp.Graphs {
		for i := range g.Initializers {
			g.Initializers[i].file = tp.weightsOf(g).File
		}
	}
	return &tp, nil
}

// weightsOf is the weights file of graph g.
func (tp *templates) weightsOf(g graph) weightsFile {
	if g.Weights != nil {
		return *g.Weights
	}
	return tp.Weights
}

// files are the graphs and their weights files, in a fixed order.
func (tp *templates) files(graphs []string) []string {
	var names, weights []string
	for _, g := range graphs {
		names = append(names, g)
		if w := tp.weightsOf(tp.Graphs[g]).File; !slices.Contains(weights, w) {
			weights = append(weights, w)
		}
	}
	return append(names, weights...)
}

// graphNames are the template's graphs in a fixed order.
func (tp *templates) graphNames() []string {
	names := make([]string, 0, len(tp.Graphs))
	for n := range tp.Graphs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Layouts of the published checkpoints: the prefix every key has.
var layouts = []struct{ prefix, name string }{{"model.", "huggingface"}, {"module.", "github"}}

// want is a checkpoint tensor the install reads: its place in the weights
// file (nil for a key that must be present but that no graph reads).
type want struct {
	shape []int64
	w     *initializer
}

// plan checks the checkpoint against the templates, naming the first
// problem, and returns the layout, the graphs to install and the tensors to
// copy by checkpoint name.
func plan(c *checkpoint.Checkpoint, tp *templates) (string, []string, map[string]*initializer, error) {
	layout, prefix := "", ""
	for _, l := range layouts {
		all := len(c.Tensors) > 0
		for _, t := range c.Tensors {
			all = all && strings.HasPrefix(t.Name, l.prefix)
		}
		if all {
			layout, prefix = l.name, l.prefix
		}
	}
	if layout == "" {
		return "", nil, nil, errors.New("its keys start neither all with 'model.' (Hugging Face) nor all with 'module.' (GitHub): not a SegVol checkpoint")
	}
	have := map[string]checkpoint.Tensor{}
	for _, t := range c.Tensors {
		have[strings.TrimPrefix(t.Name, prefix)] = t
	}
	// Every key the templates know, in the order the graphs name them; an
	// optional graph's keys under its prefix only when the checkpoint has
	// one of them, its other keys as present but unread when it has none.
	var order, graphs []string
	need := map[string]want{}
	for _, g := range tp.graphNames() {
		opt := tp.Graphs[g].Optional
		on := opt == ""
		for k := range have {
			on = on || strings.HasPrefix(k, opt)
		}
		if on {
			graphs = append(graphs, g)
		}
		for i := range tp.Graphs[g].Initializers {
			in := &tp.Graphs[g].Initializers[i]
			if _, dup := need[in.Key]; dup {
				continue
			}
			switch {
			case on:
				need[in.Key] = want{in.Shape, in}
			case !strings.HasPrefix(in.Key, opt):
				need[in.Key] = want{in.Shape, nil}
			default:
				continue
			}
			order = append(order, in.Key)
		}
	}
	unused := make([]string, 0, len(tp.UnusedKeys))
	for k := range tp.UnusedKeys {
		unused = append(unused, k)
	}
	sort.Strings(unused)
	for _, k := range unused {
		order = append(order, k)
		need[k] = want{tp.UnusedKeys[k], nil}
	}

	copies := map[string]*initializer{}
	for _, k := range order {
		t, ok := have[k]
		if !ok {
			return "", nil, nil, fmt.Errorf("key %s%s is missing%s", prefix, k, depthHint(k, tp))
		}
		if w := need[k]; !slices.Equal(t.Shape, w.shape) {
			return "", nil, nil, fmt.Errorf("key %s has shape %v, SegVol's is %v%s", t.Name, t.Shape, w.shape, depthHint(k, tp))
		}
		if need[k].w == nil {
			continue
		}
		if _, ok := widen[t.DType]; !ok || need[k].w.DType != "float32" {
			return "", nil, nil, fmt.Errorf("key %s is %s; the graphs need %s (from float32, float16 or bfloat16)", t.Name, t.DType, need[k].w.DType)
		}
		copies[t.Name] = need[k].w
	}
	var extra []string
	for k := range have {
		if _, ok := need[k]; !ok && !slices.ContainsFunc(tp.IgnoredPrefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return "", nil, nil, fmt.Errorf("key %s%s is not SegVol's%s", prefix, extra[0], depthHint(extra[0], tp))
	}
	return layout, graphs, copies, nil
}

func depthHint(key string, tp *templates) string {
	if strings.HasPrefix(key, "image_encoder.blocks.") {
		return fmt.Sprintf(" (these graphs have %d encoder blocks)", tp.EncoderDepth)
	}
	return ""
}

// Progress is told the bytes of weights written so far and in all.
type Progress func(done, total int64)

// Install installs the checkpoint at source (a file or a Hugging Face
// folder) into modelsDir with the graph templates in tpl (assets/segvol's
// Templates). Nothing in modelsDir changes unless it succeeds: a bad
// checkpoint, an error or ctx's cancellation leaves it as it was.
func Install(ctx context.Context, tpl fs.FS, source, modelsDir string, progress Progress) (*Model, error) {
	m, err := install(ctx, tpl, source, modelsDir, progress)
	if err != nil {
		return nil, fmt.Errorf("install %s: %w", source, err)
	}
	return m, nil
}

func install(ctx context.Context, tpl fs.FS, source, modelsDir string, progress Progress) (*Model, error) {
	tp, err := readTemplates(tpl)
	if err != nil {
		return nil, err
	}
	c, err := checkpoint.Open(source)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	layout, graphs, copies, err := plan(c, tp)
	if err != nil {
		return nil, err
	}

	// Hash the source while its tensors are read: the second reader is
	// served by the page cache, so the hash costs no extra pass over the disk.
	hctx, stopHash := context.WithCancel(ctx)
	defer stopHash()
	type hashSum struct {
		hex   string
		bytes int64
		err   error
	}
	hashed := make(chan hashSum, 1)
	go func() {
		h, n, err := hashFiles(hctx, c.Files())
		hashed <- hashSum{h, n, err}
	}()

	created := false
	if _, err := os.Stat(modelsDir); errors.Is(err, fs.ErrNotExist) {
		created = true
	}
	if err := os.MkdirAll(modelsDir, 0o755); err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp(modelsDir, ".install-")
	if err != nil {
		return nil, err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(stage)
			if created {
				os.Remove(modelsDir) // only if still empty
			}
		}
	}()

	sizes := map[string]int64{}
	for _, g := range graphs {
		if err := copyFile(tpl, g, filepath.Join(stage, g)); err != nil {
			return nil, err
		}
		w := tp.weightsOf(tp.Graphs[g])
		sizes[w.File] = w.Bytes
	}
	if err := writeWeights(ctx, c, copies, stage, sizes, progress); err != nil {
		return nil, err
	}
	src := <-hashed
	if src.err != nil {
		return nil, src.err
	}
	abs, err := filepath.Abs(source)
	if err != nil {
		abs = source
	}
	m := Model{
		Dir:    modelsDir,
		Source: abs,
		Layout: layout,
		Format: c.Format,
		SHA256: src.hex,
		Bytes:  src.bytes,
		Date:   time.Now().UTC().Truncate(time.Second),
	}
	names, err := writeManifest(stage, tp, graphs, m, copies)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A text graph installed before from another checkpoint must go too.
	var stale []string
	for _, f := range tp.files(tp.graphNames()) {
		if !slices.Contains(names, f) {
			stale = append(stale, f)
		}
	}
	if err := swap(stage, modelsDir, names, stale, m.SHA256); err != nil {
		done = errors.Is(err, errKept) // the staging folder holds the previous files
		return nil, err
	}
	done = true
	os.RemoveAll(stage)
	return &m, nil
}

// hashFiles is the SHA-256 of the files one after the other (one file for
// every published checkpoint; a sharded one's shards in name order).
func hashFiles(ctx context.Context, paths []string) (string, int64, error) {
	h := sha256.New()
	var n int64
	buf := make([]byte, 1<<20)
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return "", 0, err
		}
		for {
			if err := ctx.Err(); err != nil {
				f.Close()
				return "", 0, err
			}
			k, err := f.Read(buf)
			h.Write(buf[:k])
			n += int64(k)
			if err == io.EOF {
				break
			}
			if err != nil {
				f.Close()
				return "", 0, err
			}
		}
		f.Close()
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func copyFile(src fs.FS, name, dst string) error {
	in, err := src.Open(name)
	if err != nil {
		return fmt.Errorf("graph template %s: %w", name, err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// widen converts little-endian elements of a checkpoint dtype to float32
// ones (nil: they are float32 already and are copied as they are).
var widen = map[checkpoint.DType]func(dst, src []byte){
	checkpoint.Float32: nil,
	checkpoint.Float16: func(dst, src []byte) {
		for i := 0; 2*i < len(src); i++ {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(halfToFloat(binary.LittleEndian.Uint16(src[2*i:]))))
		}
	},
	checkpoint.BFloat16: func(dst, src []byte) {
		for i := 0; 2*i < len(src); i++ {
			binary.LittleEndian.PutUint32(dst[4*i:], uint32(binary.LittleEndian.Uint16(src[2*i:]))<<16)
		}
	},
}

// halfToFloat widens an IEEE 754 binary16 exactly.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
	case frac == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: frac * 2^-24, exact in float32.
	f := float32(frac) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}

// chunk is how many elements are converted at a time.
const chunk = 1 << 18

// writeWeights streams the tensors in copies, in the checkpoint's file
// order, to their offsets in the weights files in dir (name: size).
func writeWeights(ctx context.Context, c *checkpoint.Checkpoint, copies map[string]*initializer, dir string, sizes map[string]int64, progress Progress) error {
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for name, size := range sizes {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		files[name] = f
		if err := f.Truncate(size); err != nil {
			return err
		}
	}
	var total, done int64
	for _, in := range copies {
		total += in.Length
	}
	src := make([]byte, chunk*4)
	wide := make([]byte, chunk*4)
	br := bufio.NewReaderSize(nil, 1<<20)
	err := c.Each(func(t checkpoint.Tensor, r io.Reader) error {
		in, ok := copies[t.Name]
		if !ok {
			return nil
		}
		conv, esize := widen[t.DType], t.DType.Size()
		br.Reset(r)
		for n := int64(0); n < t.Elements(); {
			if err := ctx.Err(); err != nil {
				return err
			}
			k := min(t.Elements()-n, chunk)
			if _, err := io.ReadFull(br, src[:k*esize]); err != nil {
				return fmt.Errorf("%s: %w", t.Name, err)
			}
			out := src[:k*esize]
			if conv != nil {
				conv(wide[:4*k], out)
				out = wide[:4*k]
			}
			if _, err := files[in.file].WriteAt(out, in.Offset+4*n); err != nil {
				return err
			}
			n += k
			done += 4 * k
			if progress != nil {
				progress(done, total)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for name, f := range files {
		delete(files, name)
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
