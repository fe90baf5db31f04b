package viewer

import (
	"testing"

	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
)

// TestAcceptedSegmentIsNotReplaced: after an Accept, the next prompt goes
// to a new segment, so a small result does not replace the accepted liver
// (issue 16, item 6); Accept stays one undo step; a prompt on a segment
// the user picked may replace it, and AcceptLoss says when that would
// take most of it.
func TestAcceptedSegmentIsNotReplaced(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	liverMask, lo, hi := liver(t, s)
	x, y := screenOf(s, mpr.Axial, [3]float64{float64(lo[0]+hi[0]) / 2, float64(lo[1]+hi[1]) / 2, float64(lo[2]+hi[2]) / 2})
	click := func() { e.AddPointAt(mpr.Axial, x, y, true) }
	count := func(v uint8) int { return e.Labels().Count(v) }
	// small is a twentieth of the liver's voxels; other as many outside it
	// (a result on another structure).
	small, other := make([]uint8, len(liverMask)), make([]uint8, len(liverMask))
	for n, in := range liverMask {
		if in != 0 && n%20 == 0 {
			small[n] = 1
		}
	}
	nLiver, nSmall := voxels(liverMask), voxels(small)
	for n, left := 0, nSmall; left > 0; n++ {
		if liverMask[n] == 0 {
			other[n] = 1
			left--
		}
	}

	click()
	e.SetPreview(liverMask)
	if _, err := e.Accept(labels.Replace); err != nil {
		t.Fatal(err)
	}
	first := e.Active()
	if count(first) != nLiver {
		t.Fatalf("accepted %d voxels of a %d-voxel preview", count(first), nLiver)
	}

	click() // the next prompt: a new object
	next := e.Active()
	if next == first || len(e.Labels().Segments()) != 2 {
		t.Fatalf("the prompt after Accept goes to segment %d (the accepted one is %d), segments %+v", next, first, e.Labels().Segments())
	}
	if sg, _ := e.Labels().Segment(next); sg.Name != "Label 2" || sg.Color == labels.DefaultColor(first) {
		t.Errorf("the new segment %+v", sg)
	}
	e.SetPreview(other)
	if _, _, ask := e.AcceptLoss(labels.Replace); ask {
		t.Error("asks before filling an empty segment")
	}
	if _, err := e.Accept(labels.Replace); err != nil {
		t.Fatal(err)
	}
	if count(first) != nLiver || count(next) != nSmall {
		t.Fatalf("after the second Accept: liver %d voxels (want %d), new segment %d (want %d)", count(first), nLiver, count(next), nSmall)
	}
	if !e.Undo() || count(next) != 0 || count(first) != nLiver {
		t.Fatalf("one Undo: new segment %d voxels, liver %d", count(next), count(first))
	}

	// The user picks the liver to refine it: the prompt goes there, and a
	// result that would take most of it is one to confirm.
	if err := e.SetActive(first); err != nil {
		t.Fatal(err)
	}
	click()
	if e.Active() != first || len(e.Labels().Segments()) != 1 {
		t.Fatalf("a prompt on a picked segment went to %d, segments %d", e.Active(), len(e.Labels().Segments()))
	}
	e.SetPreview(small)
	lost, had, ask := e.AcceptLoss(labels.Replace)
	if !ask || had != nLiver || lost != had-nSmall {
		t.Errorf("replacing the liver by a twentieth of it: lost %d of %d, ask %v", lost, had, ask)
	}
	if _, _, ask := e.AcceptLoss(labels.Add); ask {
		t.Error("asks before adding")
	}
	if lost, _, ask := e.AcceptLoss(labels.Subtract); ask || lost != nSmall {
		t.Errorf("subtracting a twentieth: lost %d, ask %v", lost, ask)
	}
	e.SetPreview(liverMask)
	if _, _, ask := e.AcceptLoss(labels.Replace); ask {
		t.Error("asks before replacing the liver by itself")
	}
}

func voxels(m []uint8) int {
	n := 0
	for _, x := range m {
		if x != 0 {
			n++
		}
	}
	return n
}

