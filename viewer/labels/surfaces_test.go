package labels

import (
	"context"
	"math"
	"testing"

	"github.com/segvolapp/segvol/mesh"
)

// TestSurfacesNamedAndColoured builds the sample's liver surface from the
// label map: one part, named and coloured as the segment table says (after
// a rename too), enclosing the liver's voxel volume within 3%; with no
// values, one part per segment.
func TestSurfacesNamedAndColoured(t *testing.T) {
	m := sampleMap(t)
	if err := m.Rename(liver, "liver"); err != nil {
		t.Fatal(err)
	}
	parts, err := m.Surfaces(context.Background(), []uint8{liver}, mesh.Options{Smoothing: mesh.DefaultSmoothing})
	if err != nil {
		t.Fatal(err)
	}
	seg, _ := m.Segment(liver)
	if len(parts) != 1 || parts[0].Name != "liver" || parts[0].Color != [3]uint8{seg.Color.R, seg.Color.G, seg.Color.B} {
		t.Fatalf("parts %+v, want the liver named and coloured as %+v", parts, seg)
	}
	want := float64(m.Count(liver)) * mesh.Grid{IndexToWorld: m.Geometry().Affine()}.VoxelVolume()
	if got := parts[0].Mesh.Volume(); math.Abs(got/want-1) > 0.03 {
		t.Errorf("liver surface encloses %.0f mm³, its voxels %.0f mm³", got, want)
	}
	all, err := m.Surfaces(context.Background(), nil, mesh.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(m.Segments()) {
		t.Errorf("%d parts for %d segments", len(all), len(m.Segments()))
	}
}
