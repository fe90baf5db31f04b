package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/mesh"
	"github.com/segvolapp/segvol/viewer/labels"
)

// The preferences File > Export segments as meshes… keeps: the last
// choices, offered again next time, as 3D Slicer's export dialog does.
const (
	meshSegmentsKey   = "meshSegments"   // one of meshSegmentChoices
	meshFormatKey     = "meshFormat"     // stl, obj or ply
	meshPerSegmentKey = "meshPerSegment" // one file per segment
	meshRASKey        = "meshRAS"        // RAS rather than LPS
	meshSmoothingKey  = "meshSmoothing"  // 0..1
	meshDecimationKey = "meshDecimation" // 0..0.95
	meshFolderKey     = "meshFolder"     // where the last export went
)

// Which segments an export takes.
const (
	meshVisible = "Visible segments"
	meshActive  = "Active segment"
	meshAll     = "All segments"
)

var meshSegmentChoices = []string{meshVisible, meshActive, meshAll}

// The choices of the two radio groups.
const (
	meshOneFile    = "One file for all segments"
	meshPerSegment = "One file per segment"
	meshLPS        = "LPS (DICOM, 3D Slicer)"
	meshRAS        = "RAS (NIfTI, older Slicer)"
)

// meshFormats name the formats as the dialog offers them, in mesh.Format order.
var meshFormats = []string{"STL (binary)", "OBJ", "PLY (with colours)"}

// meshExport is what the dialog asked for.
type meshExport struct {
	segments   string
	format     mesh.Format
	perSegment bool
	space      mesh.Space
	opts       mesh.Options
}

// exportMeshesDialog is File > Export segments as meshes…: which segments,
// format, one file or one per segment, LPS or RAS, smoothing and
// decimation; then where, and the export in the background.
func (v *Viewer) exportMeshesDialog() {
	if v.session == nil {
		return
	}
	p := v.app.Preferences()
	segments := widget.NewSelect(meshSegmentChoices, nil)
	segments.SetSelected(p.StringWithFallback(meshSegmentsKey, meshVisible))
	format := widget.NewSelect(meshFormats, nil)
	f, err := mesh.ParseFormat(p.StringWithFallback(meshFormatKey, "stl"))
	if err != nil {
		f = mesh.STL
	}
	format.SetSelected(meshFormats[f])
	files := widget.NewRadioGroup([]string{meshOneFile, meshPerSegment}, nil)
	files.Required = true
	files.SetSelected(meshOneFile)
	if p.Bool(meshPerSegmentKey) {
		files.SetSelected(meshPerSegment)
	}
	space := widget.NewRadioGroup([]string{meshLPS, meshRAS}, nil)
	space.Required = true
	space.SetSelected(meshLPS)
	if p.Bool(meshRASKey) {
		space.SetSelected(meshRAS)
	}
	smoothing, smoothingRow := fractionSlider(0, 1, p.FloatWithFallback(meshSmoothingKey, mesh.DefaultSmoothing), func(x float64) string {
		if x == 0 {
			return "none: the voxels' staircase"
		}
		return fmt.Sprintf("%.2f", x)
	})
	decimation, decimationRow := fractionSlider(0, 0.95, p.Float(meshDecimationKey), func(x float64) string {
		if x == 0 {
			return "none: every triangle kept"
		}
		return fmt.Sprintf("%.0f%% of the triangles removed", 100*x)
	})
	form := widget.NewForm(
		widget.NewFormItem("Segments", segments),
		widget.NewFormItem("Format", format),
		widget.NewFormItem("Files", files),
		widget.NewFormItem("Coordinates", space),
		widget.NewFormItem("Smoothing", smoothingRow),
		widget.NewFormItem("Decimation", decimationRow),
	)
	note := widget.NewLabel("Surfaces in patient coordinates (mm), the convention written in each file's header; " +
		"smoothing 0.5 is 3D Slicer's default.")
	note.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustomConfirm("Export segments as meshes", "Export…", "Cancel", container.NewVBox(form, note), func(ok bool) {
		if !ok {
			return
		}
		x := meshExport{
			segments:   segments.Selected,
			format:     mesh.Format(max(0, format.SelectedIndex())),
			perSegment: files.Selected == meshPerSegment,
			space:      mesh.LPS,
			opts:       mesh.Options{Smoothing: smoothing.Value, Decimation: decimation.Value},
		}
		if space.Selected == meshRAS {
			x.space = mesh.RAS
		}
		p.SetString(meshSegmentsKey, x.segments)
		p.SetString(meshFormatKey, strings.ToLower(x.format.String()))
		p.SetBool(meshPerSegmentKey, x.perSegment)
		p.SetBool(meshRASKey, x.space == mesh.RAS)
		p.SetFloat(meshSmoothingKey, x.opts.Smoothing)
		p.SetFloat(meshDecimationKey, x.opts.Decimation)
		v.chooseMeshTarget(x)
	}, v.win)
	d.Resize(fyne.NewSize(640, 0))
	d.Show()
}

// fractionSlider is a slider from lo to hi in steps of 0.05 at value, and
// it with its value, as say words it, beside it.
func fractionSlider(lo, hi, value float64, say func(float64) string) (*widget.Slider, *fyne.Container) {
	s := widget.NewSlider(lo, hi)
	s.Step = 0.05
	s.SetValue(min(hi, max(lo, value)))
	l := widget.NewLabel(say(s.Value))
	s.OnChanged = func(x float64) { l.SetText(say(x)) }
	return s, container.NewGridWithColumns(2, s, l)
}