// TestAcceptTakes: a preview that spreads over another segment says what
// it would take from it, and asks when that is most of it (accepting a
// liver silently took 24 of a painted lesion's 202 voxels).
func TestAcceptTakes(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	liverMask, _, _ := liver(t, s)
	lesion, err := e.AddSegment("lesion")
	if err != nil {
		t.Fatal(err)
	}
	// The lesion: every 7th liver voxel and as many outside it.
	var inLiver, outside int
	mask := make([]uint8, len(liverMask))
	for n, in := range liverMask {
		if n%7 == 0 && (in != 0 || outside < inLiver) {
			mask[n] = 1
			if in != 0 {
				inLiver++
			} else {
				outside++
			}
		}
	}
	if _, err := e.Labels().Apply(mask, lesion, labels.Add); err != nil {
		t.Fatal(err)
	}
	if _, err := e.AddSegment("liver"); err != nil {
		t.Fatal(err)
	}
	e.SetPreview(liverMask)
	takes, ask := e.AcceptTakes(labels.Replace)
	if len(takes) != 1 || takes[0].Value != lesion || takes[0].Lost != inLiver || takes[0].Had != inLiver+outside || ask {
		t.Fatalf("takes %+v ask %v; want %d of the lesion's %d, no question", takes, ask, inLiver, inLiver+outside)
	}
	if takes, _ := e.AcceptTakes(labels.Subtract); takes != nil {
		t.Errorf("Subtract paints nothing over, yet takes %+v", takes)
	}
	// A lesion mostly inside the preview: ask.
	if _, err := e.Labels().Apply(liverMask, lesion, labels.Add); err != nil {
		t.Fatal(err)
	}
	if _, ask := e.AcceptTakes(labels.Replace); !ask {
		t.Error("no question before painting over most of the lesion")
	}
	// A locked segment is spared, so nothing is taken.
	if err := e.Labels().SetLocked(lesion, true); err != nil {
		t.Fatal(err)
	}
	if takes, _ := e.AcceptTakes(labels.Replace); takes != nil {
		t.Errorf("a locked segment would lose %+v", takes)
	}
}

// TestRedoneAcceptStartsNextObject: Accept, Undo, Redo leaves the session
// as Accept did, so the next prompt starts a new segment; before, Redo
// forgot the Accept and the next prompt's result went into the accepted
// segment (replacing it on the next Accept). Undoing a later step keeps
// the accepted segment safe too, while undoing the Accept itself leaves
// that segment for the next prompt to fill again.
func TestRedoneAcceptStartsNextObject(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	liverMask, lo, hi := liver(t, s)
	x, y := screenOf(s, mpr.Axial, [3]float64{float64(lo[0]+hi[0]) / 2, float64(lo[1]+hi[1]) / 2, float64(lo[2]+hi[2]) / 2})
	click := func() { e.AddPointAt(mpr.Axial, x, y, true) }
	first, err := e.AddSegment("liver")
	if err != nil {
		t.Fatal(err)
	}
	click()
	e.SetPreview(liverMask)
	if _, err := e.Accept(labels.Replace); err != nil {
		t.Fatal(err)
	}
	if !e.Undo() || e.Labels().Count(first) != 0 {
		t.Fatal("Undo did not take the Accept back")
	}
	if !e.Redo() || e.Labels().Count(first) != voxels(liverMask) {
		t.Fatal("Redo did not accept again")
	}
	click()
	next := e.Active()
	if next == first {
		t.Fatalf("after Accept, Undo, Redo the next prompt goes to the accepted segment %d", first)
	}
	e.Reject() // the prompt's segment goes with it, empty
	if _, ok := e.Labels().Segment(next); ok {
		t.Fatal("Reject left the prompt's empty segment")
	}
	next, _ = e.AddSegment("other")

	// accept fills the emptied liver segment from a prompt again.
	accept := func() {
		t.Helper()
		e.Reject()
		if err := e.SetActive(first); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Labels().Apply(liverMask, first, labels.Subtract); err != nil {
			t.Fatal(err)
		}
		click()
		e.SetPreview(liverMask)
		if c, err := e.Accept(labels.Replace); err != nil || c.Voxels != voxels(liverMask) {
			t.Fatalf("Accept changed %d voxels, %v", c.Voxels, err)
		}
	}
	// An edit of another segment after the Accept, undone: the accepted
	// segment stays safe.
	accept()
	if _, err := e.Labels().Apply(liverMask, next, labels.Add); err != nil {
		t.Fatal(err)
	}
	if !e.Undo() || e.Labels().Count(next) != 0 || e.Labels().Count(first) != voxels(liverMask) {
		t.Fatal("Undo did not take back the later edit alone")
	}
	click()
	if e.Active() == first {
		t.Fatal("undoing a step after the Accept sent the next prompt to the accepted segment")
	}

	// Undoing the Accept itself: the next prompt fills its segment again.
	accept()
	if !e.Undo() || e.Labels().Count(first) != 0 {
		t.Fatal("Undo did not take the Accept back")
	}
	click()
	if e.Active() != first {
		t.Fatalf("after undoing the Accept the next prompt goes to %d, not its segment %d", e.Active(), first)
	}
}

