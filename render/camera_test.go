package render

import (
	"math"
	"testing"
)

func near3(a, b [3]float64, tol float64) bool {
	return math.Abs(a[0]-b[0]) <= tol && math.Abs(a[1]-b[1]) <= tol && math.Abs(a[2]-b[2]) <= tol
}

// TestStandardViews checks each direction's camera against where the
// patient's sides must appear: from the front the patient's left (+x) is on
// the image's right and the head (+z) up; from above the face (-y) is up
// and the patient's right on the image's right.
func TestStandardViews(t *testing.T) {
	cases := []struct {
		d         Direction
		right, up [3]float64
	}{
		{Anterior, [3]float64{1, 0, 0}, [3]float64{0, 0, 1}},
		{Posterior, [3]float64{-1, 0, 0}, [3]float64{0, 0, 1}},
		{Left, [3]float64{0, 1, 0}, [3]float64{0, 0, 1}},
		{Right, [3]float64{0, -1, 0}, [3]float64{0, 0, 1}},
		{Superior, [3]float64{-1, 0, 0}, [3]float64{0, -1, 0}},
		{Inferior, [3]float64{1, 0, 0}, [3]float64{0, -1, 0}},
	}
	for _, c := range cases {
		cam := View(c.d, [3]float64{1, 2, 3}, 100)
		if err := cam.check(); err != nil {
			t.Fatal(err)
		}
		if !near3(cam.Right(), c.right, 1e-12) || !near3(cam.Up, c.up, 1e-12) {
			t.Errorf("%v: right %v up %v, want %v %v", c.d, cam.Right(), cam.Up, c.right, c.up)
		}
		if d, err := ParseDirection(c.d.String()); err != nil || d != c.d {
			t.Errorf("ParseDirection(%q) = %v, %v", c.d.String(), d, err)
		}
	}
	if _, err := ParseDirection("X"); err == nil {
		t.Error("ParseDirection accepted X")
	}
}

// TestOrbit: azimuth 90 from the front is the view from the left, elevation
// 90 from the front looks down from above with the back of the patient up
// (the camera went over the head), and many drags keep the camera sound.
func TestOrbit(t *testing.T) {
	a := View(Anterior, [3]float64{}, 100)
	l, s := View(Left, [3]float64{}, 100), View(Superior, [3]float64{}, 100)
	if got := a.Orbit(90, 0); !near3(got.Forward, l.Forward, 1e-12) || !near3(got.Up, l.Up, 1e-12) {
		t.Errorf("azimuth 90: forward %v up %v, want %v %v", got.Forward, got.Up, l.Forward, l.Up)
	}
	if got := a.Orbit(0, 90); !near3(got.Forward, s.Forward, 1e-12) || !near3(got.Up, [3]float64{0, 1, 0}, 1e-12) {
		t.Errorf("elevation 90: forward %v up %v, want %v and posterior up", got.Forward, got.Up, s.Forward)
	}
	// A drag to the right turns the scene with the mouse: 90 degrees brings
	// the camera to the patient's right.
	r := View(Right, [3]float64{}, 100)
	if got := a.Trackball(450, 0, 1000); !near3(got.Forward, r.Forward, 1e-12) {
		t.Errorf("drag right: forward %v, want %v", got.Forward, r.Forward)
	}
	c := a
	for range 1000 {
		c = c.Trackball(7, -3, 500)
	}
	if err := c.check(); err != nil {
		t.Errorf("after 1000 drags: %v", err)
	}
	p := a.Pan(10, 0, 100)
	if !near3(p.Center, [3]float64{-10, 0, 0}, 1e-12) {
		t.Errorf("panning right by a tenth of a 100 mm view moved the centre to %v, want 10 mm to the patient's right", p.Center)
	}
	if z := a.Zoom(2); z.Height != 50 {
		t.Errorf("zoom 2: height %g", z.Height)
	}
}

// TestProjectionRoundTrip: a point along the ray through a pixel projects
// back onto that pixel, with the depth the ray says, in both projections.
func TestProjectionRoundTrip(t *testing.T) {
	for _, persp := range []bool{false, true} {
		c := View(Anterior, [3]float64{5, -3, 2}, 200).Orbit(30, 20)
		c.Perspective = persp
		p := NewProjection(c, 300, 200)
		for _, px := range [][2]float64{{0.5, 0.5}, {150, 100}, {299.5, 13.25}} {
			o, d, z0, dz := p.Ray(px[0], px[1])
			for _, tt := range []float64{50, 400, 700} {
				q := [3]float64{o[0] + tt*d[0], o[1] + tt*d[1], o[2] + tt*d[2]}
				x, y, z := p.Project(q)
				if math.Abs(x-px[0]) > 1e-9 || math.Abs(y-px[1]) > 1e-9 || math.Abs(z-(z0+tt*dz)) > 1e-9 {
					t.Errorf("perspective %v: pixel %v t %g projects to %g %g depth %g, want depth %g", persp, px, tt, x, y, z, z0+tt*dz)
				}
			}
		}
	}
}

func TestBoundsOfRotatedVolume(t *testing.T) {
	// 10x20x5 voxels of 1x2x3 mm, rotated 90 degrees about z: index i runs
	// along +y, j along -x.
	v := &Volume{Dims: [3]int{10, 20, 5}, WorldToIndex: [3][4]float64{{0, 1, 0, 0}, {-0.5, 0, 0, 0}, {0, 0, 1.0 / 3, 0}}}
	lo, hi, err := Bounds(v)
	if err != nil {
		t.Fatal(err)
	}
	if !near3(lo, [3]float64{-39, -0.5, -1.5}, 1e-12) || !near3(hi, [3]float64{1, 9.5, 13.5}, 1e-12) {
		t.Errorf("bounds %v %v", lo, hi)
	}
	v.WorldToIndex[0] = [4]float64{}
	if _, _, err := Bounds(v); err == nil {
		t.Error("a singular matrix gave bounds")
	}
}

// TestFitVolume: from the front a 300 x 200 x 90 mm box fills the width of
// a wide view and the height of a tall one, with a 10% margin.
func TestFitVolume(t *testing.T) {
	v := &Volume{Dims: [3]int{300, 200, 30}, WorldToIndex: [3][4]float64{{1, 0, 0, 0.5}, {0, 1, 0, 0.5}, {0, 0, 1.0 / 3, 0.5}}}
	c, err := FitVolume(Anterior, v, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !near3(c.Center, [3]float64{149, 99, 42}, 1e-9) || math.Abs(c.Height-1.1*150) > 1e-9 {
		t.Errorf("wide view: centre %v height %g, want 165", c.Center, c.Height)
	}
	if c, _ := FitVolume(Anterior, v, 0.5); math.Abs(c.Height-1.1*600) > 1e-9 {
		t.Errorf("tall view: height %g, want 660", c.Height)
	}
	if c, _ := FitVolume(Superior, v, 1); math.Abs(c.Height-1.1*300) > 1e-9 {
		t.Errorf("from above: height %g, want 330", c.Height)
	}
}
