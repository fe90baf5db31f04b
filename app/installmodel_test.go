package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	clipfiles "github.com/segvolapp/segvol/assets/clip"
	tplfiles "github.com/segvolapp/segvol/assets/segvol"
	"github.com/segvolapp/segvol/infer/engine"
	"github.com/segvolapp/segvol/infer/segvol/install/installtest"
	"github.com/segvolapp/segvol/viewer"
)

// Segmentation > Install SegVol model: a checkpoint folder is installed into
// the models folder and the running app switches to SegVol, no restart;
// a folder that is no checkpoint changes nothing. The checkpoint has the
// CLIP tower, so the installed folder has the text graph, which needs the
// bundled tokenizer the viewer's main passes.
func TestInstallModelSwitchesEngine(t *testing.T) {
	models := filepath.Join(t.TempDir(), "models")
	engines := make(chan error, 4)
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1, Engine: engine.Options{Models: models, Device: "cpu", Tokenizer: string(clipfiles.TokenizerJSON)},
		OnEngine: func(err error) { engines <- err }}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	<-engines // the first engine, before the install: the embedded default
	if st := v.engineStatus(); !strings.Contains(st, "embedded default") {
		t.Fatalf("before the install: %q", st)
	}

	v.InstallModel(t.TempDir()) // no checkpoint in it
	waitFor(t, "the refusal", func() bool { return strings.Contains(shownText(v), "SegVol was not installed (nothing changed)") })
	if entries, _ := os.ReadDir(models); len(entries) != 0 {
		t.Fatalf("a refused install left %d files in the models folder", len(entries))
	}

	src := installtest.Checkpoint(t, tplfiles.Templates, t.TempDir())
	v.InstallModel(src)
	if err := await(t, "the engine after the install", engines); err != nil {
		t.Fatal(err)
	}
	if st := strings.Join(v.statusParts(), " "); !strings.Contains(st, "AI: segvol on CPU") || !strings.Contains(st, "SegVol installed from "+src) {
		t.Fatalf("after the install: %q", st)
	}
	// The installed folder has the text graph but no category list: the
	// structure names suggested are the list the program carries.
	if got := viewer.FilterCategories(v.categories, "left kid"); len(got) == 0 || got[0] != "left kidney" {
		t.Errorf("typing \"left kid\" offers %q (of %d names)", got, len(v.categories))
	}
}
