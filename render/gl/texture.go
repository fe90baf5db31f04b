package gl

import (
	"fmt"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"
)

// voxelKind is how a voxel type is stored in a texture and read by the
// shader: integers in integer textures of their own width (exact values,
// interpolated by the shader itself), reals as 32-bit floats.
type voxelKind uint8

const (
	signedKind   voxelKind = iota // R8I, R16I, R32I: isampler3D
	unsignedKind                  // R8UI, R16UI, R32UI: usampler3D
	floatKind                     // R32F: sampler3D
)

func (k voxelKind) sampler() string {
	return [...]string{"isampler3D", "usampler3D", "sampler3D"}[k]
}

// texFormat is the GL description of a voxel slice: its texture format, the
// client format and type of its bytes, its bytes per voxel on the GPU, the
// shader's view of it, and the first element and length that identify the
// slice.
type texFormat struct {
	internal       int32
	format, typ    uint32
	size           int
	kind           voxelKind
	first          unsafe.Pointer
	n              int
	convertFloat64 []float64 // float64 voxels, sent as float32 a slice at a time
}

func formatOf(voxels any) (texFormat, error) {
	switch d := voxels.(type) {
	case []int8:
		return intFormat(d, gl.R8I, gl.BYTE, signedKind), nil
	case []uint8:
		return intFormat(d, gl.R8UI, gl.UNSIGNED_BYTE, unsignedKind), nil
	case []int16:
		return intFormat(d, gl.R16I, gl.SHORT, signedKind), nil
	case []uint16:
		return intFormat(d, gl.R16UI, gl.UNSIGNED_SHORT, unsignedKind), nil
	case []int32:
		return intFormat(d, gl.R32I, gl.INT, signedKind), nil
	case []uint32:
		return intFormat(d, gl.R32UI, gl.UNSIGNED_INT, unsignedKind), nil
	case []float32:
		return texFormat{gl.R32F, gl.RED, gl.FLOAT, 4, floatKind, unsafe.Pointer(unsafe.SliceData(d)), len(d), nil}, nil
	case []float64:
		return texFormat{gl.R32F, gl.RED, gl.FLOAT, 4, floatKind, unsafe.Pointer(unsafe.SliceData(d)), len(d), d}, nil
	}
	return texFormat{}, fmt.Errorf("render/gl: unsupported voxel type %T", voxels)
}

func intFormat[T int8 | uint8 | int16 | uint16 | int32 | uint32](d []T, internal int32, typ uint32, kind voxelKind) texFormat {
	return texFormat{internal, gl.RED_INTEGER, typ, int(unsafe.Sizeof(*new(T))), kind, unsafe.Pointer(unsafe.SliceData(d)), len(d), nil}
}

// texKey identifies what a 3D texture holds: the slice (its first element,
// length and type) and the Invalidate generation it was uploaded at. It
// holds the pointer, so that a freed slice's address, reused by a new one,
// cannot pass for it.
type texKey struct {
	first    unsafe.Pointer
	n        int
	internal int32
	dims     [3]int
	gen      uint64
}

// holds reports whether the key is of the same slice as f, whatever its
// generation.
func (k texKey) holds(f texFormat, dims [3]int) bool {
	return k.first == f.first && k.n == f.n && k.internal == f.internal && k.dims == dims
}

// texture3D is a volume-sized texture and what it was made from.
type texture3D struct {
	id       uint32
	key      texKey
	bytes    int64
	uploaded int64 // bytes sent so far, whole or in boxes
}

// upload sends voxels to the texture on the given unit unless it already
// holds them, and leaves it bound there.
func (t *texture3D) upload(unit uint32, dims [3]int, f texFormat, gen uint64) error {
	key := texKey{f.first, f.n, f.internal, dims, gen}
	gl.ActiveTexture(gl.TEXTURE0 + unit)
	if t.id != 0 && t.key == key {
		gl.BindTexture(gl.TEXTURE_3D, t.id)
		return nil
	}
	sent := t.uploaded
	t.free()
	t.uploaded = sent
	gl.GenTextures(1, &t.id)
	gl.BindTexture(gl.TEXTURE_3D, t.id)
	setNearest(gl.TEXTURE_3D)
	gl.PixelStorei(gl.UNPACK_ALIGNMENT, 1)
	w, h, d := int32(dims[0]), int32(dims[1]), int32(dims[2])
	if f.convertFloat64 == nil {
		gl.TexImage3D(gl.TEXTURE_3D, 0, f.internal, w, h, d, 0, f.format, f.typ, f.first)
	} else {
		gl.TexImage3D(gl.TEXTURE_3D, 0, f.internal, w, h, d, 0, f.format, f.typ, nil)
		slab := make([]float32, dims[0]*dims[1])
		for k := 0; k < dims[2]; k++ {
			for i, v := range f.convertFloat64[k*len(slab) : (k+1)*len(slab)] {
				slab[i] = float32(v)
			}
			gl.TexSubImage3D(gl.TEXTURE_3D, 0, 0, 0, int32(k), w, h, 1, f.format, f.typ, gl.Ptr(slab))
		}
	}
	if err := checkError(fmt.Sprintf("uploading a %v volume", dims)); err != nil {
		t.free()
		return err
	}
	t.key, t.bytes = key, int64(f.n)*int64(f.size)
	t.uploaded += t.bytes
	return nil
}

// uploadBox sends the voxels of the inclusive index box lo..hi (none when it
// is empty) to the bound texture, which holds an older copy of f's slice.
func (t *texture3D) uploadBox(dims [3]int, f texFormat, lo, hi [3]int) error {
	var size [3]int32
	for a := range 3 {
		lo[a], hi[a] = max(lo[a], 0), min(hi[a], dims[a]-1)
		if hi[a] < lo[a] {
			return nil
		}
		size[a] = int32(hi[a] - lo[a] + 1)
	}
	gl.PixelStorei(gl.UNPACK_ALIGNMENT, 1)
	gl.PixelStorei(gl.UNPACK_ROW_LENGTH, int32(dims[0]))
	gl.PixelStorei(gl.UNPACK_IMAGE_HEIGHT, int32(dims[1]))
	first := lo[0] + dims[0]*(lo[1]+dims[1]*lo[2])
	gl.TexSubImage3D(gl.TEXTURE_3D, 0, int32(lo[0]), int32(lo[1]), int32(lo[2]), size[0], size[1], size[2],
		f.format, f.typ, unsafe.Add(f.first, first*f.size))
	gl.PixelStorei(gl.UNPACK_ROW_LENGTH, 0)
	gl.PixelStorei(gl.UNPACK_IMAGE_HEIGHT, 0)
	if err := checkError(fmt.Sprintf("updating voxels %v..%v", lo, hi)); err != nil {
		return err
	}
	t.uploaded += int64(size[0]) * int64(size[1]) * int64(size[2]) * int64(f.size)
	return nil
}

func (t *texture3D) free() {
	if t.id != 0 {
		gl.DeleteTextures(1, &t.id)
	}
	*t = texture3D{}
}
