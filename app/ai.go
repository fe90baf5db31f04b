package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/color"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/infer"
	"github.com/segvolapp/segvol/infer/engine"
	"github.com/segvolapp/segvol/infer/segvol"
	"github.com/segvolapp/segvol/models"
	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/labels"
)

// aiState is the segmentation engine and the run in progress.
type aiState struct {
	seg     infer.Segmenter // nil until the engine is loaded
	info    engine.Info
	latency time.Duration // of the last finished run
	cancel  context.CancelFunc
	gen     int // the run whose result is wanted
}

// loadEngine picks the engine in the background (loading ONNX Runtime and
// the SegVol graphs takes a while) and the category list.
func (v *Viewer) loadEngine(o engine.Options) {
	go func() {
		s, info, err := engine.Open(o)
		names := categories(info)
		fyne.Do(func() {
			if v.onEngine != nil {
				defer v.onEngine(err)
			}
			if err != nil {
				v.showError(fmt.Errorf("segmentation engine: %s", whyNoSegVol(err)))
				return
			}
			v.ai.seg, v.ai.info, v.categories = s, info, names
			v.updateStatus()
		})
	}()
}

// categories is the structure list: the SegVol model's own text
// categories when it has them, else a categories.txt in the models
// folder, else the list the program carries (models/categories.txt), so
// that an installed program suggests names too.
func categories(info engine.Info) []string {
	if info.Backend == "segvol" {
		if t, err := segvol.LoadText(info.Models); err == nil {
			return t.Categories()
		}
	}
	if names, err := viewer.ReadCategories(filepath.Join(info.Models, "categories.txt")); err == nil && len(names) > 0 {
		return names
	}
	names, _ := viewer.ParseCategories(bytes.NewReader(models.Categories))
	return names
}

// EngineStatus is the status bar's part about the engine.
func (v *Viewer) EngineStatus() string {
	a := &v.ai
	if a.seg == nil {
		return "AI: loading…"
	}
	s := fmt.Sprintf("AI: %s on %s", a.info.Backend, a.info.Device)
	if a.info.Backend == "classic" {
		s = "AI: embedded default (CPU)"
	}
	if a.latency > 0 {
		s += fmt.Sprintf(", last %.2f s", a.latency.Seconds())
	}
	return s
}

// RunSegmentation segments from the prompts in the background; the result
// becomes the preview. A run still going is cancelled: the newest prompts
// win. With SegVol only the decoder runs again on a new click, as the
// image embedding is cached.
func (v *Viewer) RunSegmentation() {
	if v.session == nil {
		return
	}
	e := v.session.Edit()
	a := &v.ai
	if a.seg == nil {
		v.setStatusNote("the segmentation engine is still loading")
		return
	}
	if !e.HasPrompt() {
		v.setStatusNote("place a positive point, a box or a structure name first")
		return
	}
	if e.Text() != "" && a.info.Backend != "segvol" {
		v.showError(fmt.Errorf("structure names need SegVol (%s); use points or a box with the embedded default", whyNoSegVol(a.info.Fallback)))
		return
	}
	v.CancelSegmentation()
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.gen++
	gen := a.gen
	img, prompt, seg := v.session.Image(), e.Prompt(), a.seg
	v.aiPanel.running(true)
	start := time.Now()
	progress := func(f float64, stage string) {
		fyne.Do(func() {
			if gen == a.gen {
				v.aiPanel.progress(f, stage)
			}
		})
	}
	go func() {
		mask, err := seg.Segment(ctx, img, prompt, progress)
		took := time.Since(start)
		fyne.Do(func() { v.segmented(gen, ctx, mask, took, err) })
	}()
}

// segmented takes a finished run back on the UI goroutine.
func (v *Viewer) segmented(gen int, ctx context.Context, mask []uint8, took time.Duration, err error) {
	a := &v.ai
	if gen != a.gen {
		return // a newer run replaced it
	}
	cancelled := ctx.Err() != nil
	a.cancel()
	a.cancel = nil
	v.aiPanel.running(false)
	switch {
	case cancelled:
		err = context.Canceled
		v.setStatusNote("segmentation cancelled")
	case err != nil:
		v.showError(err)
	default:
		a.latency = took
		err = v.session.Edit().SetPreview(mask)
		v.updateStatus()
		if err == nil {
			v.showInSidePanel(v.aiPanel.accept)
		}
	}
	if v.onSegmented != nil {
		v.onSegmented(err)
	}
}

// CancelSegmentation stops the run in progress, if any.
func (v *Viewer) CancelSegmentation() {
	if v.ai.cancel != nil {
		v.ai.cancel()
	}
}

