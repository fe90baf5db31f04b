package viewer

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/segvolapp/segvol/internal/testenv"
	"github.com/segvolapp/segvol/viewer/dicom/seg"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/study"
)

// TestExportSEGFromDICOMStudy segments on the real 3-slice GE CT, exports
// the session's segments as DICOM SEG, checks it with dciodvfy and reads it
// back onto the same grid.
func TestExportSEGFromDICOMStudy(t *testing.T) {
	st, err := study.Open(context.Background(), filepath.Join("..", "testdata", "dcmqi_ct3slice_seg", "ct-3slice"), study.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(st.Volume, st.Scan)
	if err != nil {
		t.Fatal(err)
	}
	e := s.Edit()
	liver, err := e.AddSegment("liver")
	if err != nil {
		t.Fatal(err)
	}
	// A 3D sphere of 20 mm around the study centre, in the liver segment.
	centre := s.Frame().Centre()
	if _, err := e.Edit(func(m *labels.LabelMap, v uint8) (labels.Change, error) {
		return m.Paint(labels.Brush{RadiusMM: 20}, centre, v)
	}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "seg.dcm")
	if err := s.ExportSEG(out); err != nil {
		t.Fatal(err)
	}
	testenv.Dciodvfy(t, out)
	back, err := seg.Read(out, s.Volume)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Segments) != 1 || back.Segments[0].Label != "liver" {
		t.Fatalf("segments read back: %+v", back.Segments)
	}
	want := e.Labels().Mask(liver)
	got := back.Masks[0]
	n := 0
	for i := range want {
		if (want[i] != 0) != (got[i] != 0) {
			t.Fatalf("voxel %d: exported %d, painted %d", i, got[i], want[i])
		}
		n += int(want[i])
	}
	if n < 1000 {
		t.Fatalf("only %d voxels painted: the sphere missed the study", n)
	}
}