// chooseMeshTarget asks for the file (one for all) or the folder (one file
// per segment), starting where the last export went, then exports.
func (v *Viewer) chooseMeshTarget(x meshExport) {
	values, err := v.meshValues(x.segments)
	if err != nil {
		v.showError(err)
		return
	}
	dir, name := v.studyFile("_segments" + x.format.Ext())
	if last := v.app.Preferences().String(meshFolderKey); last != "" {
		if st, err := os.Stat(last); err == nil && st.IsDir() {
			dir = last
		}
	}
	if !x.perSegment {
		v.saveFile("Export segments as one "+x.format.String()+" file", dir, name, fileKind{x.format.Ext()}, func(path string) {
			// The export starts before saveFile drops the empty file Fyne
			// made, so it is dropped first.
			dropEmpty(path)
			if f, err := mesh.ParseFormat(filepath.Ext(path)); err == nil {
				x.format = f // the name typed says which
			} else {
				path += x.format.Ext() // a name typed without the extension
			}
			v.app.Preferences().SetString(meshFolderKey, filepath.Dir(path))
			v.exportMeshes(x, values, path)
		})
		return
	}
	v.pickFolder("Folder for one "+x.format.String()+" file per segment", dir, func(path string) {
		v.app.Preferences().SetString(meshFolderKey, path)
		v.exportMeshes(x, values, path)
	})
}

// meshValues are the values of the segments choice names (nil for all).
func (v *Viewer) meshValues(choice string) ([]uint8, error) {
	e := v.session.Edit()
	switch choice {
	case meshActive:
		if e.Active() == 0 {
			return nil, errors.New("no active segment: pick one in the segments panel, or export the visible ones")
		}
		return []uint8{e.Active()}, nil
	case meshAll:
		return nil, nil
	}
	var out []uint8
	for _, s := range e.Labels().Segments() {
		if s.Visible {
			out = append(out, s.Value)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no segment is visible: show the ones to export, or export all segments")
	}
	return out, nil
}

// exportMeshes builds the surfaces of the segments with values (nil: all)
// in the background, with progress and Cancel, and writes them to out, a
// file or (one per segment) a folder. A failure or a cancel leaves no new
// file of this export behind, and says so.
func (v *Viewer) exportMeshes(x meshExport, values []uint8, out string) {
	m := v.session.Edit().Labels()
	ctx, cancel := context.WithCancel(context.Background())
	bar, stage := widget.NewProgressBar(), widget.NewLabel("Building the surfaces…")
	d := dialog.NewCustom("Exporting segments as meshes", "Cancel", container.NewVBox(stage, bar), v.win)
	d.SetOnClosed(cancel)
	d.Resize(fyne.NewSize(480, 160))
	d.Show()
	x.opts.Progress = func(done, total int) {
		fyne.Do(func() { bar.SetValue(float64(done) / float64(total)) })
	}
	go func() {
		parts, paths, err := writeMeshes(ctx, m, values, x, out)
		cancelled := err != nil && ctx.Err() != nil // read before Hide, which cancels
		fyne.Do(func() {
			d.Hide()
			switch {
			case cancelled:
				v.setStatusNote("mesh export cancelled: nothing written")
			case err != nil:
				v.showError(fmt.Errorf("segments not exported as meshes (no new file left): %w", err))
			default:
				v.setStatusNote(meshNote(parts, paths, x, out))
			}
		})
	}()
}

// writeMeshes builds and writes the meshes, returning what it wrote. Files
// of a half-done export that were not there before are removed; those it
// had replaced are named in the error.
func writeMeshes(ctx context.Context, m *labels.LabelMap, values []uint8, x meshExport, out string) ([]mesh.Part, []string, error) {
	parts, err := m.Surfaces(ctx, values, x.opts)
	if err != nil {
		return nil, nil, err
	}
	if len(parts) == 0 {
		return nil, nil, errors.New("the chosen segments hold no voxels")
	}
	if !x.perSegment {
		return parts, []string{out}, mesh.WriteFile(out, parts, x.space)
	}
	before := map[string]bool{}
	if es, err := os.ReadDir(out); err == nil {
		for _, e := range es {
			before[e.Name()] = true
		}
	}
	paths, err := mesh.WriteFiles(out, x.format, parts, x.space)
	if err != nil {
		var replaced []string
		for _, p := range paths {
			if before[filepath.Base(p)] {
				replaced = append(replaced, filepath.Base(p))
			} else {
				os.Remove(p)
			}
		}
		if len(replaced) > 0 { // the old files are gone: say so
			err = fmt.Errorf("%w; already replaced before it: %s", err, strings.Join(replaced, ", "))
		}
		return nil, nil, err
	}
	return parts, paths, nil
}

// meshNote says what an export wrote, for the status bar.
func meshNote(parts []mesh.Part, paths []string, x meshExport, out string) string {
	tri := 0
	for _, p := range parts {
		tri += len(p.Mesh.Triangles) / 3
	}
	if !x.perSegment {
		return fmt.Sprintf("exported %d segments to %s (%s, %s): %d triangles", len(parts), filepath.Base(out), x.format, x.space, tri)
	}
	return fmt.Sprintf("exported %d %s files (%s) to %s: %d triangles", len(paths), x.format, x.space, out, tri)
}
