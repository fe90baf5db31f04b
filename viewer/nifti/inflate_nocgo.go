//go:build !cgo

package nifti

// Without cgo there is no libdeflate (see inflate_cgo.go): inflate with
// compress/gzip, still straight into the voxel slice, about 4x slower.

func inflate(src []byte, h *header, n int) (data any, raw []byte, err error) {
	data, raw = newVoxels(h.dtype, n, 0)
	return data, raw, gunzipStream(src, h.voxOffset, raw)
}
