// Package labels is the toolkit-free logic of segmentation: the label map
// (one segment value per voxel in an image's grid), its segment table, the
// edits (brush, eraser, islands, holes, smoothing, slice interpolation,
// accepting a mask), per-segment statistics, undo and redo as a journal of
// sparse changes, and saving (NIfTI plus an ITK-SNAP label description
// file, and autosave for crash recovery). The app's tool bar and panels
// drive it; nothing here knows about widgets.
//
// Voxels are uint8: one byte per voxel keeps a 512x512x600 CT's label map at
// 150 MB and its journal runs at two value bytes, and 255 segments exceed
// what any atlas the app ships needs (TotalSegmentator has 117 classes).
// Adding uint16 would make the voxel slice and the segment value a type
// parameter (LabelMap[V uint8|uint16]), widen the journal's old/new values to
// two bytes, the segment table from an array of 256 to a map, and write
// NIfTI as uint16; the ITK-SNAP file already allows larger indices.
package labels

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"image/color"
	"math"
	"sync"

	"github.com/segvolapp/segvol/infer/morph"
	"github.com/segvolapp/segvol/viewer/volume"
)

// Segment is one row of the segment table.
type Segment struct {
	Value   uint8
	Name    string
	Color   color.NRGBA // A is ignored: Opacity is the segment's alpha
	Visible bool
	Opacity float64 // 0..1
	// Locked segments are never overwritten by an edit; undo and redo
	// still restore them exactly.
	Locked bool
}

// DrawOver says which voxels an edit that writes a segment may change, as
// ITK-SNAP's "draw over" setting.
type DrawOver uint8

const (
	// OverAll paints over background and every unlocked segment.
	OverAll DrawOver = iota
	// OverBackground paints only where the label map is background (0).
	OverBackground
)

// Change is what an edit, undo or redo changed: the number of voxels and
// their bounding box in voxel indices (inclusive), for the renderer to
// upload only that part.
type Change struct {
	Voxels   int
	Cleared  int // of Voxels, those that became background
	Min, Max [3]int
	// Spared counts the voxels of locked segments the edit left alone
	// (SparedSeg is one of those segments), so that the user is told why
	// the brush did not paint there.
	Spared    int
	SparedSeg uint8
}

// Empty reports whether nothing changed.
func (c Change) Empty() bool { return c.Voxels == 0 }

// Box is the changed voxels' inclusive index box, empty (hi < lo) when
// nothing changed: render.Labels.Changed's form.
func (c Change) Box() (lo, hi [3]int) {
	if c.Empty() {
		return [3]int{}, [3]int{-1, -1, -1}
	}
	return c.Min, c.Max
}

// MaskChange is the Change of mask's nonzero voxels.
func MaskChange(mask []uint8, dims [3]int) Change {
	lo, hi, n := morph.Bounds(mask, dims)
	return Change{Voxels: n, Min: lo, Max: hi}
}

// Merge adds o's voxels to c: their count, and the box that holds both.
func (c *Change) Merge(o Change) {
	spared, seg := c.Spared+o.Spared, cmp.Or(o.SparedSeg, c.SparedSeg)
	defer func() { c.Spared, c.SparedSeg = spared, seg }()
	if o.Voxels == 0 {
		return
	}
	if c.Voxels == 0 {
		*c = o
		return
	}
	c.Voxels += o.Voxels
	c.Cleared += o.Cleared
	for a := range 3 {
		c.Min[a] = min(c.Min[a], o.Min[a])
		c.Max[a] = max(c.Max[a], o.Max[a])
	}
}

// table is the segment table indexed by value; used[v] says whether value
// v is a segment. A fixed array makes the lock check of every written
// voxel one load.
type table struct {
	seg  [256]Segment
	used [256]bool
}

// LabelMap is a segmentation of one image. All methods are safe for
// concurrent use: edits take the write lock, Autosave and Save a read lock.
type LabelMap struct {
	mu     sync.RWMutex
	dims   [3]int
	geom   volume.Geometry
	img    *volume.Volume // the segmented image, read only; nil for none
	source string         // the study path, for recovery
	vox    []uint8
	tab    table
	over   DrawOver
	hist   journal
	// log counts changes (edits, undo, redo, table changes) and keeps what
	// the latest changed; autosave skips a map whose revision it already
	// wrote.
	log  ChangeLog
	auto autosaveState
}

// New returns an empty label map in img's grid with no segments.
func New(img *volume.Volume) (*LabelMap, error) {
	if err := img.Validate(); err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	return &LabelMap{
		dims:   img.Dims,
		geom:   img.Geom,
		img:    img,
		source: img.Meta.Source,
		vox:    volume.Make[uint8](img.Len()),
		hist:   journal{limit: DefaultJournalLimit},
	}, nil
}

// Dims is the grid size (columns, rows, slices).
func (m *LabelMap) Dims() [3]int { return m.dims }

// Geometry is the grid's placement in patient space (that of the image).
func (m *LabelMap) Geometry() volume.Geometry { return m.geom }

// Image is the segmented image (nil when the map was made without one).
func (m *LabelMap) Image() *volume.Volume { return m.img }

