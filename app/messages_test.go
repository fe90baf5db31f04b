package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/infer/segvol/install"
	"github.com/segvolapp/segvol/viewer/dicom"
)

// The series picker counts in the plural only past one image.
func TestSeriesLabelCountsImages(t *testing.T) {
	sc, err := dicom.Scan(t.Context(), filepath.Join(dcmqiDir, "ct-3slice"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sc.Select("")
	if err != nil {
		t.Fatal(err)
	}
	if got := seriesLabel(0, s); !strings.HasSuffix(got, ", 3 images") {
		t.Errorf("three slices: %q", got)
	}
	one := *s
	one.Images = 1
	if got := seriesLabel(0, &one); !strings.HasSuffix(got, ", 1 image") {
		t.Errorf("one slice: %q", got)
	}
}

// Help > Installing SegVol and the install dialog quote one size, the
// checkpoint's (install.DownloadMB, which a test there sums from the tensors).
func TestInstallTextsQuoteOneSize(t *testing.T) {
	v := newViewer(t, newTestApp(t), Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1})
	want := fmt.Sprintf("about %d MB", install.DownloadMB)
	v.installModelDialog()
	dialogText := shownText(v)
	v.win.Canvas().Overlays().Top().Hide()
	for what, text := range map[string]string{"Help > Installing SegVol": installText("/models"), "the install dialog": dialogText} {
		if !strings.Contains(text, want) {
			t.Errorf("%s does not say %q:\n%s", what, want, text)
		}
		if n := strings.Count(text, " MB"); n != 1 {
			t.Errorf("%s quotes %d sizes:\n%s", what, n, text)
		}
	}
}

// Enter and Esc close an error or information box, as its OK button does;
// other keys leave it up.
func TestMessageBoxesCloseOnEnterAndEsc(t *testing.T) {
	v := newViewer(t, newTestApp(t), Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1})
	for _, key := range []fyne.KeyName{fyne.KeyReturn, fyne.KeyEnter, fyne.KeyEscape} {
		for _, show := range []func(){
			func() { v.showError(errors.New("it failed")) },
			func() { v.showInfo("Note", "it is so") },
		} {
			show()
			if v.win.Canvas().Overlays().Top() == nil {
				t.Fatal("no message box shown")
			}
			v.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyA})
			if v.win.Canvas().Overlays().Top() == nil {
				t.Fatal("the A key closed the message box")
			}
			v.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: key})
			if top := v.win.Canvas().Overlays().Top(); top != nil {
				t.Fatalf("%s left the message box up", key)
			}
		}
	}
	if len(v.messages) != 0 {
		t.Errorf("%d closed message boxes are still remembered", len(v.messages))
	}
}

// Export statistics with no segment says there is nothing to export and
// asks for no file (it wrote a CSV of its header alone).
func TestExportStatisticsWithoutSegments(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	v.exportStatisticsDialog()
	if name, _ := v.shownFileDialog(); name != nil {
		t.Fatal("a save dialog asks where to write statistics of no segment")
	}
	if got := shownText(v); !strings.Contains(got, "no segments to export") {
		t.Fatalf("shown: %q", got)
	}
}

// The file dialogs say what they open, where Fyne's said "Open File".
func TestFileDialogTitles(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	for title, show := range map[string]func(){
		"Open segmentation (NIfTI label map, DICOM SEG or ITK-SNAP label names)": v.openLabelsDialog,
		"Open study (NIfTI or DICOM file, DICOMDIR)":                             v.openFileDialog,
		"Open DICOM folder (a series, a study or a DICOMDIR's folder)":           v.openFolderDialog,
	} {
		show()
		got := shownText(v)
		v.win.Canvas().Overlays().Top().Hide()
		if !strings.Contains(got, title) || strings.Contains(got, "Open File") || strings.Contains(got, "Open Folder") {
			t.Errorf("want title %q, the dialog shows:\n%s", title, got)
		}
	}
}

