package labels

import "encoding/binary"

// DefaultJournalLimit bounds the memory of the undo history; the oldest
// steps are dropped past it.
const DefaultJournalLimit = 256 << 20

// A step's voxel changes are stored as runs: consecutive offsets whose old
// values are all equal and whose new values are all equal. A run is encoded
// as (offset delta from the previous run's end: signed varint, length:
// unsigned varint, old, new): a brush dab costs a few bytes per row it
// crosses and a whole-organ acceptance a few bytes per row of its outline,
// not per voxel.
type recorder struct {
	dims     [3]int
	buf      []byte
	start, n int
	old, new uint8
	prevEnd  int
	change   Change
	boxed    bool // change.Min and Max hold a voxel
}

func (r *recorder) add(n int, old, new uint8) {
	if r.n > 0 && n == r.start+r.n && old == r.old && new == r.new {
		r.n++
		return
	}
	r.flush()
	r.start, r.n, r.old, r.new = n, 1, old, new
}

func (r *recorder) flush() {
	if r.n == 0 {
		return
	}
	r.buf = binary.AppendVarint(r.buf, int64(r.start-r.prevEnd))
	r.buf = binary.AppendUvarint(r.buf, uint64(r.n))
	r.buf = append(r.buf, r.old, r.new)
	r.prevEnd = r.start + r.n
	r.grow(r.start)
	r.grow(r.start + r.n - 1)
	r.change.Voxels += r.n
	if r.new == 0 {
		r.change.Cleared += r.n
	}
	// A run that spans rows covers their full width.
	if r.start/r.dims[0] != (r.start+r.n-1)/r.dims[0] {
		r.change.Min[0], r.change.Max[0] = 0, r.dims[0]-1
	}
	r.n = 0
}

// grow widens the change's box to offset n.
func (r *recorder) grow(n int) {
	p := [3]int{n % r.dims[0], (n / r.dims[0]) % r.dims[1], n / (r.dims[0] * r.dims[1])}
	if !r.boxed {
		r.change.Min, r.change.Max, r.boxed = p, p, true
		return
	}
	for a := range 3 {
		r.change.Min[a] = min(r.change.Min[a], p[a])
		r.change.Max[a] = max(r.change.Max[a], p[a])
	}
}

func (r *recorder) finish() Change {
	r.flush()
	return r.change
}

// replay writes the old (undo) or new (redo) values of one chunk of runs.
func replay(vox []uint8, buf []byte, undo bool) {
	end := 0
	for len(buf) > 0 {
		d, k := binary.Varint(buf)
		buf = buf[k:]
		n, k := binary.Uvarint(buf)
		buf = buf[k:]
		v := buf[1]
		if undo {
			v = buf[0]
		}
		buf = buf[2:]
		start := end + int(d)
		end = start + int(n)
		fill(vox[start:end], v)
	}
}

func fill(b []uint8, v uint8) {
	for i := range b {
		b[i] = v
	}
}

// step is one user action: the voxel changes of its edits in order, and
// the segment table before and after when the action changed it.
type step struct {
	id        uint64 // the journal's count of steps when it was committed
	name      string
	chunks    [][]byte
	tabBefore *table
	tabAfter  *table
	change    Change
}

// stepOverhead is what a step costs beyond its runs (the struct, slice
// headers); a table snapshot costs its size.
const stepOverhead = 128

func (s *step) bytes() int {
	b := stepOverhead + len(s.name)
	for _, c := range s.chunks {
		b += cap(c) + 24
	}
	if s.tabBefore != nil {
		b += 2 * tableBytes
	}
	return b
}

// tableBytes approximates one table snapshot (256 rows with their names).
const tableBytes = 256 * 72

type journal struct {
	undo, redo []*step
	open       *step
	depth      int
	bytes      int
	limit      int
	// seq counts committed steps; base is the id of the newest step
	// trimmed away, so that with every step undone the voxels are as base
	// left them (0: as loaded).
	seq, base uint64
}

// at is the id of the step that brought the voxels to what they are now.
func (j *journal) at() uint64 {
	if len(j.undo) == 0 {
		return j.base
	}
	return j.undo[len(j.undo)-1].id
}

