package app

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/segvolapp/segvol/viewer"
)

// studyTitle names the study in the window title.
func studyTitle(s *viewer.Session) string {
	m := s.Volume.Meta
	if m.SeriesDescription != "" {
		return m.SeriesDescription
	}
	return filepath.Base(m.Source)
}

// studyInfo is the text of the information pane: what the file says, the
// grid and its placement, and what the reader worked around.
func studyInfo(s *viewer.Session) string {
	v := s.Volume
	m := v.Meta
	var b strings.Builder
	row := func(k, val string) {
		if val != "" {
			fmt.Fprintf(&b, "%-18s %s\n", k, val)
		}
	}
	row("Source", m.Source)
	row("Format", m.Format)
	row("Modality", m.Modality)
	row("Patient", strings.TrimSpace(m.PatientName+" "+m.PatientID))
	row("Study", m.StudyDescription)
	row("Series", strings.TrimSpace(m.SeriesNumber+" "+m.SeriesDescription))
	row("Manufacturer", m.Manufacturer)
	row("Transfer syntax", m.TransferSyntax)
	row("Dimensions", fmt.Sprintf("%d x %d x %d voxels (%s)", v.Dims[0], v.Dims[1], v.Dims[2], v.DType()))
	sp := v.Geom.Spacing()
	row("Spacing", fmt.Sprintf("%.4g x %.4g x %.4g mm", sp[0], sp[1], sp[2]))
	row("Orientation", v.Geom.Orientation()+func() string {
		if v.Geom.Sheared() {
			return " (sheared grid)"
		}
		return ""
	}())
	row("Origin (LPS)", fmt.Sprintf("%.2f %.2f %.2f mm", v.Geom.Origin[0], v.Geom.Origin[1], v.Geom.Origin[2]))
	row("Rescale", fmt.Sprintf("value = stored x %g + %g", v.Slope, v.Intercept))
	lo, hi := v.Range()
	row("Value range", fmt.Sprintf("%s .. %s", num(lo), num(hi)))
	if s.Scan != nil {
		row("Series in folder", fmt.Sprint(len(s.Scan.Series)))
	}
	for _, w := range v.Warnings {
		row("Warning", w)
	}
	return b.String()
}
