package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

// python is Debian's interpreter, where python3-torch installs; a python3
// earlier on PATH (pyenv) may lack it.
const python = "/usr/bin/python3"

// expected is testdata/make_fixtures.py's expected.json: each tensor as
// torch has it, by its name without prefix.
type expected map[string]struct {
	DType string
	Shape []int64
	Hex   string
}

func loadExpected(t *testing.T, dir string) expected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

type layout struct{ path, prefix, format string }

// The layouts make_fixtures.py writes: the GitHub .pth, a single
// safetensors file, and Hugging Face folders sharded in both formats.
var layouts = []layout{
	{"github.pth", "module.", "pytorch"},
	{"model.safetensors", "model.", "safetensors"},
	{"hf_bin", "model.", "pytorch"},
	{"hf_st", "model.", "safetensors"},
}

// checkLayouts reads every layout in dir and compares each tensor bit for
// bit with what torch wrote in expected.json.
func checkLayouts(t *testing.T, dir string, layouts []layout) {
	want := loadExpected(t, dir)
	for _, l := range layouts {
		t.Run(l.path, func(t *testing.T) {
			c, err := Open(filepath.Join(dir, l.path))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.Format != l.format {
				t.Errorf("format %q, want %q", c.Format, l.format)
			}
			if len(c.Tensors) != len(want) {
				t.Errorf("%d tensors, want %d", len(c.Tensors), len(want))
			}
			for name, w := range want {
				tn, ok := c.Lookup(l.prefix + name)
				if !ok {
					t.Errorf("%s%s missing", l.prefix, name)
					continue
				}
				if tn.DType.String() != w.DType || !slices.Equal(tn.Shape, w.Shape) {
					t.Errorf("%s: %s%v, want %s%v", tn.Name, tn.DType, tn.Shape, w.DType, w.Shape)
				}
				data, _ := hex.DecodeString(w.Hex)
				if tn.Bytes() != int64(len(data)) {
					t.Errorf("%s: Bytes %d, want %d", tn.Name, tn.Bytes(), len(data))
				}
				r, err := c.Reader(tn)
				if err != nil {
					t.Errorf("%s: %v", tn.Name, err)
					continue
				}
				// Reads of every size, and what torch has, byte for byte.
				if err := iotest.TestReader(r, data); err != nil {
					t.Errorf("%s: %v", tn.Name, err)
				}
				checkCopy(t, c, tn, data)
			}
			checkEachInFileOrder(t, c)
		})
	}
}

// checkCopy copies a tensor, after a first short read, into a file (the
// kernel's copy where there is one) and into memory.
func checkCopy(t *testing.T, c *Checkpoint, tn Tensor, data []byte) {
	t.Helper()
	skip := min(3, len(data))
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	for _, w := range []io.Writer{f, &buf} {
		r, err := c.Reader(tn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r, make([]byte, skip)); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, r); err != nil {
			t.Fatalf("%s: copy to %T: %v", tn.Name, w, err)
		}
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data[skip:]) || !bytes.Equal(buf.Bytes(), data[skip:]) {
		t.Errorf("%s: copied into a file: %x, into memory: %x, want %x", tn.Name, got, buf.Bytes(), data[skip:])
	}
}

