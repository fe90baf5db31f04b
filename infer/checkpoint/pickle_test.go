package checkpoint

import (
	"archive/zip"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// writeTorchZip writes a checkpoint laid out as torch.save lays it out,
// with the given pickle and other entries (storages are "data/KEY").
func writeTorchZip(t *testing.T, path string, pkl []byte, entries map[string][]byte) {
	t.Helper()
	files := map[string][]byte{"archive/data.pkl": pkl, "archive/version": []byte("3\n")}
	for k, b := range entries {
		files["archive/"+k] = b
	}
	writeZip(t, path, files)
}

// writeZip writes files into an uncompressed zip, as torch does.
func writeZip(t *testing.T, path string, files map[string][]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z := zip.NewWriter(f)
	for name, b := range files {
		w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
}

// unicode is pickle's BINUNICODE of s.
func unicode(s string) string {
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(s)))
	return "X" + string(n[:]) + s
}

// tensorPickle is a state dict {"w": float32 tensor of 2 elements} as
// torch.save pickles it, with evil spliced in as the value of a second
// entry "x" (none when evil is empty).
func tensorPickle(evil string) []byte {
	if evil != "" {
		evil = unicode("x") + evil
	}
	return []byte("\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(" + unicode("w") +
		"ctorch._utils\n_rebuild_tensor_v2\nq\x02((" + unicode("storage") + "ctorch\nFloatStorage\n" +
		unicode("0") + unicode("cpu") + "K\x02tQK\x00K\x02\x85K\x01\x85\x89h\x00)Rtq\x03R" +
		evil + "u.")
}

// Checkpoints that would run a command under torch.load, written byte by
// byte: each is refused, naming what it asked for, and the command never
// runs.
func TestRefusesCode(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	cmd := unicode("touch " + marker)
	for _, tc := range []struct{ name, pkl, want string }{
		{"os.system", "\x80\x02cposix\nsystem\nq\x00" + cmd + "\x85R.", "posix.system"},
		{"eval", "\x80\x02c__builtin__\neval\n" + unicode("__import__('os').system('touch "+marker+"')") + "\x85R.", "__builtin__.eval"},
		{"stack global", "\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\nsubprocess\x8c\x05Popen\x93]" + cmd + "a\x85R.", "subprocess.Popen"},
		{"inst", "\x80\x02(" + cmd + "ios\nsystem\n.", "os.system"},
		{"after a tensor", string(tensorPickle("cposix\nsystem\n" + cmd + "\x85R")), "posix.system"},
		{"storage called", string(tensorPickle("ctorch\nFloatStorage\n)R")), "torch.FloatStorage"},
		{"newobj", "\x80\x02ccollections\nOrderedDict\n)\x81.", "OBJ/NEWOBJ"},
		{"build", string(tensorPickle("K\x01}b")), "setting the state of a int64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".pth")
			writeTorchZip(t, p, []byte(tc.pkl), map[string][]byte{"data/0": make([]byte, 8)})
			c, err := Open(p)
			if err == nil {
				c.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want a refusal naming %s", err, tc.want)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the command ran")
			}
		})
	}
	// The same state dict without the payload opens: the refusals are the
	// payload's.
	p := filepath.Join(dir, "plain.pth")
	writeTorchZip(t, p, tensorPickle(""), map[string][]byte{"data/0": make([]byte, 8)})
	c, err := Open(p)
	if err != nil {
		t.Fatalf("without the payload: %v", err)
	}
	c.Close()
	if len(c.Tensors) != 1 || c.Tensors[0].Name != "w" || c.Tensors[0].Bytes() != 8 {
		t.Errorf("without the payload: %+v, want w float32[2]", c.Tensors)
	}
}

// A checkpoint made by Python's own pickle, with an object whose
// __reduce__ returns (os.system, ("touch MARKER",)) inside the state dict,
// zipped as torch.save does, in protocol 2 (torch's) and the default
// protocol: Python's unpickler runs the command (so the file is a live
// exploit), Open refuses it and nothing runs.
func TestRefusesPythonExploit(t *testing.T) {
	if exec.Command(python, "-c", "").Run() != nil {
		t.Skip(python + " is not installed: TestRefusesCode covers the same bytes written by hand")
	}
	for _, proto := range []string{"2", "pickle.DEFAULT_PROTOCOL"} {
		dir := t.TempDir()
		marker := filepath.Join(dir, "ran")
		ckpt := filepath.Join(dir, "evil.pth")
		script := `
import os, pickle, sys, zipfile
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("archive/data.pkl", pickle.dumps({"model": {"w": Evil()}}, protocol=` + proto + `))
    z.writestr("archive/version", "3\n")
`
		if out, err := exec.Command(python, "-c", script, ckpt, marker).CombinedOutput(); err != nil {
			t.Fatalf("making the checkpoint: %v\n%s", err, out)
		}
		c, err := Open(ckpt)
		if err == nil {
			c.Close()
			t.Fatalf("protocol %s: opened", proto)
		}
		if !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), ".system") {
			t.Errorf("protocol %s: error %q, want a refusal naming os.system", proto, err)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("protocol %s: the command ran", proto)
		}
		load := `import pickle, sys, zipfile; pickle.loads(zipfile.ZipFile(sys.argv[1]).read("archive/data.pkl"))`
		if out, err := exec.Command(python, "-c", load, ckpt).CombinedOutput(); err != nil {
			t.Fatalf("control: %v\n%s", err, out)
		}
		if _, err := os.Stat(marker); err != nil {
			t.Errorf("protocol %s: Python's pickle did not run the command either, so the test proves nothing: %v", proto, err)
		}
	}
}

// Pickles from the internet: malformed ones are errors, never panics or
// runaway allocations. The seeds are the fixtures' pickles and the payloads
// above.
func FuzzUnpickle(f *testing.F) {
	for _, p := range []string{"testdata/github.pth", "testdata/hf_bin/pytorch_model-00001-of-00002.bin"} {
		z, err := zip.OpenReader(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range z.File {
			if strings.HasSuffix(e.Name, "data.pkl") {
				b, err := readEntry(e, maxPickle)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(b)
			}
		}
		z.Close()
	}
	f.Add(tensorPickle("cposix\nsystem\n)R"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := unpickle(b, func(id tuple) (any, error) { return &storage{key: "0", dtype: Float32, numel: 4}, nil })
		if err == nil {
			stateDict(v)
		}
	})
}
