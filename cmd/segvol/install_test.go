package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tplfiles "github.com/segvolapp/segvol/assets/segvol"
	"github.com/segvolapp/segvol/infer/segvol/install"
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
	installtest.Hub(t, src, false)
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	models := filepath.Join(t.TempDir(), "models")
	st, out, errs := segvol(t, "models", "download", "--models", models)
	if st != 0 || !strings.Contains(out, "installed ") || !strings.Contains(errs, "downloading model.safetensors 100%") {
		t.Fatalf("download: status %d\n%s\n%s", st, out, errs)
	}
	if _, err := os.Stat(filepath.Join(models, "weights.bin")); err != nil {
		t.Error(err)
	}
	installed, err := install.List(models)
	if err != nil || len(installed) != 1 {
		t.Fatalf("installed: %v, %v", installed, err)
	}
	if want := fileSHA256(t, filepath.Join(src, "model.safetensors")); installed[0].SHA256 != want {
		t.Errorf("the installed checkpoint's SHA-256 is %s, the served one's %s", installed[0].SHA256, want)
	}
	// The download waited in the user's cache and went once installed.
	if left, _ := os.ReadDir(filepath.Join(cache, "segvol", "downloads")); len(left) != 0 {
		t.Errorf("the downloads folder still holds %s", left[0].Name())
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
