package app

import (
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/viewer/labels"
)

// copyTo copies files into dir (created), for a study in a folder of its own.
func copyTo(t *testing.T, dir string, files ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// shownFileDialog is the name entry and the confirm button of the file
// dialog on top of v's window.
func shownFileDialog(t *testing.T, v *Viewer) (*widget.Entry, *widget.Button) {
	t.Helper()
	name, confirm := v.shownFileDialog()
	if name == nil || confirm == nil {
		t.Fatal("no file dialog with a name entry and a confirm button shown")
	}
	return name, confirm
}

// The save dialogs start in the study's folder with <study>_seg.nii.gz (or
// <study>_seg.dcm for DICOM SEG, beside the series' folder), where they
// started in the last folder with segmentation.dcm; a typed absolute path
// is saved as typed (it was joined to the folder shown).
func TestSaveDialogsFollowTheStudy(t *testing.T) {
	studyDir := filepath.Join(t.TempDir(), "patient1")
	copyTo(t, studyDir, samplePath)
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, filepath.Join(studyDir, filepath.Base(samplePath)))
	if err != nil {
		t.Fatal(err)
	}
	e := v.Session().Edit()
	if _, err := e.AddSegment("liver"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Edit(func(m *labels.LabelMap, s uint8) (labels.Change, error) {
		return m.Paint(labels.Brush{RadiusMM: 10}, v.Session().Frame().Centre(), s)
	}); err != nil {
		t.Fatal(err)
	}

	v.saveDialog(nil)
	name, save := shownFileDialog(t, v)
	if name.Text != "example_ct_sm_seg.nii.gz" {
		t.Errorf("proposed name %q", name.Text)
	}
	test.Tap(save)
	if _, err := os.Stat(filepath.Join(studyDir, "example_ct_sm_seg.nii.gz")); err != nil {
		t.Fatalf("not saved in the study's folder: %v", err)
	}

	// A name without the extension gets it, and leaves no empty file.
	v.saveDialog(nil)
	name, save = shownFileDialog(t, v)
	name.SetText("plain")
	test.Tap(save)
	if _, err := os.Stat(filepath.Join(studyDir, "plain.nii.gz")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(studyDir, "plain")); err == nil {
		t.Error("an empty file plain was left beside plain.nii.gz")
	}

	elsewhere := filepath.Join(t.TempDir(), "typed.nii.gz")
	v.saveDialog(nil)
	name, save = shownFileDialog(t, v)
	name.SetText(elsewhere)
	test.Tap(save)
	if _, err := os.Stat(elsewhere); err != nil || v.files.path != elsewhere {
		t.Fatalf("typed absolute path: %v, saved to %q", err, v.files.path)
	}

	// A DICOM series in its folder: the SEG goes beside the folder.
	root := t.TempDir()
	series, _ := filepath.Glob(filepath.Join(dcmqiDir, "ct-3slice", "*.dcm"))
	copyTo(t, filepath.Join(root, "ct-3slice"), series...)
	v2, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, filepath.Join(root, "ct-3slice"))
	if err != nil {
		t.Fatal(err)
	}
	e = v2.Session().Edit()
	if _, err := e.AddSegment("liver"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Edit(func(m *labels.LabelMap, s uint8) (labels.Change, error) {
		return m.Paint(labels.Brush{RadiusMM: 10}, v2.Session().Frame().Centre(), s)
	}); err != nil {
		t.Fatal(err)
	}
	v2.exportSEGDialog()
	name, save = shownFileDialog(t, v2)
	if name.Text != "ct-3slice_seg.dcm" {
		t.Errorf("proposed SEG name %q", name.Text)
	}
	test.Tap(save)
	if _, err := os.Stat(filepath.Join(root, "ct-3slice_seg.dcm")); err != nil {
		t.Fatalf("SEG not beside the series' folder: %v", err)
	}
}

// The dialogs list the files of their kind: NIfTI, DICOM SEG (which often
// has no extension), and the ITK-SNAP label description.
func TestFileKinds(t *testing.T) {
	for _, c := range []struct {
		kind fileKind
		name string
		want bool
	}{
		{niftiFiles, "a_seg.NII.GZ", true},
		{niftiFiles, "a_seg.dcm", false},
		{dicomSEGFiles, "a_seg.dcm", true},
		{dicomSEGFiles, "IM000123", true},
		{dicomSEGFiles, "a.nii", false},
		{segmentationFiles, "a.txt", true},
		{segmentationFiles, "a.png", false},
	} {
		if got := c.kind.Matches(storage.NewFileURI("/d/" + c.name)); got != c.want {
			t.Errorf("%v lists %s: %v", c.kind, c.name, got)
		}
	}
}

// Ctrl+O opens a study from anywhere in the window, and File shows it.
func TestCtrlOOpensAStudy(t *testing.T) {
	v := newViewer(t, newTestApp(t), Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1})
	open := v.win.MainMenu().Items[0].Items[0]
	if open.Shortcut == nil || open.Shortcut.ShortcutName() != openShortcut.ShortcutName() {
		t.Errorf("File > %s shows shortcut %v", open.Label, open.Shortcut)
	}
	v.win.Canvas().(fyne.Shortcutable).TypedShortcut(&fyne.ShortcutCopy{}) // not ours: nothing opens
	if v.win.Canvas().Overlays().Top() != nil {
		t.Fatal("a dialog opened on Ctrl+C")
	}
	v.win.Canvas().(fyne.Shortcutable).TypedShortcut(openShortcut)
	if _, ok := v.win.Canvas().Overlays().Top().(*widget.PopUp); !ok {
		t.Fatal("Ctrl+O opened no dialog")
	}
}

// The sample opens from its copy in the user cache, where nobody looks for
// their work: files made from it default to the home folder.
func TestStudyInCacheSavesToHome(t *testing.T) {
	home, cache := t.TempDir(), t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CACHE_HOME", cache)
	dir := filepath.Join(cache, "segvol")
	copyTo(t, dir, samplePath)
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, filepath.Join(dir, filepath.Base(samplePath)))
	if err != nil {
		t.Fatal(err)
	}
	if got, name := v.studyFile("_seg.nii.gz"); got != home || name != "example_ct_sm_seg.nii.gz" {
		t.Errorf("default %s / %s, want the home folder %s", got, name, home)
	}
}
