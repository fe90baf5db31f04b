package app

import (
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"math"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/software"

	"github.com/segvolapp/segvol/internal/atomicfile"
)

// Screenshot is the window's content as drawn (no menu bar, no dialog),
// or only view sv (its image with the overlays, at its size in device
// pixels) when sv is not nil. It is painted again by Fyne's software
// painter: the GL driver's capture reads the front buffer, which is black
// under Xvfb and not reliable elsewhere.
func (v *Viewer) Screenshot(sv *SliceView) image.Image {
	content := v.win.Content()
	var r fyne.CanvasObject = content
	if sv != nil {
		r = sv
	}
	pos, size := fyne.CurrentApp().Driver().AbsolutePositionForObject(r), r.Size()
	// The content painted where it is in the window (a container without
	// layout neither moves nor resizes it), then cut out.
	c := software.NewCanvas()
	c.SetPadded(false)
	c.SetScale(v.win.Canvas().Scale())
	c.Resize(v.win.Canvas().Size())
	frame := container.NewWithoutLayout(content)
	c.SetContent(frame)
	img := c.Capture()
	frame.Objects = nil
	scale := float64(v.win.Canvas().Scale())
	px := func(x float32) int { return int(math.Round(float64(x) * scale)) }
	rect := image.Rect(0, 0, px(size.Width), px(size.Height)).Add(image.Pt(px(pos.X), px(pos.Y)))
	out := image.NewRGBA(image.Rect(0, 0, rect.Dx(), rect.Dy()))
	draw.Draw(out, out.Rect, img, rect.Min, draw.Src)
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
	if sv, ok := v.maximised.(*SliceView); ok {
		return sv
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
	v.saveWith("Save screenshot (PNG)", "_"+name+".png", pngFiles, func(w io.Writer) error { return png.Encode(w, img) })
}

// exportStatisticsDialog asks where to write every segment's statistics
// as CSV; with no segment it says so rather than write a header alone.
func (v *Viewer) exportStatisticsDialog() {
	if v.session == nil {
		return
	}
	m := v.session.Edit().Labels()
	if len(m.Segments()) == 0 {
		v.showInfo("Export statistics", "There are no segments to export yet: segment a structure, paint one "+
			"or open a segmentation (File > Open segmentation…) first.")
		return
	}
	v.saveWith("Export statistics (CSV)", "_statistics.csv", csvFiles, m.WriteStatisticsCSV)
}

// saveWith asks where to save a file made from the open study (its folder
// and name with suffix proposed) and writes it whole with write; a failure
// is shown and the app goes on.
func (v *Viewer) saveWith(title, suffix string, kind fileKind, write func(io.Writer) error) {
	dir, name := v.studyFile(suffix)
	v.saveFile(title, dir, name, kind, func(path string) {
		if err := atomicfile.Write(path, write); err != nil {
			v.showError(fmt.Errorf("saving %s: %w", filepath.Base(path), err))
			return
		}
		v.setStatusNote("saved " + filepath.Base(path))
	})
}