// Accept writes the preview into the active segment with op, after asking
// when that would remove most of the segment or paint over most of
// another; the status bar then says what it took from other segments.
func (v *Viewer) Accept(op labels.Op) {
	if v.session == nil {
		return
	}
	v.CancelSegmentation() // the preview asked about is the one accepted
	e := v.session.Edit()
	if err := e.CheckUnlocked(); err != nil && e.Preview() != nil {
		v.lockedTarget(op, err)
		return
	}
	lost, had, askActive := e.AcceptLoss(op)
	takes, askOthers := e.AcceptTakes(op)
	name := func(value uint8) string { sg, _ := e.Labels().Segment(value); return sg.Name }
	accept := func() {
		c, err := e.Accept(op)
		if err != nil {
			v.report(err)
			return
		}
		note := fmt.Sprintf("accepted into %s: %d voxels changed", name(e.Active()), c.Voxels)
		if c.Voxels == 0 {
			// Said, or the user is left with an empty segment and no why.
			note = fmt.Sprintf("nothing accepted into %s: each voxel of the preview is in it already or in a locked segment", name(e.Active()))
		}
		sep := "; took "
		for _, t := range takes {
			note += sep + fmt.Sprintf("%d from %s", t.Lost, name(t.Value))
			sep = ", "
		}
		v.setStatusNote(note)
	}
	if !askActive && !askOthers {
		accept()
		return
	}
	var what []string
	title := "Paint over another segment?"
	if askActive {
		title = "Replace most of " + name(e.Active()) + "?"
		what = append(what, fmt.Sprintf("remove %d of the %d voxels of %q (%.0f%%)", lost, had, name(e.Active()), 100*float64(lost)/float64(had)))
	}
	for _, t := range takes {
		if 2*t.Lost > t.Had {
			what = append(what, fmt.Sprintf("paint over %d of the %d voxels of %q (%.0f%%)", t.Lost, t.Had, name(t.Value), 100*float64(t.Lost)/float64(t.Had)))
		}
	}
	key := e.LabelsKey()
	dialog.ShowConfirm(title, "Accepting the preview would "+strings.Join(what, " and ")+".\n"+
		"Add a segment for a new structure, or accept anyway (Undo takes it back).", func(ok bool) {
		switch {
		case !ok:
		case v.session == nil || v.session.Edit() != e || e.LabelsKey() != key:
			v.setStatusNote("the preview or the segment changed meanwhile: accept again")
		default:
			accept()
		}
	}, v.win)
}

// lockedTarget says up front that the segment an Accept would write is
// locked (rather than asking about the voxels it would replace, then
// refusing), and offers to accept into a new segment instead or to unlock
// it and accept.
func (v *Viewer) lockedTarget(op labels.Op, locked error) {
	e := v.session.Edit()
	// A new segment gets the preview's voxels outside the locked one
	// (locked voxels are never painted over): Subtract's loss is the
	// locked segment's voxels inside the preview.
	inLocked, _, _ := e.AcceptLoss(labels.Subtract)
	outside := e.PreviewVoxels() - inLocked
	sg, _ := e.Labels().Segment(e.Active())
	// In plain words: "the 105 of its 105 voxels outside it" was read twice.
	text := fmt.Sprintf("The preview cannot be accepted: %v.\n"+
		"Accept it into a new segment (all %d of its voxels), or unlock %s and accept into it.", locked, outside, sg.Name)
	if outside < e.PreviewVoxels() {
		text = fmt.Sprintf("The preview cannot be accepted: %v.\n"+
			"A new segment would get %d of the preview's %d voxels (the other %d are %s's and stay so); or unlock %s and accept into it.",
			locked, outside, e.PreviewVoxels(), inLocked, sg.Name, sg.Name)
	}
	if outside == 0 {
		text = fmt.Sprintf("The preview cannot be accepted: %v,\nand all %d of its voxels lie in it: unlock the segment to accept into it.", locked, e.PreviewVoxels())
	}
	msg := widget.NewLabel(text)
	msg.Wrapping = fyne.TextWrapWord
	var d dialog.Dialog
	// again accepts after the change, unless the study or preview changed
	// while the dialog was up.
	key := e.LabelsKey()
	again := func(change func() error) {
		d.Hide()
		if v.session == nil || v.session.Edit() != e || e.LabelsKey() != key {
			v.setStatusNote("the preview or the segment changed meanwhile: accept again")
			return
		}
		if err := change(); err != nil {
			v.report(err)
			return
		}
		v.Accept(op)
	}
	cancel := widget.NewButton("Cancel", func() { d.Hide() })
	unlock := widget.NewButton("Unlock and accept", func() {
		again(func() error {
			active := e.Active()
			return e.Do(func(m *labels.LabelMap) error { return m.SetLocked(active, false) })
		})
	})
	add := widget.NewButton("Accept into a new segment", func() {
		again(func() error { _, err := e.AddSegment(e.Text()); return err })
	})
	add.Importance = widget.HighImportance
	if outside == 0 {
		add.Disable()
		unlock.Importance = widget.HighImportance
	}
	d = dialog.NewCustomWithoutButtons("Segment is locked", container.NewVBox(msg, container.NewHBox(cancel, unlock, add)), v.win)
	d.Resize(fyne.NewSize(520, 0))
	d.Show()
}

