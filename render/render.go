// Package render declares what a slice renderer needs — voxels, a label map
// with its colour table, and a plane in patient space — as plain types, so
// that the renderers (render/cpu, the reference; render/gl, on the GPU) know
// nothing of files, sessions or widgets, as image/draw knows nothing of
// image files.
package render

import (
	"fmt"
	"image"
	"image/color"
)

// Volume is a 3D image to sample. Voxels is a native slice ([]int16,
// []uint16, []uint8, []int8, []int32, []uint32, []float32 or []float64)
// indexed i + Dims[0]*(j + Dims[1]*k).
type Volume struct {
	Dims             [3]int
	Voxels           any
	Slope, Intercept float64 // real value = stored*Slope + Intercept
	// WorldToIndex maps a patient position (LPS, mm) to a fractional voxel
	// index: index[a] = M[a][0]*x + M[a][1]*y + M[a][2]*z + M[a][3].
	WorldToIndex [3][4]float64
}

// Labels is a label map in the volume's grid with a colour for each label
// value. A colour with zero alpha hides that label; alpha is the fill
// opacity.
type Labels struct {
	Data    []uint8
	Colors  []color.NRGBA // indexed by label value; label 0 is never drawn
	Fill    bool          // tint the inside of each segment
	Outline bool          // draw each segment's boundary opaque
	// Hatched, when not 0, is a label drawn with opaque diagonal stripes
	// over its fill (pixels where (x+y) mod HatchPeriod < HatchWidth, in
	// output pixels): a proposal (the AI preview) then stands apart from
	// every segment, whatever their colours.
	Hatched uint8

	// Revision identifies Data's content. Changed, when set, says which
	// voxels changed since an older revision: the inclusive index box lo..hi
	// (empty when hi < lo), or ok false when that is no longer known. A
	// renderer that keeps a copy of Data (render/gl) then updates only that
	// box. Both are valid only during the Render call.
	Revision uint64
	Changed  func(since uint64) (lo, hi [3]int, ok bool)
}

// The hatching of Labels.Hatched: a stripe HatchWidth pixels wide every
// HatchPeriod pixels (a power of two) along both screen axes.
const (
	HatchPeriod = 8
	HatchWidth  = 3
)

// Hatch reports whether output pixel (x, y) lies on a stripe of the
// hatching.
func Hatch(x, y int) bool { return (x+y)&(HatchPeriod-1) < HatchWidth }

// Plane is the slice to draw: the centre of output pixel (x, y) lies at
// Origin + x*U + y*V in patient coordinates (LPS, mm).
type Plane struct {
	Origin, U, V [3]float64
}

// Interp is how voxels are sampled between their centres.
type Interp uint8

// Sampling modes.
const (
	Nearest Interp = iota
	Linear
)

// Options are the display settings of one render.
type Options struct {
	Center, Width float64 // window/level in real values (HU for CT)
	Interp        Interp
}

// Renderer draws one plane of a volume, with its labels, into dst. Pixels
// outside the volume are black.
type Renderer interface {
	Render(dst *image.RGBA, p Plane, v *Volume, l *Labels, o Options) error
}

// Check validates what a renderer is given, so that every implementation
// rejects the same bad input with the same message.
func Check(dst *image.RGBA, v *Volume, l *Labels, o Options) error {
	n := v.Dims[0] * v.Dims[1] * v.Dims[2]
	if v.Dims[0] <= 0 || v.Dims[1] <= 0 || v.Dims[2] <= 0 {
		return fmt.Errorf("render: empty volume %v", v.Dims)
	}
	if got := VoxelCount(v.Voxels); got != n {
		return fmt.Errorf("render: %T holds %d voxels for %v", v.Voxels, got, v.Dims)
	}
	if l != nil && len(l.Data) != n {
		return fmt.Errorf("render: label map holds %d voxels for %v", len(l.Data), v.Dims)
	}
	if !(o.Width > 0) {
		return fmt.Errorf("render: window width %g must be positive", o.Width)
	}
	if dst == nil || dst.Rect.Empty() {
		return fmt.Errorf("render: empty destination")
	}
	return nil
}

// VoxelCount is the length of a native voxel slice, or -1 for anything
// that is not one of the types Volume.Voxels may hold.
func VoxelCount(data any) int {
	switch d := data.(type) {
	case []uint8:
		return len(d)
	case []int8:
		return len(d)
	case []uint16:
		return len(d)
	case []int16:
		return len(d)
	case []uint32:
		return len(d)
	case []int32:
		return len(d)
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	}
	return -1
}
