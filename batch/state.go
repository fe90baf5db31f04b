package batch

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/segvolapp/segvol/internal/atomicfile"
)

// StateFile (DIR/batch.json) records which manifest DIR holds the outputs
// of, so that `segvol batch status|collect DIR` need only the folder.
const StateFile = "batch.json"

// State is what StateFile holds.
type State struct {
	Manifest string `json:"manifest"`
	// Shards, Job and Collect (the job that merges results.csv when the
	// array ends) are those of the last Slurm submission, if any.
	Shards  int    `json:"shards,omitempty"`
	Job     string `json:"job,omitempty"`
	Collect string `json:"collect,omitempty"`
}

func writeState(dir, manifest string) error {
	st, err := ReadState(dir)
	if err == nil && st.Manifest == manifest {
		return nil // a resumed run: the state is already right
	}
	return saveState(dir, State{Manifest: manifest})
}

func saveState(dir string, st State) error {
	return atomicfile.Write(filepath.Join(dir, StateFile), func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(st)
	})
}

// ReadState reads DIR/batch.json.
func ReadState(dir string) (State, error) {
	var st State
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return st, fmt.Errorf("%s is not a batch output folder: %w", dir, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	return st, nil
}