// Reject drops the preview and the prompts.
func (v *Viewer) Reject() {
	if v.session != nil {
		v.CancelSegmentation()
		v.session.Edit().Reject()
	}
}

// textPromptDialog picks the structure to segment by name.
func (v *Viewer) textPromptDialog() {
	if v.ai.seg != nil && v.ai.info.Backend != "segvol" {
		dialog.ShowInformation("Structure name", fmt.Sprintf("Segmenting a structure by name needs SegVol: %s.\n"+
			"The embedded default segments from points and boxes.", whyNoSegVol(v.ai.info.Fallback)), v.win)
		v.session.Edit().SetTool(viewer.ToolNavigate)
		return
	}
	v.nameDialog("Segment a structure", v.session.Edit().Text(), func(name string) {
		v.session.Edit().SetText(name)
	})
}

func (v *Viewer) report(err error) {
	if err != nil {
		v.setStatusNote(err.Error())
	}
}

// done says in the status bar what an action did, or why it failed: with
// no word, the note of an earlier action stayed and seemed to be this one's.
func (v *Viewer) done(err error, note string) {
	if err != nil {
		v.setStatusNote(err.Error())
		return
	}
	v.setStatusNote(note)
}

// aiPanel shows the prompts (each removable), runs and cancels the
// segmentation with its progress, and accepts or rejects the preview.
type aiPanel struct {
	v        *Viewer
	prompts  *widget.List
	rows     []promptRow
	rowH     float32           // a prompt row's height
	listMin  *canvas.Rectangle // the prompt list's height, as its rows need
	bar      *widget.ProgressBar
	stage    *widget.Label
	boxHint  *widget.Label // what to do about a box whose depth was guessed
	run      *widget.Button
	cancel   *widget.Button
	auto     *widget.Check
	opSelect *widget.Select
	accept   *widget.Button
	reject   *widget.Button
	content  fyne.CanvasObject
	busy     bool // a run is going: stage shows its progress, not the preview
}

type promptRow struct {
	id   int // point ID; 0 for the box, -1 for the text
	text string
}

var acceptOps = []struct {
	name string
	op   labels.Op
}{{"Replace segment", labels.Replace}, {"Add to segment", labels.Add}, {"Subtract from segment", labels.Subtract}, {"Intersect with segment", labels.Intersect}}

