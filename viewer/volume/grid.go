package volume

import (
	"errors"
	"fmt"
	"math"
)

// gridTol is how far (in voxels) two grids' voxel centres may be apart and
// still be the same voxels: NIfTI stores its affine in float32.
const gridTol = 0.01

// OnGrid returns v's voxels in the grid (dims, g) when that grid holds the
// same voxel centres, perhaps stored in another order: a label map written
// by dcm2niix or TotalSegmentator flips the rows of the DICOM series it
// belongs to. It returns v itself when the grids are the same, a reordered
// copy when they differ only in order, and an error when v's voxels are
// elsewhere or do not cover the grid. Integer voxels only: it is for label
// maps, which must not be interpolated.
func (v *Volume) OnGrid(dims [3]int, g Geometry) (*Volume, error) {
	m, err := v.Geom.WorldToIndexMatrix()
	if err != nil {
		return nil, err
	}
	// Label index = origin + step[a] * image index a, all whole numbers.
	var origin [3]int
	var step [3][3]int
	round := func(v float64) (int, bool) {
		r := math.Round(v)
		return int(r), math.Abs(v-r) <= gridTol
	}
	identity := v.Dims == dims
	for c := 0; c < 3; c++ {
		o := m[c][3]
		for x := 0; x < 3; x++ {
			o += m[c][x] * g.Origin[x]
		}
		var ok bool
		if origin[c], ok = round(o); !ok {
			return nil, errors.New("not on the same voxels as the image")
		}
		identity = identity && origin[c] == 0
		for a := 0; a < 3; a++ {
			d := 0.0
			for x := 0; x < 3; x++ {
				d += m[c][x] * g.Axes[a][x]
			}
			if step[a][c], ok = round(d); !ok {
				return nil, errors.New("not on the same voxels as the image")
			}
			want := 0
			if a == c {
				want = 1
			}
			identity = identity && step[a][c] == want
		}
	}
	if identity {
		return v, nil
	}
	// Every image corner must land inside the label map.
	for corner := 0; corner < 8; corner++ {
		for c := 0; c < 3; c++ {
			x := origin[c]
			for a := 0; a < 3; a++ {
				if corner&(1<<a) != 0 {
					x += step[a][c] * (dims[a] - 1)
				}
			}
			if x < 0 || x >= v.Dims[c] {
				return nil, fmt.Errorf("%dx%dx%d voxels do not cover the %dx%dx%d grid",
					v.Dims[0], v.Dims[1], v.Dims[2], dims[0], dims[1], dims[2])
			}
		}
	}
	out, err := New(v.DType(), dims, g)
	if err != nil {
		return nil, err
	}
	src := func(i, j, k int) int {
		var p [3]int
		for c := 0; c < 3; c++ {
			p[c] = origin[c] + step[0][c]*i + step[1][c]*j + step[2][c]*k
		}
		return v.Offset(p[0], p[1], p[2])
	}
	switch d := out.Data.(type) {
	case []uint8:
		gather(d, v.Data.([]uint8), dims, src)
	case []int8:
		gather(d, v.Data.([]int8), dims, src)
	case []uint16:
		gather(d, v.Data.([]uint16), dims, src)
	case []int16:
		gather(d, v.Data.([]int16), dims, src)
	case []uint32:
		gather(d, v.Data.([]uint32), dims, src)
	case []int32:
		gather(d, v.Data.([]int32), dims, src)
	default:
		return nil, fmt.Errorf("label map voxels are %v, not integers", v.DType())
	}
	return out, nil
}

// gather copies src into dst's order, voxel (i,j,k) from at(i,j,k).
func gather[T any](dst, src []T, dims [3]int, at func(i, j, k int) int) {
	n := 0
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				dst[n] = src[at(i, j, k)]
				n++
			}
		}
	}
}
