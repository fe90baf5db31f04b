package viewer

import (
	"fmt"
	"image/color"
	"math"

	"github.com/segvolapp/segvol/internal/parallel"
	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
)

// PreviewValue is the label value the AI preview is drawn with: it is
// composed into the label map the renderers see, so both renderers show
// it with no second pass. A segment with this value is hidden under the
// preview while one is shown.
const PreviewValue = 255

// PreviewColor is the preview's colour: a yellow no default segment
// colour is close to. A segment may still be given it, so the preview is
// also hatched (render.Labels.Hatched).
var PreviewColor = color.NRGBA{0xff, 0xe0, 0x20, 0xff}

// Editor is the segmentation side of a session: the label map and its
// active segment, the tool, the AI prompts and preview, the brush and the
// overlay settings. Like Session, it is used from the UI goroutine only;
// the label map itself is also safe to read from others (autosave).
type Editor struct {
	s      *Session
	labels *labels.LabelMap
	active uint8
	tool   Tool

	points []Point
	nextID int
	box    *Box
	text   string

	meas measurements

	preview    []uint8
	previewBox labels.Change // the preview's voxels
	previewGen uint64
	// nextObject: the next prompt starts a new segment, as nnInteractive's
	// "next object" does, so an accepted structure is not replaced by the
	// result of a prompt meant for another one. Set by Accept, cleared
	// when the user picks a segment; undoing the Accept clears it and
	// redoing it sets it again (accepted is its undo step).
	nextObject bool
	accepted   labels.Step
	// into is the segment the Accept wrote.
	into uint8
	// made is the step that added segment madeSeg for the prompts after an
	// Accept; accepting into it joins that step, when nothing came after.
	made    labels.Step
	madeSeg uint8

	// BrushMM is the brush and eraser radius in mm.
	BrushMM float64
	// Brush3D makes the brush a sphere; otherwise a disc in the view.
	Brush3D bool
	// Range, when set, limits brush, eraser and 3D fill to image values
	// within it (HU for CT).
	Range *[2]float64
	// RangeErr, when set, says why the range asked for is not usable (a
	// bound that is no number): brush, eraser and 3D fill refuse with it
	// rather than paint every value the user meant to exclude.
	RangeErr error
	// FillTolerance is the 3D fill's range around the clicked value when
	// Range is not set.
	FillTolerance float64

	fill, outline bool
	opacity       float64 // multiplies every segment's opacity

	display []uint8 // labels with the preview composed in
	shown   shown
	stroke  bool // a brush stroke is open (one undo step)
	lastDab [3]float64
	// strokeDid is what the open or last stroke changed and spared.
	strokeDid labels.Change
	saved     labels.State
}

func newEditor(s *Session) (*Editor, error) {
	m, err := labels.New(s.Volume)
	if err != nil {
		return nil, err
	}
	return &Editor{s: s, labels: m, saved: m.State(), BrushMM: 5, FillTolerance: 100, fill: true, outline: true, opacity: 0.5}, nil
}

// Labels is the label map.
func (e *Editor) Labels() *labels.LabelMap { return e.labels }

// SetLabels replaces the label map (a loaded or recovered one), which then
// counts as saved; the preview and prompts stay.
func (e *Editor) SetLabels(m *labels.LabelMap) error {
	if m.Dims() != e.s.Volume.Dims {
		return fmt.Errorf("label map %v for a %v image", m.Dims(), e.s.Volume.Dims)
	}
	e.labels, e.stroke, e.accepted, e.made = m, false, labels.Step{}, labels.Step{}
	e.active = 0
	if segs := m.Segments(); len(segs) > 0 {
		e.active = segs[0].Value
	}
	// Segments read from a file are finished work, as accepted ones are:
	// the next prompt starts a new segment (a prompt on the kidney after
	// reopening went to the liver, first in the table, and asked to
	// replace all of it). Picking a segment in the list refines it.
	e.nextObject = e.active != 0
	e.saved = m.State()
	e.labelsChanged()
	return nil
}

