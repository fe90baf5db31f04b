package viewer

import (
	"bufio"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/segvolapp/segvol/viewer/dicom"
	"github.com/segvolapp/segvol/viewer/dicom/seg"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/study"
	"github.com/segvolapp/segvol/viewer/volume"
)

// LabelsPath is path with the .nii.gz extension a saved segmentation gets
// when the user typed none.
func LabelsPath(path string) string {
	if strings.HasSuffix(path, ".nii.gz") || strings.HasSuffix(path, ".nii") {
		return path
	}
	return path + ".nii.gz"
}

// SaveLabels writes the label map (NIfTI plus the ITK-SNAP label file
// beside it) and marks it saved.
func (e *Editor) SaveLabels(path string) error {
	e.EndStroke()
	if err := e.labels.Save(LabelsPath(path)); err != nil {
		return err
	}
	e.MarkSaved()
	return nil
}

// Series is the DICOM series the study was loaded from, or nil for NIfTI.
func (s *Session) Series() *dicom.Series {
	if s.Scan == nil {
		return nil
	}
	for _, sr := range s.Scan.Series {
		if sr.UID == s.Volume.Meta.SeriesInstanceUID {
			return sr
		}
	}
	if len(s.Scan.Series) == 1 {
		return s.Scan.Series[0]
	}
	return nil
}

// ExportSEG writes the non-empty segments as a DICOM SEG referencing the
// study's series; the study must have been opened from DICOM.
func (s *Session) ExportSEG(path string) error {
	sr := s.Series()
	if sr == nil {
		return fmt.Errorf("DICOM SEG needs a study opened from DICOM (this one is %s)", s.Volume.Meta.Format)
	}
	return WriteSEG(path, sr, s.Volume, s.edit.labels)
}

// WriteSEG writes the non-empty segments of m, a label map on img (the
// volume loaded from series sr), as a DICOM SEG referencing sr: the app's
// export and the batch runs share it.
func WriteSEG(path string, sr *dicom.Series, img *volume.Volume, m *labels.LabelMap) error {
	src, err := seg.SourceOf(sr)
	if err != nil {
		return err
	}
	var segs []seg.Segment
	for _, st := range m.Statistics() {
		if st.Voxels == 0 {
			continue
		}
		sg, _ := m.Segment(st.Value)
		segs = append(segs, seg.Segment{Number: int(sg.Value), Label: sg.Name, Color: [3]uint8{sg.Color.R, sg.Color.G, sg.Color.B},
			Algorithm: "SEMIAUTOMATIC", AlgorithmName: "SegVol"})
	}
	if len(segs) == 0 {
		return fmt.Errorf("no segment holds any voxels: nothing to export")
	}
	var lab *volume.Volume
	m.Read(func(vox []uint8) {
		lab = &volume.Volume{Dims: m.Dims(), Data: append([]uint8(nil), vox...), Slope: 1, Geom: m.Geometry()}
	})
	return seg.WriteLabelMap(path, src, img, lab, segs)
}

// LoadLabelFile reads a segmentation of the open study, NIfTI (with its
// label description beside it) or DICOM SEG, told apart by content rather
// than by name. note says what a DICOM SEG lost in becoming a label map
// (overlaps, skipped frames); "" when nothing.
func (s *Session) LoadLabelFile(path string) (m *labels.LabelMap, note string, err error) {
	if study.IsNIfTI(path) {
		m, err = labels.Load(path, s.Volume)
		return m, "", err
	}
	return s.loadSEG(path)
}

// loadSEG reads a DICOM SEG in the study's grid: the reader refuses one
// that references another series or whose frames are off the grid. Each
// segment keeps its number as its label value, its name and its colour.
func (s *Session) loadSEG(path string) (*labels.LabelMap, string, error) {
	sg, err := seg.Read(path, s.Volume)
	if err != nil {
		return nil, "", err
	}
	segs := make([]labels.Segment, len(sg.Segments))
	for i, x := range sg.Segments {
		if x.Number > 255 {
			return nil, "", fmt.Errorf("%s: segment %d (%s): label values stop at 255", filepath.Base(path), x.Number, x.Label)
		}
		name := x.Label
		if name == "" {
			name = fmt.Sprintf("Segment %d", x.Number)
		}
		c := color.NRGBA{x.Color[0], x.Color[1], x.Color[2], 255}
		if x.Color == [3]uint8{} { // no RecommendedDisplayCIELabValue
			c = labels.DefaultColor(uint8(x.Number))
			c.A = 255
		}
		segs[i] = labels.Segment{Value: uint8(x.Number), Name: name, Color: c, Visible: true, Opacity: 1}
	}
	m, overlapped, err := labels.FromMasks(s.Volume, sg.Masks, segs)
	if err != nil {
		return nil, "", err
	}
	notes := sg.Warnings
	if overlapped > 0 {
		notes = append(notes, fmt.Sprintf("%d voxels lay in more than one segment: each now holds the highest-numbered one", overlapped))
	}
	return m, strings.Join(notes, "; "), nil
}

// RecoveryDir is where autosaves go: the user cache's segvol/recovery.
func RecoveryDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "segvol", "recovery")
}

// ReadCategories reads a category list: one name a line, '#' comments and
// blank lines skipped.
func ReadCategories(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out, err := ParseCategories(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// ParseCategories reads a category list: one name per line, blank lines
// and # comments skipped.
func ParseCategories(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// FilterCategories are the names containing every word of query, case
// folded, names starting with the query first.
func FilterCategories(names []string, query string) []string {
	q := strings.Fields(strings.ToLower(query))
	var first, rest []string
	for _, n := range names {
		ln := strings.ToLower(n)
		ok := true
		for _, w := range q {
			ok = ok && strings.Contains(ln, w)
		}
		switch {
		case !ok:
		case len(q) > 0 && strings.HasPrefix(ln, q[0]):
			first = append(first, n)
		default:
			rest = append(rest, n)
		}
	}
	return append(first, rest...)
}
