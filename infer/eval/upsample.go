package eval

import (
	"fmt"

	"github.com/segvolapp/segvol/infer"
)

// Upsample resamples an int16 image by nearest neighbour to dims, with the
// spacing that keeps its extent, and scales box to match: a thin-slice
// study built from a real one, for benchmarks at clinical sizes.
func Upsample(img infer.Image, dims [3]int, box infer.Box) (infer.Image, infer.Box, error) {
	src, ok := img.Voxels.([]int16)
	if !ok {
		return infer.Image{}, infer.Box{}, fmt.Errorf("eval: Upsample takes int16 voxels, not %T", img.Voxels)
	}
	vox := make([]int16, dims[0]*dims[1]*dims[2])
	n := 0
	for k := range dims[2] {
		sk := k * img.Dims[2] / dims[2]
		for j := range dims[1] {
			sj := j * img.Dims[1] / dims[1]
			for i := range dims[0] {
				vox[n] = src[img.Offset(i*img.Dims[0]/dims[0], sj, sk)]
				n++
			}
		}
	}
	up := infer.Image{Dims: dims, Voxels: vox, Slope: img.Slope, Intercept: img.Intercept}
	var b infer.Box
	for a := range 3 {
		up.Spacing[a] = img.Spacing[a] * float64(img.Dims[a]) / float64(dims[a])
		b.Min[a] = box.Min[a] * dims[a] / img.Dims[a]
		b.Max[a] = (box.Max[a]+1)*dims[a]/img.Dims[a] - 1
	}
	return up, b, nil
}