// Dirty reports whether the label map (voxels or segment table) or the
// measurements differ from what was last saved or loaded; undoing back to
// the saved state makes it clean again.
func (e *Editor) Dirty() bool { return e.labels.State() != e.saved || e.meas.dirty }

// MarkSaved records that the label map as it is now is saved.
func (e *Editor) MarkSaved() { e.saved = e.labels.State() }

// Tool is the active tool.
func (e *Editor) Tool() Tool { return e.tool }

// SetTool picks the tool of the left mouse button.
func (e *Editor) SetTool(t Tool) {
	if t == e.tool {
		return
	}
	e.EndStroke()
	e.meas.pending = nil // an angle left half placed
	e.tool = t
	e.s.notify(Change{What: ToolChanged, Views: allViews})
}

// Active is the segment that edits and accepted previews write (0: none).
func (e *Editor) Active() uint8 { return e.active }

// SetActive picks the active segment.
func (e *Editor) SetActive(v uint8) error {
	if _, ok := e.labels.Segment(v); !ok && v != 0 {
		return fmt.Errorf("%w %d", labels.ErrNoSegment, v)
	}
	e.active, e.nextObject = v, false
	e.s.notify(Change{What: LabelsChanged})
	return nil
}

// AddSegment adds a segment (named name, or "Label N") and makes it active.
func (e *Editor) AddSegment(name string) (uint8, error) {
	v, err := e.labels.AddSegment(name)
	if err != nil {
		return 0, err
	}
	e.active, e.nextObject = v, false
	e.labelsChanged()
	return v, nil
}

// DeleteSegment deletes segment v and its voxels (one undo step).
func (e *Editor) DeleteSegment(v uint8) error {
	if _, err := e.labels.DeleteSegment(v); err != nil {
		return err
	}
	if e.active == v {
		e.active = 0
		if segs := e.labels.Segments(); len(segs) > 0 {
			e.active = segs[0].Value
		}
	}
	e.labelsChanged()
	return nil
}

// Do runs a label map operation that returns an error (rename, recolour,
// visibility, opacity, lock) and tells the views.
func (e *Editor) Do(op func(m *labels.LabelMap) error) error {
	err := op(e.labels)
	e.labelsChanged()
	return err
}

// Edit runs an edit of the active segment (islands, holes, smoothing,
// interpolation), one undo step, and tells the views.
func (e *Editor) Edit(op func(m *labels.LabelMap, v uint8) (labels.Change, error)) (labels.Change, error) {
	if e.active == 0 {
		return labels.Change{}, fmt.Errorf("no active segment: add one in the segments panel")
	}
	if err := e.CheckUnlocked(); err != nil {
		return labels.Change{}, err
	}
	c, err := op(e.labels, e.active)
	e.labelsChanged()
	return c, err
}

// CheckUnlocked refuses edits of a locked active segment: the label map
// spares its voxels but would still let an edit add to it. The app asks
// it first, before questions about an Accept that would be refused.
func (e *Editor) CheckUnlocked() error {
	if seg, _ := e.labels.Segment(e.active); seg.Locked {
		return fmt.Errorf("segment %q is locked", seg.Name)
	}
	return nil
}

// CanUndo names the step Undo would take: a point of an angle being
// placed, a change to the measurements or the label map's last step.
func (e *Editor) CanUndo() (string, bool) {
	if len(e.meas.pending) > 0 {
		return "angle point", true
	}
	if s, ok := e.nextMeasureStep(e.meas.undo); ok {
		return s.name, true
	}
	return e.labels.CanUndo()
}

// CanRedo names the step Redo would take.
func (e *Editor) CanRedo() (string, bool) {
	if s, ok := e.nextMeasureStep(e.meas.redo); ok {
		return s.name, true
	}
	return e.labels.CanRedo()
}