// TestRemovedPromptDropsPreview: a preview made from a prompt that is then
// removed (its marker's right-click, the ✕ in the prompt list, a replaced
// structure name, Clear) is dropped, so Accept cannot write it as if it
// matched the prompts left; adding a prompt keeps it until the new run's
// result replaces it.
func TestRemovedPromptDropsPreview(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	liverMask, lo, hi := liver(t, s)
	x, y := screenOf(s, mpr.Axial, [3]float64{float64(lo[0]+hi[0]) / 2, float64(lo[1]+hi[1]) / 2, float64(lo[2]+hi[2]) / 2})
	changes := recorder(s)
	for _, remove := range []struct {
		name string
		do   func(point int)
	}{
		{"the point", func(p int) { e.RemovePrompt(p) }},
		{"the name", func(int) { e.SetText("") }},
		{"a replaced name", func(int) { e.SetText("spleen") }},
		{"every prompt", func(int) { e.ClearPrompts() }},
	} {
		e.ClearPrompts()
		first := e.AddPointAt(mpr.Axial, x, y, true)
		e.SetText("liver")
		if err := e.SetPreview(liverMask); err != nil {
			t.Fatal(err)
		}
		e.AddPointAt(mpr.Axial, x+5, y, true)
		if e.Preview() == nil {
			t.Fatalf("%s: adding a prompt dropped the preview its run replaces", remove.name)
		}
		*changes = nil
		remove.do(first)
		if e.Preview() != nil || e.PreviewVoxels() != 0 {
			t.Errorf("removing %s left the preview of %d voxels", remove.name, e.PreviewVoxels())
		}
		var told What
		for _, c := range *changes {
			told |= c.What
		}
		if told&PreviewChanged == 0 || told&PromptsChanged == 0 {
			t.Errorf("removing %s told %b, not the preview's and prompts' change", remove.name, told)
		}
		if c, err := e.Accept(labels.Replace); err == nil {
			t.Errorf("after removing %s, Accept wrote %d voxels", remove.name, c.Voxels)
		}
	}
}

// TestUndoneAcceptLeavesNoEmptySegment: the segment a prompt after an
// Accept added (or Accept added, with none active) goes with the Accept's
// undo, as it came with it: undo left an empty "Label 2 (0.0 mL)" that no
// one asked for. Redo brings both back; the next prompt then starts a new
// segment, not the accepted one.
func TestUndoneAcceptLeavesNoEmptySegment(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	liverMask, lo, hi := liver(t, s)
	x, y := screenOf(s, mpr.Axial, [3]float64{float64(lo[0]+hi[0]) / 2, float64(lo[1]+hi[1]) / 2, float64(lo[2]+hi[2]) / 2})
	click := func() { e.AddPointAt(mpr.Axial, x, y, true) }
	segments := func() int { return len(e.Labels().Segments()) }

	click()
	e.SetPreview(liverMask)
	if _, err := e.Accept(labels.Replace); err != nil {
		t.Fatal(err)
	}
	first := e.Active()
	if name, _ := e.Labels().CanUndo(); name != "accept into Label 1" {
		t.Errorf("the first Accept's undo step is %q", name)
	}
	if !e.Undo() || segments() != 0 {
		t.Fatalf("undoing the first Accept left %d segments", segments())
	}
	if !e.Redo() || segments() != 1 || e.Labels().Count(first) != voxels(liverMask) {
		t.Fatalf("redo: %d segments, %d voxels", segments(), e.Labels().Count(first))
	}

	click() // adds "Label 2"
	second := e.Active()
	if second == first || segments() != 2 {
		t.Fatalf("the prompt after Accept: active %d, %d segments", second, segments())
	}
	other := make([]uint8, len(liverMask))
	for n := range 5000 {
		other[n] = 1
	}
	e.SetPreview(other)
	if _, err := e.Accept(labels.Replace); err != nil {
		t.Fatal(err)
	}
	if name, _ := e.Labels().CanUndo(); name != "accept into Label 2" {
		t.Errorf("the second Accept's undo step is %q", name)
	}
	if !e.Undo() || segments() != 1 || e.Labels().Count(first) != voxels(liverMask) {
		t.Fatalf("undoing the second Accept left %d segments: %+v", segments(), e.Labels().Segments())
	}
	if !e.Redo() || segments() != 2 || e.Labels().Count(second) != 5000 {
		t.Fatalf("redoing the second Accept: %d segments, %d voxels", segments(), e.Labels().Count(second))
	}
	e.Undo()
	click()
	if e.Active() == first {
		t.Fatal("after undoing an Accept that made its segment, the next prompt goes to the liver")
	}
}

