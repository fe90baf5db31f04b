package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/study"
)

// AutosaveInterval is how often unsaved work goes to the recovery folder.
const AutosaveInterval = time.Minute

// segFiles is where the segmentation was saved and autosaved.
type segFiles struct {
	path     string // last saved or opened label file; "" for none
	recovery string // this session's recovery record; "" before the first autosave
	stop     chan struct{}
}

// SaveLabels writes the segmentation to path (NIfTI, .nii.gz unless it
// ends in .nii, with the ITK-SNAP label file beside it).
func (v *Viewer) SaveLabels(path string) error {
	if v.session == nil {
		return errNoSession
	}
	path = viewer.LabelsPath(path)
	if readOnly(path) {
		return fmt.Errorf("%s is read-only: save under another name", path)
	}
	if err := v.session.Edit().SaveLabels(path); err != nil {
		return err
	}
	if err := v.session.Edit().SaveMeasurements(path); err != nil {
		return fmt.Errorf("segmentation saved, measurements not: %w", err)
	}
	v.files.path = path
	v.dropRecovery()
	v.updateTitle()
	note := "saved " + filepath.Base(path)
	if v.review != nil {
		switch id, err := v.review.saved(path); {
		case err != nil:
			return fmt.Errorf("segmentation saved, the batch's results.csv not updated: %w", err)
		case id != "":
			note += "; " + id + "'s rows of results.csv recomputed from it"
			v.review.corrected(id)
		}
	}
	v.setStatusNote(note)
	return nil
}

// nItems is n and the noun, one or many ("1 segment", "41 segments").
func nItems(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// OpenLabels loads a segmentation onto the open study, replacing the
// one shown: NIfTI (with the label description beside it) or DICOM SEG.
func (v *Viewer) OpenLabels(path string) error {
	if v.session == nil {
		return errNoSession
	}
	if isDescription(path) {
		return v.openDescription(path)
	}
	m, note, err := v.session.LoadLabelFile(path)
	if err != nil {
		return err
	}
	if err := v.session.Edit().SetLabels(m); err != nil {
		return err
	}
	msg := fmt.Sprintf("opened %s: %s", filepath.Base(path), nItems(len(m.Segments()), "segment", "segments"))
	if note != "" {
		msg += " (" + note + ")"
	}
	// Save writes NIfTI: it must not overwrite the DICOM SEG it came from.
	v.files.path = ""
	if study.IsNIfTI(path) {
		v.files.path = path
	}
	// The segmentation is open whatever its measurements file holds.
	switch skipped, err := v.session.Edit().LoadMeasurements(path); {
	case err != nil:
		msg += "; measurements not read: " + err.Error()
	case len(v.session.Edit().Measurements()) > 0:
		msg += ", " + nItems(len(v.session.Edit().Measurements()), "measurement", "measurements")
		if skipped > 0 {
			msg += fmt.Sprintf(" (%d Slicer markups of other kinds skipped)", skipped)
		}
	}
	v.setStatusNote(msg)
	return nil
}

// isDescription reports whether path names an ITK-SNAP label description
// (text, so its name is all there is to tell it by).
func isDescription(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".txt" || ext == ".label"
}

// openDescription applies a label description file's names and colours to
// the segmentation shown (one undo step), as ITK-SNAP's Import Label
// Descriptions.
func (v *Viewer) openDescription(path string) error {
	segs, err := labels.ReadDescription(path)
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		return fmt.Errorf("%s lists no labels", filepath.Base(path))
	}
	v.session.Edit().Do(func(m *labels.LabelMap) error {
		m.Describe(segs)
		return nil
	})
	v.setStatusNote(fmt.Sprintf("named and coloured %d labels from %s", len(segs), filepath.Base(path)))
	return nil
}

// saveDialog asks where to save the segmentation as NIfTI: the file it
// came from, or <study>_seg.nii.gz in the study's folder.
func (v *Viewer) saveDialog(then func()) {
	if v.session == nil {
		return
	}
	dir, name := v.studyFile("_seg.nii.gz")
	if v.files.path != "" {
		dir, name = filepath.Dir(v.files.path), filepath.Base(v.files.path)
	}
	v.saveFile("Save segmentation (NIfTI)", dir, name, niftiFiles, func(path string) {
		if err := v.SaveLabels(path); err != nil {
			v.showError(err)
			return
		}
		if then != nil {
			then()
		}
	})
}