// Undo undoes the last step, of the measurements or the label map, and
// reports whether there was one. An undone
// Accept leaves the segment it filled, when that was there before it, for
// the next prompt to fill again (one the prompt or Accept added goes with
// it); undoing a later step keeps it safe from the next prompt.
func (e *Editor) Undo() bool {
	e.EndStroke()
	if e.undoMeasure() {
		return true
	}
	undone := e.labels.LastStep()
	_, ok := e.labels.Undo()
	if ok && undone == e.accepted {
		// Its segment, if it was there before, is for the next prompt to
		// fill again; one the Accept made is gone with it.
		_, kept := e.labels.Segment(e.into)
		e.nextObject = !kept
	}
	e.fixActive()
	e.labelsChanged()
	return ok
}

// Redo redoes the last undone step. A redone Accept sends the next prompt
// to a new segment again, as the Accept did: without that, its result
// went into the accepted segment.
func (e *Editor) Redo() bool {
	e.EndStroke()
	if e.redoMeasure() {
		return true
	}
	_, ok := e.labels.Redo()
	if ok && e.labels.LastStep() == e.accepted {
		e.active, e.nextObject = e.into, true
	}
	e.fixActive()
	e.labelsChanged()
	return ok
}

// fixActive keeps the active segment one that exists after an undo or
// redo changed the table.
func (e *Editor) fixActive() {
	if _, ok := e.labels.Segment(e.active); ok {
		return
	}
	e.active = 0
	if segs := e.labels.Segments(); len(segs) > 0 {
		e.active = segs[len(segs)-1].Value
	}
}

func (e *Editor) labelsChanged() {
	e.s.notify(Change{What: LabelsChanged, Views: allViews})
}

// Overlay is how segments are drawn: filled, outlined, and the opacity
// every segment's own is multiplied by.
func (e *Editor) Overlay() (fill, outline bool, opacity float64) {
	return e.fill, e.outline, e.opacity
}

// SetOverlay sets how segments are drawn.
func (e *Editor) SetOverlay(fill, outline bool, opacity float64) {
	e.fill, e.outline, e.opacity = fill, outline, min(max(opacity, 0), 1)
	e.labelsChanged()
}

// Preview is the AI result awaiting acceptance (1 inside), or nil.
func (e *Editor) Preview() []uint8 { return e.preview }

// PreviewVoxels is the number of voxels of the preview.
func (e *Editor) PreviewVoxels() int { return e.previewBox.Voxels }

// SetPreview shows an AI result as the preview (nil removes it).
func (e *Editor) SetPreview(mask []uint8) error {
	if mask != nil && len(mask) != e.s.Volume.Len() {
		return fmt.Errorf("preview of %d voxels for a %d-voxel image", len(mask), e.s.Volume.Len())
	}
	e.preview, e.previewBox = mask, labels.Change{}
	if mask != nil {
		e.previewBox = labels.MaskChange(mask, e.s.Volume.Dims)
	}
	e.previewGen++
	e.s.notify(Change{What: PreviewChanged | LabelsChanged, Views: allViews})
	return nil
}

// Accept writes the preview into the active segment with op (replace, add,
// subtract or intersect) as one undo step, then clears the preview and the
// prompts. Without an active segment it adds one, named after the
// structure prompt when there is one.
func (e *Editor) Accept(op labels.Op) (labels.Change, error) {
	if e.preview == nil {
		return labels.Change{}, fmt.Errorf("no preview to accept: run a segmentation first")
	}
	if err := e.CheckUnlocked(); err != nil {
		return labels.Change{}, err
	}
	before := e.labels.LastStep()
	// The segment is named in the step as the user knows it (undo said
	// "undone: apply"); one the prompt added, or added here, is part of
	// the step, so undo leaves no empty segment behind.
	joined := e.active == e.madeSeg && e.labels.Reopen(e.made)
	if !joined {
		e.labels.Begin("")
	}
	if e.active == 0 {
		if _, err := e.AddSegment(e.text); err != nil {
			e.labels.End()
			return labels.Change{}, err
		}
	}
	sg, _ := e.labels.Segment(e.active)
	e.labels.NameStep("accept into " + sg.Name)
	c, err := e.labels.Apply(e.preview, e.active, op)
	e.labels.End()
	if err != nil {
		return c, err
	}
	if e.accepted = e.labels.LastStep(); e.accepted == before && !joined {
		e.accepted = labels.Step{} // it changed nothing: no step of its own
	}
	e.into, e.made = e.active, labels.Step{}
	e.points, e.box, e.text = nil, nil, ""
	e.nextObject = true
	e.SetPreview(nil)
	e.promptsChanged()
	return c, nil
}

