package labels

import (
	"image/color"
	"reflect"
	"testing"
)

type state struct {
	vox  []uint8
	segs []Segment
}

func stateOf(m *LabelMap) state { return state{snapshot(m), m.Segments()} }

func (s state) equal(o state) bool {
	return string(s.vox) == string(o.vox) && reflect.DeepEqual(s.segs, o.segs)
}

// TestUndoRedoExact runs mixed edits, then undoes and redoes them all,
// comparing whole arrays and tables at every step.
func TestUndoRedoExact(t *testing.T) {
	m := sampleMap(t)
	g := m.Geometry()
	_, deep := deepInside(t, m)
	axial := &Plane{Point: deep, Normal: [3]float64{0, 0, 1}}
	var v uint8
	actions := []struct {
		name string
		do   func() error
	}{
		{"add segment", func() (err error) { v, err = m.AddSegment("tumour"); return err }},
		{"sphere", func() error { _, err := m.Paint(Brush{RadiusMM: 12}, deep, v); return err }},
		{"stroke", func() error {
			m.Begin("stroke")
			defer m.End()
			for s := range 8 {
				at := g.IndexToWorld([3]float64{30 + 4*float64(s), 40, 15})
				if _, err := m.Paint(Brush{RadiusMM: 8, Plane: axial}, at, v); err != nil {
					return err
				}
			}
			_, err := m.Erase(Brush{RadiusMM: 4, Plane: axial}, g.IndexToWorld([3]float64{40, 40, 15}), 0)
			return err
		}},
		{"accept spleen as tumour", func() error { _, err := m.Apply(m.Mask(spleen), v, Replace); return err }},
		{"rename", func() error { return m.Rename(liver, "Liver") }},
		{"recolour", func() error { return m.Recolor(liver, color.NRGBA{R: 200, G: 90, B: 60}) }},
		{"carve", func() error { _, err := m.Erase(Brush{RadiusMM: 16}, deep, liver); return err }},
		{"fill holes", func() error { _, err := m.FillHoles(liver); return err }},
		{"smooth", func() error { _, err := m.Smooth(liver, 3); return err }},
		{"delete segment", func() error { _, err := m.DeleteSegment(2); return err }},
		{"island", func() error {
			_, err := m.Paint(Brush{RadiusMM: 6}, g.IndexToWorld([3]float64{60, 3, 15}), v)
			return err
		}},
		{"keep largest island", func() error { _, err := m.KeepLargestIsland(v); return err }},
	}
	states := []state{stateOf(m)}
	ids := []State{m.State()}
	for _, a := range actions {
		if err := a.do(); err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		s := stateOf(m)
		if s.equal(states[len(states)-1]) {
			t.Fatalf("%s changed nothing", a.name)
		}
		states = append(states, s)
		ids = append(ids, m.State())
		if ids[len(ids)-1] == ids[len(ids)-2] {
			t.Fatalf("%s left the State as it was", a.name)
		}
	}
	t.Logf("journal after %d steps: %d bytes", len(actions), m.JournalBytes())
	for i := len(actions) - 1; i >= 0; i-- {
		if name, ok := m.CanUndo(); !ok || name == "" {
			t.Fatalf("no undo step named for %s", actions[i].name)
		}
		if _, ok := m.Undo(); !ok {
			t.Fatalf("cannot undo %s", actions[i].name)
		}
		if !stateOf(m).equal(states[i]) {
			t.Fatalf("undoing %s did not restore the state before it", actions[i].name)
		}
		// A document saved at states[i] is clean again, and at no other.
		for k, id := range ids {
			if (m.State() == id) != (k == i) {
				t.Fatalf("after undoing %s the State equals that of state %d", actions[i].name, k)
			}
		}
	}
	if _, ok := m.Undo(); ok {
		t.Fatal("undo past the first step")
	}
	for i := range actions {
		if _, ok := m.Redo(); !ok {
			t.Fatalf("cannot redo %s", actions[i].name)
		}
		if !stateOf(m).equal(states[i+1]) || m.State() != ids[i+1] {
			t.Fatalf("redoing %s did not give the state after it", actions[i].name)
		}
	}
	// Showing, fading or locking a segment is no undo step but is saved
	// (the label file has them): the State tells it, and putting it back
	// restores the State.
	liverSeg, _ := m.Segment(liver)
	for _, set := range []func(bool) error{
		func(on bool) error { return m.SetVisible(liver, !on) },
		func(on bool) error { return m.SetLocked(liver, on) },
		func(on bool) error {
			return m.SetOpacity(liver, map[bool]float64{true: 0.2, false: liverSeg.Opacity}[on])
		},
	} {
		before := m.State()
		if err := set(true); err != nil {
			t.Fatal(err)
		}
		if m.State() == before {
			t.Fatal("a segment's display state changed but the State did not")
		}
		if err := set(false); err != nil {
			t.Fatal(err)
		}
		if m.State() != before {
			t.Fatal("putting a segment's display state back did not restore the State")
		}
	}
	// A new edit after undo drops the redo history.
	saved := m.State()
	m.Undo()
	if c, _ := m.Paint(Brush{RadiusMM: 5}, deep, v); c.Empty() {
		t.Fatal("the last paint changed nothing")
	}
	if _, ok := m.CanRedo(); ok {
		t.Fatal("redo kept after a new edit")
	}
	if m.Undo(); m.State() == saved {
		t.Fatal("a state reached by a different edit has the State of the one saved")
	}
}

