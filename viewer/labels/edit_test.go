package labels

import (
	"testing"

	"github.com/segvolapp/segvol/infer/morph"
)

// deepInside is the liver voxel farthest from the liver's surface.
func deepInside(t *testing.T, m *LabelMap) (int, [3]float64) {
	t.Helper()
	mask := m.Mask(liver)
	d := morph.EDT(mask, m.Dims(), m.Geometry().Spacing(), true)
	best := 0
	for n := range d {
		if d[n] > d[best] {
			best = n
		}
	}
	dims := m.Dims()
	p := [3]float64{float64(best % dims[0]), float64(best / dims[0] % dims[1]), float64(best / (dims[0] * dims[1]))}
	return best, m.Geometry().IndexToWorld(p)
}

func TestIslands(t *testing.T) {
	m := sampleMap(t)
	orig := snapshot(m)
	_, sizes := morph.Components(m.Mask(liver), m.Dims(), morph.Faces)
	largest := 0
	for _, s := range sizes {
		largest = max(largest, s)
	}
	// A 10 mm ball of "liver" in the air in front of the patient (row 3).
	far := m.Geometry().IndexToWorld([3]float64{60, 3, 15})
	ch, err := m.Paint(Brush{RadiusMM: 10}, far, liver)
	if err != nil || ch.Voxels == 0 {
		t.Fatalf("painting the island: %v, %d voxels", err, ch.Voxels)
	}
	if _, err := m.RemoveIslands(liver, 5); err != nil {
		t.Fatal(err)
	}
	// The liver is one piece of 1 L: only the 4 mL ball goes.
	if got := snapshot(m); string(got) != string(orig) {
		t.Fatal("RemoveIslands(5 mL) did not give back the original map")
	}
	m.Undo()
	if _, err := m.KeepLargestIsland(liver); err != nil {
		t.Fatal(err)
	}
	_, got := morph.Components(m.Mask(liver), m.Dims(), morph.Faces)
	if len(got) != 1 || got[0] != largest {
		t.Fatalf("after KeepLargestIsland: components %v, want one of %d", got, largest)
	}
	t.Logf("liver: %d components before, largest %d voxels", len(sizes), largest)
}

func TestFillHoles(t *testing.T) {
	m := sampleMap(t)
	orig := snapshot(m)
	_, centre := deepInside(t, m)
	lesion, _ := m.AddSegment("lesion")
	// A cavity in the liver with a lesion inside it.
	if _, err := m.Erase(Brush{RadiusMM: 9}, centre, liver); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Paint(Brush{RadiusMM: 3}, centre, lesion); err != nil {
		t.Fatal(err)
	}
	holed := snapshot(m)
	if count(holed, liver) >= count(orig, liver) || count(holed, lesion) == 0 {
		t.Fatal("no cavity made")
	}
	if _, err := m.FillHoles(liver); err != nil {
		t.Fatal(err)
	}
	after := snapshot(m)
	for n := range after {
		want := orig[n]
		if holed[n] == lesion {
			want = lesion
		}
		// The original liver may itself have had holes: they fill too.
		if after[n] != want && !(orig[n] == 0 && after[n] == liver) {
			t.Fatalf("voxel %d is %d, want %d", n, after[n], want)
		}
	}
	t.Logf("filled %d voxels", count(after, liver)-count(holed, liver))
}

func TestSmooth(t *testing.T) {
	m := sampleMap(t)
	orig := snapshot(m)
	// A spur one voxel thick sticking 5 voxels out of the liver's
	// rightmost voxel (highest i), where nothing else is.
	dims := m.Dims()
	start, right := 0, -1
	for n, x := range orig {
		if i := n % dims[0]; x == liver && i > right {
			start, right = n, i
		}
	}
	if right+5 >= dims[0] {
		t.Fatal("the liver reaches the grid's edge")
	}
	spur := make([]uint8, len(orig))
	for d := 1; d <= 5; d++ {
		spur[start+d] = 1
	}
	if _, err := m.Apply(spur, liver, Add); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Smooth(liver, 4); err != nil {
		t.Fatal(err)
	}
	after := snapshot(m)
	if after[start+4] == liver || after[start+5] == liver {
		t.Fatal("the spur survived smoothing")
	}
	if d := dice(orig, liver, after, liver); d < 0.9 {
		t.Fatalf("smoothing changed the liver too much: Dice %.3f", d)
	} else {
		t.Logf("Dice after 4 mm smoothing %.3f", d)
	}
}