// SetImage segments img from now on, another image of the same grid (a
// time point of a 4D series): statistics and intensity limits read it.
func (m *LabelMap) SetImage(img *volume.Volume) error {
	if img.Dims != m.dims || img.Geom != m.geom {
		return fmt.Errorf("labels: a %v image where the map is %v", img.Dims, m.dims)
	}
	m.mu.Lock()
	m.img = img
	m.mu.Unlock()
	return nil
}

// Read calls fn with the voxels under the read lock, for a renderer or an
// exporter on another goroutine; fn must not keep or modify the slice.
func (m *LabelMap) Read(fn func(voxels []uint8)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	fn(m.vox)
}

// At is the segment value at voxel (i, j, k), 0 outside the grid.
func (m *LabelMap) At(i, j, k int) uint8 {
	if i < 0 || j < 0 || k < 0 || i >= m.dims[0] || j >= m.dims[1] || k >= m.dims[2] {
		return 0
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.vox[i+m.dims[0]*(j+m.dims[1]*k)]
}

// bump starts a new revision that changed c; the caller holds the lock.
func (m *LabelMap) bump(c Change) { m.log.Add(c, true) }

// ReadChanges is Read for a renderer that keeps a copy of the voxels: fn
// also gets their revision and a function saying what changed since an
// older revision it holds (false: no longer known, copy them all). All
// three are valid only during fn, under the read lock.
func (m *LabelMap) ReadChanges(fn func(voxels []uint8, rev uint64, since func(rev uint64) (Change, bool))) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	fn(m.vox, m.log.Revision(), m.log.Since)
}

// Revision increases with every change to voxels or the segment table.
func (m *LabelMap) Revision() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.log.Revision()
}

// SetDrawOver sets which voxels later edits may paint over.
func (m *LabelMap) SetDrawOver(d DrawOver) {
	m.mu.Lock()
	m.over = d
	m.mu.Unlock()
}

// Segments is the segment table ordered by value.
func (m *LabelMap) Segments() []Segment {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []Segment
	for v := 1; v < 256; v++ {
		if m.tab.used[v] {
			out = append(out, m.tab.seg[v])
		}
	}
	return out
}

// Segment is the table row of value v.
func (m *LabelMap) Segment(v uint8) (Segment, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.tab.seg[v], m.tab.used[v]
}

// ErrNoSegment is returned for a value that is not in the segment table.
var ErrNoSegment = errors.New("labels: no such segment")

// ErrTableFull is returned when all 255 segment values are taken.
var ErrTableFull = errors.New("labels: all 255 segment values are in use")

// AddSegment adds a segment under the lowest free value with the default
// colour of that value, visible and opaque; an undoable step.
func (m *LabelMap) AddSegment(name string) (uint8, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for v := 1; v < 256; v++ {
		if !m.tab.used[v] {
			s := defaultSegment(uint8(v))
			if name != "" {
				s.Name = name
			}
			m.changeTable("add segment", func(t *table) { t.seg[v], t.used[v] = s, true })
			return uint8(v), nil
		}
	}
	return 0, ErrTableFull
}

func defaultSegment(v uint8) Segment {
	c := DefaultColor(v)
	c.A = 255
	return Segment{Value: v, Name: fmt.Sprintf("Label %d", v), Color: c, Visible: true, Opacity: 1}
}

// Rename sets segment v's name; an undoable step.
func (m *LabelMap) Rename(v uint8, name string) error {
	return m.updateSegment("rename segment", v, func(s *Segment) { s.Name = name })
}

// Recolor sets segment v's colour; an undoable step.
func (m *LabelMap) Recolor(v uint8, c color.NRGBA) error {
	c.A = 255
	return m.updateSegment("recolour segment", v, func(s *Segment) { s.Color = c })
}

// SetVisible shows or hides segment v. Display state is not an undo step.
func (m *LabelMap) SetVisible(v uint8, on bool) error {
	return m.setState(v, func(s *Segment) { s.Visible = on })
}

// SetOpacity sets segment v's opacity (clamped to 0..1); not an undo step.
func (m *LabelMap) SetOpacity(v uint8, a float64) error {
	if math.IsNaN(a) {
		return fmt.Errorf("labels: opacity is NaN")
	}
	return m.setState(v, func(s *Segment) { s.Opacity = min(max(a, 0), 1) })
}

// SetLocked locks or unlocks segment v; not an undo step.
func (m *LabelMap) SetLocked(v uint8, on bool) error {
	return m.setState(v, func(s *Segment) { s.Locked = on })
}

func (m *LabelMap) setState(v uint8, fn func(*Segment)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.tab.used[v] {
		return fmt.Errorf("%w %d", ErrNoSegment, v)
	}
	fn(&m.tab.seg[v])
	m.bump(Change{})
	return nil
}

func (m *LabelMap) updateSegment(name string, v uint8, fn func(*Segment)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.tab.used[v] {
		return fmt.Errorf("%w %d", ErrNoSegment, v)
	}
	m.changeTable(name, func(t *table) { fn(&t.seg[v]) })
	return nil
}