// checkEachInFileOrder checks that Each yields every tensor whole, in the
// order of the files and of the data within each.
func checkEachInFileOrder(t *testing.T, c *Checkpoint) {
	t.Helper()
	var names []string
	var prev *Tensor
	err := c.Each(func(tn Tensor, r io.Reader) error {
		b, err := io.ReadAll(r)
		if int64(len(b)) != tn.Bytes() {
			t.Errorf("Each: %s yields %d bytes, want %d", tn.Name, len(b), tn.Bytes())
		}
		if prev != nil && prev.data.file == tn.data.file && prev.data.base+prev.offset > tn.data.base+tn.offset {
			t.Errorf("Each: %s comes after %s but lies before it", tn.Name, prev.Name)
		}
		prev = &tn
		names = append(names, tn.Name)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != len(c.Tensors) {
		t.Errorf("Each yields %d tensors of %d", len(names), len(c.Tensors))
	}
}

// The fixtures made once by torch 1.13 (testdata/README.md), read on any
// machine.
func TestCommittedFixtures(t *testing.T) {
	checkLayouts(t, "testdata", layouts)
}

// A checkpoint saved by torch 2.11 (which adds byteorder, .format_version,
// .storage_alignment and .data/serialization_id to the zip) and the same
// tensors saved by the safetensors library 0.8's save_file, both made on
// the device machine by the script in testdata/README.md.
func TestTorch2AndSafetensorsLibrary(t *testing.T) {
	checkLayouts(t, "testdata/torch2", []layout{
		{"torch2.11.pth", "", "pytorch"},
		{"safetensors0.8.safetensors", "", "safetensors"},
	})
}

// Fresh checkpoints written by the torch installed here, with other values.
func TestAgainstTorch(t *testing.T) {
	if exec.Command(python, "-c", "import torch").Run() != nil {
		t.Skip("torch does not import in " + python + " (Debian: python3-torch; `make test-export` installs it): the committed fixtures stand in for this cross-check")
	}
	dir := t.TempDir()
	out, err := exec.Command(python, "testdata/make_fixtures.py", dir, "7").CombinedOutput()
	if err != nil {
		t.Fatalf("make_fixtures.py: %v\n%s", err, out)
	}
	checkLayouts(t, dir, layouts)
}

// A state dict's views: which are streamed from the file as they lie and
// which are gathered because their strides are not C order.
func TestViews(t *testing.T) {
	c, err := Open("testdata/github.pth")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for name, strided := range map[string]bool{
		"module.enc.weight": false, "module.ids_view": false, "module.scalar": false, "module.empty": false,
		"module.enc.weight_t": true, "module.expand": true, "module.chan_last": true,
	} {
		tn, ok := c.Lookup(name)
		if !ok {
			t.Fatalf("%s missing", name)
		}
		if (tn.strides != nil) != strided {
			t.Errorf("%s: strides %v, want gathered=%v", name, tn.strides, strided)
		}
	}
	v, _ := c.Lookup("module.ids_view")
	ids, _ := c.Lookup("module.ids")
	if v.data != ids.data || v.offset != ids.offset+2*8 {
		t.Errorf("ids_view: storage at %d from byte %d, want ids' storage from byte %d", v.data.base, v.offset, ids.offset+16)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	st, err := os.ReadFile("testdata/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nothing.pth"), "no such file"},
		{"empty folder", dir, "holds none of model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json: choose the checkpoint file itself (a .pth) or a Hugging Face model folder"},
		{"text", write("notes.txt", []byte("hello, world")), "neither a torch zip checkpoint nor safetensors"},
		{"legacy torch", write("old.pth", []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9}), "before 1.6"},
		{"safetensors cut short", write("short.safetensors", st[:len(st)-10]), "at bytes"},
		{"safetensors header too long", write("long.safetensors", append([]byte{0xff, 0xff, 0xff, 0, 0, 0, 0, 0}, st[8:]...)), "safetensors header of"},
		{"zip cut short", write("short.pth", mustRead(t, "testdata/github.pth")[:3000]), "zip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantOpenError(t, tc.path, tc.want)
		})
	}
}

// Torch checkpoints whose pickle is harmless but whose data do not fit it.
func TestTorchErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		pkl     []byte
		entries map[string][]byte
		want    string
	}{
		{"big-endian", tensorPickle(""), map[string][]byte{"data/0": make([]byte, 8), "byteorder": []byte("big")}, "only little-endian"},
		{"storage missing", tensorPickle(""), map[string][]byte{"data/1": make([]byte, 8)}, "storage 0 missing"},
		{"storage short", tensorPickle(""), map[string][]byte{"data/0": make([]byte, 4)}, "holds 4 bytes, not the 8"},
		{"view past storage", []byte(strings.Replace(string(tensorPickle("")), "K\x00K\x02\x85", "K\x01K\x02\x85", 1)),
			map[string][]byte{"data/0": make([]byte, 8)}, "reach past the 2 elements"},
		{"huge broadcast", []byte(strings.Replace(string(tensorPickle("")), "K\x02\x85K\x01\x85", "J\x00\x00\x00\x40\x85K\x00\x85", 1)),
			map[string][]byte{"data/0": make([]byte, 8)}, "more than the whole file"},
		{"not a dict", []byte("\x80\x02K\x01."), nil, "holds a int64, not a dict"},
		{"no data.pkl", nil, nil, "without data.pkl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".pth")
			if tc.pkl == nil {
				writeZip(t, p, map[string][]byte{"archive/version": []byte("3")})
			} else {
				writeTorchZip(t, p, tc.pkl, tc.entries)
			}
			wantOpenError(t, p, tc.want)
		})
	}
}