// commit pushes the open step, unless it changed nothing.
func (j *journal) commit() {
	s := j.open
	j.open = nil
	if len(s.chunks) == 0 && s.tabBefore == nil {
		return
	}
	j.dropRedo()
	j.seq++
	s.id = j.seq
	j.undo = append(j.undo, s)
	j.bytes += s.bytes()
	j.trim()
}

// trim drops the oldest steps until the history fits its limit; a single
// step larger than the limit is dropped too (it cannot be undone).
func (j *journal) trim() {
	drop := 0
	for j.bytes > j.limit && drop < len(j.undo) {
		j.bytes -= j.undo[drop].bytes()
		j.base = j.undo[drop].id
		j.undo[drop] = nil
		drop++
	}
	j.undo = j.undo[drop:]
}

// Step identifies one undo step, so that a caller can tell when that
// step is undone or redone; the zero Step is none.
type Step struct{ s *step }

// LastStep is the step Undo would undo (the zero Step when none).
func (m *LabelMap) LastStep() Step {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.hist.undo) == 0 {
		return Step{}
	}
	return Step{m.hist.undo[len(m.hist.undo)-1]}
}

// State identifies what the map holds (voxels and segment table) without
// copying the voxels: undoing back to a saved state gives an equal State,
// so a document is clean again. The zero State is none.
type State struct {
	step uint64
	tab  table
	ok   bool
}

// SameStep reports whether s and t are at the same undo step, whatever
// the segments' visibility, opacity or locks (which are not steps).
func (s State) SameStep(t State) bool { return s.ok && t.ok && s.step == t.step }

// State is what the map holds now.
func (m *LabelMap) State() State {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return State{step: m.hist.at(), tab: m.tab, ok: true}
}

// CanUndo reports whether there is a step to undo, and its name.
func (m *LabelMap) CanUndo() (string, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.hist.undo) == 0 {
		return "", false
	}
	return m.hist.undo[len(m.hist.undo)-1].name, true
}

// CanRedo reports whether there is a step to redo, and its name.
func (m *LabelMap) CanRedo() (string, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.hist.redo) == 0 {
		return "", false
	}
	return m.hist.redo[len(m.hist.redo)-1].name, true
}

// DropRedo forgets the undone steps: a step made outside the map (a
// measurement) ends what could be redone, as one of the map's own does.
func (m *LabelMap) DropRedo() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hist.dropRedo()
}

func (j *journal) dropRedo() {
	for _, r := range j.redo {
		j.bytes -= r.bytes()
	}
	j.redo = nil
}

// Undo reverts the last step exactly (locks do not apply) and reports what
// it changed; false when there is nothing to undo or a step is open.
func (m *LabelMap) Undo() (Change, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j := &m.hist
	if len(j.undo) == 0 || j.depth > 0 {
		return Change{}, false
	}
	s := j.undo[len(j.undo)-1]
	j.undo = j.undo[:len(j.undo)-1]
	// Later chunks may overwrite earlier ones' voxels: undo in reverse.
	for i := len(s.chunks) - 1; i >= 0; i-- {
		replay(m.vox, s.chunks[i], true)
	}
	if s.tabBefore != nil {
		m.tab = *s.tabBefore
	}
	j.redo = append(j.redo, s)
	m.bump(s.change)
	return s.change, true
}

// Redo applies the last undone step again.
func (m *LabelMap) Redo() (Change, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j := &m.hist
	if len(j.redo) == 0 || j.depth > 0 {
		return Change{}, false
	}
	s := j.redo[len(j.redo)-1]
	j.redo = j.redo[:len(j.redo)-1]
	for _, c := range s.chunks {
		replay(m.vox, c, false)
	}
	if s.tabAfter != nil {
		m.tab = *s.tabAfter
	}
	j.undo = append(j.undo, s)
	m.bump(s.change)
	return s.change, true
}

// JournalBytes is the memory the undo and redo history takes.
func (m *LabelMap) JournalBytes() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.hist.bytes
}

// SetJournalLimit bounds the history's memory (bytes), dropping the
// oldest steps at once if it is already larger.
func (m *LabelMap) SetJournalLimit(bytes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hist.limit = bytes
	m.hist.trim()
}
