package install

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	assets "github.com/segvolapp/segvol/assets/segvol"
	"github.com/segvolapp/segvol/infer/segvol"
	"github.com/segvolapp/segvol/infer/segvol/install/installtest"
)

func le32(vs ...float32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func le16(vs ...uint16) []byte {
	b := make([]byte, 2*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return b
}

// snapshot reads every file under dir, so that a test can tell it unchanged.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files[p] = string(b)
		}
		return nil
	})
	return files
}

// oldInstall is a models folder holding a previous install's files.
func oldInstall(t *testing.T) string {
	dir := t.TempDir()
	for _, n := range []string{segvol.EncoderFile, "weights.bin", segvol.ManifestFile, segvol.TextIndexFile, "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("old "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sameFiles(t *testing.T, before, after map[string]string) {
	t.Helper()
	if len(before) != len(after) {
		t.Fatalf("models folder had %d files, now %d: %v", len(before), len(after), keysOf(after))
	}
	for p, b := range before {
		if after[p] != b {
			t.Fatalf("%s changed", p)
		}
	}
}

func keysOf(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// A full-size Hugging Face safetensors checkpoint, with float16, bfloat16 and
// float32 tensors, is installed: the graphs are the templates, each tensor
// is at its offset widened to float32, the manifest names the source's
// SHA-256, and the previous install's files are replaced.
func TestInstallSafetensors(t *testing.T) {
	tp, _ := readTemplates(assets.Templates)
	ts := installtest.Full(t, assets.Templates)
	half := "mask_decoder.iou_token.weight" // [1,768]
	brain := "image_encoder.norm.weight"    // [768]
	full := "image_encoder.norm.bias"       // [768]
	// 1, -2, 0.5, 65504 (largest), 2^-24 (smallest subnormal), -0, +inf
	ts[half] = &installtest.Tensor{Dtype: "F16", Shape: ts[half].Shape, Data: le16(0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000, 0x7c00)}
	ts[brain] = &installtest.Tensor{Dtype: "BF16", Shape: ts[brain].Shape, Data: le16(0x3f80, 0xc040)} // 1, -3
	ts[full].Data = le32(0.25, -7.5, 3e-30)
	src := filepath.Join(t.TempDir(), "SegVol")
	os.Mkdir(src, 0o755)
	installtest.WriteSafetensors(t, filepath.Join(src, "model.safetensors"), "model.", ts)

	dir := oldInstall(t)
	var calls int
	var last, total int64
	m, err := Install(context.Background(), assets.Templates, src, dir, func(d, n int64) { calls, last, total = calls+1, d, n })
	if err != nil {
		t.Fatal(err)
	}
	if last != total || total == 0 || calls < 2 {
		t.Errorf("progress: %d calls, last %d of %d", calls, last, total)
	}
	for g := range tp.Graphs {
		want, _ := fs.ReadFile(assets.Templates, g)
		got, err := os.ReadFile(filepath.Join(dir, g))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not the template (%v)", g, err)
		}
	}
	w, err := os.ReadFile(filepath.Join(dir, "weights.bin"))
	if err != nil || int64(len(w)) != tp.Weights.Bytes {
		t.Fatalf("weights.bin: %d bytes (%v), want %d", len(w), err, tp.Weights.Bytes)
	}
	at := func(key string, n int) []byte {
		for _, g := range tp.Graphs {
			for _, in := range g.Initializers {
				if in.Key == key {
					return w[in.Offset : in.Offset+int64(4*n)]
				}
			}
		}
		t.Fatalf("%s in no graph", key)
		return nil
	}
	inf := float32(math.Inf(1))
	for _, c := range []struct {
		key  string
		want []byte
	}{
		{half, le32(1, -2, 0.5, 65504, 1.0/(1<<24), float32(math.Copysign(0, -1)), inf, 0)},
		{brain, le32(1, -3, 0)},
		{full, le32(0.25, -7.5, 3e-30, 0)},
	} {
		if got := at(c.key, len(c.want)/4); !bytes.Equal(got, c.want) {
			t.Errorf("%s: % x, want % x", c.key, got, c.want)
		}
	}

	raw, _ := os.ReadFile(filepath.Join(src, "model.safetensors"))
	sum := sha256.Sum256(raw)
	if m.SHA256 != hex.EncodeToString(sum[:]) || m.Layout != "huggingface" || m.Format != "safetensors" || m.Bytes != int64(len(raw)) {
		t.Errorf("installed %+v, want SHA-256 %x of %d bytes", m, sum, len(raw))
	}
	list, err := List(dir)
	if err != nil || len(list) != 1 || list[0].SHA256 != m.SHA256 || !list[0].Date.Equal(m.Date) || list[0].Source != m.Source {
		t.Errorf("List: %+v, %v; want %+v", list, err, m)
	}
	var mf manifest
	b, _ := os.ReadFile(filepath.Join(dir, segvol.ManifestFile))
	if err := json.Unmarshal(b, &mf); err != nil || len(mf.Keys) != len(ts)-len(tp.UnusedKeys) || mf.EncoderDepth != 12 {
		t.Errorf("manifest: %d keys, depth %d (%v)", len(mf.Keys), mf.EncoderDepth, err)
	}
	// The old text vectors belonged to another checkpoint; the user's own file stays.
	for n, want := range map[string]bool{segvol.TextIndexFile: false, "notes.txt": true} {
		if _, err := os.Stat(filepath.Join(dir, n)); (err == nil) != want {
			t.Errorf("%s present: %v, want %v", n, err == nil, want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".install-*")); len(left) > 0 {
		t.Errorf("staging left behind: %v", left)
	}
}

// A checkpoint with one key wrong is refused before anything is written,
// naming that key; the models folder stays as it was.
func TestInstallRefusesBadCheckpoint(t *testing.T) {
	for _, c := range []struct {
		name, want string
		prefix     string
		change     func(map[string]*installtest.Tensor)
	}{
		{"shape", "key module.mask_decoder.iou_token.weight has shape [1 512], SegVol's is [1 768]", "module.",
			func(ts map[string]*installtest.Tensor) { ts["mask_decoder.iou_token.weight"].Shape = []int64{1, 512} }},
		{"missing", "key model.prompt_encoder.mask_downscaling.0.bias is missing", "model.",
			func(ts map[string]*installtest.Tensor) { delete(ts, "prompt_encoder.mask_downscaling.0.bias") }},
		{"depth", "key model.image_encoder.blocks.12.norm1.bias is not SegVol's (these graphs have 12 encoder blocks)", "model.",
			func(ts map[string]*installtest.Tensor) {
				ts["image_encoder.blocks.12.norm1.bias"] = &installtest.Tensor{Dtype: "F32", Shape: []int64{768}}
			}},
		{"dtype", "key model.image_encoder.norm.bias is int32; the graphs need float32", "model.",
			func(ts map[string]*installtest.Tensor) { ts["image_encoder.norm.bias"].Dtype = "I32" }},
		{"partial tower", "key model.text_encoder.clip_text_model.text_model.encoder.layers.5.mlp.fc1.bias is missing", "model.",
			func(ts map[string]*installtest.Tensor) {
				delete(ts, "text_encoder.clip_text_model.text_model.encoder.layers.5.mlp.fc1.bias")
			}},
		{"no dim_align", "key module.text_encoder.dim_align.weight is missing", "module.",
			func(ts map[string]*installtest.Tensor) {
				for k := range ts {
					if strings.HasPrefix(k, "text_encoder.") {
						delete(ts, k)
					}
				}
			}},
		{"layout", "keys start neither all with 'model.'", "",
			func(map[string]*installtest.Tensor) {}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := installtest.Full(t, assets.Templates)
			c.change(ts)
			src := filepath.Join(t.TempDir(), "bad.safetensors")
			installtest.WriteSafetensors(t, src, c.prefix, ts)
			dir := oldInstall(t)
			before := snapshot(t, dir)
			_, err := Install(context.Background(), assets.Templates, src, dir, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
			sameFiles(t, before, snapshot(t, dir))
		})
	}
}

// The text graph follows the checkpoint: a checkpoint with the CLIP tower
// gets text_encoder.onnx and its weights (dim_align's too), one with only
// dim_align (the GitHub .pth) gets none and loses a previous install's, and
// a tower with a key missing is refused naming that key.
func TestInstallTextEncoder(t *testing.T) {
	tp, _ := readTemplates(assets.Templates)
	text := tp.Graphs[segvol.TextEncoderFile]
	if text.Optional == "" || text.Weights == nil || len(text.Initializers) < 190 {
		t.Fatalf("templates: text graph optional %q, weights %v, %d initializers", text.Optional, text.Weights, len(text.Initializers))
	}
	bias := "text_encoder.dim_align.bias" // [768], outside the tower's prefix
	ts := installtest.Full(t, assets.Templates)
	ts[bias].Data = le32(1.5, -2)
	src := filepath.Join(t.TempDir(), "pytorch_model.safetensors")
	installtest.WriteSafetensors(t, src, "model.", ts)
	dir := oldInstall(t)
	if _, err := Install(context.Background(), assets.Templates, src, dir, nil); err != nil {
		t.Fatal(err)
	}
	want, _ := fs.ReadFile(assets.Templates, segvol.TextEncoderFile)
	if got, err := os.ReadFile(filepath.Join(dir, segvol.TextEncoderFile)); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s is not the template (%v)", segvol.TextEncoderFile, err)
	}
	w, err := os.ReadFile(filepath.Join(dir, text.Weights.File))
	if err != nil || int64(len(w)) != text.Weights.Bytes {
		t.Fatalf("%s: %d bytes (%v), want %d", text.Weights.File, len(w), err, text.Weights.Bytes)
	}
	for _, in := range text.Initializers {
		if in.Key == bias && !bytes.Equal(w[in.Offset:in.Offset+12], le32(1.5, -2, 0)) {
			t.Errorf("%s in %s: % x", bias, text.Weights.File, w[in.Offset:in.Offset+12])
		}
	}

	// The same folder, then a checkpoint without the tower.
	for k := range ts {
		if strings.HasPrefix(k, text.Optional) {
			delete(ts, k)
		}
	}
	pth := filepath.Join(t.TempDir(), "SegVol_v1.safetensors")
	installtest.WriteSafetensors(t, pth, "module.", ts)
	if _, err := Install(context.Background(), assets.Templates, pth, dir, nil); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[string]bool{segvol.TextEncoderFile: false, text.Weights.File: false, segvol.DecoderFile: true, "weights.bin": true} {
		if _, err := os.Stat(filepath.Join(dir, n)); (err == nil) != want {
			t.Errorf("%s present: %v, want %v", n, err == nil, want)
		}
	}
	var mf manifest
	b, _ := os.ReadFile(filepath.Join(dir, segvol.ManifestFile))
	if err := json.Unmarshal(b, &mf); err != nil || mf.Files[segvol.TextEncoderFile] != nil || slices.Contains(mf.Keys, "module."+bias) {
		t.Errorf("manifest of the checkpoint without the tower lists its text graph or dim_align (%v)", err)
	}
}

// Cancelling half-way leaves the models folder as it was, and a folder that
// did not exist is not left behind.
func TestInstallCancelled(t *testing.T) {
	src := filepath.Join(t.TempDir(), "SegVol_v1.safetensors")
	installtest.WriteSafetensors(t, src, "module.", installtest.Full(t, assets.Templates))
	for _, fresh := range []bool{false, true} {
		dir := oldInstall(t)
		if fresh {
			dir = filepath.Join(t.TempDir(), "models")
		}
		before := snapshot(t, dir)
		ctx, cancel := context.WithCancel(context.Background())
		var at int64
		_, err := Install(ctx, assets.Templates, src, dir, func(done, total int64) {
			if done > total/3 && at == 0 {
				at = done
				cancel()
			}
		})
		cancel()
		if !errors.Is(err, context.Canceled) || at == 0 {
			t.Fatalf("fresh %v: error %v after %d bytes, want context.Canceled", fresh, err, at)
		}
		_, statErr := os.Stat(dir)
		if fresh && !errors.Is(statErr, fs.ErrNotExist) {
			t.Errorf("the models folder %s was left behind", dir)
		}
		if !fresh {
			sameFiles(t, before, snapshot(t, dir))
		}
	}
}

// halfToFloat is exact on all 65,536 half values (NaN payloads kept quiet or
// not as given), against the definition of binary16.
func TestHalfToFloat(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		s, e, f := h>>15, (h>>10)&0x1f, float64(h&0x3ff)
		var want float64
		switch {
		case e == 0x1f && f == 0:
			want = math.Inf(1)
		case e == 0x1f:
			want = math.NaN()
		case e == 0:
			want = math.Ldexp(f/1024, -14)
		default:
			want = math.Ldexp(1+f/1024, e-15)
		}
		if s == 1 {
			want = -want
		}
		got := halfToFloat(uint16(h))
		if math.IsNaN(want) != math.IsNaN(float64(got)) || (!math.IsNaN(want) && (float64(got) != want || math.Signbit(float64(got)) != (s == 1))) {
			t.Fatalf("half %#04x: %v, want %v", h, got, want)
		}
	}
}

// The size every install message quotes is the checkpoint's: the float32
// tensors SegVol's graphs and unused keys name, to the MB.
func TestDownloadMBIsTheCheckpoints(t *testing.T) {
	var n int64
	for _, ts := range installtest.Full(t, assets.Templates) {
		m := int64(4)
		for _, d := range ts.Shape {
			m *= d
		}
		n += m
	}
	if got := int(math.Round(float64(n) / 1e6)); got != DownloadMB {
		t.Fatalf("the checkpoint's tensors take %d MB (%d bytes); DownloadMB says %d", got, n, DownloadMB)
	}
}
