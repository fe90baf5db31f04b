package viewer

import (
	"context"
	"image/color"
	"math"
	"testing"
	"time"

	"github.com/segvolapp/segvol/mesh"
	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/volume"
)

// signedVolume is the volume a closed triangle mesh encloses, by the
// divergence theorem: positive when its triangles wind counter-clockwise
// seen from outside.
func signedVolume(s *render.Surface) float64 {
	v := 0.0
	p := func(i uint32) [3]float64 {
		return [3]float64{float64(s.Positions[3*i]), float64(s.Positions[3*i+1]), float64(s.Positions[3*i+2])}
	}
	for t := 0; t < len(s.Indices); t += 3 {
		a, b, c := p(s.Indices[t]), p(s.Indices[t+1]), p(s.Indices[t+2])
		v += a[0]*(b[1]*c[2]-b[2]*c[1]) - a[1]*(b[0]*c[2]-b[2]*c[0]) + a[2]*(b[0]*c[1]-b[1]*c[0])
	}
	return v / 6
}

// TestMeshSurfaceFromItsBox: each label's surface, built from its own
// bounding box as the 3D view does, is the one package mesh builds from
// the whole map (same triangles, same vertices to 1e-3 mm), closed and
// wound outwards, in a right-handed and in a mirrored, rotated grid; one
// label touches the grid's edge, one lies inside.
func TestMeshSurfaceFromItsBox(t *testing.T) {
	dims := [3]int{20, 18, 12}
	lab := make([]uint8, dims[0]*dims[1]*dims[2])
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				var v uint8
				switch {
				case (i-8)*(i-8)+(j-9)*(j-9)+4*(k-6)*(k-6) <= 25:
					v = 1
				case i >= 17 && j < 12:
					v = 2
				}
				lab[i+dims[0]*(j+dims[1]*k)] = v
			}
		}
	}
	c, s := math.Cos(0.4), math.Sin(0.4)
	geoms := map[string]volume.Geometry{
		"right-handed": volume.NewGeometry([3]float64{5, -7, 3}, [3]float64{0.8, 0.9, 2.5}, [3][3]float64{{c, s, 0}, {-s, c, 0}, {0, 0, 1}}),
		"mirrored":     volume.NewGeometry([3]float64{5, -7, 3}, [3]float64{0.8, 0.9, 2.5}, [3][3]float64{{-1, 0, 0}, {0, c, s}, {0, s, -c}}),
	}
	for name, g := range geoms {
		ss := AllSurfaces(lab, dims, g)
		whole, err := mesh.Extract(context.Background(), mesh.Grid{Labels: lab, Dims: dims, IndexToWorld: g.Affine()},
			mesh.Options{Smoothing: mesh.DefaultSmoothing})
		if err != nil {
			t.Fatal(err)
		}
		if len(ss) != 2 || len(whole) != 2 {
			t.Fatalf("%s: %d surfaces from boxes, %d from the whole map, want 2", name, len(ss), len(whole))
		}
		for i := range ss {
			m, w := &ss[i], &whole[i]
			if m.Label != w.Label || len(m.Indices) != len(w.Triangles) || len(m.Positions) != len(w.Positions) {
				t.Fatalf("%s: label %d: %d triangles from its box, label %d %d from the whole map",
					name, m.Label, len(m.Indices)/3, w.Label, len(w.Triangles)/3)
			}
			worst := 0.0
			for p := range m.Positions {
				worst = max(worst, math.Abs(float64(m.Positions[p]-w.Positions[p])))
			}
			if worst > 1e-3 {
				t.Errorf("%s: label %d: vertices differ from the whole map's by up to %g mm", name, m.Label, worst)
			}
			if v := signedVolume(m); v <= 0 {
				t.Errorf("%s: label %d encloses %.1f mm3: wound inwards", name, m.Label, v)
			}
			edges := map[[2]uint32]int{}
			for t := 0; t < len(m.Indices); t += 3 {
				for e := range 3 {
					edges[[2]uint32{m.Indices[t+e], m.Indices[t+(e+1)%3]}]++
				}
			}
			for e, n := range edges {
				if back := edges[[2]uint32{e[1], e[0]}]; n != 1 || back != 1 {
					t.Fatalf("%s: label %d: edge %v used %d times, reversed %d", name, m.Label, e, n, back)
				}
			}
		}
	}
}

func TestColorSurfaces(t *testing.T) {
	ss := []render.Surface{{Label: 1}, {Label: 2}, {Label: 9}}
	colors := []color.NRGBA{{}, {R: 10, A: 100}, {G: 20, A: 0}}
	ColorSurfaces(ss, colors)
	if ss[0].Color != colors[1] || ss[1].Color.A != 0 || ss[2].Color.A != 0 {
		t.Errorf("colours %v %v %v", ss[0].Color, ss[1].Color, ss[2].Color)
	}
}

