package app

import (
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/segvolapp/segvol/viewer/labels"
)

var dcmqiDir = filepath.Join("..", "testdata", "dcmqi_ct3slice_seg")

// File > Open segmentation opens the DICOM SEG that Export DICOM SEG wrote
// (it said "not a NIfTI file: sizeof_hdr is 0"), and dcmqi's SEG with
// overlapping segments, saying in the status bar what became of the
// overlaps. Save then asks for a NIfTI name rather than overwrite the SEG.
// A label description file (.txt) renames and recolours the labels.
func TestOpenSegmentationDICOMSEG(t *testing.T) {
	v, err := openViewer(t, Options{RecoveryDir: t.TempDir(), AutosaveInterval: -1}, filepath.Join(dcmqiDir, "ct-3slice"))
	if err != nil {
		t.Fatal(err)
	}
	s := v.Session()
	e := s.Edit()
	if _, err := e.AddSegment("liver"); err != nil {
		t.Fatal(err)
	}
	centre := s.Frame().Centre()
	if _, err := e.Edit(func(m *labels.LabelMap, v uint8) (labels.Change, error) {
		return m.Paint(labels.Brush{RadiusMM: 15}, centre, v)
	}); err != nil {
		t.Fatal(err)
	}
	painted := e.Labels().Mask(1)
	out := filepath.Join(t.TempDir(), "ct_seg.dcm")
	if err := s.ExportSEG(out); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Edit(func(m *labels.LabelMap, v uint8) (labels.Change, error) { return m.DeleteSegment(v) }); err != nil {
		t.Fatal(err)
	}
	if err := v.OpenLabels(out); err != nil {
		t.Fatal(err)
	}
	segs := e.Labels().Segments()
	if len(segs) != 1 || segs[0].Name != "liver" || !strings.Contains(v.status.Text, "opened ct_seg.dcm: 1 segment") || strings.Contains(v.status.Text, "1 segments") {
		t.Fatalf("segments %+v, status %q", segs, v.status.Text)
	}
	if got := e.Labels().Mask(1); count(got) != count(painted) || dice(got, painted) != 1 {
		t.Fatalf("read back %d voxels, painted %d", count(got), count(painted))
	}
	if v.files.path != "" {
		t.Errorf("Save would write NIfTI over the SEG %s", v.files.path)
	}

	// An ITK-SNAP label description names and colours the labels shown.
	txt := filepath.Join(t.TempDir(), "names.txt")
	if err := os.WriteFile(txt, []byte("1 0 255 0 1 1 1 \"liver (reviewed)\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := v.OpenLabels(txt); err != nil {
		t.Fatal(err)
	}
	if sg, _ := e.Labels().Segment(1); sg.Name != "liver (reviewed)" || sg.Color != (color.NRGBA{0, 255, 0, 255}) || count(e.Labels().Mask(1)) != count(painted) {
		t.Errorf("after the label description: %+v", sg)
	}
	v.Undo()
	if sg, _ := e.Labels().Segment(1); sg.Name != "liver" {
		t.Errorf("undo left %+v", sg)
	}

	if err := v.OpenLabels(filepath.Join(dcmqiDir, "partial_overlaps.dcm")); err != nil {
		t.Fatal(err)
	}
	// The whole note: the status bar shortens it when it does not fit.
	if st := strings.Join(v.statusParts(), " "); !strings.Contains(st, "5 segments") || !strings.Contains(st, "voxels lay in more than one segment") {
		t.Errorf("status %q", st)
	}
}
