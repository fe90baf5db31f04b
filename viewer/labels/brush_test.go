package labels

import (
	"math"
	"slices"
	"testing"

	"github.com/segvolapp/segvol/viewer/volume"
)

// bruteBrush is the voxel set of a brush by its definition, checking every
// voxel of the grid: the centre within the radius (and, for a disc, within
// half a voxel step along the normal of the plane).
func bruteBrush(g volume.Geometry, dims [3]int, b Brush, c [3]float64) map[int]bool {
	const eps = 1e-6
	var nrm [3]float64
	half := 0.0
	if b.Plane != nil {
		l := math.Sqrt(dot(b.Plane.Normal, b.Plane.Normal))
		for i := range 3 {
			nrm[i] = b.Plane.Normal[i] / l
		}
		t := dot(sub(c, b.Plane.Point), nrm)
		for i := range 3 {
			c[i] -= t * nrm[i]
		}
		for a := range 3 {
			half = max(half, math.Abs(dot(g.Axes[a], nrm))/2)
		}
	}
	out := map[int]bool{}
	for k := range dims[2] {
		for j := range dims[1] {
			for i := range dims[0] {
				d := sub(g.IndexToWorld([3]float64{float64(i), float64(j), float64(k)}), c)
				r2 := dot(d, d)
				if b.Plane != nil {
					h := dot(d, nrm)
					if h < -half-eps || h >= half-eps {
						continue
					}
					r2 -= h * h
				}
				if r2 <= (b.RadiusMM+eps)*(b.RadiusMM+eps) {
					out[i+dims[0]*(j+dims[1]*k)] = true
				}
			}
		}
	}
	return out
}

func TestBrushMatchesBruteForce(t *testing.T) {
	img := sampleImage(t)
	sheared := *img
	sheared.Geom.Axes[2] = [3]float64{0, 1.2, 3}
	centre := img.Geom.IndexToWorld([3]float64{60.3, 50, 14.6})
	cases := []struct {
		name string
		img  *volume.Volume
		b    Brush
		at   [3]float64
	}{
		{"sphere 10 mm on 3 mm voxels", img, Brush{RadiusMM: 10}, centre},
		{"sphere 10 mm at a voxel centre", img, Brush{RadiusMM: 10}, img.Geom.IndexToWorld([3]float64{60, 50, 15})},
		{"sphere 10 mm on a sheared grid", &sheared, Brush{RadiusMM: 10}, centre},
		{"axial disc 10 mm", img, Brush{RadiusMM: 10, Plane: &Plane{Point: centre, Normal: [3]float64{0, 0, 1}}}, centre},
		{"coronal disc through a voxel boundary", img, Brush{RadiusMM: 8, Plane: &Plane{Point: img.Geom.IndexToWorld([3]float64{0, 50.5, 0}), Normal: [3]float64{0, 1, 0}}}, centre},
		{"oblique disc 12 mm", img, Brush{RadiusMM: 12, Plane: &Plane{Point: centre, Normal: [3]float64{0.3, -0.5, 0.8}}}, centre},
		{"sphere at the grid's corner", img, Brush{RadiusMM: 10}, img.Geom.IndexToWorld([3]float64{-1, -1, -1})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := New(c.img)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := m.AddSegment("paint")
			ch, err := m.Paint(c.b, c.at, v)
			if err != nil {
				t.Fatal(err)
			}
			want := bruteBrush(c.img.Geom, c.img.Dims, c.b, c.at)
			vox := snapshot(m)
			for n, x := range vox {
				if (x == v) != want[n] {
					t.Fatalf("voxel %d painted %v, brute force %v", n, x == v, want[n])
				}
			}
			if ch.Voxels != len(want) {
				t.Fatalf("change reports %d voxels, brute force %d", ch.Voxels, len(want))
			}
			t.Logf("%d voxels", len(want))
		})
	}
	// A 10 mm ball holds about 4189 mm³ of 27 mm³ voxels.
	if n := len(bruteBrush(img.Geom, img.Dims, Brush{RadiusMM: 10}, centre)); n < 130 || n > 180 {
		t.Fatalf("10 mm sphere has %d voxels", n)
	}
}