// TestSurfaceColors: a visible segment's surface takes its colour at its
// opacity, whatever the slice overlay's opacity; a hidden one none; the
// preview is opaque.
func TestSurfaceColors(t *testing.T) {
	s := sample(t)
	e := s.Edit()
	m := e.Labels()
	a, err := m.AddSegment("a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.AddSegment("b")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetOpacity(a, 0.5); err != nil {
		t.Fatal(err)
	}
	if err := m.SetVisible(b, false); err != nil {
		t.Fatal(err)
	}
	mask := make([]uint8, s.Volume.Len())
	mask[0] = 1
	if err := e.SetPreview(mask); err != nil {
		t.Fatal(err)
	}
	c := e.SurfaceColors()
	sa, _ := m.Segment(a)
	if want := (color.NRGBA{R: sa.Color.R, G: sa.Color.G, B: sa.Color.B, A: 128}); c[a] != want {
		t.Errorf("segment at opacity 0.5: %v, want %v", c[a], want)
	}
	if c[b].A != 0 || c[PreviewValue].A != 255 || c[PreviewValue].R != PreviewColor.R {
		t.Errorf("hidden segment %v, preview %v", c[b], c[PreviewValue])
	}
}

// TestSurfacesRebuildOnlyWhatChanged: after a change in a box, only the
// labels with voxels there before or after are rebuilt (their Revision
// moves, the others' stays), a label erased goes, one painted in comes,
// and every surface encloses its label's voxels as a full build's does.
func TestSurfacesRebuildOnlyWhatChanged(t *testing.T) {
	dims := [3]int{12, 10, 6}
	g := volume.NewGeometry([3]float64{1, 2, 3}, [3]float64{1, 1, 2}, [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}})
	lab := make([]uint8, dims[0]*dims[1]*dims[2])
	at := func(i, j, k int) *uint8 { return &lab[i+dims[0]*(j+dims[1]*k)] }
	for k := 1; k < 5; k++ {
		for j := 1; j < 4; j++ {
			*at(1, j, k), *at(2, j, k) = 1, 1 // label 1: i 1..2
			*at(6, j, k) = 2                  // label 2: i 6
			*at(9, j, k) = 3                  // label 3: i 9
		}
	}
	rev := uint64(1)
	var lo, hi [3]int
	l := &render.Labels{Data: lab, Revision: rev, Changed: func(since uint64) ([3]int, [3]int, bool) { return lo, hi, since == rev-1 }}
	var ss Surfaces
	first := map[uint8]uint64{}
	for _, s := range ss.Update(l, dims, g) {
		first[s.Label] = s.Revision
	}
	if len(first) != 3 {
		t.Fatalf("%d surfaces, want 3", len(first))
	}
	// Grow label 2 by a voxel, erase label 3 and paint label 4, all in the
	// box i 6..10, j 0..3, k 1..4.
	*at(7, 2, 2) = 2
	for k := 1; k < 5; k++ {
		for j := 1; j < 4; j++ {
			*at(9, j, k) = 0
		}
	}
	*at(10, 0, 1) = 4
	lo, hi = [3]int{6, 0, 1}, [3]int{10, 3, 4}
	rev++
	l.Revision = rev
	got := map[uint8]render.Surface{}
	for _, s := range ss.Update(l, dims, g) {
		got[s.Label] = s
	}
	if _, ok := got[3]; ok || len(got) != 3 {
		t.Fatalf("labels %v after the change, want 1, 2 and 4", got)
	}
	if got[1].Revision != first[1] || got[2].Revision == first[2] {
		t.Errorf("revisions: label 1 %d (was %d), label 2 %d (was %d): only 2 should be rebuilt", got[1].Revision, first[1], got[2].Revision, first[2])
	}
	for _, s := range AllSurfaces(lab, dims, g) {
		m := got[s.Label]
		if v, want := signedVolume(&m), signedVolume(&s); math.Abs(v-want) > 1e-6 {
			t.Errorf("label %d encloses %g mm3, a full build %g", s.Label, v, want)
		}
	}
}