// AcceptLoss is what accepting the preview with op would remove from the
// active segment: the voxels and the segment's voxels now; ask is true
// when that is more than half of a non-empty segment, which the user
// should confirm (a small result replacing an accepted organ).
func (e *Editor) AcceptLoss(op labels.Op) (lost, had int, ask bool) {
	if e.preview == nil || e.active == 0 {
		return 0, 0, false
	}
	lost, had = e.labels.Loss(e.preview, e.active, op)
	return lost, had, had > 0 && 2*lost > had
}

// AcceptTakes is what accepting the preview with op would take from the
// segments other than the active one (their voxels it paints over); ask
// is true when that is more than half of one of them.
func (e *Editor) AcceptTakes(op labels.Op) (takes []labels.Take, ask bool) {
	if e.preview == nil || e.active == 0 {
		return nil, false
	}
	takes = e.labels.Takes(e.preview, e.active, op)
	for _, t := range takes {
		ask = ask || 2*t.Lost > t.Had
	}
	return takes, ask
}

// startObject adds the segment the first prompt after an Accept goes to,
// named after the structure prompt if there is one. A full segment table
// leaves the active segment, which AcceptLoss still guards.
func (e *Editor) startObject() {
	if e.nextObject && e.HasPrompt() {
		if v, err := e.AddSegment(e.text); err == nil {
			e.made, e.madeSeg = e.labels.LastStep(), v
		}
	}
}

// Reject drops the preview and the prompts.
//
// The segment the first of those prompts added goes with them while
// nothing is in it (a Reject left "Label 4 (0.0 mL)" in the list, to be
// saved), and the next prompt starts a new one again.
func (e *Editor) Reject() {
	e.SetPreview(nil)
	e.ClearPrompts()
	if e.made == (labels.Step{}) || e.labels.LastStep() != e.made || e.labels.Count(e.madeSeg) != 0 {
		return
	}
	if _, ok := e.labels.Undo(); ok {
		e.labels.DropRedo()
		e.made, e.nextObject = labels.Step{}, true
		e.fixActive()
		e.labelsChanged()
	}
}

// LabelsKey changes whenever the drawn label map does: a view compares it
// to know whether to render again. Map tells a replaced label map from the
// old one, since revisions count per map and two loaded alike share them.
type LabelsKey struct {
	Map               *labels.LabelMap
	Revision, Preview uint64
	Fill, Outline     bool
	Opacity           float64
}

// LabelsKey is the current LabelsKey.
func (e *Editor) LabelsKey() LabelsKey {
	return LabelsKey{e.labels, e.labels.Revision(), e.previewGen, e.fill, e.outline, e.opacity}
}

// RenderLabels calls fn with the label map as renderers take it: the
// visible segments' colours, the preview composed in with PreviewValue,
// under the map's read lock (fn must not keep it).
func (e *Editor) RenderLabels(fn func(*render.Labels)) {
	segs := e.labels.Segments()
	colors := make([]color.NRGBA, 256)
	for _, sg := range segs {
		if sg.Visible {
			c := sg.Color
			c.A = uint8(math.Round(255 * sg.Opacity * e.opacity))
			colors[sg.Value] = c
		}
	}
	if e.preview != nil {
		pc := PreviewColor
		pc.A = uint8(math.Round(255 * max(e.opacity, 0.3)))
		colors[PreviewValue] = pc
	}
	l := &render.Labels{Colors: colors, Fill: e.fill, Outline: e.outline}
	if e.preview != nil {
		// Hatched: a yellow segment looked just like the preview.
		l.Hatched = PreviewValue
	}
	e.labels.ReadChanges(func(vox []uint8, rev uint64, since func(uint64) (labels.Change, bool)) {
		e.show(vox, rev, since)
		l.Data = vox
		if e.preview != nil {
			l.Data = e.display
		}
		l.Revision, l.Changed = e.shown.log.Revision(), e.shown.since
		fn(l)
	})
}