func TestJournalBound(t *testing.T) {
	m := sampleMap(t)
	g := m.Geometry()
	const limit = 4000
	m.SetJournalLimit(limit)
	v, _ := m.AddSegment("")
	start := m.State()
	var states [][]uint8
	for s := range 40 {
		at := g.IndexToWorld([3]float64{20 + 2*float64(s), 50, float64(s % 30)})
		if _, err := m.Paint(Brush{RadiusMM: 10}, at, v); err != nil {
			t.Fatal(err)
		}
		states = append(states, snapshot(m))
		if b := m.JournalBytes(); b > limit {
			t.Fatalf("journal %d bytes over its %d limit", b, limit)
		}
	}
	undone := 0
	for {
		if _, ok := m.Undo(); !ok {
			break
		}
		undone++
		if got := snapshot(m); string(got) != string(states[len(states)-1-undone]) {
			t.Fatalf("undo %d did not restore its state", undone)
		}
	}
	if m.State() == start {
		t.Fatal("with the oldest steps trimmed, undoing all the rest claims the state before them")
	}
	if undone == 0 || undone >= 40 {
		t.Fatalf("%d steps kept under a %d-byte bound", undone, limit)
	}
	t.Logf("%d of 40 brush steps kept in %d bytes", undone, limit)
}

// TestJournalBytes measures the history's cost of a brush stroke and of
// accepting a whole liver.
func TestJournalBytes(t *testing.T) {
	m := sampleMap(t)
	g := m.Geometry()
	v, _ := m.AddSegment("")
	base := m.JournalBytes()
	axial := &Plane{Point: g.IndexToWorld([3]float64{0, 0, 15}), Normal: [3]float64{0, 0, 1}}
	m.Begin("stroke")
	for s := range 20 {
		m.Paint(Brush{RadiusMM: 10, Plane: axial}, g.IndexToWorld([3]float64{30 + 2*float64(s), 60, 15}), v)
	}
	c := m.End()
	stroke := m.JournalBytes() - base
	t.Logf("2D brush stroke (20 dabs of 10 mm, %d voxels): %d bytes", c.Voxels, stroke)

	m2, err := New(m.Image())
	if err != nil {
		t.Fatal(err)
	}
	w, _ := m2.AddSegment("liver")
	base = m2.JournalBytes()
	c, _ = m2.Apply(m.Mask(liver), w, Replace)
	accept := m2.JournalBytes() - base
	t.Logf("whole-liver acceptance (%d voxels): %d bytes (%.3f bytes/voxel)", c.Voxels, accept, float64(accept)/float64(c.Voxels))
	if stroke <= 0 || accept <= 0 || accept > c.Voxels {
		t.Fatalf("stroke %d bytes, acceptance %d bytes for %d voxels", stroke, accept, c.Voxels)
	}
}

// TestChangedSince: ReadChanges says which box the revisions after an older
// one changed (edits, undo, table-only changes), and no longer knows once
// more revisions have passed than it keeps.
func TestChangedSince(t *testing.T) {
	m := sampleMap(t)
	_, deep := deepInside(t, m)
	since := func(rev uint64) (c Change, ok bool, now uint64) {
		m.ReadChanges(func(_ []uint8, cur uint64, f func(uint64) (Change, bool)) {
			c, ok = f(rev)
			now = cur
		})
		return c, ok, now
	}
	_, _, r0 := since(0)
	v, err := m.AddSegment("tumour")
	if err != nil {
		t.Fatal(err)
	}
	if c, ok, _ := since(r0); !ok || !c.Empty() {
		t.Errorf("a table change reported %+v, %v; want nothing changed, known", c, ok)
	}
	_, _, r1 := since(0)
	a, err := m.Paint(Brush{RadiusMM: 6}, deep, v)
	if err != nil || a.Empty() {
		t.Fatalf("paint: %+v, %v", a, err)
	}
	g := m.Geometry()
	far := g.IndexToWorld([3]float64{5, 5, 2})
	b, err := m.Paint(Brush{RadiusMM: 3}, far, v)
	if err != nil || b.Empty() {
		t.Fatalf("paint: %+v, %v", b, err)
	}
	want := a
	want.Merge(b)
	if c, ok, _ := since(r1); !ok || c != want {
		t.Errorf("two dabs: %+v, %v; want their union %+v", c, ok, want)
	}
	_, _, r2 := since(0)
	if _, ok := m.Undo(); !ok {
		t.Fatal("nothing to undo")
	}
	if c, ok, _ := since(r2); !ok || c.Min != b.Min || c.Max != b.Max {
		t.Errorf("undo of the second dab: %+v, %v; want its box %v..%v", c, ok, b.Min, b.Max)
	}
	if c, ok, now := since(r0); !ok || now-r0 != 4 || c.Empty() {
		t.Errorf("since r0: %+v, %v after %d revisions", c, ok, now-r0)
	}
	for range len(m.log.recent) {
		if err := m.Recolor(v, color.NRGBA{G: 255, A: 255}); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := since(r2); ok {
		t.Error("still claims to know the changes after more revisions than it keeps")
	}
}
