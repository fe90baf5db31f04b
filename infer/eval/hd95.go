package eval

import (
	"math"
	"slices"

	"github.com/segvolapp/segvol/infer/morph"
)

// HD95 is the 95th-percentile Hausdorff distance in mm between the
// surfaces of two masks (nonzero = inside), as MONAI's
// compute_hausdorff_distance(percentile=95) gives it: the larger of the two
// directed 95th percentiles of surface-voxel-to-surface distances. A
// surface voxel is a mask voxel with a face neighbour outside the mask or
// on the grid's border. NaN when either mask is empty.
func HD95(a, b []uint8, dims [3]int, spacing [3]float64) float64 {
	sa, sb := surface(a, dims), surface(b, dims)
	if sa == nil || sb == nil {
		return math.NaN()
	}
	return max(directed95(sa, sb, dims, spacing), directed95(sb, sa, dims, spacing))
}

// surface marks the surface voxels of mask with 0 and every other voxel
// with 1 (the EDT's foreground, so that it measures the distance to the
// surface); nil when the mask is empty.
func surface(mask []uint8, dims [3]int) []uint8 {
	out := make([]uint8, len(mask))
	any := false
	nx, ny := dims[0], dims[0]*dims[1]
	for k := range dims[2] {
		for j := range dims[1] {
			for i := range dims[0] {
				n := i + nx*j + ny*k
				out[n] = 1
				if mask[n] == 0 {
					continue
				}
				if i == 0 || j == 0 || k == 0 || i == dims[0]-1 || j == dims[1]-1 || k == dims[2]-1 ||
					mask[n-1] == 0 || mask[n+1] == 0 || mask[n-nx] == 0 || mask[n+nx] == 0 || mask[n-ny] == 0 || mask[n+ny] == 0 {
					out[n], any = 0, true
				}
			}
		}
	}
	if !any {
		return nil
	}
	return out
}

// directed95 is the 95th percentile (linear interpolation, numpy's
// default) of the distances from from's surface voxels to to's surface.
func directed95(from, to []uint8, dims [3]int, spacing [3]float64) float64 {
	d2 := morph.EDT(to, dims, spacing, false)
	var d []float64
	for n, x := range from {
		if x == 0 {
			d = append(d, math.Sqrt(d2[n]))
		}
	}
	slices.Sort(d)
	pos := 0.95 * float64(len(d)-1)
	lo := int(pos)
	if lo+1 >= len(d) {
		return d[lo]
	}
	return d[lo] + (pos-float64(lo))*(d[lo+1]-d[lo])
}
