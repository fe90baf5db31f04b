package segvol

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
)

// The models folder holds what models/segvol/export.py writes.
const (
	EncoderFile  = "image_encoder.onnx"
	PromptFile   = "prompt_encoder.onnx"
	DecoderFile  = "mask_decoder.onnx"
	ManifestFile = "manifest.json"
)

// DefaultDir is the user's models folder: $XDG_DATA_HOME/segvol/models
// (~/.local/share/segvol/models) on Linux, %APPDATA%\segvol\models on
// Windows, ~/Library/Application Support/segvol/models on macOS.
func DefaultDir() (string, error) {
	switch runtime.GOOS {
	case "windows", "darwin":
		base, err := os.UserConfigDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(base, "segvol", "models"), nil
	}
	if x := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "segvol", "models"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "share", "segvol", "models"), nil
}

// ErrNoModels is wrapped by the errors of a missing models folder or file.
var ErrNoModels = errors.New("SegVol model files not found")

// modelFiles checks dir and returns the paths of the three graphs; a
// manifest, when present, must agree with the window this package runs.
func modelFiles(dir string) ([3]string, error) {
	var paths [3]string
	where := fmt.Sprintf("export them with `python3 models/segvol/export.py --checkpoint PATH --out %s`", dir)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return paths, fmt.Errorf("%w: no models folder %s; %s", ErrNoModels, dir, where)
	}
	for x, name := range []string{EncoderFile, PromptFile, DecoderFile} {
		paths[x] = filepath.Join(dir, name)
		if _, err := os.Stat(paths[x]); err != nil {
			return paths, fmt.Errorf("%w: %s is missing; %s", ErrNoModels, paths[x], where)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return paths, nil
	}
	if err != nil {
		return paths, err
	}
	var m struct {
		Window []int `json:"window"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return paths, fmt.Errorf("%s: %v", filepath.Join(dir, ManifestFile), err)
	}
	if m.Window != nil && !slices.Equal(m.Window, Window[:]) {
		return paths, fmt.Errorf("%s: window %v, this version runs %v", filepath.Join(dir, ManifestFile), m.Window, Window)
	}
	return paths, nil
}

// loadTextIfPresent reads the text embeddings, or returns nil when the
// folder has neither file (the graphs work without them).
func loadTextIfPresent(dir string) (*TextEmbeddings, error) {
	_, e1 := os.Stat(filepath.Join(dir, TextIndexFile))
	_, e2 := os.Stat(filepath.Join(dir, TextVectorFile))
	if errors.Is(e1, os.ErrNotExist) && errors.Is(e2, os.ErrNotExist) {
		return nil, nil
	}
	return LoadText(dir)
}
