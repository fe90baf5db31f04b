// Package infer declares what a prompted 3D segmentation engine takes and
// returns. It holds plain types only and imports nothing of this module but
// the loop splitter internal/parallel, so that engines are tested alone and
// reused by the CLI and the app alike.
package infer

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/segvolapp/segvol/internal/parallel"
)

// Image is one 3D image handed to an engine without copying: the voxel slice
// is the volume's own, in its native type.
type Image struct {
	Dims    [3]int     // voxels along i (columns), j (rows), k (slices)
	Spacing [3]float64 // mm between voxel centres along i, j, k
	// Voxels is []uint8, []int8, []uint16, []int16, []uint32, []int32,
	// []float32 or []float64 of length Dims[0]*Dims[1]*Dims[2], flat offset
	// i + Dims[0]*(j + Dims[1]*k).
	Voxels any
	// Slope and Intercept turn a stored value into a real one (HU for CT).
	Slope, Intercept float64
}

// Point is a click at a voxel index; Positive marks the target, negative
// marks what is not the target.
type Point struct {
	I, J, K  int
	Positive bool
}

// Box is a 3D box in voxel indices, bounds inclusive.
type Box struct {
	Min, Max [3]int
}

// BoxOf is the box with corners a and b given in any order, as a drag
// gives them: each axis takes the smaller as its minimum.
func BoxOf(a, b [3]int) Box {
	var box Box
	for i := range 3 {
		box.Min[i], box.Max[i] = min(a[i], b[i]), max(a[i], b[i])
	}
	return box
}

// Prompt is what the user said about the target.
type Prompt struct {
	Points []Point
	Box    *Box
	// Text names a structure ("liver"); only engines with a language model
	// understand it.
	Text string
	// Previous is the current mask (1 = inside) to refine, or nil.
	Previous []uint8
}

// Progress is told the fraction done (0..1) and what is being done.
type Progress func(fraction float64, stage string)

// Segmenter turns an image and a prompt into a mask in the image grid
// (1 = inside). The same input gives the same mask.
type Segmenter interface {
	Name() string
	Segment(ctx context.Context, img Image, p Prompt, progress Progress) ([]uint8, error)
}

// ErrNoPrompt is returned when a prompt gives nothing to segment from.
var ErrNoPrompt = errors.New("prompt has no box, no positive point and no text")

// Len is the number of voxels.
func (img Image) Len() int { return img.Dims[0] * img.Dims[1] * img.Dims[2] }

// Offset is the flat index of voxel (i, j, k).
func (img Image) Offset(i, j, k int) int { return i + img.Dims[0]*(j+img.Dims[1]*k) }

// Contains reports whether (i, j, k) lies inside the grid.
func (img Image) Contains(i, j, k int) bool {
	return i >= 0 && j >= 0 && k >= 0 && i < img.Dims[0] && j < img.Dims[1] && k < img.Dims[2]
}

// Contains reports whether (i, j, k) lies inside the box.
func (b Box) Contains(i, j, k int) bool {
	return i >= b.Min[0] && j >= b.Min[1] && k >= b.Min[2] && i <= b.Max[0] && j <= b.Max[1] && k <= b.Max[2]
}

// Validate checks dimensions, spacing, rescale and the voxel slice length.
func (img Image) Validate() error {
	n := 1
	for a, d := range img.Dims {
		if d <= 0 {
			return fmt.Errorf("image has invalid dimensions %dx%dx%d", img.Dims[0], img.Dims[1], img.Dims[2])
		}
		if n > math.MaxInt32/d {
			return fmt.Errorf("image of %dx%dx%d voxels is too large", img.Dims[0], img.Dims[1], img.Dims[2])
		}
		n *= d
		if s := img.Spacing[a]; !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("image has invalid spacing %g along axis %d", s, a)
		}
	}
	if img.Slope == 0 || math.IsNaN(img.Slope) || math.IsInf(img.Slope, 0) || math.IsNaN(img.Intercept) || math.IsInf(img.Intercept, 0) {
		return fmt.Errorf("image has invalid rescale slope %g intercept %g", img.Slope, img.Intercept)
	}
	l := -1
	switch v := img.Voxels.(type) {
	case []uint8:
		l = len(v)
	case []int8:
		l = len(v)
	case []uint16:
		l = len(v)
	case []int16:
		l = len(v)
	case []uint32:
		l = len(v)
	case []int32:
		l = len(v)
	case []float32:
		l = len(v)
	case []float64:
		l = len(v)
	default:
		return fmt.Errorf("image has unsupported voxel slice %T", img.Voxels)
	}
	if l != n {
		return fmt.Errorf("image voxel slice holds %d values for %d voxels", l, n)
	}
	return nil
}

