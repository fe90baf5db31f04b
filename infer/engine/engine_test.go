package engine

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/segvolapp/segvol/infer/segvol"
)

func TestOpenChoosesAndFallsBack(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none")
	s, info, err := Open(Options{Backend: "auto", Models: missing})
	if err != nil || s.Name() != "classic" || !errors.Is(info.Fallback, segvol.ErrNoModels) || info.Models != missing {
		t.Fatalf("auto without models: %v %+v %v", s, info, err)
	}
	if _, _, err := Open(Options{Backend: "segvol", Models: missing}); !errors.Is(err, segvol.ErrNoModels) {
		t.Errorf("segvol without models: %v", err)
	}
	if s, info, err := Open(Options{Backend: "classic"}); err != nil || s.Name() != "classic" || info.Fallback != nil || info.Device != "CPU" {
		t.Errorf("classic: %v %+v %v", s, info, err)
	}
	if _, _, err := Open(Options{Backend: "tensorflow"}); !errors.Is(err, ErrUnknownBackend) {
		t.Errorf("unknown backend: %v", err)
	}
}
