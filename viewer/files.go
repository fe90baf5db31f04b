package viewer

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/segvolapp/segvol/viewer/dicom"
	"github.com/segvolapp/segvol/viewer/dicom/seg"
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
	src, err := seg.SourceOf(sr)
	if err != nil {
		return err
	}
	m := s.edit.labels
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
	return seg.WriteLabelMap(path, src, s.Volume, lab, segs)
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
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
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