// save writes to the file the segmentation came from, or asks for one:
// also when that file is read-only (writing a new file and renaming it
// over the old one would have replaced it all the same).
func (v *Viewer) save(then func()) {
	if v.files.path == "" {
		v.saveDialog(then)
		return
	}
	if readOnly(v.files.path) {
		v.setStatusNote(filepath.Base(v.files.path) + " is read-only: save under another name")
		v.saveDialog(then)
		return
	}
	if err := v.SaveLabels(v.files.path); err != nil {
		v.showError(err)
		return
	}
	if then != nil {
		then()
	}
}

// readOnly reports whether path exists without write permission for
// anyone (chmod a-w; on Windows the read-only attribute).
func readOnly(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().Perm()&0o222 == 0
}

func (v *Viewer) openLabelsDialog() {
	if v.session == nil {
		return
	}
	dir, _ := v.studyFile("")
	if v.files.path != "" {
		dir = filepath.Dir(v.files.path)
	}
	v.pickFile("Open segmentation (NIfTI label map, DICOM SEG or ITK-SNAP label names)", dir, segmentationFiles, v.openLabelsAsked)
}

// openLabelsAsked is File > Open segmentation's: the file replaces the
// segmentation on screen, not undoably, so it asks first when that has
// unsaved changes (a user's strokes and renames went without a word).
func (v *Viewer) openLabelsAsked(path string) {
	v.unsavedThen("Open", func() {
		old := v.files.recovery
		if err := v.OpenLabels(path); err != nil {
			v.showError(err)
			return
		}
		if old != "" && old == v.files.recovery {
			v.dropRecovery() // the replaced work's: its loss was agreed to
		}
	})
}

func (v *Viewer) exportSEGDialog() {
	if v.session == nil {
		return
	}
	if v.session.Series() == nil {
		v.showError(fmt.Errorf("DICOM SEG export needs a study opened from DICOM; save as NIfTI instead"))
		return
	}
	dir, name := v.studyFile("_seg.dcm")
	v.saveFile("Export DICOM SEG", dir, name, dicomSEGFiles, func(path string) {
		if err := v.session.ExportSEG(path); err != nil {
			v.showError(err)
			return
		}
		v.setStatusNote("exported " + filepath.Base(path))
	})
}

// startAutosave writes unsaved work to the recovery folder every interval
// until the window closes; the write itself runs off the UI goroutine.
func (v *Viewer) startAutosave(interval time.Duration) {
	v.files.stop = make(chan struct{})
	stop := v.files.stop
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			var m *labels.LabelMap
			fyne.DoAndWait(func() {
				switch {
				case v.session != nil && v.session.Edit().Dirty():
					m = v.session.Edit().Labels()
				case v.files.recovery != "":
					// Undone back to what was saved: nothing to recover.
					v.dropRecovery()
				}
			})
			if m == nil {
				continue
			}
			rec, err := m.Autosave(v.recoveryDir)
			fyne.Do(func() {
				if err != nil {
					v.setStatusNote("autosave failed: " + err.Error())
				} else if rec != "" {
					v.files.recovery = rec
				}
			})
		}
	}()
}

// Autosave writes the recovery record now (what the timer does).
func (v *Viewer) Autosave() (string, error) {
	if v.session == nil {
		return "", errNoSession
	}
	rec, err := v.session.Edit().Labels().Autosave(v.recoveryDir)
	if err == nil && rec != "" {
		v.files.recovery = rec
	}
	return rec, err
}

// dropRecovery removes this session's recovery record once the work is
// saved or knowingly discarded.
func (v *Viewer) dropRecovery() {
	if v.files.recovery == "" {
		return
	}
	recs, _ := labels.FindRecovery(v.recoveryDir)
	for _, r := range recs {
		if r.Path == v.files.recovery {
			labels.RemoveRecovery(r)
		}
	}
	v.files.recovery = ""
}

