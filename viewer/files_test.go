package viewer

import (
	"context"
	"image/color"
	"path/filepath"
	"strings"
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

// TestLoadLabelFileDICOMSEG exports two segments of the real 3-slice GE CT
// as DICOM SEG and opens the file as a segmentation again (by content: the
// name ends in .nii.gz to show the name is not what decides): the same
// voxels under the same names and colours. dcmqi's partial_overlaps.dcm
// opens with its overlap counted, and a SEG of another series is refused.
func TestLoadLabelFileDICOMSEG(t *testing.T) {
	dir := filepath.Join("..", "testdata", "dcmqi_ct3slice_seg")
	st, err := study.Open(context.Background(), filepath.Join(dir, "ct-3slice"), study.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(st.Volume, st.Scan)
	if err != nil {
		t.Fatal(err)
	}
	e := s.Edit()
	centre := s.Frame().Centre()
	for i, name := range []string{"liver", "spleen"} {
		if _, err := e.AddSegment(name); err != nil {
			t.Fatal(err)
		}
		at := centre
		at[0] += float64(30 * i)
		if _, err := e.Edit(func(m *labels.LabelMap, v uint8) (labels.Change, error) {
			return m.Paint(labels.Brush{RadiusMM: 12}, at, v)
		}); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "seg.nii.gz")
	if err := s.ExportSEG(out); err != nil {
		t.Fatal(err)
	}
	m, note, err := s.LoadLabelFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if note != "" {
		t.Errorf("note %q for a SEG without overlaps", note)
	}
	want, got := e.Labels().Segments(), m.Segments()
	if len(got) != len(want) {
		t.Fatalf("segments read back %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Value != want[i].Value || colourDist(got[i].Color, want[i].Color) > 3 {
			t.Errorf("segment %d read back as %+v, exported %+v", i, got[i], want[i])
		}
		a, b := e.Labels().Mask(want[i].Value), m.Mask(got[i].Value)
		n := 0
		for k := range a {
			if a[k] != b[k] {
				t.Fatalf("%s voxel %d: painted %d, read back %d", want[i].Name, k, a[k], b[k])
			}
			n += int(a[k])
		}
		if n < 100 {
			t.Fatalf("%s: only %d voxels painted", want[i].Name, n)
		}
	}

	m, note, err = s.LoadLabelFile(filepath.Join(dir, "partial_overlaps.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Segments()) != 5 || !strings.Contains(note, "more than one segment") {
		t.Errorf("partial overlaps: %d segments, note %q", len(m.Segments()), note)
	}

	other := *st.Volume
	other.Meta.SeriesInstanceUID = "1.2.3.4"
	so, err := NewSession(&other, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := so.LoadLabelFile(out); err == nil || !strings.Contains(err.Error(), "open that series first") {
		t.Errorf("a SEG of another series: %v", err)
	}
}

func colourDist(a, b color.NRGBA) int {
	return max(absInt(int(a.R)-int(b.R)), absInt(int(a.G)-int(b.G)), absInt(int(a.B)-int(b.B)))
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
