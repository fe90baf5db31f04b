package labels

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// Digest identifies the segmentation by its content: the voxels and each
// segment's value, name and colour (what a DICOM SEG of it holds), not
// its display settings. Two maps alike, in this run or a later one, have
// the same digest, so a segmentation already sent is known after a
// restart.
func (m *LabelMap) Digest() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	h := sha256.New()
	var b []byte
	for _, d := range m.dims {
		b = binary.AppendUvarint(b, uint64(d))
	}
	h.Write(b)
	h.Write(m.vox)
	for v := 1; v < 256; v++ {
		if !m.tab.used[v] {
			continue
		}
		s := m.tab.seg[v]
		b = append(b[:0], s.Value, s.Color.R, s.Color.G, s.Color.B)
		b = binary.AppendUvarint(b, uint64(len(s.Name)))
		h.Write(append(b, s.Name...))
	}
	return hex.EncodeToString(h.Sum(nil))
}