// Hugging Face folders whose index does not match their shards.
func TestShardErrors(t *testing.T) {
	for _, tc := range []struct{ name, index, want string }{
		{"outside", `{"weight_map": {"model.w": "../model-00001-of-00002.safetensors"}}`, "outside its folder"},
		{"wrong shard", `{"weight_map": {"model.enc.weight": "model-00002-of-00002.safetensors", "model.enc.bias": "model-00001-of-00002.safetensors"}}`, "but it is in model-00001"},
		{"absent", `{"weight_map": {"model.nothing": "model-00001-of-00002.safetensors"}}`, "which does not hold it"},
		{"empty", `{}`, "no weight_map"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"} {
				if err := os.WriteFile(filepath.Join(dir, f), mustRead(t, "testdata/hf_st/"+f), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(tc.index), 0o644); err != nil {
				t.Fatal(err)
			}
			wantOpenError(t, dir, tc.want)
		})
	}
}

// wantOpenError checks that Open refuses path with an error that says want.
func wantOpenError(t *testing.T, path, want string) {
	t.Helper()
	c, err := Open(path)
	if err == nil {
		c.Close()
		t.Fatal("opened")
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to say %q", err, want)
	}
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// torch stores its zip entries uncompressed; the same checkpoint re-zipped
// with deflate reads the same.
func TestDeflatedZip(t *testing.T) {
	dir := t.TempDir()
	z, err := zip.OpenReader("testdata/github.pth")
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	out, err := os.Create(filepath.Join(dir, "github.pth"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(out)
	for _, e := range z.File {
		b, err := readEntry(e, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.Name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := errors.Join(zw.Close(), out.Close()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "expected.json"), mustRead(t, "testdata/expected.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkLayouts(t, dir, layouts[:1])
}

// A safetensors header of 1408 bytes (0x580): its length starts with the byte that
// starts a pickle, and the file is still read as safetensors.
func TestSafetensorsHeaderLength(t *testing.T) {
	st := mustRead(t, "testdata/model.safetensors")
	hl := binary.LittleEndian.Uint64(st)
	if hl > 1408 {
		t.Fatalf("the fixture's header is %d bytes already", hl)
	}
	var b []byte
	b = binary.LittleEndian.AppendUint64(b, 1408)
	b = append(b, st[8:8+hl]...)
	b = append(b, bytes.Repeat([]byte(" "), int(1408-hl))...)
	b = append(b, st[8+hl:]...)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "expected.json"), mustRead(t, "testdata/expected.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkLayouts(t, dir, layouts[1:2])
}

// Damaged or crafted files, in either format: errors, never panics, and
// every tensor listed can be read whole.
func FuzzOpen(f *testing.F) {
	for _, p := range []string{"testdata/model.safetensors", "testdata/github.pth", "testdata/hf_bin/pytorch_model-00002-of-00002.bin"} {
		f.Add(mustRead(f, p))
	}
	// One file per fuzzing process, rewritten for each input (inputs run one
	// at a time in a process): a new temporary folder per input made the
	// target spend most of its time creating and removing folders.
	var once sync.Once
	var p string
	f.Cleanup(func() {
		if p != "" {
			os.Remove(p)
		}
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		once.Do(func() {
			tmp, err := os.CreateTemp("", "fuzzopen-*")
			if err != nil {
				t.Fatal(err)
			}
			tmp.Close()
			p = tmp.Name()
		})
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Open(p)
		if err != nil {
			return
		}
		defer c.Close()
		c.Each(func(tn Tensor, r io.Reader) error {
			n, err := io.Copy(io.Discard, r)
			if err == nil && n != tn.Bytes() {
				t.Errorf("%s: %d bytes of %d", tn.Name, n, tn.Bytes())
			}
			return nil
		})
	})
}

// Files names what a caller hashes: the file itself, or a folder's shards
// in name order (not the index, which only points at them).
func TestFiles(t *testing.T) {
	for path, want := range map[string][]string{
		"testdata/github.pth": {"testdata/github.pth"},
		"testdata/hf_st":      {"testdata/hf_st/model-00001-of-00002.safetensors", "testdata/hf_st/model-00002-of-00002.safetensors"},
	} {
		c, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Files(); !slices.Equal(got, want) {
			t.Errorf("%s: Files() = %v, want %v", path, got, want)
		}
		c.Close()
	}
}
