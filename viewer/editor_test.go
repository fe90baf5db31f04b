package viewer

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/segvolapp/segvol/infer/classic"
	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/volume"
)

var sampleSeg = filepath.Join("..", "assets", "sample", "example_seg.nii.gz")

// liverValue is the liver's label in the sample's TotalSegmentator map.
const liverValue = 5

// liver is the sample's liver mask and its voxel bounding box.
func liver(t *testing.T, s *Session) (mask []uint8, lo, hi [3]int) {
	t.Helper()
	m, err := labels.Load(sampleSeg, s.Volume)
	if err != nil {
		t.Fatal(err)
	}
	mask = m.Mask(liverValue)
	lo, hi = s.Volume.Dims, [3]int{-1, -1, -1}
	d := s.Volume.Dims
	for n, x := range mask {
		if x != 0 {
			idx := [3]int{n % d[0], n / d[0] % d[1], n / (d[0] * d[1])}
			for a := range 3 {
				lo[a], hi[a] = min(lo[a], idx[a]), max(hi[a], idx[a])
			}
		}
	}
	return mask, lo, hi
}

// screenOf is where voxel idx appears in view o (the cursor at idx).
func screenOf(s *Session, o mpr.Orientation, idx [3]float64) (x, y float64) {
	return s.views[o].WorldToScreen(s.frame, s.cursor, s.Volume.Geom.IndexToWorld(idx))
}

func dice(a, b []uint8) float64 {
	var both, na, nb int
	for n := range a {
		x, y := a[n] != 0, b[n] != 0
		if x && y {
			both++
		}
		if x {
			na++
		}
		if y {
			nb++
		}
	}
	return 2 * float64(both) / float64(na+nb)
}