func TestBrushRulesAndRange(t *testing.T) {
	m := sampleMap(t)
	img := m.Image()
	before := snapshot(m)
	at := img.Geom.IndexToWorld([3]float64{40, 55, 15})
	v, _ := m.AddSegment("soft tissue")
	if err := m.SetLocked(liver, true); err != nil {
		t.Fatal(err)
	}
	ball := Brush{RadiusMM: 25, Range: &[2]float64{0, 80}}
	if _, err := m.Paint(ball, at, v); err != nil {
		t.Fatal(err)
	}
	after := snapshot(m)
	in := bruteBrush(img.Geom, img.Dims, ball, at)
	painted := 0
	for n := range after {
		hu := img.Value(n)
		wantPaint := in[n] && hu >= 0 && hu <= 80 && before[n] != liver
		if (after[n] == v) != wantPaint {
			t.Fatalf("voxel %d (HU %g, was %d) painted %v, want %v", n, hu, before[n], after[n] == v, wantPaint)
		}
		if after[n] != v && after[n] != before[n] {
			t.Fatalf("voxel %d changed outside the brush", n)
		}
		if wantPaint {
			painted++
		}
	}
	if painted == 0 || count(after, liver) != count(before, liver) {
		t.Fatalf("painted %d, liver %d -> %d", painted, count(before, liver), count(after, liver))
	}
	// Only background: the other organs stay.
	m.SetDrawOver(OverBackground)
	m.Undo()
	if _, err := m.Paint(Brush{RadiusMM: 25}, at, v); err != nil {
		t.Fatal(err)
	}
	after = snapshot(m)
	for n := range after {
		if before[n] != 0 && after[n] != before[n] {
			t.Fatalf("voxel %d of segment %d painted over in background mode", n, before[n])
		}
	}
	// The eraser limited to one segment leaves the others.
	if _, err := m.Erase(Brush{RadiusMM: 25}, at, v); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(m); string(got) != string(before) {
		t.Fatal("erasing the painted segment did not restore the map")
	}
	if _, err := m.Paint(Brush{RadiusMM: 5}, at, 77); err == nil {
		t.Fatal("painting an absent segment succeeded")
	}
	if _, err := m.Paint(Brush{RadiusMM: 0}, at, v); err == nil {
		t.Fatal("a zero brush succeeded")
	}
}

func BenchmarkPaintDab(b *testing.B) {
	m := sampleMap(b)
	at := m.Geometry().IndexToWorld([3]float64{60, 50, 15})
	for b.Loop() {
		m.Paint(Brush{RadiusMM: 15}, at, spleen)
		m.Undo()
	}
}

// TestPaintTellsOfLockedVoxels: a brush over a locked segment reports the
// voxels it left alone and whose they are, so that the app can say why
// the stroke did not paint there.
func TestPaintTellsOfLockedVoxels(t *testing.T) {
	m := sampleMap(t)
	img := m.Image()
	n := slices.Index(snapshot(m), liver)
	if n < 0 {
		t.Fatal("no liver voxel")
	}
	d := img.Dims
	at := img.Geom.IndexToWorld([3]float64{float64(n % d[0]), float64(n / d[0] % d[1]), float64(n / (d[0] * d[1]))})
	v, _ := m.AddSegment("new")
	if err := m.SetLocked(liver, true); err != nil {
		t.Fatal(err)
	}
	ball := Brush{RadiusMM: 10}
	before := snapshot(m)
	spared := 0
	for k := range bruteBrush(img.Geom, img.Dims, ball, at) {
		if before[k] == liver {
			spared++
		}
	}
	c, err := m.Paint(ball, at, v)
	if err != nil {
		t.Fatal(err)
	}
	if spared == 0 || c.Spared != spared || c.SparedSeg != liver {
		t.Errorf("change spared %d voxels of segment %d, want %d of the liver (%d)", c.Spared, c.SparedSeg, spared, liver)
	}
	// Unlocked, nothing is spared.
	m.Undo()
	m.SetLocked(liver, false)
	if c, _ := m.Paint(ball, at, v); c.Spared != 0 {
		t.Errorf("unlocked: %d voxels spared", c.Spared)
	}
}
