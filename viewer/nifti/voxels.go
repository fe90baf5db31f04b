package nifti

import (
	"encoding/binary"
	"io"
	"unsafe"

	"github.com/segvolapp/segvol/viewer/volume"
)

type number interface {
	~uint8 | ~int8 | ~uint16 | ~int16 | ~uint32 | ~int32 | ~float32 | ~float64
}

// newVoxels allocates n voxels of type dt and returns them with raw, a byte
// view of the same memory that starts lead bytes before the first voxel.
// The lead lets a whole gzip stream (header first) be inflated in one call
// straight into the voxel slice: the header lands in the lead and the
// voxels land aligned, whatever the vox_offset.
func newVoxels(dt volume.DType, n, lead int) (data any, raw []byte) {
	switch dt {
	case volume.Uint8:
		return makeVoxels[uint8](n, lead)
	case volume.Int8:
		return makeVoxels[int8](n, lead)
	case volume.Uint16:
		return makeVoxels[uint16](n, lead)
	case volume.Int16:
		return makeVoxels[int16](n, lead)
	case volume.Uint32:
		return makeVoxels[uint32](n, lead)
	case volume.Int32:
		return makeVoxels[int32](n, lead)
	case volume.Float32:
		return makeVoxels[float32](n, lead)
	}
	return makeVoxels[float64](n, lead) // the one type left (nativeTypes)
}

func makeVoxels[T number](n, lead int) (any, []byte) {
	size := int(unsafe.Sizeof(T(0)))
	pad := (lead + size - 1) / size
	all := volume.Make[T](pad + n)
	raw := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(all))), len(all)*size)
	return all[pad:], raw[pad*size-lead:]
}

// voxelBytes is the memory of a voxel slice seen as bytes (no copy).
func voxelBytes(data any) []byte {
	switch d := data.(type) {
	case []uint8:
		return d
	case []int8:
		return asBytes(d)
	case []uint16:
		return asBytes(d)
	case []int16:
		return asBytes(d)
	case []uint32:
		return asBytes(d)
	case []int32:
		return asBytes(d)
	case []float32:
		return asBytes(d)
	case []float64:
		return asBytes(d)
	}
	return nil
}

func asBytes[T number](d []T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(d))), len(d)*int(unsafe.Sizeof(T(0))))
}

// hostLittle reports the byte order of this machine.
var hostLittle = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// toNative turns raw voxels stored in byte order o into this machine's
// order, in place.
func toNative(raw []byte, size int, o binary.ByteOrder) {
	if (o == binary.LittleEndian) != hostLittle {
		swap(raw, size)
	}
}

// swap reverses the bytes of every size-byte value in b.
func swap(b []byte, size int) {
	switch size {
	case 2:
		for i := 0; i+1 < len(b); i += 2 {
			b[i], b[i+1] = b[i+1], b[i]
		}
	case 4:
		for i := 0; i+3 < len(b); i += 4 {
			b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
		}
	case 8:
		for i := 0; i+7 < len(b); i += 8 {
			b[i], b[i+1], b[i+2], b[i+3], b[i+4], b[i+5], b[i+6], b[i+7] = b[i+7], b[i+6], b[i+5], b[i+4], b[i+3], b[i+2], b[i+1], b[i]
		}
	}
}

// writeLittle writes voxel bytes in little-endian order; on a big-endian
// machine it swaps a chunk at a time instead of touching the volume.
func writeLittle(w io.Writer, raw []byte, size int) error {
	if hostLittle || size == 1 {
		_, err := w.Write(raw)
		return err
	}
	buf := make([]byte, 1<<20)
	for len(raw) > 0 {
		n := copy(buf, raw)
		swap(buf[:n], size)
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
		raw = raw[n:]
	}
	return nil
}
