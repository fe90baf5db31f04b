package seg

import (
	"fmt"

	"github.com/segvolapp/segvol/viewer/volume"
)

// maskPlanes are one mask per segment.
type maskPlanes struct {
	masks [][]uint8
	dims  [3]int
}

func (m maskPlanes) frames() []frame {
	var out []frame
	plane := m.dims[0] * m.dims[1]
	for s, mask := range m.masks {
		for k := 0; k < m.dims[2]; k++ {
			if anySet(mask[k*plane : (k+1)*plane]) {
				out = append(out, frame{s, k})
			}
		}
	}
	return out
}

func (m maskPlanes) plane(f frame, dst []uint8) {
	copy(dst, m.masks[f.s][f.k*len(dst):])
}

func (m maskPlanes) overlap() string { return overlap(m.masks) }

func anySet(b []uint8) bool {
	for _, v := range b {
		if v != 0 {
			return true
		}
	}
	return false
}

// overlap says whether any voxel is in two masks (SegmentsOverlap).
func overlap(masks [][]uint8) string {
	if len(masks) < 2 {
		return "NO"
	}
	for n := range masks[0] {
		c := 0
		for _, m := range masks {
			if m[n] != 0 {
				c++
			}
		}
		if c > 1 {
			return "YES"
		}
	}
	return "NO"
}

// labelPlanes are a label map: segment i is the voxels of value nums[i].
type labelPlanes struct {
	value func(n int) int // the label at flat offset n
	dims  [3]int
	nums  []int
	index map[int]int // label value -> segment index
}

func newLabelPlanes(labels, img *volume.Volume, segs []Segment) (*labelPlanes, error) {
	if labels == nil || img == nil || labels.Dims != img.Dims {
		return nil, fmt.Errorf("the label map's grid is not the image's")
	}
	lp := &labelPlanes{dims: labels.Dims, index: map[int]int{}}
	switch d := labels.Data.(type) {
	case []uint8:
		lp.value = func(n int) int { return int(d[n]) }
	case []int8:
		lp.value = func(n int) int { return int(d[n]) }
	case []uint16:
		lp.value = func(n int) int { return int(d[n]) }
	case []int16:
		lp.value = func(n int) int { return int(d[n]) }
	case []uint32:
		lp.value = func(n int) int { return int(d[n]) }
	case []int32:
		lp.value = func(n int) int { return int(d[n]) }
	default:
		return nil, fmt.Errorf("label map voxels are %v, not integers", labels.DType())
	}
	for i, s := range segs {
		lp.nums = append(lp.nums, s.Number)
		lp.index[s.Number] = i
	}
	return lp, nil
}

// frames scans the label map once: which values each slice holds.
func (l *labelPlanes) frames() []frame {
	plane := l.dims[0] * l.dims[1]
	present := make([][]bool, len(l.nums)) // [segment][slice]
	for i := range present {
		present[i] = make([]bool, l.dims[2])
	}
	for k := 0; k < l.dims[2]; k++ {
		last := -1 // runs of one value are the common case
		for n := k * plane; n < (k+1)*plane; n++ {
			v := l.value(n)
			if v == 0 || v == last {
				continue
			}
			last = v
			if i, ok := l.index[v]; ok {
				present[i][k] = true
			}
		}
	}
	var out []frame
	for s := range present {
		for k, ok := range present[s] {
			if ok {
				out = append(out, frame{s, k})
			}
		}
	}
	return out
}

func (l *labelPlanes) plane(f frame, dst []uint8) {
	base, num := f.k*len(dst), l.nums[f.s]
	for p := range dst {
		dst[p] = 0
		if l.value(base+p) == num {
			dst[p] = 1
		}
	}
}

func (l *labelPlanes) overlap() string { return "NO" }