func newAIPanel(v *Viewer) *aiPanel {
	p := &aiPanel{v: v}
	newRow := func() fyne.CanvasObject {
		text := widget.NewLabel("")
		text.Truncation = fyne.TextTruncateEllipsis // not under the button
		return scrollGutter(container.NewBorder(nil, nil, nil, widget.NewButton("✕", nil), text))
	}
	p.prompts = widget.NewList(func() int { return len(p.rows) }, newRow,
		func(i widget.ListItemID, o fyne.CanvasObject) {
			c := inGutter(o)
			r := p.rows[i]
			c.Objects[0].(*widget.Label).SetText(r.text)
			c.Objects[1].(*widget.Button).OnTapped = func() { v.removePrompt(r.id) }
		})
	// The list grows with its prompts up to maxPromptRows: an empty list
	// a hundred pixels high kept a result's Accept below the fold on a
	// 1366x768 screen.
	p.rowH = newRow().MinSize().Height
	p.listMin = canvas.NewRectangle(color.Transparent)
	p.bar = widget.NewProgressBar()
	p.stage = widget.NewLabel("")
	p.stage.Wrapping = fyne.TextWrapWord // an engine's stage can be long; the panel does not widen
	// Under the list, on two lines: in the box's row, "(depth guessed:
	// drag in a second view)" was cut off at "dr".
	p.boxHint = widget.NewLabel("Box depth guessed: drag the box\nagain in a second view to set it.")
	p.boxHint.Hide()
	p.run = widget.NewButton("Run", v.RunSegmentation)
	p.run.Importance = widget.HighImportance
	p.cancel = widget.NewButton("Cancel", v.CancelSegmentation)
	p.auto = widget.NewCheck("Run on each prompt", nil)
	p.auto.SetChecked(true)
	names := make([]string, len(acceptOps))
	for i, o := range acceptOps {
		names[i] = o.name
	}
	p.opSelect = widget.NewSelect(names, nil)
	p.opSelect.SetSelectedIndex(0)
	p.accept = widget.NewButton("Accept", func() { v.Accept(acceptOps[max(p.opSelect.SelectedIndex(), 0)].op) })
	p.reject = widget.NewButton("Reject", v.Reject)
	p.prompts.OnSelected = func(widget.ListItemID) { p.prompts.UnselectAll() } // a row is for its ✕ only
	v.keyless(p.prompts, p.auto, p.opSelect)
	p.content = container.NewVBox(
		widget.NewLabelWithStyle("AI segmentation", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewStack(p.listMin, v.wheelToPanel(p.prompts)), p.boxHint,
		container.NewHBox(p.run, p.cancel, p.auto),
		p.bar, p.stage,
		container.NewBorder(nil, nil, nil, container.NewHBox(p.accept, p.reject), p.opSelect),
	)
	p.running(false)
	return p
}

func (v *Viewer) removePrompt(id int) {
	if v.session == nil {
		return
	}
	e := v.session.Edit()
	if id < 0 {
		e.SetText("")
		return
	}
	e.RemovePrompt(id)
}

func (p *aiPanel) running(on bool) {
	p.busy = on
	if on {
		p.bar.SetValue(0)
		p.bar.Show()
		p.cancel.Enable()
		p.stage.SetText("starting…")
		return
	}
	p.bar.Hide()
	p.cancel.Disable()
	p.sync()
}

func (p *aiPanel) progress(f float64, stage string) {
	p.bar.SetValue(f)
	p.stage.SetText(stage)
}

// sync lists the prompts, enables Accept and Reject with a preview, and
// (between runs) measures the preview shown: every preview change, reject,
// accept and new study comes through here, so the count cannot go stale.
func (p *aiPanel) sync() {
	p.rows = p.rows[:0]
	if !p.busy {
		p.stage.SetText("")
	}
	guessed := false
	if p.v.session != nil {
		e := p.v.session.Edit()
		for _, pt := range e.Points() {
			kind := "negative"
			if pt.Positive {
				kind = "positive"
			}
			p.rows = append(p.rows, promptRow{pt.ID, fmt.Sprintf("%s point %.0f, %.0f, %.0f mm", kind, pt.World[0], pt.World[1], pt.World[2])})
		}
		if b, ib := e.Box(), e.Prompt().Box; b.Complete() && ib != nil {
			// The voxels the engine gets: the box within the study.
			t := fmt.Sprintf("box %d×%d×%d voxels", ib.Max[0]-ib.Min[0]+1, ib.Max[1]-ib.Min[1]+1, ib.Max[2]-ib.Min[2]+1)
			guessed = b.Guessed >= 0
			p.rows = append(p.rows, promptRow{0, t})
		}
		if t := e.Text(); t != "" {
			p.rows = append(p.rows, promptRow{-1, "structure: " + t})
		}
		if e.Preview() != nil {
			p.accept.Enable()
			p.reject.Enable()
			if !p.busy {
				n := e.PreviewVoxels()
				p.stage.SetText(fmt.Sprintf("preview: %d voxels, %.2f mL", n, float64(n)*e.Labels().VoxelML()))
			}
		} else {
			p.accept.Disable()
			p.reject.Disable()
		}
	}
	if guessed {
		p.boxHint.Show()
	} else {
		p.boxHint.Hide()
	}
	// A list puts a padding between its rows.
	n := float32(min(max(len(p.rows), 1), maxPromptRows))
	p.listMin.SetMinSize(fyne.NewSize(0, n*(p.rowH+theme.Padding())-theme.Padding()))
	p.prompts.Refresh()
	p.v.refitSidePanel()
}

// maxPromptRows is how many prompts the list shows before it scrolls.
const maxPromptRows = 3

// promptsChanged runs the segmentation again when prompts change (and
// auto-run is on); otherwise a run in progress stops, as its result would
// be for prompts no longer there (the editor has dropped a preview made
// from a removed prompt).
func (v *Viewer) promptsChanged() {
	v.aiPanel.sync()
	e := v.session.Edit()
	if v.aiPanel.auto.Checked && e.HasPrompt() {
		v.RunSegmentation()
		return
	}
	v.CancelSegmentation()
}

var errNoSession = errors.New("no study open")
