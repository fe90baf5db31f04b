package app

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/segvolapp/segvol/infer/engine"
	"github.com/segvolapp/segvol/infer/ort"
	"github.com/segvolapp/segvol/viewer/mpr"
)

// openViewer makes the main window on a test app and waits for Open.
func openViewer(t *testing.T, opt Options, path string) (*Viewer, error) {
	t.Helper()
	done := make(chan error, 1)
	opt.OnLoaded = func(err error) { done <- err }
	v := newViewer(t, newTestApp(t), opt)
	v.Open(path, "")
	return v, await(t, "the study", done)
}

// newViewer makes the main window on app a (from newTestApp) and waits
// until its engine is chosen. opt.OnEngine, when set, is still called.
func newViewer(t *testing.T, a fyne.App, opt Options) *Viewer {
	t.Helper()
	if opt.RecoveryDir == "" {
		// Never the user's: a test's autosave there was offered back to
		// the user as work lost in a crash.
		opt.RecoveryDir = t.TempDir()
	}
	chosen := make(chan struct{}, 1)
	then := opt.OnEngine
	opt.OnEngine = func(err error) {
		if then != nil {
			then(err)
		}
		chosen <- struct{}{}
	}
	v := New(a, opt)
	t.Cleanup(v.Window().Close)
	await(t, "the engine", chosen)
	return v
}

func TestViewerOpensSample(t *testing.T) {
	v, err := openViewer(t, Options{}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	s := v.Session()
	if s == nil || s.Volume.Dims != [3]int{122, 101, 30} {
		t.Fatalf("session %+v", s)
	}
	for _, o := range []mpr.Orientation{mpr.Axial, mpr.Coronal, mpr.Sagittal} {
		if v.View(o).session != s {
			t.Errorf("%v view does not show the study", o)
		}
	}
	abs, _ := filepath.Abs(samplePath)
	if r := v.recent(); len(r) != 1 || r[0] != abs {
		t.Errorf("recent studies %v", r)
	}
	if st := v.status.Text; !strings.Contains(st, "CPU renderer") || !strings.Contains(st, "Soft tissue") || !strings.Contains(st, "loaded in") {
		t.Errorf("status %q", st)
	}
	v.SetLayout(Layout2x2)
	if len(v.panes.Objects) != 4 || !strings.Contains(v.info.Text, "122 x 101 x 30 voxels (int16)") || !strings.Contains(v.info.Text, "Spacing            3 x 3 x 3 mm") {
		t.Errorf("2x2 layout: %d panes, info:\n%s", len(v.panes.Objects), v.info.Text)
	}
	// A double click maximises a view, another brings the layout back.
	test.DoubleTap(v.View(mpr.Coronal))
	if len(v.panes.Objects) != 1 || v.panes.Objects[0] != v.View(mpr.Coronal) {
		t.Fatalf("double click did not maximise: %d panes", len(v.panes.Objects))
	}
	test.DoubleTap(v.View(mpr.Coronal))
	if len(v.panes.Objects) != 4 {
		t.Fatalf("second double click left %d panes", len(v.panes.Objects))
	}
	// A window preset from the menu.
	for _, it := range v.presetMenu.Items {
		if strings.HasPrefix(it.Label, "Lung") {
			it.Action()
		}
	}
	if w := s.Window(); w.Center != -600 || !strings.Contains(v.status.Text, "Lung") {
		t.Fatalf("lung preset: %+v, status %q", w, v.status.Text)
	}
}

func TestViewerReportsBadFileAndStaysUp(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "broken.nii")
	if err := os.WriteFile(bad, []byte("not a study"), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := openViewer(t, Options{}, bad)
	if err == nil {
		t.Fatal("a broken file opened")
	}
	if v.Session() != nil || len(v.recent()) != 0 {
		t.Fatal("a failed load changed the session or the recent studies")
	}
	if !strings.Contains(err.Error(), "broken.nii") {
		t.Errorf("the error does not name the file: %v", err)
	}
}

func TestViewerFallsBackToCPU(t *testing.T) {
	v, err := openViewer(t, Options{}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.UseRenderer(nil, errors.New("no GLX visual"))
	if st := v.status.Text; !strings.Contains(st, "CPU renderer (OpenGL unavailable: no GLX visual)") {
		t.Fatalf("status %q", st)
	}
	v.KeepCPURenderer("OpenGL is llvmpipe, a software driver")
	if st := v.status.Text; !strings.Contains(st, "CPU renderer (OpenGL is llvmpipe, a software driver)") {
		t.Fatalf("status %q", st)
	}
}

// The ONNX Runtime library chosen in File > Settings is remembered and
// used at the next start, unless --ort-lib names another.
func TestORTLibraryPreference(t *testing.T) {
	a := newTestApp(t)
	a.Preferences().SetString(ortLibraryKey, "/opt/ort-gpu/libonnxruntime.so")
	reloaded := make(chan error, 1)
	v := newViewer(t, a, Options{OnEngine: func(err error) { reloaded <- err }})
	await(t, "the engine", reloaded)
	if got := v.engineOpts.Library; got != "/opt/ort-gpu/libonnxruntime.so" {
		t.Errorf("engine library %q, want the remembered one", got)
	}
	w := newViewer(t, a, Options{Engine: engine.Options{Library: "/tmp/other.so"}})
	if got := w.engineOpts.Library; got != "/tmp/other.so" {
		t.Errorf("engine library %q, want the one given", got)
	}
	v.applySettings("", ort.Auto, "")
	if got := a.Preferences().String(ortLibraryKey); got != "" {
		t.Errorf("preference %q after searching again", got)
	}
	// A changed setting loads the engine again.
	await(t, "the engine again", reloaded)
}
