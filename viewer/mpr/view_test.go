package mpr

import (
	"math"
	"testing"

	"github.com/segvolapp/segvol/viewer/volume"
)

// sampleFrame is the geometry of the bundled sample CT: 122x101x30 voxels of
// 3 mm, stored RAS (index i towards the patient's right).
func sampleFrame() Frame {
	g := volume.FromAffineRAS([4][4]float64{{3, 0, 0, -180}, {0, 3, 0, -150}, {0, 0, 3, 60}, {0, 0, 0, 1}})
	return Frame{Geom: g, Dims: [3]int{122, 101, 30}}
}

func TestEdges(t *testing.T) {
	cases := map[Orientation]string{Axial: "RLAP", Coronal: "RLSI", Sagittal: "APSI"}
	for o, want := range cases {
		l, r, tp, b := o.Edges()
		if got := l + r + tp + b; got != want {
			t.Errorf("%v edges %s, want %s", o, got, want)
		}
	}
}

func TestScreenWorldRoundTrip(t *testing.T) {
	f := sampleFrame()
	c := f.Centre()
	for _, o := range []Orientation{Axial, Coronal, Sagittal} {
		v := View{Orient: o, Width: 400, Height: 300, Zoom: 1.7, Pan: [2]float64{12, -5}}
		w := v.ScreenToWorld(f, c, 123.25, 77.5)
		x, y := v.WorldToScreen(f, c, w)
		if math.Abs(x-123.25) > 1e-9 || math.Abs(y-77.5) > 1e-9 {
			t.Errorf("%v: round trip gave (%v,%v)", o, x, y)
		}
		// The point lies on the plane through the cursor.
		if d := dot(sub(w, c), o.Normal()); math.Abs(d) > 1e-9 {
			t.Errorf("%v: point %v is %v mm off the plane", o, w, d)
		}
	}
}

func TestFitAndCentre(t *testing.T) {
	f := sampleFrame()
	v := View{Orient: Axial, Width: 512, Height: 512, Zoom: 1}
	// 122 x 3 mm across is the widest extent: it fills 512 pixels.
	if mm := v.MMPerPixel(f); math.Abs(mm-366.0/512) > 1e-12 {
		t.Fatalf("mm per pixel %v", mm)
	}
	c := f.Centre()
	w := v.ScreenToWorld(f, c, 256, 256)
	if math.Abs(w[0]-c[0]) > 1e-9 || math.Abs(w[1]-c[1]) > 1e-9 {
		t.Fatalf("screen centre shows %v, study centre %v", w, c)
	}
	// Screen right is the patient's left (+x in LPS).
	a := v.ScreenToWorld(f, c, 100, 256)
	b := v.ScreenToWorld(f, c, 400, 256)
	if !(b[0] > a[0]) {
		t.Fatalf("screen right goes to x %v from %v: not towards the patient's left", b[0], a[0])
	}
}

func TestScrollAndSliceNumber(t *testing.T) {
	f := sampleFrame()
	v := View{Orient: Axial, Width: 256, Height: 256, Zoom: 1}
	c := f.Centre()
	n0, count, _ := v.Slice(f, c)
	if count != 30 {
		t.Fatalf("axial slice count %d, want 30", count)
	}
	c2 := v.Scroll(f, c, 2)
	if d := c2[2] - c[2]; math.Abs(d-6) > 1e-9 {
		t.Fatalf("two slices up moved %v mm, want 6", d)
	}
	if n2, _, _ := v.Slice(f, c2); n2 != n0+2 {
		t.Fatalf("slice %d after scrolling from %d", n2, n0)
	}
	// Scrolling far stops at the last slice centre.
	top := v.Scroll(f, c, 1000)
	if n, _, _ := v.Slice(f, top); n != 29 {
		t.Fatalf("scrolled past the end: slice %d", n)
	}
	bottom := v.Scroll(f, c, -1000)
	if n, _, _ := v.Slice(f, bottom); n != 0 {
		t.Fatalf("scrolled past the start: slice %d", n)
	}
	// The voxel under the cursor after scrolling to the bottom is slice 0.
	idx, err := f.Geom.WorldToIndex(bottom)
	if err != nil || math.Abs(idx[2]) > 1e-9 {
		t.Fatalf("bottom cursor at index %v (%v)", idx, err)
	}
	if _, count, _ := (View{Orient: Sagittal}).Slice(f, c); count != 122 {
		t.Fatalf("sagittal slice count %d, want 122", count)
	}
	// Goto reaches a stored slice by its number, in storage order (the
	// sample's columns run towards the patient's right).
	for _, o := range []Orientation{Axial, Sagittal} {
		v := View{Orient: o}
		if n, count, _ := v.Slice(f, v.Goto(f, c, 7)); n != 7 || count != v.Planes(f) {
			t.Errorf("%v: Goto 7 shows slice %d of %d (Planes %d)", o, n, count, v.Planes(f))
		}
	}
}

