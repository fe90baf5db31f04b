package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/dicom"
	"github.com/segvolapp/segvol/viewer/study"
)

// loading is a study being read in the background.
type loading struct {
	cancel context.CancelFunc
	dlg    dialog.Dialog
	bar    *widget.ProgressBar
}

// Open reads the study at path in the background, with a progress dialog
// and a Cancel button; series picks one series of a DICOM folder ("" lets
// the user choose when there are several).
func (v *Viewer) Open(path, series string) {
	v.openWith(path, series, func(ctx context.Context, progress func(done, total int)) (*study.Study, error) {
		return study.Open(ctx, path, study.Options{Series: series, Progress: progress})
	})
}

// openOther is Open from the user's menus, drops and dialogs: first, when
// the segmentation on screen has unsaved changes, it asks whether to save
// them, drop them or stay (a user lost a brush stroke to File > Open).
func (v *Viewer) openOther(path, series string) {
	v.unsavedThen("Open", func() { v.Open(path, series) })
}

// openWith is Open with read reading the study (one already read, as a
// PACS retrieve does, is handed over).
func (v *Viewer) openWith(path, series string, read func(ctx context.Context, progress func(done, total int)) (*study.Study, error)) {
	if v.loading != nil {
		v.loading.cancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &loading{cancel: cancel, bar: widget.NewProgressBar()}
	v.loading = l
	label := widget.NewLabel("Reading " + filepath.Base(path) + "…")
	l.dlg = dialog.NewCustomWithoutButtons("Opening study",
		container.NewVBox(label, l.bar, widget.NewButton("Cancel", cancel)), v.win)
	l.dlg.Resize(fyne.NewSize(420, 0))
	l.dlg.Show()

	start := time.Now()
	progress := func(done, total int) {
		if total > 0 {
			fyne.Do(func() { l.bar.SetValue(float64(done) / float64(total)) })
		}
	}
	go func() {
		st, err := read(ctx, progress)
		var s *viewer.Session
		if err == nil {
			s, err = viewer.NewSession(st.Volume, st.Scan)
		}
		elapsed := time.Since(start)
		fyne.Do(func() { v.loaded(l, ctx, path, series, st, s, elapsed, err) })
	}()
}

// loaded takes a finished load back on the UI goroutine.
func (v *Viewer) loaded(l *loading, ctx context.Context, path, series string, st *study.Study, s *viewer.Session, elapsed time.Duration, err error) {
	l.dlg.Hide()
	if v.loading == l {
		v.loading = nil
	}
	if v.offerRecovery && v.loading == nil {
		v.offerRecovery = false
		defer v.OfferRecovery()
	}
	cancelled := ctx.Err() != nil
	l.cancel()
	switch {
	case cancelled:
		err = nil
		v.setStatusNote("loading cancelled")
	case err != nil && series == "" && st != nil && st.Scan != nil && len(st.Scan.Series) > 1:
		// A folder of several series: let the user choose.
		v.pickSeries(path, st.Scan)
		err = nil
	case err != nil:
		v.showError(err)
	default:
		v.remember(path)
		// The segmentation replaced was saved, or its loss agreed to
		// (openOther, the review's Next): its autosave is no crash's.
		v.dropRecovery()
		if v.review != nil && !v.review.showing(path) {
			v.leaveReview()
		}
		v.SetSession(s)
		v.loadInfo = loadSummary(s, elapsed)
		v.updateStatus()
		switch {
		case v.restore != nil:
			v.restored()
		case v.pendingLabels != "":
			p := v.pendingLabels
			v.pendingLabels = ""
			if lerr := v.OpenLabels(p); lerr != nil {
				err = lerr
				v.showError(lerr)
			}
		default:
			v.openSavedLabels()
		}
	}
	if v.onLoaded != nil {
		v.onLoaded(err)
	}
}

func loadSummary(s *viewer.Session, elapsed time.Duration) string {
	msg := fmt.Sprintf("loaded in %.2f s", elapsed.Seconds())
	if n := len(s.Volume.Warnings); n > 0 {
		// In parentheses: a status bar short of room drops it (brief).
		msg += fmt.Sprintf("  ·  %d warning(s) (%s)", n, s.Volume.Warnings[0])
	}
	return msg
}

// pickSeries asks which series of a folder to open.
func (v *Viewer) pickSeries(path string, scan *dicom.ScanResult) {
	labels := make([]string, len(scan.Series))
	for i, s := range scan.Series {
		labels[i] = seriesLabel(i, s)
	}
	chosen := -1
	list := widget.NewList(func() int { return len(labels) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(labels[i]) })
	list.OnSelected = func(i widget.ListItemID) { chosen = i }
	d := dialog.NewCustomConfirm(fmt.Sprintf("%s holds %d series", filepath.Base(path), len(labels)),
		"Open", "Cancel", list, func(ok bool) {
			if ok && chosen >= 0 {
				v.Open(path, strconv.Itoa(chosen+1))
			}
		}, v.win)
	d.Resize(fyne.NewSize(640, 360))
	d.Show()
	list.Select(0)
}

func seriesLabel(i int, s *dicom.Series) string {
	desc := s.Description
	if desc == "" {
		desc = "(no description)"
	}
	return fmt.Sprintf("%d. #%s %s %s — %dx%d, %s", i+1, s.Number, s.Modality, desc, s.Cols, s.Rows, nOf(s.Images, "image"))
}

// nOf is "1 image", "2 images": n and the noun, plural unless n is 1.
func nOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// openSavedLabels opens the segmentation saved under the name Save
// offers (<study>_seg.nii.gz beside it), as a study reopened came back
// with no segments and no hint that its work was there. One that does
// not fit the study is left alone, said in the status bar.
func (v *Viewer) openSavedLabels() {
	dir, name := v.studyFile("_seg.nii.gz")
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		return
	}
	if err := v.OpenLabels(path); err != nil {
		v.setStatusNote(fmt.Sprintf("%s is beside the study but was not opened: %v", name, err))
		return
	}
	v.loadInfo += " (saved beside the study)"
	v.updateStatus()
}
