package install

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/segvolapp/segvol/infer/segvol"
)

// Model is what manifest.json says of an installed checkpoint.
type Model struct {
	Dir    string    // the models folder
	Source string    // the checkpoint file or folder installed, absolute
	Layout string    // "huggingface" or "github"
	Format string    // "pytorch" or "safetensors"
	SHA256 string    // of the checkpoint's weights file (its shards one after the other)
	Bytes  int64     // their size
	Date   time.Time // when it was installed (or exported)
}

// manifest is manifest.json in the "segvol-models/1" format that
// models/segvol/export.py writes too; the installer adds the source's path,
// the date and the key list.
type manifest struct {
	Format       string                    `json:"format"`
	Model        string                    `json:"model"`
	Window       []int                     `json:"window"`
	Patch        []int                     `json:"patch"`
	EncoderDepth int                       `json:"encoder_depth"`
	Opset        int                       `json:"opset"`
	Installed    string                    `json:"installed,omitempty"`
	Checkpoint   manifestCheckpoint        `json:"checkpoint"`
	Templates    map[string]string         `json:"templates,omitempty"` // versions that made the graphs
	Keys         []string                  `json:"keys,omitempty"`
	Files        map[string]map[string]any `json:"files"`
}

type manifestCheckpoint struct {
	File   string `json:"file"`
	Path   string `json:"path,omitempty"`
	Layout string `json:"layout"`
	Format string `json:"format,omitempty"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes,omitempty"`
}

// writeManifest writes manifest.json into stage and returns the files of
// the install, the manifest last.
func writeManifest(stage string, tp *templates, graphs []string, m Model, copies map[string]*initializer) ([]string, error) {
	keys := make([]string, 0, len(copies))
	for k := range copies {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mf := manifest{
		Format:       "segvol-models/1",
		Model:        "SegVol (BAAI-DCAI), ViT-B 3D",
		Window:       tp.Window,
		Patch:        tp.Patch,
		EncoderDepth: tp.EncoderDepth,
		Opset:        tp.Opset,
		Installed:    m.Date.Format(time.RFC3339),
		Checkpoint: manifestCheckpoint{File: filepath.Base(m.Source), Path: m.Source, Layout: m.Layout,
			Format: m.Format, SHA256: m.SHA256, Bytes: m.Bytes},
		Templates: tp.Versions,
		Keys:      keys,
		Files:     map[string]map[string]any{},
	}
	for _, g := range graphs {
		mf.Files[g] = map[string]any{"inputs": tp.Graphs[g].Inputs, "outputs": tp.Graphs[g].Outputs}
	}
	names := append(tp.files(graphs), segvol.ManifestFile)
	for _, n := range names[:len(names)-1] {
		st, err := os.Stat(filepath.Join(stage, n))
		if err != nil {
			return nil, err
		}
		if mf.Files[n] == nil {
			mf.Files[n] = map[string]any{}
		}
		mf.Files[n]["bytes"] = st.Size()
	}
	raw, err := json.MarshalIndent(mf, "", " ")
	if err != nil {
		return nil, err
	}
	return names, os.WriteFile(filepath.Join(stage, segvol.ManifestFile), append(raw, '\n'), 0o644)
}

// errKept says that a failed swap could not put the previous files back
// and left them in the staging folder, which must then stay.
var errKept = errors.New("the previous files are kept")

// Text vectors export.py writes beside the graphs: they belong to the
// checkpoint they were computed from.
var textFiles = []string{segvol.TextIndexFile, segvol.TextVectorFile}

// swap moves the staged files into dir. The files they replace go into the
// staging folder first and come back if a rename fails, so that an error
// leaves the old set; only a crash within these few renames could leave a
// mixture. The stale files (graphs this install has none of) go too, and
// so do text vectors of a different checkpoint: they would answer text
// prompts for the old weights.
func swap(stage, dir string, names, stale []string, sha string) error {
	old := filepath.Join(stage, ".previous")
	if err := os.Mkdir(old, 0o755); err != nil {
		return err
	}
	replace := append(slices.Clone(names), stale...)
	if prev, err := List(dir); err != nil || len(prev) == 0 || prev[0].SHA256 != sha {
		replace = append(replace, textFiles...)
	}
	var moved, placed []string
	undo := func(err error) error {
		for _, n := range placed {
			os.Remove(filepath.Join(dir, n))
		}
		kept := false
		for _, n := range moved {
			kept = os.Rename(filepath.Join(old, n), filepath.Join(dir, n)) != nil || kept
		}
		if kept {
			return fmt.Errorf("%w; %w in %s", err, errKept, old)
		}
		return err
	}
	for _, n := range replace {
		err := os.Rename(filepath.Join(dir, n), filepath.Join(old, n))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return undo(err)
		}
		moved = append(moved, n)
	}
	for _, n := range names {
		if err := os.Rename(filepath.Join(stage, n), filepath.Join(dir, n)); err != nil {
			return undo(err)
		}
		placed = append(placed, n)
	}
	return nil
}

// List gives the model installed in modelsDir (none when it has no
// manifest), for `segvol models list`. A folder export.py wrote is listed
// too, dated by its manifest's modification time.
func List(modelsDir string) ([]Model, error) {
	path := filepath.Join(modelsDir, segvol.ManifestFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var mf manifest
	if err := json.Unmarshal(raw, &mf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m := Model{Dir: modelsDir, Source: mf.Checkpoint.Path, Layout: mf.Checkpoint.Layout, Format: mf.Checkpoint.Format,
		SHA256: mf.Checkpoint.SHA256, Bytes: mf.Checkpoint.Bytes}
	if m.Source == "" {
		m.Source = mf.Checkpoint.File
	}
	if m.Date, err = time.Parse(time.RFC3339, mf.Installed); err != nil {
		st, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		m.Date = st.ModTime().UTC()
	}
	return []Model{m}, nil
}
