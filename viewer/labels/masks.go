package labels

import (
	"fmt"

	"github.com/segvolapp/segvol/viewer/volume"
)

// FromMasks builds a label map in img's grid from one mask per segment
// (img's voxels each, non-zero inside; nil for a segment with no voxels),
// as a DICOM SEG holds them. segs[i] is masks[i]'s table row; its Value
// must be unique and non-zero. A label map keeps one label per voxel, so a
// voxel inside several masks takes the last one's value; overlapped counts
// the times a later mask took a voxel from an earlier one, for the caller
// to say so.
func FromMasks(img *volume.Volume, masks [][]uint8, segs []Segment) (m *LabelMap, overlapped int, err error) {
	if len(masks) != len(segs) {
		return nil, 0, fmt.Errorf("labels: %d masks for %d segments", len(masks), len(segs))
	}
	if m, err = New(img); err != nil {
		return nil, 0, err
	}
	var seen [256]bool
	for i, s := range segs {
		if s.Value == 0 || seen[s.Value] {
			return nil, 0, fmt.Errorf("labels: segment %q has value %d, zero or taken", s.Name, s.Value)
		}
		seen[s.Value] = true
		if masks[i] == nil {
			continue
		}
		if len(masks[i]) != len(m.vox) {
			return nil, 0, fmt.Errorf("labels: mask of %q has %d voxels, the image %d", s.Name, len(masks[i]), len(m.vox))
		}
		for n, in := range masks[i] {
			if in == 0 {
				continue
			}
			if m.vox[n] != 0 {
				overlapped++
			}
			m.vox[n] = s.Value
		}
	}
	// Every value written is one of segs': no need for fillTable's scan
	// of the voxels for others.
	for _, s := range segs {
		m.tab.seg[s.Value], m.tab.used[s.Value] = s, true
	}
	return m, overlapped, nil
}
