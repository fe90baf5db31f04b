package labels

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strings"

	"github.com/segvolapp/segvol/internal/atomicfile"
	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/volume"
)

// DescriptionPath is the label description file that goes with a label
// map file: the same name with .txt for its NIfTI extension.
func DescriptionPath(labelPath string) string {
	return baseName(labelPath) + ".txt"
}

// baseName strips .nii or .nii.gz (any case).
func baseName(p string) string {
	low := strings.ToLower(p)
	for _, ext := range []string{".nii.gz", ".nii"} {
		if strings.HasSuffix(low, ext) {
			return p[:len(p)-len(ext)]
		}
	}
	return p
}

// Save writes the label map as NIfTI (uint8, gzip for .gz) in the image's
// geometry and its segment table beside it as an ITK-SNAP label
// description file (DescriptionPath), each atomically.
func (m *LabelMap) Save(path string) error {
	return m.SaveWith(path, atomicfile.Write)
}

// SaveWith is Save through another atomic writer: the batch's, which
// syncs the study's folder once after all its files.
func (m *LabelMap) SaveWith(path string, atomic func(path string, write func(io.Writer) error) error) error {
	m.mu.RLock()
	segs := m.segmentsLocked()
	err := nifti.WriteWith(path, m.asVolume(m.vox), atomic)
	m.mu.RUnlock()
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := writeDescription(&b, segs); err != nil {
		return err
	}
	return writeAtomic(DescriptionPath(path), b.Bytes(), atomic)
}

func (m *LabelMap) segmentsLocked() []Segment {
	var out []Segment
	for v := 1; v < 256; v++ {
		if m.tab.used[v] {
			out = append(out, m.tab.seg[v])
		}
	}
	return out
}

func (m *LabelMap) asVolume(vox []uint8) *volume.Volume {
	v := &volume.Volume{Dims: m.dims, Data: vox, Slope: 1, Geom: m.geom}
	v.Meta.SeriesDescription = "segmentation"
	return v
}

// Load reads a label map file in img's grid and, when it exists, the
// label description file beside it (name.txt, or name.label); without one
// every value present becomes a segment "Label N" in its default colour.
// A value listed in the file but absent from the voxels is kept as an
// empty segment.
func Load(path string, img *volume.Volume) (*LabelMap, error) {
	m, err := New(img)
	if err != nil {
		return nil, err
	}
	lv, err := nifti.Read(path)
	if err != nil {
		return nil, err
	}
	if err := m.takeVoxels(path, lv); err != nil {
		return nil, err
	}
	var listed []Segment
	base := baseName(path)
	for _, ext := range []string{".txt", ".label"} {
		f, err := os.Open(base + ext)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("labels: %w", err)
		}
		listed, err = readDescription(base+ext, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		break
	}
	m.fillTable(listed)
	return m, nil
}

// takeVoxels checks a read label volume against the image's grid and
// copies its values, which must be whole numbers in 0..255.
func (m *LabelMap) takeVoxels(path string, lv *volume.Volume) error {
	// A label file on the image's voxels stored in another order (dcm2niix
	// and TotalSegmentator flip a DICOM series' rows) is taken in the
	// image's order; one on other voxels is refused.
	lv, err := lv.OnGrid(m.dims, m.geom)
	if err != nil {
		return fmt.Errorf("labels: %s: %w", path, err)
	}
	if d, ok := lv.Data.([]uint8); ok && lv.Slope == 1 && lv.Intercept == 0 {
		copy(m.vox, d)
		return nil
	}
	for n := range m.vox {
		x := lv.Value(n)
		if x != math.Trunc(x) || x < 0 || x > 255 {
			return fmt.Errorf("labels: %s holds value %g: labels must be whole numbers 0..255", path, x)
		}
		m.vox[n] = uint8(x)
	}
	return nil
}

// fillTable sets the table to the listed segments plus a default one for
// every other value present in the voxels.
func (m *LabelMap) fillTable(listed []Segment) {
	for _, s := range listed {
		if s.Value == 0 {
			continue
		}
		m.tab.seg[s.Value], m.tab.used[s.Value] = s, true
	}
	var present [256]bool
	for _, x := range m.vox {
		present[x] = true
	}
	for v := 1; v < 256; v++ {
		if present[v] && !m.tab.used[v] {
			m.tab.seg[v], m.tab.used[v] = defaultSegment(uint8(v)), true
		}
	}
}

// writeAtomic replaces path with data so that a crash leaves the old file
// or the new one, never half of one.
func writeAtomic(path string, data []byte, atomic func(path string, write func(io.Writer) error) error) error {
	err := atomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("labels: writing %s: %w", path, err)
	}
	return nil
}
