package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tplfiles "github.com/segvolapp/segvol/assets/segvol"
	"github.com/segvolapp/segvol/infer/segvol/install/installtest"
)

// TestModelsInstallAndList installs a full-size checkpoint folder with the
// CLI and lists it; a folder that is no checkpoint is refused and leaves
// nothing behind.
func TestModelsInstallAndList(t *testing.T) {
	src := installtest.Checkpoint(t, tplfiles.Templates, t.TempDir())
	models := filepath.Join(t.TempDir(), "models")
	st, out, errs := segvol(t, "models", "install", src, "--models", models)
	if st != 0 || !strings.Contains(out, "installed "+src) || !strings.Contains(errs, "installing 100%") {
		t.Fatalf("install: status %d\n%s\n%s", st, out, errs)
	}
	for _, f := range []string{"image_encoder.onnx", "prompt_encoder.onnx", "mask_decoder.onnx", "weights.bin", "manifest.json"} {
		if _, err := os.Stat(filepath.Join(models, f)); err != nil {
			t.Error(err)
		}
	}
	st, out, _ = segvol(t, "models", "list", "--models", models)
	if st != 0 || !strings.Contains(out, "source  "+src) || !strings.Contains(out, "sha256  ") {
		t.Errorf("list: status %d\n%s", st, out)
	}
	empty := filepath.Join(t.TempDir(), "models")
	if st, _, errs := segvol(t, "models", "install", t.TempDir(), "--models", empty); st == 0 || errs == "" {
		t.Errorf("an empty folder installed: status %d, %q", st, errs)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("a refused install left %d files", len(entries))
	}
}

// TestModelsDownload downloads from a local server that answers as the
// hub does (listing, resolve URLs with the size and SHA-256 headers) and
// installs what it got; no test reaches the network.
func TestModelsDownload(t *testing.T) {
	src := installtest.Checkpoint(t, tplfiles.Templates, t.TempDir())
	const commit = "0123456789abcdef0123456789abcdef01234567"
	type file struct {
		path string
		sha  string
		size int64
	}
	var files []file
	for _, name := range []string{"model.safetensors"} {
		st, err := os.Stat(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, file{name, fileSHA256(t, filepath.Join(src, name)), st.Size()})
	}
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/models/BAAI/SegVol/revision/main" {
			var sib []map[string]any
			for _, f := range files {
				sib = append(sib, map[string]any{"rfilename": f.path, "size": f.size, "lfs": map[string]any{"sha256": f.sha, "size": f.size}})
			}
			json.NewEncoder(w).Encode(map[string]any{"sha": commit, "siblings": sib})
			return
		}
		for _, f := range files {
			if r.URL.Path == "/BAAI/SegVol/resolve/"+commit+"/"+f.path {
				w.Header().Set("X-Repo-Commit", commit)
				w.Header().Set("X-Linked-Etag", `"`+f.sha+`"`)
				w.Header().Set("X-Linked-Size", fmt.Sprint(f.size))
				http.ServeFile(w, r, filepath.Join(src, f.path))
				return
			}
		}
		http.NotFound(w, r)
	}))
	defer hub.Close()
	t.Setenv("HF_ENDPOINT", hub.URL)
	models := filepath.Join(t.TempDir(), "models")
	st, out, errs := segvol(t, "models", "download", "--models", models)
	if st != 0 || !strings.Contains(out, "installed ") || !strings.Contains(errs, "downloading model.safetensors 100%") {
		t.Fatalf("download: status %d\n%s\n%s", st, out, errs)
	}
	if _, err := os.Stat(filepath.Join(models, "weights.bin")); err != nil {
		t.Error(err)
	}
	if got := fileSHA256(t, filepath.Join(models, "downloads", "BAAI-SegVol@"+commit, "model.safetensors")); got != files[0].sha {
		t.Errorf("the downloaded checkpoint's SHA-256 is %s, the served one's %s", got, files[0].sha)
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
