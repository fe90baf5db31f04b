package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

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
	if st := v.EngineStatus(); !strings.Contains(st, "embedded default") {
		t.Fatalf("before the install: %q", st)
	}

	// The dialog as a user meets it: the path field has the focus, a typed
	// path and Return install.
	installVia := func(path string) {
		menuItem(v, "Segmentation", "Install SegVol model…").Action()
		typeLikeDriver(v.win.Canvas(), path)
		e, ok := v.win.Canvas().Focused().(*widget.Entry)
		if !ok || e.Text != path {
			t.Fatalf("the install dialog's path field is not focused or holds %v, not %q", e, path)
		}
		e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	}
	wrong := t.TempDir() // no checkpoint in it
	installVia(wrong)
	waitFor(t, "the refusal", func() bool { return strings.Contains(shownText(v), "SegVol was not installed (nothing changed)") })
	if entries, _ := os.ReadDir(models); len(entries) != 0 {
		t.Fatalf("a refused install left %d files in the models folder", len(entries))
	}

	// The failure is shown in the install dialog, which stays open with the
	// path that failed, focused and selected: a typo in a long path is
	// corrected, not typed again; typing replaces it.
	src := installtest.Checkpoint(t, tplfiles.Templates, t.TempDir())
	if n := len(v.win.Canvas().Overlays().List()); n != 1 {
		t.Fatalf("after a failed install %d dialogs are up, want the install dialog alone", n)
	}
	e, ok := v.win.Canvas().Focused().(*widget.Entry)
	if !ok || e.Text != wrong || e.SelectedText() != wrong {
		t.Fatalf("after a failure, the path field (focused: %v) holds %q, %q selected; want %q", ok, e.Text, e.SelectedText(), wrong)
	}
	typeLikeDriver(v.win.Canvas(), src)
	if e.Text != src {
		t.Fatalf("typing over the failed path gives %q, want %q", e.Text, src)
	}
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if err := await(t, "the engine after the install", engines); err != nil {
		t.Fatal(err)
	}
	if st := strings.Join(v.statusParts(), " "); !strings.Contains(st, "AI: segvol on CPU") || !strings.Contains(st, "SegVol installed from "+src) {
		t.Fatalf("after the install: %q", st)
	}
	if top := v.win.Canvas().Overlays().Top(); top != nil {
		t.Errorf("the install dialog is still up after the install succeeded")
	}
	// The installed folder has the text graph but no category list: the
	// structure names suggested are the list the program carries.
	if got := viewer.FilterCategories(v.categories, "left kid"); len(got) == 0 || got[0] != "left kidney" {
		t.Errorf("typing \"left kid\" offers %q (of %d names)", got, len(v.categories))
	}
}

// Download from Hugging Face shows its progress, and Cancel stops it with
// the models folder as it was and the engine unchanged.
func TestInstallDownloadCancelled(t *testing.T) {
	installtest.Hub(t, installtest.Checkpoint(t, tplfiles.Templates, t.TempDir()), true)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	models := filepath.Join(t.TempDir(), "models")
	engines := make(chan error, 4)
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1, Engine: engine.Options{Models: models, Device: "cpu"},
		OnEngine: func(err error) { engines <- err }}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	<-engines
	menuItem(v, "Segmentation", "Install SegVol model…").Action()
	findButton(t, v.win.Canvas().Overlays().Top(), "Download from Hugging Face").OnTapped()
	waitFor(t, "the download's progress", func() bool { return strings.Contains(shownText(v), "downloading model.safetensors: 1 of ") })
	findButton(t, v.win.Canvas().Overlays().Top(), "Cancel").OnTapped()
	waitFor(t, "the cancellation", func() bool { return strings.Contains(v.status.Text, "SegVol install cancelled: nothing changed") })
	files := 0
	filepath.WalkDir(models, func(_ string, d os.DirEntry, _ error) error {
		if d != nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files != 0 || !strings.Contains(v.EngineStatus(), "embedded default") {
		t.Errorf("after Cancel: %d files in the models folder, engine %q", files, v.EngineStatus())
	}
}