// dialogFolder is the folder the file dialog on top shows: its last
// breadcrumb; files is its list of files.
func dialogFolder(t *testing.T, v *Viewer) (folder string, files interface{ Select(int) }, open *widget.Button) {
	t.Helper()
	pop, ok := v.win.Canvas().Overlays().Top().(*widget.PopUp)
	if !ok {
		t.Fatal("no dialog shown")
	}
	for _, o := range test.LaidOutObjects(pop.Content) { // into widgets: the breadcrumb is in a Split
		switch w := o.(type) {
		case *container.Scroll: // the breadcrumb scrolls sideways
			if w.Direction == container.ScrollHorizontalOnly {
				for _, o := range test.LaidOutObjects(w.Content) {
					if b, ok := o.(*widget.Button); ok {
						folder = b.Text
					}
				}
			}
		case *widget.Button:
			if w.Importance == widget.HighImportance {
				open = w
			}
		case *widget.GridWrap:
			files = w
		case *widget.List:
			files = w
		}
	}
	return folder, files, open
}

// After a study chosen in the Open dialog fails to open, the dialog starts
// again in that study's folder, not in the open study's (or Home).
func TestOpenDialogStartsWhereLastChosen(t *testing.T) {
	studyDir := filepath.Join(t.TempDir(), "patient1")
	copyTo(t, studyDir, samplePath)
	other := filepath.Join(studyDir, "aa-other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "broken.nii"), []byte("not a study"), 0o644); err != nil {
		t.Fatal(err)
	}
	loaded := make(chan error, 2)
	v := newViewer(t, newTestApp(t), Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1, OnLoaded: func(err error) { loaded <- err }})
	v.Open(filepath.Join(studyDir, filepath.Base(samplePath)), "")
	if err := await(t, "the study", loaded); err != nil {
		t.Fatal(err)
	}
	v.openFileDialog()
	folder, _, _ := dialogFolder(t, v)
	if folder != "patient1" {
		t.Fatalf("the first Open starts in %q, want the study's folder", folder)
	}
	_, files, open := dialogFolder(t, v)
	files.Select(1) // aa-other, after the parent folder
	open.OnTapped() // into it
	folder, files, open = dialogFolder(t, v)
	if folder != "aa-other" {
		t.Fatalf("choosing the folder shows %q", folder)
	}
	files.Select(1) // broken.nii
	open.OnTapped()
	if err := await(t, "the broken study", loaded); err == nil {
		t.Fatal("the broken file opened")
	}
	v.win.Canvas().Overlays().Top().Hide() // the error
	v.openFileDialog()
	if folder, _, _ := dialogFolder(t, v); folder != "aa-other" {
		t.Fatalf("after the failed open, Open starts in %q, want aa-other", folder)
	}
}

// The Window menu ticks the preset the window is, and none once a drag
// has taken the window away from every preset.
func TestWindowMenuTicksThePreset(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	ticked := func() []string {
		var on []string
		for _, it := range v.presetMenu.Items {
			if it.Checked {
				on = append(on, it.Label)
			}
		}
		return on
	}
	s := v.Session()
	if on := ticked(); len(on) != 1 || !strings.HasPrefix(on[0], s.Window().Name+" ") {
		t.Fatalf("at the start, window %q, ticked %q", s.Window().Name, on)
	}
	for _, it := range v.presetMenu.Items {
		if strings.HasPrefix(it.Label, "Lung") {
			it.Action()
		}
	}
	if on := ticked(); len(on) != 1 || !strings.HasPrefix(on[0], "Lung ") {
		t.Fatalf("after Lung, ticked %q", on)
	}
	w := s.Window()
	s.SetWindow(w.Center+37, w.Width) // a drag's window
	if on := ticked(); len(on) != 0 {
		t.Fatalf("after a drag away from the presets, ticked %q", on)
	}
}
