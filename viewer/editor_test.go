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
	if name, _ := e.Labels().CanUndo(); name != "apply" {
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
	if m := e.MarkersOn(mpr.Axial); len(m) != 2 || math.Abs(m[0].X-(x+20)) > 1e-6 || !m[0].Positive || m[1].Positive {
		t.Fatalf("axial markers %+v", m)
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
	c, err := e.FillAt(mpr.Axial, x, y)
	if err != nil {
		t.Fatal(err)
	}
	st = e.Labels().Statistics()[0]
	centre := s.ProbeAt(mpr.Axial, x, y).Value
	if c.Voxels == 0 || st.Min < centre-60 || st.Max > centre+60 {
		t.Errorf("fill: %d voxels, %+v around %g", c.Voxels, st, centre)
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