// shown is what RenderLabels last gave the renderers, numbered in a
// revision sequence of its own: the labels with or without a preview, from
// one label map or the next. A renderer that keeps a copy (render/gl's
// texture) then updates only the box that a brush dab or a new AI result
// changed, and composing the preview redoes only that box: both were the
// whole 78 MB of a 512x512x300 map before.
type shown struct {
	m               *labels.LabelMap // the label map then: another's revisions are not its
	labels, preview uint64           // m's revision and previewGen
	previewBox      labels.Change    // the preview's voxels then
	log             labels.ChangeLog
}

// show brings e.shown (and e.display, when a preview is shown) up to the
// label map's revision rev and the current preview.
func (e *Editor) show(vox []uint8, rev uint64, since func(uint64) (labels.Change, bool)) {
	sh := &e.shown
	known := sh.m == e.labels
	if known && sh.labels == rev && sh.preview == e.previewGen {
		return
	}
	var c labels.Change
	if known && sh.labels != rev {
		lc, ok := since(sh.labels)
		c.Merge(lc)
		known = ok
	}
	if sh.preview != e.previewGen {
		c.Merge(sh.previewBox)
		c.Merge(e.previewBox)
	}
	if e.preview != nil {
		lo, hi := [3]int{}, [3]int{-1, -1, -1}
		// display, when there is one, holds the preview shown last.
		if !known || len(e.display) != len(vox) {
			if len(e.display) != len(vox) {
				e.display = make([]uint8, len(vox))
			}
			hi = [3]int{e.s.Volume.Dims[0] - 1, e.s.Volume.Dims[1] - 1, e.s.Volume.Dims[2] - 1}
		} else if !c.Empty() {
			lo, hi = c.Box()
		}
		composePreview(e.display, vox, e.preview, e.s.Volume.Dims, lo, hi)
	} else {
		e.display = nil // the renderers take the labels themselves
	}
	sh.log.Add(c, known)
	sh.m, sh.labels, sh.preview, sh.previewBox = e.labels, rev, e.previewGen, e.previewBox
}

// since is render.Labels.Changed for e.shown.
func (sh *shown) since(old uint64) (lo, hi [3]int, ok bool) {
	c, ok := sh.log.Since(old)
	lo, hi = c.Box()
	return lo, hi, ok
}

// composePreview writes the labels vox with the preview mask laid over
// them (as PreviewValue) into dst, within the inclusive box lo..hi.
func composePreview(dst, vox, preview []uint8, dims, lo, hi [3]int) {
	if hi[0] < lo[0] {
		return
	}
	parallel.For(hi[2]-lo[2]+1, func(k0, k1 int) {
		for k := lo[2] + k0; k < lo[2]+k1; k++ {
			for j := lo[1]; j <= hi[1]; j++ {
				at := lo[0] + dims[0]*(j+dims[1]*k)
				n := hi[0] - lo[0] + 1
				d, v, p := dst[at:][:n], vox[at:][:n], preview[at:][:n]
				for i, x := range v {
					if p[i] != 0 {
						x = PreviewValue
					}
					d[i] = x
				}
			}
		}
	})
}

// ProbeLabel is the segment under screen point (x, y) of view o (0 for
// background or outside).
func (e *Editor) ProbeLabel(o mpr.Orientation, x, y float64) uint8 {
	p := e.s.ProbeAt(o, x, y)
	if !p.Inside {
		return 0
	}
	return e.labels.At(p.Index[0], p.Index[1], p.Index[2])
}

// MarkUnsaved records that the label map is not saved anywhere (restored
// from an autosave).
func (e *Editor) MarkUnsaved() { e.saved = labels.State{} }