// Validate checks the prompt against the image grid: points and box inside
// it, a box with Min <= Max, a Previous mask of the grid's size, and at least
// a box, a positive point or a text.
func (p Prompt) Validate(dims [3]int) error {
	in := func(i, j, k int) bool {
		return i >= 0 && j >= 0 && k >= 0 && i < dims[0] && j < dims[1] && k < dims[2]
	}
	positive := false
	for _, pt := range p.Points {
		if !in(pt.I, pt.J, pt.K) {
			return fmt.Errorf("point (%d,%d,%d) lies outside the %dx%dx%d image", pt.I, pt.J, pt.K, dims[0], dims[1], dims[2])
		}
		positive = positive || pt.Positive
	}
	if b := p.Box; b != nil {
		if !in(b.Min[0], b.Min[1], b.Min[2]) || !in(b.Max[0], b.Max[1], b.Max[2]) {
			return fmt.Errorf("box (%d,%d,%d)-(%d,%d,%d) reaches outside the %dx%dx%d image",
				b.Min[0], b.Min[1], b.Min[2], b.Max[0], b.Max[1], b.Max[2], dims[0], dims[1], dims[2])
		}
		for a := range 3 {
			if b.Min[a] > b.Max[a] {
				return fmt.Errorf("box minimum %d exceeds its maximum %d along axis %d", b.Min[a], b.Max[a], a)
			}
		}
	}
	if p.Previous != nil && len(p.Previous) != dims[0]*dims[1]*dims[2] {
		return fmt.Errorf("previous mask holds %d voxels for a %dx%dx%d image", len(p.Previous), dims[0], dims[1], dims[2])
	}
	if p.Box == nil && !positive && p.Text == "" {
		return ErrNoPrompt
	}
	return nil
}

// Begin is what every engine's Segment does first: it validates the image
// and the prompt against it, and returns a progress callback that is never
// nil.
func Begin(img Image, p Prompt, progress Progress) (Progress, error) {
	if progress == nil {
		progress = func(float64, string) {}
	}
	if err := img.Validate(); err != nil {
		return nil, err
	}
	if err := p.Validate(img.Dims); err != nil {
		return nil, err
	}
	return progress, nil
}

// BlockMean returns the mean real value (stored*Slope+Intercept) of each
// f[0]xf[1]xf[2] block of voxels inside box b, as float32, and the
// dimensions of the result. Blocks cut by the box's far faces average what
// lies inside. Engines use it to work on a coarser grid without a full-size
// copy; f of 1,1,1 is a plain crop.
func (img Image) BlockMean(b Box, f [3]int) ([]float32, [3]int) {
	var dims [3]int
	for a := range 3 {
		dims[a] = (b.Max[a] - b.Min[a] + f[a]) / f[a]
	}
	out := make([]float32, dims[0]*dims[1]*dims[2])
	switch v := img.Voxels.(type) {
	case []uint8:
		blockMean(out, dims, v, img, b, f)
	case []int8:
		blockMean(out, dims, v, img, b, f)
	case []uint16:
		blockMean(out, dims, v, img, b, f)
	case []int16:
		blockMean(out, dims, v, img, b, f)
	case []uint32:
		blockMean(out, dims, v, img, b, f)
	case []int32:
		blockMean(out, dims, v, img, b, f)
	case []float32:
		blockMean(out, dims, v, img, b, f)
	case []float64:
		blockMean(out, dims, v, img, b, f)
	}
	return out, dims
}

type number interface {
	~uint8 | ~int8 | ~uint16 | ~int16 | ~uint32 | ~int32 | ~float32 | ~float64
}

func blockMean[T number](out []float32, dims [3]int, v []T, img Image, b Box, f [3]int) {
	// Sums run in float64 per output row so that int16 sums cannot overflow
	// and the row buffer stays small; the inner loop walks one block's run
	// of a row, with no division per voxel.
	parallel.For(dims[2], func(z0, z1 int) {
		blockMeanSlices(out, dims, v, img, b, f, z0, z1)
	})
}

// blockMeanSlices is blockMean for output slices [z0, z1).
func blockMeanSlices[T number](out []float32, dims [3]int, v []T, img Image, b Box, f [3]int, z0, z1 int) {
	sum := make([]float64, dims[0])
	for z := z0; z < z1; z++ {
		for y := range dims[1] {
			clear(sum)
			cnt := 0
			for k := b.Min[2] + z*f[2]; k < b.Min[2]+(z+1)*f[2] && k <= b.Max[2]; k++ {
				for j := b.Min[1] + y*f[1]; j < b.Min[1]+(y+1)*f[1] && j <= b.Max[1]; j++ {
					row := v[img.Offset(b.Min[0], j, k) : img.Offset(b.Max[0], j, k)+1]
					for x := range dims[0] {
						var s float64
						for _, e := range row[x*f[0] : min((x+1)*f[0], len(row))] {
							s += float64(e)
						}
						sum[x] += s
					}
					cnt++
				}
			}
			o := dims[0] * (y + dims[1]*z)
			w := b.Max[0] - b.Min[0] + 1
			for x := range dims[0] {
				n := float64(cnt * (min((x+1)*f[0], w) - x*f[0]))
				out[o+x] = float32(sum[x]/n*img.Slope + img.Intercept)
			}
		}
	}
}

// HasBelow reports whether any real value (stored*Slope+Intercept) of the
// image is below x. It stops at the first: on a CT, the corner's air.
func (img Image) HasBelow(x float64) bool {
	switch v := img.Voxels.(type) {
	case []uint8:
		return hasBelow(v, img, x)
	case []int8:
		return hasBelow(v, img, x)
	case []uint16:
		return hasBelow(v, img, x)
	case []int16:
		return hasBelow(v, img, x)
	case []uint32:
		return hasBelow(v, img, x)
	case []int32:
		return hasBelow(v, img, x)
	case []float32:
		return hasBelow(v, img, x)
	case []float64:
		return hasBelow(v, img, x)
	}
	return false
}

func hasBelow[T number](v []T, img Image, x float64) bool {
	// Compare stored values: x in stored units, the side by the slope's sign.
	t := (x - img.Intercept) / img.Slope
	for _, e := range v {
		if img.Slope > 0 && float64(e) < t || img.Slope < 0 && float64(e) > t {
			return true
		}
	}
	return false
}