// OfferRecovery asks, after a crash, whether to restore the work the
// recovery folder holds: the newest record's study opens with it. While a
// study loads it asks once the load has ended: hiding the loading dialog
// takes down the dialogs shown above it, and at start-up it took the
// offer with it before anyone saw it.
func (v *Viewer) OfferRecovery() {
	if v.loading != nil {
		v.offerRecovery = true
		return
	}
	recs, err := labels.FindRecovery(v.recoveryDir)
	if err != nil || len(recs) == 0 {
		return
	}
	r := recs[0]
	msg := widget.NewLabel(fmt.Sprintf("Unsaved segmentation of\n%s\nfrom %s (%s) was recovered after the app stopped unexpectedly.",
		r.Source, r.Time.Local().Format("2006-01-02 15:04"), nItems(len(r.Segments), "segment", "segments")))
	msg.Wrapping = fyne.TextWrapWord
	var d dialog.Dialog
	discard := widget.NewButton("Discard", func() {
		d.Hide()
		labels.RemoveRecovery(r)
		v.OfferRecovery() // the next one, if any
	})
	restore := widget.NewButton("Restore", func() {
		d.Hide()
		v.restore = &r
		v.Open(r.Source, "")
	})
	restore.Importance = widget.HighImportance
	d = dialog.NewCustomWithoutButtons("Restore unsaved work?", container.NewVBox(msg, container.NewHBox(discard, restore)), v.win)
	d.Resize(fyne.NewSize(520, 0))
	d.Show()
}

// restored puts a recovered label map on the study just opened for it.
func (v *Viewer) restored() {
	r := v.restore
	v.restore = nil
	m, err := labels.LoadRecovery(*r, v.session.Volume)
	if err == nil {
		err = v.session.Edit().SetLabels(m)
	}
	if err != nil {
		v.showError(fmt.Errorf("restoring %s: %w", r.Path, err))
		return
	}
	// Restored work is not saved anywhere yet.
	v.session.Edit().MarkUnsaved()
	labels.RemoveRecovery(*r)
	v.setStatusNote("restored unsaved work from " + r.Time.Local().Format("15:04"))
}

// closeIntercept asks before closing with unsaved changes.
func (v *Viewer) closeIntercept() {
	v.unsavedThen("Close", v.closeNow)
}

// unsavedThen runs then, first asking, when the segmentation has unsaved
// changes or an AI result not accepted yet, whether to save the changes,
// go on and drop them (a button named action+" without saving", or
// " and drop it" for a result alone) or do nothing.
func (v *Viewer) unsavedThen(action string, then func()) {
	if v.session == nil {
		then()
		return
	}
	dirty, pending := v.session.Edit().Dirty(), v.session.Edit().Preview() != nil
	if !dirty && !pending {
		then()
		return
	}
	var d dialog.Dialog
	cancel := widget.NewButton("Cancel", func() { d.Hide() })
	buttons := container.NewHBox(cancel)
	var lines []fyne.CanvasObject
	discard := action + " without saving"
	if pending {
		lines = append(lines, widget.NewLabel("The AI result (hatched) is not accepted yet; to keep it, Cancel and Accept it."))
		if !dirty {
			discard = action + " and drop it"
		}
	}
	buttons.Add(widget.NewButton(discard, func() { d.Hide(); then() }))
	if dirty {
		lines = append([]fyne.CanvasObject{widget.NewLabel("The segmentation has unsaved changes.")}, lines...)
		label := "Save…" // a file dialog follows
		if v.files.path != "" && !readOnly(v.files.path) {
			label = "Save to " + filepath.Base(v.files.path)
		}
		save := widget.NewButton(label, func() { d.Hide(); v.save(then) })
		save.Importance = widget.HighImportance
		buttons.Add(save)
	}
	title := "Unsaved segmentation"
	if !dirty {
		title = "AI result not accepted"
	}
	d = dialog.NewCustomWithoutButtons(title, container.NewVBox(append(lines, buttons)...), v.win)
	d.Show()
	v.closing = d
}

func (v *Viewer) closeNow() {
	if v.files.stop != nil {
		close(v.files.stop)
		v.files.stop = nil
	}
	v.CancelSegmentation()
	v.dropRecovery()
	v.win.Close()
}