// DeleteSegment removes segment v and clears its voxels, in one undoable
// step. A locked segment cannot be deleted.
func (m *LabelMap) DeleteSegment(v uint8) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.tab.used[v] {
		return Change{}, fmt.Errorf("%w %d", ErrNoSegment, v)
	}
	if m.tab.seg[v].Locked {
		return Change{}, fmt.Errorf("labels: segment %d (%s) is locked", v, m.tab.seg[v].Name)
	}
	m.begin("delete segment")
	w := m.writer()
	for n, x := range m.vox {
		if x == v {
			w.set(n, 0)
		}
	}
	c := w.done()
	m.changeTable("", func(t *table) { t.used[v] = false; t.seg[v] = Segment{} })
	m.end()
	return c, nil
}

// changeTable applies fn to the table as one step, or as part of the open
// step; the caller holds the lock.
func (m *LabelMap) changeTable(name string, fn func(*table)) {
	m.begin(name)
	s := m.hist.open
	if s.tabBefore == nil {
		before := m.tab
		s.tabBefore = &before
	}
	fn(&m.tab)
	after := m.tab
	s.tabAfter = &after
	m.bump(Change{})
	m.end()
}

// Mask is a fresh mask (1 inside) of segment v's voxels, an operand for
// Apply: Apply(m.Mask(b), a, Add) merges segment b into a.
func (m *LabelMap) Mask(v uint8) []uint8 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]uint8, len(m.vox))
	for n, x := range m.vox {
		if x == v {
			out[n] = 1
		}
	}
	return out
}

// Count is the number of voxels of segment v.
func (m *LabelMap) Count(v uint8) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := 0
	for _, x := range m.vox {
		if x == v {
			n++
		}
	}
	return n
}

// Begin opens a step that gathers every edit until the matching End (a
// brush stroke of many dabs is one undo step). Steps nest; the outermost
// name is kept.
func (m *LabelMap) Begin(name string) {
	m.mu.Lock()
	m.begin(name)
	m.mu.Unlock()
}

// End closes the step opened by Begin and returns everything it changed.
func (m *LabelMap) End() Change {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hist.depth == 0 {
		return Change{} // an End without Begin
	}
	c := m.hist.open.change
	m.end()
	return c
}

func (m *LabelMap) begin(name string) {
	if m.hist.depth == 0 {
		m.hist.open = &step{name: name}
	}
	m.hist.depth++
}

// NameStep names the open step (Begin's name known only once an edit in
// it has been made); nothing without one.
func (m *LabelMap) NameStep(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hist.depth > 0 {
		m.hist.open.name = name
	}
}

// Reopen opens step s again when it is the last step (nothing undone or
// done since): the edits up to the matching End join it, so that a
// segment added for a prompt and the result accepted into it are one undo
// step. False, with nothing opened, otherwise.
func (m *LabelMap) Reopen(s Step) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	j := &m.hist
	n := len(j.undo)
	if s.s == nil || j.depth > 0 || n == 0 || j.undo[n-1] != s.s || len(j.redo) > 0 {
		return false
	}
	j.undo = j.undo[:n-1]
	j.bytes -= s.s.bytes()
	j.open, j.depth = s.s, 1
	return true
}

func (m *LabelMap) end() {
	if m.hist.depth == 0 {
		return
	}
	m.hist.depth--
	if m.hist.depth == 0 {
		m.hist.commit()
	}
}

// writer records the changes of one edit into the open step while applying
// the draw-over and lock rules; the caller holds the lock and visits
// offsets in increasing order where it can (runs then merge).
type writer struct {
	m         *LabelMap
	rec       recorder
	spared    int // voxels of locked segments left alone
	sparedSeg uint8
}

func (m *LabelMap) writer() *writer {
	return &writer{m: m, rec: recorder{dims: m.dims}}
}

// set writes value v at offset n if the rules allow it, and reports
// whether the voxel now holds v.
func (w *writer) set(n int, v uint8) bool {
	old := w.m.vox[n]
	if old == v {
		return true
	}
	if w.m.tab.seg[old].Locked && w.m.tab.used[old] {
		w.spared++
		w.sparedSeg = old
		return false
	}
	if v != 0 && old != 0 && w.m.over == OverBackground {
		return false
	}
	w.m.vox[n] = v
	w.rec.add(n, old, v)
	return true
}

// done closes the edit: its runs join the open step.
func (w *writer) done() Change {
	c := w.rec.finish()
	c.Spared, c.SparedSeg = w.spared, w.sparedSeg
	if c.Voxels > 0 {
		s := w.m.hist.open
		s.chunks = append(s.chunks, bytes.Clone(w.rec.buf)) // no spare capacity kept
		s.change.Merge(c)
		w.m.bump(c)
	}
	return c
}

// edit runs fn as one undoable step named name (or inside the open one).
func (m *LabelMap) edit(name string, fn func(w *writer) error) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.begin(name)
	w := m.writer()
	err := fn(w)
	c := w.done()
	m.end()
	return c, err
}

func (m *LabelMap) checkSegment(v uint8) error {
	if v != 0 && !m.tab.used[v] {
		return fmt.Errorf("%w %d", ErrNoSegment, v)
	}
	return nil
}
