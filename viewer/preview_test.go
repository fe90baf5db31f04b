package viewer

import (
	"image"
	"testing"

	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/render/cpu"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
)

// TestPreviewStandsApartFromYellowSegment: with a segment given the
// preview's own yellow, the preview still looks different on screen. The
// liver's left half is that segment and its right half the preview; in the
// rendered axial view (render/cpu, as the app draws it) the preview's
// pixels away from any outline carry opaque stripes of its colour, the
// segment's only a see-through tint. Before the hatching both halves were
// drawn alike: a user could not tell the proposal from the segment.
func TestPreviewStandsApartFromYellowSegment(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	liverMask, lo, hi := liver(t, s)
	d := s.Volume.Dims
	mid := (lo[0] + hi[0]) / 2
	left, right := make([]uint8, len(liverMask)), make([]uint8, len(liverMask))
	for n, in := range liverMask {
		if in != 0 && n%d[0] < mid {
			left[n] = 1
		} else if in != 0 {
			right[n] = 1
		}
	}
	yellow, err := e.AddSegment("yellow")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Labels().Recolor(yellow, PreviewColor); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Labels().Apply(left, yellow, labels.Replace); err != nil {
		t.Fatal(err)
	}
	if err := e.SetPreview(right); err != nil {
		t.Fatal(err)
	}
	s.SetCursor(s.Volume.Geom.IndexToWorld([3]float64{float64(mid), float64(lo[1]+hi[1]) / 2, float64(lo[2]+hi[2]) / 2}))

	v := s.View(mpr.Axial)
	img := image.NewRGBA(image.Rect(0, 0, v.Width, v.Height))
	e.RenderLabels(func(l *render.Labels) {
		err = cpu.New().Render(img, s.Plane(mpr.Axial), s.RenderVolume(), l, s.Options())
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := render.NewGrid(s.Plane(mpr.Axial), s.RenderVolume(), v.Width, v.Height)
	if err != nil {
		t.Fatal(err)
	}
	// region is which half pixel (x, y) shows: 1 the segment, 2 the
	// preview, 0 neither.
	region := func(x, y int) int {
		var n [3]int
		for a := range 3 {
			n[a] = int(g.Nearest(g.Index(a, x, y)))
			if n[a] < 0 || n[a] >= d[a] {
				return 0
			}
		}
		at := n[0] + d[0]*(n[1]+d[1]*n[2])
		switch {
		case left[at] != 0:
			return 1
		case right[at] != 0:
			return 2
		}
		return 0
	}
	var inside, opaque [3]int
	for y := 1; y < v.Height-1; y++ {
		for x := 1; x < v.Width-1; x++ {
			r := region(x, y)
			if r == 0 || region(x-1, y) != r || region(x+1, y) != r || region(x, y-1) != r || region(x, y+1) != r {
				continue // outside, or on an outline
			}
			inside[r]++
			c := img.RGBAAt(x, y)
			if c.R == PreviewColor.R && c.G == PreviewColor.G && c.B == PreviewColor.B {
				opaque[r]++
			}
		}
	}
	if inside[1] < 200 || inside[2] < 200 {
		t.Fatalf("the view shows %d pixels inside the segment, %d inside the preview: not the liver", inside[1], inside[2])
	}
	seg, prev := float64(opaque[1])/float64(inside[1]), float64(opaque[2])/float64(inside[2])
	t.Logf("opaque yellow: segment %d of %d pixels, preview %d of %d", opaque[1], inside[1], opaque[2], inside[2])
	want := float64(render.HatchWidth) / render.HatchPeriod
	if seg != 0 || prev < want-0.05 || prev > want+0.05 {
		t.Errorf("opaque yellow covers %.2f of the segment and %.2f of the preview; want none and %.2f (the hatching)", seg, prev, want)
	}
}
