package app

import (
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"math"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
)

// Screenshot is the window as drawn, or only view sv (its image with the
// overlays, at its size in device pixels) when sv is not nil.
func (v *Viewer) Screenshot(sv *SliceView) image.Image {
	img := v.win.Canvas().Capture()
	if sv == nil {
		return img
	}
	// The capture is in device pixels; positions are in canvas units.
	scale := float64(img.Bounds().Dx()) / float64(v.win.Canvas().Size().Width)
	pos, size := fyne.CurrentApp().Driver().AbsolutePositionForObject(sv), sv.Size()
	px := func(x float32) int { return int(math.Round(float64(x) * scale)) }
	r := image.Rect(0, 0, px(size.Width), px(size.Height)).Add(image.Pt(px(pos.X), px(pos.Y))).Add(img.Bounds().Min)
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(out, out.Rect, img, r.Min, draw.Src)
	return out
}

// screenshotView is the view a screenshot shows: the one under the
// pointer, else the one last clicked, else the maximised or axial one.
func (v *Viewer) screenshotView() *SliceView {
	for _, sv := range v.views {
		if sv.hovering {
			return sv
		}
	}
	for _, sv := range v.views {
		if sv.focused {
			return sv
		}
	}
	if v.maximised != nil {
		return v.maximised
	}
	return v.views[0]
}

// saveScreenshotDialog asks where to write a PNG of one view (or, with
// whole, of the window).
func (v *Viewer) saveScreenshotDialog(whole bool) {
	if v.session == nil {
		return
	}
	var sv *SliceView
	name := "layout"
	if !whole {
		sv = v.screenshotView()
		name = sv.orient.String()
	}
	// Taken now, before the dialog covers the window.
	img := v.Screenshot(sv)
	v.saveFile(v.studyFileName("_"+name+".png"), func(w io.Writer) error { return png.Encode(w, img) })
}

// exportStatisticsDialog asks where to write every segment's statistics
// as CSV.
func (v *Viewer) exportStatisticsDialog() {
	if v.session == nil {
		return
	}
	m := v.session.Edit().Labels()
	v.saveFile(v.studyFileName("_statistics.csv"), m.WriteStatisticsCSV)
}

// studyFileName is the open study's file name with its extension replaced
// by suffix.
func (v *Viewer) studyFileName(suffix string) string {
	base := filepath.Base(v.session.Volume.Meta.Source)
	for _, ext := range []string{".gz", ".nii", ".dcm"} {
		base = strings.TrimSuffix(base, ext)
	}
	return base + suffix
}

// saveFile shows a save dialog proposing name, and writes the chosen file
// with write; a failure is shown and the app goes on.
func (v *Viewer) saveFile(name string, write func(io.Writer) error) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err == nil && w != nil {
			err = write(w)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				v.setStatusNote("saved " + w.URI().Name())
			}
		}
		if err != nil {
			v.showError(fmt.Errorf("saving %s: %w", name, err))
		}
	}, v.win)
	d.SetFileName(name)
	d.Resize(fyne.NewSize(800, 600))
	d.Show()
}
