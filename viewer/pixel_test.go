package viewer

import (
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/render/cpu"
	"github.com/segvolapp/segvol/viewer/mpr"
	"github.com/segvolapp/segvol/viewer/study"
)

// drawn renders view o as the app does (the CPU reference renderer at the
// view's size) and returns the RGBA of pixel (x, y).
func drawn(t *testing.T, s *Session, o mpr.Orientation, x, y int) [4]uint8 {
	t.Helper()
	v := s.View(o)
	img := image.NewRGBA(image.Rect(0, 0, v.Width, v.Height))
	var err error
	s.Edit().RenderLabels(func(l *render.Labels) {
		err = cpu.New().Render(img, s.Plane(o), s.RenderVolume(), l, s.Options())
	})
	if err != nil {
		t.Fatal(err)
	}
	i := img.PixOffset(x, y)
	return [4]uint8(img.Pix[i : i+4])
}

// shownVoxel is the voxel the renderers sample at pixel (x, y) of view o,
// worked out from the render grid (nearest sampling), independently of the
// session's own probe.
func shownVoxel(t *testing.T, s *Session, o mpr.Orientation, x, y int) [3]int {
	t.Helper()
	v := s.View(o)
	g, err := render.NewGrid(s.Plane(o), s.RenderVolume(), v.Width, v.Height)
	if err != nil {
		t.Fatal(err)
	}
	var n [3]int
	for a := range 3 {
		n[a] = int(g.Nearest(g.Index(a, x, y)))
	}
	return n
}

// The sample has 30 slices of 3 mm and 122 columns, so its centre lies on
// the boundary between two slices along k and i: a stroke there must land
// on the slice shown, in every view, after scrolling too, and the eraser
// must remove what is seen.
func TestStrokeLandsOnShownSlice(t *testing.T) {
	for _, o := range Orientations {
		t.Run(o.String(), func(t *testing.T) {
			s := sample(t)
			e := s.Edit()
			if _, err := e.AddSegment("stroke"); err != nil {
				t.Fatal(err)
			}
			e.BrushMM, e.Brush3D = 4, false
			for _, scroll := range []int{0, 1, -3} {
				s.ScrollView(o, scroll)
				x, y := 200, 150
				before := drawn(t, s, o, x, y)
				e.SetTool(ToolBrush)
				if err := e.StrokeAt(o, float64(x)+0.5, float64(y)+0.5); err != nil {
					t.Fatal(err)
				}
				e.EndStroke()
				shown := shownVoxel(t, s, o, x, y)
				if got := e.Labels().At(shown[0], shown[1], shown[2]); got != e.Active() {
					t.Fatalf("scrolled %d: the voxel shown at the dab, %v, has label %d, want %d", scroll, shown, got, e.Active())
				}
				if after := drawn(t, s, o, x, y); after == before {
					t.Fatalf("scrolled %d: the stroke is invisible at the pixel painted (%v)", scroll, after)
				}
				if p := s.ProbeAt(o, float64(x)+0.5, float64(y)+0.5); p.Index != shown {
					t.Fatalf("scrolled %d: the probe under the pointer is voxel %v, the view shows %v", scroll, p.Index, shown)
				}
				e.SetTool(ToolEraser)
				if err := e.StrokeAt(o, float64(x)+0.5, float64(y)+0.5); err != nil {
					t.Fatal(err)
				}
				e.EndStroke()
				if got := e.Labels().At(shown[0], shown[1], shown[2]); got != 0 {
					t.Fatalf("scrolled %d: erasing over the visible stroke left label %d", scroll, got)
				}
				if after := drawn(t, s, o, x, y); after != before {
					t.Fatalf("scrolled %d: the pixel is %v after erasing, %v before painting", scroll, after, before)
				}
			}
		})
	}
}

// Scrolling rests on voxel centres when the view's plane is parallel to
// the voxel grid: the cursor's index along the slice axis is whole, from
// the start (the sample's centre lies between two slices) and after each
// scroll, and the counter is that index.
func TestCursorRestsOnVoxelCentres(t *testing.T) {
	s := sample(t)
	check := func(when string) {
		t.Helper()
		idx, err := s.Volume.Geom.WorldToIndex(s.Cursor())
		if err != nil {
			t.Fatal(err)
		}
		for a := range 3 {
			if math.Abs(idx[a]-math.Round(idx[a])) > 1e-9 {
				t.Fatalf("%s: cursor at index %v, not a voxel centre", when, idx)
			}
		}
		// Axial steps along k, coronal along j, sagittal along i.
		for o, a := range map[mpr.Orientation]int{mpr.Axial: 2, mpr.Coronal: 1, mpr.Sagittal: 0} {
			n, count, stored := s.Slice(o)
			if !stored || count != s.Volume.Dims[a] || n != int(math.Round(idx[a])) {
				t.Fatalf("%s: %v counter %d/%d (stored %v), cursor index %v", when, o, n, count, stored, idx)
			}
		}
	}
	check("at the start")
	for _, o := range Orientations {
		s.ScrollView(o, 1)
		check("after scrolling " + o.String())
		s.ScrollView(o, -2)
		check("after scrolling back " + o.String())
	}
	s.SetCursorAt(mpr.Axial, 123.3, 77.7)
	check("after a click")
}

// The counters: stored slices where the plane is parallel to the grid, a
// depth in mm where it is not. niivue's shear.nii.gz (a tilted CT, 54
// slices) has rows leaning out of the axial plane: its axial planes cut
// across the stored slices, its coronal and sagittal ones are parallel to
// them.
func TestSliceText(t *testing.T) {
	s := sample(t)
	s.ScrollView(mpr.Axial, 2)
	k, err := s.Volume.Geom.WorldToIndex(s.Cursor())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.SliceText(mpr.Axial), fmt.Sprintf("Axial %d/30", int(math.Round(k[2]))+1); got != want {
		t.Errorf("sample axial counter %q, want %q", got, want)
	}
	path := filepath.Join("..", "..", "shared", "data", "niivue_niivue_demos", "shear.nii.gz")
	if _, err := os.Stat(path); err != nil {
		t.Skip("shared data absent:", err)
	}
	st, err := study.Open(t.Context(), path, study.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err = NewSession(st.Volume, st.Scan)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := s.Volume.Geom.WorldToIndex(s.Cursor())
	if err != nil {
		t.Fatal(err)
	}
	want := map[mpr.Orientation]string{
		mpr.Sagittal: fmt.Sprintf("Sagittal %d/306", int(math.Round(idx[0]))+1),
		mpr.Coronal:  fmt.Sprintf("Coronal %d/422", int(math.Round(idx[1]))+1),
		mpr.Axial:    fmt.Sprintf("Axial %s %.1f mm", map[bool]string{true: "S", false: "I"}[s.Cursor()[2] >= 0], math.Abs(s.Cursor()[2])),
	}
	for o, w := range want {
		if got := s.SliceText(o); got != w {
			t.Errorf("%v counter %q, want %q (cursor index %v)", o, got, w, idx)
		}
	}
	// Scrolling the oblique axial view moves the depth by the slice
	// spacing along z.
	z := s.Cursor()[2]
	s.ScrollView(mpr.Axial, 1)
	if d := s.Cursor()[2] - z; math.Abs(d-2.371) > 0.01 {
		t.Errorf("one axial scroll moved %v mm", d)
	}
}