func TestInterpolateEveryOtherSlice(t *testing.T) {
	m := sampleMap(t)
	orig := snapshot(m)
	dims := m.Dims()
	plane := dims[0] * dims[1]
	gaps := make([]uint8, len(orig))
	for n := range gaps {
		if n/plane%2 == 1 {
			gaps[n] = 1
		}
	}
	if _, err := m.Apply(gaps, liver, Subtract); err != nil {
		t.Fatal(err)
	}
	thinned := snapshot(m)
	if _, err := m.Interpolate(liver, 2); err != nil {
		t.Fatal(err)
	}
	after := snapshot(m)
	d := dice(orig, liver, after, liver)
	t.Logf("Dice vs the original: %.4f with every other slice removed, %.4f interpolated", dice(orig, liver, thinned, liver), d)
	if d < 0.9 {
		t.Fatalf("Dice %.4f", d)
	}
	for n := range after {
		if thinned[n] == liver && after[n] != liver {
			t.Fatal("interpolation removed a painted voxel")
		}
	}
	if _, err := m.Interpolate(liver, 3); err == nil {
		t.Fatal("axis 3 accepted")
	}
}

func TestApplyOps(t *testing.T) {
	m := sampleMap(t)
	orig := snapshot(m)
	spleenMask := m.Mask(spleen)
	v, _ := m.AddSegment("spleen copy")
	// Replace with another segment's mask moves those voxels.
	if _, err := m.Apply(spleenMask, v, Replace); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(m); count(got, v) != count(orig, spleen) || count(got, spleen) != 0 {
		t.Fatal("replace did not move the spleen")
	}
	// Merge the liver into it (union), then subtract the liver back.
	if _, err := m.Apply(m.Mask(liver), v, Add); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(m); count(got, v) != count(orig, spleen)+count(orig, liver) {
		t.Fatal("union")
	}
	liverMask := make([]uint8, len(orig))
	for n, x := range orig {
		if x == liver {
			liverMask[n] = 1
		}
	}
	if _, err := m.Apply(liverMask, v, Subtract); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(spleenMask, v, Intersect); err != nil {
		t.Fatal(err)
	}
	got := snapshot(m)
	for n := range got {
		if (got[n] == v) != (orig[n] == spleen) {
			t.Fatalf("voxel %d after subtract and intersect", n)
		}
	}
	if _, err := m.Apply(spleenMask[:10], v, Add); err == nil {
		t.Fatal("a short mask was accepted")
	}
}

func BenchmarkFillHoles(b *testing.B) {
	m := sampleMap(b)
	for b.Loop() {
		m.FillHoles(liver)
	}
}

func BenchmarkKeepLargestIsland(b *testing.B) {
	m := sampleMap(b)
	for b.Loop() {
		m.KeepLargestIsland(liver)
	}
}

func BenchmarkSmooth(b *testing.B) {
	m := sampleMap(b)
	for b.Loop() {
		m.Smooth(liver, 4)
		m.Undo()
	}
}

func BenchmarkInterpolate(b *testing.B) {
	m := sampleMap(b)
	dims := m.Dims()
	gaps := make([]uint8, dims[0]*dims[1]*dims[2])
	for n := range gaps {
		if n/(dims[0]*dims[1])%2 == 1 {
			gaps[n] = 1
		}
	}
	m.Apply(gaps, liver, Subtract)
	for b.Loop() {
		m.Interpolate(liver, 2)
		m.Undo()
	}
}
