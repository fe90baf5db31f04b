package app

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/segvolapp/segvol/viewer/labels"
)

// TestOpenAsksAboutUnsavedEdits: File > Recent studies (as File > Open,
// Open folder, a drop and Open from PACS, through openOther) asks before a
// study with unsaved segmentation changes is replaced: Cancel keeps it,
// edits and all; "Open without saving" opens the other study and drops the
// old one's autosave (its loss was agreed to: no crash's to offer back).
// A user lost a brush stroke to File > Open, which asked nothing.
func TestOpenAsksAboutUnsavedEdits(t *testing.T) {
	rec := t.TempDir()
	loaded := make(chan error, 1)
	v := newViewer(t, newTestApp(t), Options{OnLoaded: func(err error) { loaded <- err }, RecoveryDir: rec, AutosaveInterval: -1})
	abs, _ := filepath.Abs(samplePath)
	other := filepath.Join(t.TempDir(), "other.nii.gz")
	if err := os.Symlink(abs, other); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{other, samplePath} {
		v.Open(p, "")
		if err := await(t, p, loaded); err != nil {
			t.Fatal(err)
		}
	}
	e := v.Session().Edit()
	if _, err := e.AddSegment("spleen"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Autosave(); err != nil {
		t.Fatal(err)
	}
	var recent func()
	for _, it := range v.recentMenu.ChildMenu.Items {
		if it.Label == other {
			recent = it.Action
		}
	}
	if recent == nil {
		t.Fatalf("%s is not among the recent studies", other)
	}

	recent()
	if v.closing == nil || v.loading != nil {
		t.Fatal("Recent studies opened another study over unsaved changes without asking")
	}
	test.Tap(findButton(t, v.win.Canvas().Overlays().Top(), "Cancel"))
	if v.loading != nil || v.Session().Edit() != e || !e.Dirty() {
		t.Fatal("Cancel did not keep the study and its unsaved changes")
	}

	recent()
	test.Tap(findButton(t, v.win.Canvas().Overlays().Top(), "Open without saving"))
	if err := await(t, "the other study", loaded); err != nil {
		t.Fatal(err)
	}
	if src := v.Session().Volume.Meta.Source; !strings.HasSuffix(src, "other.nii.gz") {
		t.Fatalf("%s is open", src)
	}
	if recs, _ := labels.FindRecovery(rec); len(recs) != 0 {
		t.Errorf("the discarded work is still kept for recovery: %+v", recs)
	}
}

// TestRecoveryOfferedWhileLoading: as segvol-viewer starts, the study's
// load is under way when OfferRecovery is called; the offer must still be
// there once the study is in (hiding the loading dialog took it down with
// it, and no user ever saw it).
func TestRecoveryOfferedWhileLoading(t *testing.T) {
	rec := t.TempDir()
	crashed, err := openViewer(t, Options{RecoveryDir: rec, AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crashed.Session().Edit().AddSegment("spleen"); err != nil {
		t.Fatal(err)
	}
	if _, err := crashed.Autosave(); err != nil {
		t.Fatal(err)
	}

	loaded := make(chan error, 1)
	v := newViewer(t, newTestApp(t), Options{OnLoaded: func(err error) { loaded <- err }, RecoveryDir: rec, AutosaveInterval: -1})
	v.Open(samplePath, "")
	v.OfferRecovery()
	if err := await(t, "the study", loaded); err != nil {
		t.Fatal(err)
	}
	if findButton(t, v.win.Canvas().Overlays().Top(), "Restore") == nil {
		t.Fatal("no recovery offer once the study was in")
	}
}

// TestOpenSegmentationAsksAboutUnsavedEdits: File > Open segmentation
// replaces the segmentation on screen (not undoably), so with unsaved
// changes it asks first; Cancel keeps them, "Open without saving" opens
// the file.
func TestOpenSegmentationAsksAboutUnsavedEdits(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	e := v.Session().Edit()
	if _, err := e.AddSegment("lesion"); err != nil {
		t.Fatal(err)
	}
	v.openLabelsAsked(sampleSeg)
	if v.closing == nil {
		t.Fatal("Open segmentation replaced unsaved work without asking")
	}
	test.Tap(findButton(t, v.win.Canvas().Overlays().Top(), "Cancel"))
	if segs := e.Labels().Segments(); len(segs) != 1 || segs[0].Name != "lesion" || !e.Dirty() {
		t.Fatalf("after Cancel: %+v", segs)
	}
	v.openLabelsAsked(sampleSeg)
	test.Tap(findButton(t, v.win.Canvas().Overlays().Top(), "Open without saving"))
	if n := len(e.Labels().Segments()); n != 41 {
		t.Errorf("the sample's segmentation opened with %d segments", n)
	}
}

// TestSaveLeavesReadOnlyFile: Save of a segmentation opened from a
// read-only file asks for another name instead of replacing it (Ctrl+S
// replaced it, and made it writable); writing to it is refused in words.
func TestSaveLeavesReadOnlyFile(t *testing.T) {
	dir := t.TempDir()
	seg := filepath.Join(dir, "seg.nii.gz")
	data, err := os.ReadFile(sampleSeg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seg, data, 0o444); err != nil {
		t.Fatal(err)
	}
	v, err := openViewer(t, Options{Labels: seg, RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Session().Edit().AddSegment("lesion"); err != nil {
		t.Fatal(err)
	}
	v.save(nil)
	after, err := os.ReadFile(seg)
	st, _ := os.Stat(seg)
	if err != nil || !bytes.Equal(after, data) || st.Mode().Perm() != 0o444 {
		t.Fatalf("the read-only file was changed (mode %v)", st.Mode().Perm())
	}
	if !strings.Contains(v.loadInfo, "read-only") || v.win.Canvas().Overlays().Top() == nil {
		t.Errorf("no save dialog, status %q", v.loadInfo)
	}
	if err := v.SaveLabels(seg); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("saving over it: %v", err)
	}
}

// TestUndoWaitsForDialog: Ctrl+Z (and Ctrl+Y) do nothing while a dialog
// asks something; behind "Delete segment?" Ctrl+Z undid the segment's
// stroke.
func TestUndoWaitsForDialog(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	e := v.Session().Edit()
	if _, err := e.AddSegment("lesion"); err != nil {
		t.Fatal(err)
	}
	v.showError(errors.New("a question"))
	v.Undo()
	if segs := e.Labels().Segments(); len(segs) != 1 {
		t.Fatalf("Ctrl+Z behind a dialog undid: %+v", segs)
	}
	v.win.Canvas().Overlays().Top().Hide()
	name, _ := e.Labels().CanUndo()
	v.Undo()
	if segs := e.Labels().Segments(); len(segs) != 0 {
		t.Fatalf("Ctrl+Z with the dialog closed: %+v", segs)
	}
	// The status says what was undone, not the note of the step before.
	if v.loadInfo != "undone: "+name || name == "" {
		t.Errorf("after undoing %q the status says %q", name, v.loadInfo)
	}
	v.Redo()
	if v.loadInfo != "redone: "+name || len(e.Labels().Segments()) != 1 {
		t.Errorf("after redoing %q the status says %q", name, v.loadInfo)
	}
}

// TestTitleMarksUnsavedAndQuitAsks: the window's title carries a "*"
// while the segmentation has unsaved changes, not after a save; File >
// Quit (Ctrl+Q, which did nothing) asks about them as closing does.
func TestTitleMarksUnsavedAndQuitAsks(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	if title := v.win.Title(); strings.HasPrefix(title, "*") || !strings.Contains(title, "SegVol viewer") {
		t.Fatalf("title %q before any edit", title)
	}
	if _, err := v.Session().Edit().AddSegment("lesion"); err != nil {
		t.Fatal(err)
	}
	if title := v.win.Title(); !strings.HasPrefix(title, "*") {
		t.Errorf("title %q with unsaved changes", title)
	}
	var quit *fyne.MenuItem
	for _, it := range v.win.MainMenu().Items[0].Items {
		if it.IsQuit {
			quit = it
		}
	}
	if quit == nil {
		t.Fatal("no File > Quit")
	}
	sc, ok := quit.Shortcut.(*desktop.CustomShortcut)
	if !ok || sc.KeyName != fyne.KeyQ || sc.Modifier != fyne.KeyModifierShortcutDefault {
		t.Fatalf("File > Quit %+v", quit)
	}
	quit.Action()
	if v.closing == nil {
		t.Fatal("Quit did not ask about the unsaved changes")
	}
	v.closing.Hide()
	if err := v.SaveLabels(filepath.Join(t.TempDir(), "seg.nii.gz")); err != nil {
		t.Fatal(err)
	}
	if title := v.win.Title(); strings.HasPrefix(title, "*") {
		t.Errorf("title %q after saving", title)
	}
}

// TestQuitAsksOnlyWhenWorkIsLost: a brush stroke undone back to the saved
// segmentation leaves nothing to lose, so closing asks nothing (it asked,
// and users learn to click through such questions); an AI result not yet
// accepted is work that closing loses, so it asks, with Cancel keeping it.
func TestQuitAsksOnlyWhenWorkIsLost(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	e := v.Session().Edit()
	seg, err := e.AddSegment("liver")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SaveLabels(filepath.Join(t.TempDir(), "seg")); err != nil {
		t.Fatal(err)
	}
	truth, err := labels.Load(sampleSeg, v.Session().Volume)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Labels().Apply(truth.Mask(5), seg, labels.Replace); err != nil {
		t.Fatal(err)
	}
	e.Undo()
	closed := false
	v.unsavedThen("Close", func() { closed = true })
	if !closed || v.closing != nil {
		t.Fatal("closing asked about a segmentation undone back to what was saved")
	}

	if err := e.SetPreview(truth.Mask(1)); err != nil {
		t.Fatal(err)
	}
	closed = false
	v.unsavedThen("Close", func() { closed = true })
	if closed || v.closing == nil {
		t.Fatal("closing dropped an AI result not accepted without asking")
	}
	test.Tap(findButton(t, v.win.Canvas().Overlays().Top(), "Cancel"))
	if closed || e.Preview() == nil {
		t.Fatal("Cancel did not keep the AI result")
	}
	v.unsavedThen("Close", func() { closed = true })
	test.Tap(findButton(t, v.win.Canvas().Overlays().Top(), "Close and drop it"))
	if !closed {
		t.Fatal("'Close and drop it' did not close")
	}
}