// TestRejectTakesBackTheEmptySegment: the segment the first prompt after
// an Accept added goes with a Reject while it is empty (it was left as
// "Label 2 (0.0 mL)"), and the next prompt starts a new one again.
func TestRejectTakesBackTheEmptySegment(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	liverMask, lo, hi := liver(t, s)
	x, y := screenOf(s, mpr.Axial, [3]float64{float64(lo[0]+hi[0]) / 2, float64(lo[1]+hi[1]) / 2, float64(lo[2]+hi[2]) / 2})
	e.AddPointAt(mpr.Axial, x, y, true)
	e.SetPreview(liverMask)
	if _, err := e.Accept(labels.Replace); err != nil {
		t.Fatal(err)
	}
	first := e.Active()
	e.AddPointAt(mpr.Axial, x, y, true)
	if len(e.Labels().Segments()) != 2 {
		t.Fatalf("segments after the next prompt: %+v", e.Labels().Segments())
	}
	e.SetPreview(liverMask)
	e.Reject()
	if segs := e.Labels().Segments(); len(segs) != 1 || e.Active() != first {
		t.Fatalf("after Reject: segments %+v, active %d (the accepted one is %d)", segs, e.Active(), first)
	}
	if name, ok := e.CanRedo(); ok {
		t.Errorf("after Reject Redo would take %q", name)
	}
	e.AddPointAt(mpr.Axial, x, y, true)
	if e.Active() == first || len(e.Labels().Segments()) != 2 {
		t.Errorf("the prompt after Reject goes to segment %d (the accepted one is %d)", e.Active(), first)
	}
}

// TestPromptAfterOpeningStartsASegment: segments read from a file are
// finished work: the first prompt goes to a new segment, not to the first
// in the table (a prompt on the kidney after reopening asked to replace
// all of the liver); picking a segment lets the next prompt refine it.
func TestPromptAfterOpeningStartsASegment(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	liverMask, lo, hi := liver(t, s)
	m, err := labels.New(s.Volume)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := m.AddSegment("liver")
	if _, err := m.Apply(liverMask, v, labels.Replace); err != nil {
		t.Fatal(err)
	}
	if err := e.SetLabels(m); err != nil {
		t.Fatal(err)
	}
	x, y := screenOf(s, mpr.Axial, [3]float64{float64(lo[0]+hi[0]) / 2, float64(lo[1]+hi[1]) / 2, float64(lo[2]+hi[2]) / 2})
	e.AddPointAt(mpr.Axial, x, y, true)
	if e.Active() == v || len(e.Labels().Segments()) != 2 {
		t.Fatalf("the first prompt after opening goes to segment %d (the opened liver is %d)", e.Active(), v)
	}
	e.Reject()
	if err := e.SetActive(v); err != nil {
		t.Fatal(err)
	}
	e.AddPointAt(mpr.Axial, x, y, true)
	if e.Active() != v || len(e.Labels().Segments()) != 1 {
		t.Errorf("a prompt after picking the liver goes to segment %d, segments %+v", e.Active(), e.Labels().Segments())
	}
}