// TestLightSurfaces: the light copies of the sample's 41 surfaces, built in
// the background when their triangles exceed the budget, hold about the
// budget in all, enclose what the full surfaces do, and carry a revision
// of their own; after an edit the changed segment comes whole until its
// new copy is built (once the edits have paused), the others keep theirs.
func TestLightSurfaces(t *testing.T) {
	v, err := nifti.Read(sampleSeg)
	if err != nil {
		t.Fatal(err)
	}
	lab := v.Data.([]uint8)
	rev := uint64(1)
	var lo, hi [3]int
	l := &render.Labels{Data: lab, Revision: rev, Changed: func(since uint64) ([3]int, [3]int, bool) { return lo, hi, since == rev-1 }}
	ss := Surfaces{budget: 20_000}
	full := ss.Update(l, v.Dims, v.Geom)
	total := 0
	for _, s := range full {
		total += len(s.Indices) / 3
	}
	ss.WaitLight()
	light := ss.Light(full)
	lightTotal := 0
	for i, s := range light {
		lightTotal += len(s.Indices) / 3
		f := &full[i]
		if len(f.Indices)/3 <= lightKeep {
			if s.Revision != f.Revision || len(s.Indices) != len(f.Indices) {
				t.Errorf("label %d (%d triangles) was lightened", s.Label, len(f.Indices)/3)
			}
			continue
		}
		if s.Revision != f.Revision|lightRevision || len(s.Indices) >= len(f.Indices) {
			t.Errorf("label %d: light copy of %d triangles, revision %x; full %d, %x", s.Label, len(s.Indices)/3, s.Revision, len(f.Indices)/3, f.Revision)
		}
		// Thin ribs lose most at this budget: 10% at 85% of their triangles gone.
		if a, b := signedVolume(&s), signedVolume(f); math.Abs(a/b-1) > 0.15 {
			t.Errorf("label %d: light copy encloses %.0f mm3, the full surface %.0f", s.Label, a, b)
		}
	}
	t.Logf("%d surfaces: %d triangles, light %d", len(full), total, lightTotal)
	if total <= 20_000 || lightTotal > 20_000+len(full)*lightKeep {
		t.Errorf("%d triangles lightened to %d, budget 20000", total, lightTotal)
	}
	// Erase the liver (5) in one slice: the segments in that slice are
	// rebuilt and lightened again, the others keep their copies.
	fullRev, lightRev := map[uint8]uint64{}, map[uint8]uint64{}
	for i, s := range full {
		fullRev[s.Label], lightRev[s.Label] = s.Revision, light[i].Revision
	}
	k := v.Dims[2] / 2
	for j := range v.Dims[1] {
		for i := range v.Dims[0] {
			if p := i + v.Dims[0]*(j+v.Dims[1]*k); lab[p] == 5 {
				lab[p] = 0
			}
		}
	}
	lo, hi = [3]int{0, 0, k}, [3]int{v.Dims[0] - 1, v.Dims[1] - 1, k}
	rev++
	l.Revision = rev
	edited := ss.Update(l, v.Dims, v.Geom)
	// Painting on: an edit of the next slice before lightQuiet has passed
	// starts the quiet time again, and no light copy of the liver is built
	// until it has passed (each would be built again after the next stroke).
	time.Sleep(lightQuiet * 6 / 10)
	for j := range v.Dims[1] {
		for i := range v.Dims[0] {
			if p := i + v.Dims[0]*(j+v.Dims[1]*(k+1)); lab[p] == 5 {
				lab[p] = 0
			}
		}
	}
	lo, hi = [3]int{0, 0, k + 1}, [3]int{v.Dims[0] - 1, v.Dims[1] - 1, k + 1}
	rev++
	l.Revision = rev
	edited = ss.Update(l, v.Dims, v.Geom)
	time.Sleep(lightQuiet * 6 / 10)
	for _, s := range ss.Light(edited) {
		if s.Label == 5 && s.Revision&lightRevision != 0 {
			t.Errorf("the liver's light copy was built %v after its last edit, %v after the one before", lightQuiet*6/10, lightQuiet*12/10)
		}
	}
	ss.WaitLight()
	rebuilt := 0
	for i, s := range ss.Light(edited) {
		e := &edited[i]
		if s.Revision&^lightRevision != e.Revision || (len(e.Indices)/3 > lightKeep) != (s.Revision&lightRevision != 0) {
			t.Errorf("label %d after the edit: revision %x, surface's %x", s.Label, s.Revision, e.Revision)
		}
		if e.Revision != fullRev[s.Label] {
			rebuilt++
		} else if s.Revision != lightRev[s.Label] {
			t.Errorf("label %d was not rebuilt, but its light copy was", s.Label)
		}
	}
	if rebuilt == 0 || rebuilt == len(edited) {
		t.Errorf("%d of %d surfaces rebuilt after erasing the liver in slice %d", rebuilt, len(edited), k)
	}
}