func TestBoxFromTwoViewsSegmentsTheLiver(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	truth, lo, hi := liver(t, s)
	mid := [3]float64{float64(lo[0]+hi[0]) / 2, float64(lo[1]+hi[1]) / 2, float64(lo[2]+hi[2]) / 2}
	s.SetCursor(s.Volume.Geom.IndexToWorld(mid))
	corner := func(o mpr.Orientation) (x0, y0, x1, y1 float64) {
		x0, y0 = screenOf(s, o, [3]float64{float64(lo[0]), float64(lo[1]), float64(lo[2])})
		x1, y1 = screenOf(s, o, [3]float64{float64(hi[0]), float64(hi[1]), float64(hi[2])})
		return
	}
	x0, y0, x1, y1 := corner(mpr.Axial)
	if err := e.SetBoxFromDrag(mpr.Axial, x0, y0, x1, y1); err != nil {
		t.Fatal(err)
	}
	b := e.Box()
	if !b.Complete() || b.Guessed != 2 {
		t.Fatalf("after an axial drag: %+v (want the slice axis guessed)", b)
	}
	x0, y0, x1, y1 = corner(mpr.Coronal)
	if err := e.SetBoxFromDrag(mpr.Coronal, x0, y0, x1, y1); err != nil {
		t.Fatal(err)
	}
	p := e.Prompt()
	if b := e.Box(); b.Guessed != -1 || p.Box == nil || p.Box.Min != lo || p.Box.Max != hi {
		t.Fatalf("box %+v, prompt box %+v, want %v..%v", b, p.Box, lo, hi)
	}
	for _, o := range Orientations {
		if _, _, _, _, ok := e.BoxOn(o); !ok {
			t.Errorf("the box is not shown in the %v view through its centre", o)
		}
	}
	mask, err := classic.Segmenter{}.Segment(t.Context(), s.Image(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := dice(mask, truth)
	t.Logf("embedded default on the liver's box: Dice %.3f", d)
	if d < 0.6 {
		t.Errorf("Dice %.3f with the liver's box", d)
	}
	if err := e.SetPreview(mask); err != nil {
		t.Fatal(err)
	}
	// Accepting with no active segment adds one; the whole acceptance is
	// one undo step.
	if _, err := e.Accept(labels.Replace); err != nil {
		t.Fatal(err)
	}
	if e.Active() == 0 || e.Preview() != nil || e.HasPrompt() || !e.Dirty() {
		t.Fatalf("after accept: active %d, preview %v, prompts %v, dirty %v", e.Active(), e.Preview() != nil, e.HasPrompt(), e.Dirty())
	}
	if got := e.Labels().Mask(e.Active()); !slices.Equal(got, mask) {
		t.Error("the accepted segment is not the preview")
	}
	// Named as the user knows it: undo said "undone: apply".
	if name, _ := e.Labels().CanUndo(); name != "accept into Label 1" {
		t.Errorf("undo step %q", name)
	}
	e.Undo()
	if st := e.Labels().Statistics(); len(st) > 0 && st[0].Voxels != 0 {
		t.Errorf("undo left %d voxels", st[0].Voxels)
	}
}

func TestMarkersWithinHalfASlice(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	x, y := s.CursorOnScreen(mpr.Axial)
	id := e.AddPointAt(mpr.Axial, x+20, y, true)
	e.AddPointAt(mpr.Axial, x-20, y, false)
	// Points sit on the centre of the voxel drawn under the click.
	halfVoxel := 1.5 / s.View(mpr.Axial).MMPerPixel(s.Frame())
	if m := e.MarkersOn(mpr.Axial); len(m) != 2 || math.Abs(m[0].X-(x+20)) > halfVoxel || !m[0].Positive || m[1].Positive {
		t.Fatalf("axial markers %+v", m)
	} else if under, _ := s.VoxelAt(mpr.Axial, x+20, y); !sameVoxel(s, m[0].X, m[0].Y, under) {
		t.Fatalf("marker at (%v,%v), the click's voxel %v", m[0].X, m[0].Y, under)
	}
	// The coronal view through the cursor holds both points (same row).
	if m := e.MarkersOn(mpr.Coronal); len(m) != 2 {
		t.Errorf("coronal markers %+v", m)
	}
	// One slice up they are out of the axial plane.
	s.ScrollView(mpr.Axial, 1)
	if m := e.MarkersOn(mpr.Axial); len(m) != 0 {
		t.Errorf("markers a slice away: %+v", m)
	}
	s.ScrollView(mpr.Axial, -1)
	if got, ok := e.MarkerAt(mpr.Axial, x+23, y+2, 8); !ok || got != id {
		t.Errorf("MarkerAt: %d %v", got, ok)
	}
	if !e.RemovePrompt(id) || len(e.Points()) != 1 || e.HasPrompt() {
		t.Errorf("after removing the positive point: %+v", e.Points())
	}
	p := e.Prompt()
	if len(p.Points) != 1 || p.Points[0].Positive {
		t.Errorf("prompt %+v", p)
	}
}

func TestPreviewComposedIntoLabels(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	v, _ := e.AddSegment("liver")
	n := s.Volume.Len()
	mask := make([]uint8, n)
	mask[10], mask[11] = 1, 1
	e.Labels().Apply(mask, v, labels.Replace)
	prev := make([]uint8, n)
	prev[11], prev[12] = 1, 1
	key := e.LabelsKey()
	e.SetPreview(prev)
	if e.LabelsKey() == key {
		t.Error("the preview did not change the labels key")
	}
	e.RenderLabels(func(l *render.Labels) {
		if l.Data[10] != v || l.Data[11] != PreviewValue || l.Data[12] != PreviewValue || l.Data[13] != 0 {
			t.Errorf("composed %v", l.Data[10:14])
		}
		if l.Colors[PreviewValue].A == 0 || l.Colors[v].A == 0 || !l.Fill || !l.Outline {
			t.Errorf("colours %v %v, fill %v outline %v", l.Colors[PreviewValue], l.Colors[v], l.Fill, l.Outline)
		}
	})
	e.Labels().SetVisible(v, false)
	e.SetPreview(nil)
	e.RenderLabels(func(l *render.Labels) {
		if l.Data[10] != v || l.Data[11] != v || l.Colors[v].A != 0 {
			t.Errorf("without preview: %v, colour %v", l.Data[10:13], l.Colors[v])
		}
	})
}

// A renderer that keeps a copy of the labels and updates only the box
// that Changed reports (render/gl's texture) holds exactly what
// RenderLabels gives, through previews, edits under a preview, a removed
// preview and a replaced label map; and the boxes are the edits', not the
// whole grid.
func TestRenderLabelsChangedBoxes(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	dims := s.Volume.Dims
	n := s.Volume.Len()
	v, _ := e.AddSegment("liver")
	block := func(lo, hi [3]int) []uint8 {
		m := make([]uint8, n)
		for k := lo[2]; k <= hi[2]; k++ {
			for j := lo[1]; j <= hi[1]; j++ {
				for i := lo[0]; i <= hi[0]; i++ {
					m[i+dims[0]*(j+dims[1]*k)] = 1
				}
			}
		}
		return m
	}
	var held []uint8 // the renderer's copy
	var heldRev uint64
	step := func(what string, wantBox *[2][3]int) {
		t.Helper()
		e.RenderLabels(func(l *render.Labels) {
			var want []uint8
			e.Labels().Read(func(vox []uint8) { want = slices.Clone(vox) })
			if p := e.Preview(); p != nil {
				for i := range want {
					if p[i] != 0 {
						want[i] = PreviewValue
					}
				}
			}
			if !slices.Equal(l.Data, want) {
				t.Fatalf("%s: the labels given are not the labels with the preview over them", what)
			}
			lo, hi, ok := l.Changed(heldRev)
			switch {
			case held == nil || !ok:
				if wantBox != nil {
					t.Errorf("%s: change not known, want %v", what, *wantBox)
				}
				held = slices.Clone(l.Data)
			default:
				if wantBox == nil {
					t.Errorf("%s: change %v..%v, want unknown", what, lo, hi)
				} else if [2][3]int{lo, hi} != *wantBox {
					t.Errorf("%s: change %v..%v, want %v", what, lo, hi, *wantBox)
				}
				for k := max(lo[2], 0); k <= hi[2]; k++ {
					for j := max(lo[1], 0); j <= hi[1]; j++ {
						at := dims[0] * (j + dims[1]*k)
						copy(held[at+lo[0]:at+hi[0]+1], l.Data[at+lo[0]:at+hi[0]+1])
					}
				}
			}
			heldRev = l.Revision
			if !slices.Equal(held, l.Data) {
				t.Fatalf("%s: the updated copy differs from the labels given", what)
			}
			if lo, hi, ok := l.Changed(l.Revision); !ok || hi[0] >= lo[0] {
				t.Errorf("%s: change since the current revision %v..%v %v", what, lo, hi, ok)
			}
		})
	}
	box := func(lo, hi [3]int) *[2][3]int { return &[2][3]int{lo, hi} }

	step("first", nil)
	step("nothing new", box([3]int{}, [3]int{-1, -1, -1}))
	e.SetPreview(block([3]int{10, 20, 5}, [3]int{30, 40, 9}))
	step("a preview", box([3]int{10, 20, 5}, [3]int{30, 40, 9}))
	e.Labels().Apply(block([3]int{25, 35, 8}, [3]int{50, 50, 12}), v, labels.Add)
	step("an edit under the preview", box([3]int{25, 35, 8}, [3]int{50, 50, 12}))
	e.SetPreview(block([3]int{60, 10, 2}, [3]int{70, 15, 3}))
	step("another preview", box([3]int{10, 10, 2}, [3]int{70, 40, 9}))
	e.SetPreview(nil)
	step("no preview", box([3]int{60, 10, 2}, [3]int{70, 15, 3}))
	e.Labels().Apply(block([3]int{0, 0, 0}, [3]int{1, 1, 1}), v, labels.Add)
	e.SetPreview(block([3]int{5, 5, 5}, [3]int{6, 6, 6}))
	step("an edit and a preview between two frames", box([3]int{0, 0, 0}, [3]int{6, 6, 6}))
	m, err := labels.New(s.Volume)
	if err != nil {
		t.Fatal(err)
	}
	nv, _ := m.AddSegment("spleen")
	m.Apply(block([3]int{3, 3, 3}, [3]int{4, 4, 4}), nv, labels.Add)
	// Past the old map's revision, so that its revision numbers name
	// changes of this map that are not the difference between the two.
	for i := range 20 {
		op := labels.Add
		if i%2 == 1 {
			op = labels.Subtract
		}
		m.Apply(block([3]int{0, 0, 0}, [3]int{0, 0, 0}), nv, op)
	}
	if err := e.SetLabels(m); err != nil {
		t.Fatal(err)
	}
	step("another label map", nil)
	for i := range 70 { // more revisions than the log keeps
		op := labels.Add
		if i%2 == 1 {
			op = labels.Subtract
		}
		m.Apply(block([3]int{1, 1, 1}, [3]int{1, 1, 1}), nv, op)
		e.RenderLabels(func(*render.Labels) {})
	}
	e.Labels().Apply(block([3]int{2, 2, 2}, [3]int{2, 2, 2}), nv, labels.Add)
	step("after the log forgot", nil)
}

func TestBrushStrokeIsOneStepAndFill(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	if err := e.StrokeAt(mpr.Axial, 10, 10); err != nil {
		t.Fatal(err) // the navigate tool paints nothing
	}
	e.SetTool(ToolBrush)
	if err := e.StrokeAt(mpr.Axial, 100, 100); err == nil {
		t.Fatal("painting without an active segment")
	}
	e.EndStroke()
	v, _ := e.AddSegment("")
	e.BrushMM = 6
	for x := 150.0; x <= 250; x += 25 {
		if err := e.StrokeAt(mpr.Axial, x, 150); err != nil {
			t.Fatal(err)
		}
	}
	e.EndStroke()
	st := e.Labels().Statistics()[0]
	if st.Value != v || st.Voxels == 0 {
		t.Fatalf("stroke painted %+v", st)
	}
	// A disc brush stays in one slice.
	k := map[int]bool{}
	d := s.Volume.Dims
	for n, x := range e.Labels().Mask(v) {
		if x != 0 {
			k[n/(d[0]*d[1])] = true
		}
	}
	if len(k) != 1 {
		t.Errorf("a 2D stroke on %d slices", len(k))
	}
	if name, _ := e.Labels().CanUndo(); name != "Brush" {
		t.Errorf("undo step %q", name)
	}
	e.Undo()
	if e.Labels().Statistics()[0].Voxels != 0 {
		t.Error("one undo did not remove the whole stroke")
	}
	// 3D fill from the liver's box centre stays within ±60 HU of the seed.
	_, lo, hi := liver(t, s)
	mid := [3]float64{float64(lo[0]+hi[0]) / 2, float64(lo[1]+hi[1]) / 2, float64(lo[2]+hi[2]) / 2}
	s.SetCursor(s.Volume.Geom.IndexToWorld(mid))
	e.SetTool(ToolFill)
	e.FillTolerance = 60
	x, y := s.CursorOnScreen(mpr.Axial)
	c, takes, err := e.FillAt(mpr.Axial, x, y)
	if err != nil {
		t.Fatal(err)
	}
	st = e.Labels().Statistics()[0]
	centre := s.ProbeAt(mpr.Axial, x, y).Value
	if c.Voxels == 0 || st.Min < centre-60 || st.Max > centre+60 || len(takes) != 0 {
		t.Errorf("fill: %d voxels, %+v around %g, took %+v", c.Voxels, st, centre, takes)
	}
	if name, _ := e.Labels().CanUndo(); name != "3D fill" {
		t.Errorf("the fill's undo step is %q", name)
	}
	// The same fill into another segment paints over the first, and says
	// how much of it (a user lost a liver so, without a word).
	first := e.Active()
	had := e.Labels().Count(first)
	if _, err := e.AddSegment("kidney"); err != nil {
		t.Fatal(err)
	}
	_, takes, err = e.FillAt(mpr.Axial, x, y)
	if err != nil {
		t.Fatal(err)
	}
	if len(takes) != 1 || takes[0].Value != first || takes[0].Lost != had-e.Labels().Count(first) || takes[0].Had != had {
		t.Errorf("a fill over segment %d (%d voxels, %d left) reports %+v", first, had, e.Labels().Count(first), takes)
	}
}

func TestFlood(t *testing.T) {
	// Two 2x2x1 blocks split by a wall: the fill stays on its side.
	dims := [3]int{5, 2, 1}
	wall := func(n int) bool { return n%5 != 2 }
	m := Flood(dims, [3]int{0, 0, 0}, wall)
	if want := []uint8{1, 1, 0, 0, 0, 1, 1, 0, 0, 0}; !slices.Equal(m, want) {
		t.Errorf("flood %v, want %v", m, want)
	}
	if m := Flood(dims, [3]int{2, 0, 0}, wall); slices.Contains(m, 1) {
		t.Error("flood from a voxel outside the range")
	}
}

func TestLoadLabelsStoredFlipped(t *testing.T) {
	s := sample(t)
	want, _, _ := liver(t, s)
	// The same label map stored with its columns reversed.
	m, err := labels.Load(sampleSeg, s.Volume)
	if err != nil {
		t.Fatal(err)
	}
	d := s.Volume.Dims
	flipped := make([]uint8, s.Volume.Len())
	m.Read(func(vox []uint8) {
		for n, x := range vox {
			i := n % d[0]
			flipped[n-i+d[0]-1-i] = x
		}
	})
	g := s.Volume.Geom
	g.Origin = g.IndexToWorld([3]float64{float64(d[0] - 1), 0, 0})
	g.Axes[0] = [3]float64{-g.Axes[0][0], -g.Axes[0][1], -g.Axes[0][2]}
	path := filepath.Join(t.TempDir(), "flipped.nii.gz")
	if err := nifti.Write(path, &volume.Volume{Dims: d, Data: flipped, Slope: 1, Geom: g}); err != nil {
		t.Fatal(err)
	}
	got, err := labels.Load(path, s.Volume)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Mask(liverValue), want) {
		t.Error("the flipped label map did not come back in the image's order")
	}
	if _, err := labels.Load(filepath.Join(t.TempDir(), "none.nii.gz"), s.Volume); !os.IsNotExist(err) && err == nil {
		t.Error("a missing file loaded")
	}
}

// TestUndoToSavedIsClean: painting and undoing back to what was saved
// leaves nothing to save (Quit does not ask); a hidden segment shown
// again likewise.
func TestUndoToSavedIsClean(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	v, err := e.AddSegment("liver")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SaveLabels(filepath.Join(t.TempDir(), "seg")); err != nil {
		t.Fatal(err)
	}
	mask, _, _ := liver(t, s)
	if _, err := e.Labels().Apply(mask, v, labels.Replace); err != nil {
		t.Fatal(err)
	}
	if !e.Dirty() {
		t.Fatal("a painted liver is not unsaved work")
	}
	if !e.Undo() || e.Dirty() {
		t.Fatalf("undone back to the saved segmentation, dirty %v", e.Dirty())
	}
	if !e.Redo() || !e.Dirty() {
		t.Fatal("redoing the liver is not unsaved work")
	}
	e.Undo()
	if err := e.Labels().SetVisible(v, false); err != nil {
		t.Fatal(err)
	}
	if !e.Dirty() {
		t.Fatal("hiding a segment (saved in the label file) is not unsaved")
	}
	e.Labels().SetVisible(v, true)
	if e.Dirty() {
		t.Fatal("showing the segment again left it unsaved")
	}
}

func TestSaveMarksSavedAndCategories(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	e.AddSegment("liver")
	if !e.Dirty() {
		t.Fatal("a new segment is not unsaved work")
	}
	path := filepath.Join(t.TempDir(), "seg")
	if err := e.SaveLabels(path); err != nil {
		t.Fatal(err)
	}
	if e.Dirty() {
		t.Error("dirty after saving")
	}
	if _, err := os.Stat(path + ".nii.gz"); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(path + ".txt"); err != nil {
		t.Error(err)
	}
	if err := s.ExportSEG(filepath.Join(t.TempDir(), "x.dcm")); err == nil {
		t.Error("DICOM SEG export of a NIfTI study")
	}
	names := []string{"liver", "left kidney", "right kidney", "kidney cyst", "spleen"}
	if got := FilterCategories(names, "kid"); !slices.Equal(got, []string{"kidney cyst", "left kidney", "right kidney"}) {
		t.Errorf("filter kid: %v", got)
	}
	if got := FilterCategories(names, "left kid"); !slices.Equal(got, []string{"left kidney"}) {
		t.Errorf("filter 'left kid': %v", got)
	}
	if cats, err := ReadCategories(filepath.Join("..", "models", "categories.txt")); err == nil && (len(cats) < 20 || cats[0] != "liver") {
		t.Errorf("categories.txt: %d names starting %v", len(cats), cats[:min(3, len(cats))])
	}
}

// sameVoxel reports whether screen point (x, y) of the axial view shows
// voxel idx.
func sameVoxel(s *Session, x, y float64, idx [3]int) bool {
	got, ok := s.VoxelAt(mpr.Axial, x, y)
	return ok && got == idx
}

// TestBrushShowsHiddenSegment: painting into a hidden active segment shows
// it; before, the stroke changed voxels no one could see (only undo's
// "undone: Brush" told of it).
func TestBrushShowsHiddenSegment(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	v, _ := e.AddSegment("hidden")
	if err := e.Labels().SetVisible(v, false); err != nil {
		t.Fatal(err)
	}
	e.SetTool(ToolBrush)
	if err := e.StrokeAt(mpr.Axial, 150, 150); err != nil {
		t.Fatal(err)
	}
	e.EndStroke()
	if sg, _ := e.Labels().Segment(v); !sg.Visible || e.Labels().Count(v) == 0 {
		t.Errorf("after a stroke into the hidden segment: visible %v, %d voxels", sg.Visible, e.Labels().Count(v))
	}
	// The eraser leaves a hidden segment hidden (it paints nothing in).
	if err := e.Labels().SetVisible(v, false); err != nil {
		t.Fatal(err)
	}
	e.SetTool(ToolEraser)
	e.StrokeAt(mpr.Axial, 150, 150)
	e.EndStroke()
	if sg, _ := e.Labels().Segment(v); sg.Visible {
		t.Error("the eraser showed a hidden segment")
	}
}

// TestEditShowsHiddenOverlay: with the overlay drawing nothing (opacity 0,
// or Fill and Outline off) a brush stroke or a 3D fill draws it again:
// a stroke took voxels from the liver with nothing on the slices showing.
func TestEditShowsHiddenOverlay(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	e.AddSegment("")
	for _, c := range []struct {
		fill, outline bool
		opacity       float64
		tool          Tool
	}{{true, true, 0, ToolBrush}, {false, false, 0.5, ToolEraser}, {true, false, 0.05, ToolFill}} {
		e.SetOverlay(c.fill, c.outline, c.opacity)
		e.SetTool(c.tool)
		if c.tool == ToolFill {
			if _, _, err := e.FillAt(mpr.Axial, 150, 150); err != nil {
				t.Fatal(err)
			}
		} else {
			if err := e.StrokeAt(mpr.Axial, 150, 150); err != nil {
				t.Fatal(err)
			}
			e.EndStroke()
		}
		if f, o, a := e.Overlay(); !(f || o) || a < minOpacity {
			t.Errorf("%v with fill %v, outline %v, opacity %v: overlay after it fill %v, outline %v, opacity %v", c.tool, c.fill, c.outline, c.opacity, f, o, a)
		}
	}
	// A visible overlay is left as the user set it.
	e.SetOverlay(false, true, 0.3)
	e.SetTool(ToolBrush)
	e.StrokeAt(mpr.Axial, 150, 150)
	e.EndStroke()
	if f, o, a := e.Overlay(); f || !o || a != 0.3 {
		t.Errorf("a visible overlay changed to fill %v, outline %v, opacity %v", f, o, a)
	}
}
