// Package volume holds a 3D study in memory: voxels in their native type,
// the rescale that turns stored values into real ones, and the geometry that
// places every voxel in DICOM patient coordinates (LPS, mm).
//
// A voxel index (i, j, k) is (column, row, slice) in storage order; the flat
// offset is i + Dims[0]*(j + Dims[1]*k).
package volume

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/segvolapp/segvol/render"
)

// DType is the native type of the stored voxels.
type DType uint8

// The stored types a volume can hold. Loaders keep what the file has, so a
// CT stays int16 and a label map uint8.
const (
	Uint8 DType = iota + 1
	Int8
	Uint16
	Int16
	Uint32
	Int32
	Float32
	Float64
)

var dtypeNames = map[DType]string{
	Uint8: "uint8", Int8: "int8", Uint16: "uint16", Int16: "int16",
	Uint32: "uint32", Int32: "int32", Float32: "float32", Float64: "float64",
}

func (d DType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// Size is the number of bytes of one voxel.
func (d DType) Size() int {
	switch d {
	case Uint8, Int8:
		return 1
	case Uint16, Int16:
		return 2
	case Uint32, Int32, Float32:
		return 4
	case Float64:
		return 8
	}
	return 0
}

// MaxVoxels bounds what a loader will allocate for one volume (2^31 voxels,
// 4 GiB of int16). Headers are checked against it, and against the bytes the
// file can actually hold, before anything is allocated.
const MaxVoxels = 1 << 31

// ErrTooLarge is returned for dimensions beyond MaxVoxels.
var ErrTooLarge = errors.New("volume too large")

// Alloc returns a zeroed voxel slice of the given type for dims, or an error
// when the dimensions are not positive or exceed MaxVoxels.
func Alloc(d DType, dims [3]int) (any, error) {
	n, err := Count(dims)
	if err != nil {
		return nil, err
	}
	switch d {
	case Uint8:
		return Make[uint8](n), nil
	case Int8:
		return Make[int8](n), nil
	case Uint16:
		return Make[uint16](n), nil
	case Int16:
		return Make[int16](n), nil
	case Uint32:
		return Make[uint32](n), nil
	case Int32:
		return Make[int32](n), nil
	case Float32:
		return Make[float32](n), nil
	case Float64:
		return Make[float64](n), nil
	}
	return nil, fmt.Errorf("unsupported voxel type %v", d)
}

// Make makes a voxel (or label) slice of n elements, large ones backed by
// huge pages where the system offers them (hugePages). Every reader's and
// the label map's voxels come from here.
func Make[T any](n int) []T {
	s := make([]T, n)
	if bytes := n * int(unsafe.Sizeof(*new(T))); bytes >= 8<<20 {
		hugePages(unsafe.Pointer(unsafe.SliceData(s)), bytes)
	}
	return s
}

// Count is the number of voxels of dims, checked against MaxVoxels.
func Count(dims [3]int) (int, error) {
	n := 1
	for _, d := range dims {
		if d <= 0 {
			return 0, fmt.Errorf("invalid dimensions %dx%dx%d", dims[0], dims[1], dims[2])
		}
		if n > MaxVoxels/d {
			return 0, fmt.Errorf("%w: %dx%dx%d voxels", ErrTooLarge, dims[0], dims[1], dims[2])
		}
		n *= d
	}
	return n, nil
}

// DTypeOf reports the type of a voxel slice, or 0 for anything else.
func DTypeOf(data any) DType {
	switch data.(type) {
	case []uint8:
		return Uint8
	case []int8:
		return Int8
	case []uint16:
		return Uint16
	case []int16:
		return Int16
	case []uint32:
		return Uint32
	case []int32:
		return Int32
	case []float32:
		return Float32
	case []float64:
		return Float64
	}
	return 0
}

// Volume is one 3D image.
type Volume struct {
	Dims [3]int
	// Data is the voxel slice in its native type: []uint8, []int8, []uint16,
	// []int16, []uint32, []int32, []float32 or []float64, of length
	// Dims[0]*Dims[1]*Dims[2].
	Data any
	// Slope and Intercept turn a stored value into a real one (HU for CT):
	// value = stored*Slope + Intercept. A volume without rescale has 1 and 0.
	Slope, Intercept float64
	Geom             Geometry
	Meta             Meta
	// Warnings are what a reader noticed and worked around (missing slices,
	// a tilted gantry, a 4D series of which one volume is shown).
	Warnings []string
}

// Meta is what a clinician or script wants to know about the study beyond
// its voxels.
type Meta struct {
	Format            string // "DICOM", "NIfTI-1", "NIfTI-2"
	Source            string // the path that was opened
	Modality          string // DICOM modality: CT, MR, PT...
	PatientName       string
	PatientID         string
	StudyDescription  string
	SeriesDescription string
	StudyInstanceUID  string
	SeriesInstanceUID string
	SeriesNumber      string
	Manufacturer      string
	TransferSyntax    string
	// Windows are the window/level presets the file carries
	// (WindowCenter/WindowWidth, in real values).
	Windows []Window
	// TimePoints is how many volumes a 4D image holds (0 for a 3D one),
	// and TimePoint which of them this is, from 0.
	TimePoints, TimePoint int
}

// Window is a display window in real values (HU for CT).
type Window struct {
	Name          string
	Center, Width float64
}

// New allocates a zeroed volume of the given type with identity rescale.
func New(d DType, dims [3]int, g Geometry) (*Volume, error) {
	data, err := Alloc(d, dims)
	if err != nil {
		return nil, err
	}
	return &Volume{Dims: dims, Data: data, Slope: 1, Geom: g}, nil
}

// DType is the stored type of the voxels.
func (v *Volume) DType() DType { return DTypeOf(v.Data) }

// Len is the number of voxels.
func (v *Volume) Len() int { return v.Dims[0] * v.Dims[1] * v.Dims[2] }

// Offset is the flat index of voxel (i, j, k).
func (v *Volume) Offset(i, j, k int) int { return i + v.Dims[0]*(j+v.Dims[1]*k) }

// Contains reports whether (i, j, k) lies inside the grid.
func (v *Volume) Contains(i, j, k int) bool {
	return i >= 0 && j >= 0 && k >= 0 && i < v.Dims[0] && j < v.Dims[1] && k < v.Dims[2]
}

// Stored is the stored value at flat offset n, before rescale. Hot loops
// should type-switch on Data once instead.
func (v *Volume) Stored(n int) float64 {
	switch d := v.Data.(type) {
	case []uint8:
		return float64(d[n])
	case []int8:
		return float64(d[n])
	case []uint16:
		return float64(d[n])
	case []int16:
		return float64(d[n])
	case []uint32:
		return float64(d[n])
	case []int32:
		return float64(d[n])
	case []float32:
		return float64(d[n])
	case []float64:
		return d[n]
	}
	panic(fmt.Sprintf("volume: unsupported voxel slice %T", v.Data))
}

// Value is the real value (after rescale) at flat offset n.
func (v *Volume) Value(n int) float64 { return v.Stored(n)*v.Slope + v.Intercept }

// StoredRange is the minimum and maximum stored value, NaNs ignored.
func (v *Volume) StoredRange() (lo, hi float64) {
	switch d := v.Data.(type) {
	case []uint8:
		return rangeOf(d)
	case []int8:
		return rangeOf(d)
	case []uint16:
		return rangeOf(d)
	case []int16:
		return rangeOf(d)
	case []uint32:
		return rangeOf(d)
	case []int32:
		return rangeOf(d)
	case []float32:
		return rangeOf(d)
	case []float64:
		return rangeOf(d)
	}
	return math.NaN(), math.NaN()
}

// Range is the minimum and maximum real value.
func (v *Volume) Range() (lo, hi float64) {
	lo, hi = v.StoredRange()
	lo, hi = lo*v.Slope+v.Intercept, hi*v.Slope+v.Intercept
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi
}

type number interface {
	~uint8 | ~int8 | ~uint16 | ~int16 | ~uint32 | ~int32 | ~float32 | ~float64
}

func rangeOf[T number](d []T) (lo, hi float64) {
	lo, hi = math.NaN(), math.NaN()
	first := true
	var mn, mx T
	for _, x := range d {
		if x != x { // NaN
			continue
		}
		if first {
			mn, mx, first = x, x, false
			continue
		}
		if x < mn {
			mn = x
		} else if x > mx {
			mx = x
		}
	}
	if !first {
		lo, hi = float64(mn), float64(mx)
	}
	return lo, hi
}

// Validate checks that the voxel slice matches the dimensions and that the
// geometry can be inverted.
func (v *Volume) Validate() error {
	n, err := Count(v.Dims)
	if err != nil {
		return err
	}
	if v.DType() == 0 {
		return fmt.Errorf("unsupported voxel slice %T", v.Data)
	}
	if l := render.VoxelCount(v.Data); l != n {
		return fmt.Errorf("voxel slice holds %d values for %d voxels", l, n)
	}
	if v.Slope == 0 || math.IsNaN(v.Slope) || math.IsInf(v.Slope, 0) || math.IsNaN(v.Intercept) || math.IsInf(v.Intercept, 0) {
		return fmt.Errorf("invalid rescale slope %g intercept %g", v.Slope, v.Intercept)
	}
	if _, err := v.Geom.inverse(); err != nil {
		return err
	}
	return nil
}

// Bytes is the memory the voxels take.
func (v *Volume) Bytes() int { return v.Len() * v.DType().Size() }