func TestZoomAroundKeepsPointFixed(t *testing.T) {
	f := sampleFrame()
	c := f.Centre()
	for _, o := range []Orientation{Axial, Coronal, Sagittal} {
		v := View{Orient: o, Width: 300, Height: 200, Zoom: 1, Pan: [2]float64{4, -7}}
		before := v.ScreenToWorld(f, c, 70, 150)
		z := v.ZoomAround(f, 2.5, 70, 150)
		if math.Abs(z.Zoom-2.5) > 1e-12 {
			t.Fatalf("%v: zoom %v", o, z.Zoom)
		}
		after := z.ScreenToWorld(f, c, 70, 150)
		for a := 0; a < 3; a++ {
			if math.Abs(after[a]-before[a]) > 1e-9 {
				t.Fatalf("%v: point under the pointer moved from %v to %v", o, before, after)
			}
		}
	}
}

func TestPanByMovesImageWithPointer(t *testing.T) {
	f := sampleFrame()
	c := f.Centre()
	v := View{Orient: Axial, Width: 300, Height: 200, Zoom: 2}
	w := v.ScreenToWorld(f, c, 100, 80)
	p := v.PanBy(f, 15, -10)
	if x, y := p.WorldToScreen(f, c, w); math.Abs(x-115) > 1e-9 || math.Abs(y-70) > 1e-9 {
		t.Fatalf("panned point at (%v,%v), want (115,70)", x, y)
	}
}

func TestClampKeepsCursorOnASlice(t *testing.T) {
	f := sampleFrame()
	p := f.Clamp([3]float64{1e6, -1e6, 0})
	for _, o := range []Orientation{Axial, Coronal, Sagittal} {
		v := View{Orient: o}
		n, count, _ := v.Slice(f, p)
		if n < 0 || n >= count {
			t.Fatalf("%v: slice %d of %d", o, n, count)
		}
	}
	lo, hi := f.Bounds()
	for a := 0; a < 3; a++ {
		if p[a] < lo[a] || p[a] > hi[a] {
			t.Fatalf("clamped %v outside %v..%v", p, lo, hi)
		}
	}
}

// A CT with a 20 degree gantry tilt as the DICOM loader places it: rows and
// columns in the axial plane, the slice step leaning towards posterior.
// Axial and sagittal planes are then parallel to the stored grid (they show
// stored slices, counted as stored); coronal planes cut across them and
// have a depth in mm instead.
func TestTiltedSliceCounters(t *testing.T) {
	tilt := 20 * math.Pi / 180
	f := Frame{Geom: volume.Geometry{Origin: [3]float64{-90, -120, -40}, Axes: [3][3]float64{{0.7, 0, 0}, {0, 0.7, 0}, {0, 3 * math.Sin(tilt), 3 * math.Cos(tilt)}}}, Dims: [3]int{256, 256, 54}}
	c := f.Snap(f.Clamp(f.Centre()))
	idx, err := f.Geom.WorldToIndex(c)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(idx[2]-math.Round(idx[2])) > 1e-9 || math.Abs(idx[0]-math.Round(idx[0])) > 1e-9 {
		t.Fatalf("snapped cursor at index %v: not on axial and sagittal voxel centres", idx)
	}
	for o, want := range map[Orientation]int{Axial: 2, Sagittal: 0, Coronal: -1} {
		v := View{Orient: o, Width: 256, Height: 256, Zoom: 1}
		n, count, stored := v.Slice(f, c)
		switch {
		case want < 0 && stored:
			t.Errorf("%v: counted as stored slice %d/%d though oblique to the grid", o, n, count)
		case want >= 0 && (!stored || count != f.Dims[want] || n != int(math.Round(idx[want]))):
			t.Errorf("%v: slice %d/%d stored %v, want index %v of %d", o, n, count, stored, idx[want], f.Dims[want])
		}
	}
	// One axial scroll is one stored slice: 3 cos(tilt) mm up, index k + 1.
	v := View{Orient: Axial, Width: 256, Height: 256, Zoom: 1}
	up := f.Snap(f.Clamp(v.Scroll(f, c, 1)))
	if d := up[2] - c[2]; math.Abs(d-3*math.Cos(tilt)) > 1e-9 {
		t.Errorf("one axial scroll moved %v mm, want %v", d, 3*math.Cos(tilt))
	}
	if n, _, _ := v.Slice(f, up); n != int(math.Round(idx[2]))+1 {
		t.Errorf("after one scroll: slice %d, was %v", n, idx[2])
	}
	// The coronal depth is the cursor's y, on the posterior side when > 0.
	mm, side := View{Orient: Coronal}.Depth(c)
	if mm != c[1] || side != map[bool]string{true: "P", false: "A"}[c[1] >= 0] {
		t.Errorf("coronal depth %v %s, cursor y %v", mm, side, c[1])
	}
}
