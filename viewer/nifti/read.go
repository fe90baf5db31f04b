// Package nifti reads and writes NIfTI-1 and NIfTI-2 images (.nii and
// .nii.gz, either byte order) as volume.Volume. Voxels stay in their stored
// type, and NIfTI's RAS becomes our LPS here and nowhere else.
//
// It does not use github.com/okieraised/gonii, which the design card names:
// gonii converts every voxel to float64 (four times the memory of a CT), its
// quaternion code uses 1.01 where 1.0 belongs, and it inflates into its own
// buffers, so it cannot decompress straight into the typed voxel slice,
// which is what makes our reader fast and lean. The header is a few dozen
// fixed fields; owning them costs less than working around gonii.
package nifti

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/segvolapp/segvol/viewer/volume"
)

// maxDeflateRatio bounds how far deflate can expand its input (1032:1), so
// a gzip header's claimed size is checked before anything is allocated.
const maxDeflateRatio = 1032

// Read opens a .nii or .nii.gz file (NIfTI-1 or NIfTI-2, either byte order;
// gzip detected by magic bytes, not by name).
func Read(path string) (*volume.Volume, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nifti: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("nifti: %w", err)
	}
	head := make([]byte, min(st.Size(), sizeofHdr2))
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, fail(path, err)
	}
	if isGzip(head) {
		// The compressed file is read whole: it is the inflater's input.
		data := make([]byte, st.Size())
		if _, err := f.ReadAt(data, 0); err != nil {
			return nil, fail(path, err)
		}
		return decodeGzip(path, data)
	}
	h, dims, n, err := plainHeader(head, st.Size())
	if err != nil {
		return nil, fail(path, err)
	}
	data, raw := newVoxels(h.dtype, n, 0)
	if _, err := f.ReadAt(raw, h.voxOffset); err != nil {
		return nil, fail(path, err)
	}
	return h.volume(path, dims, data, raw, 0), nil
}

// ReadTimePoint reads volume t (from 0) of a 4D image, as Read reads the
// first: the viewer's time-point slider asks for the others one at a time,
// so that a long series never needs all its volumes in memory.
func ReadTimePoint(path string, t int) (*volume.Volume, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nifti: %w", err)
	}
	head := data
	if isGzip(data) {
		if head, err = gunzipHead(data); err != nil {
			return nil, fail(path, err)
		}
	}
	h, dims, n, err := headerAndGrid(head)
	if err != nil {
		return nil, fail(path, err)
	}
	if nv := h.volumes(); t < 0 || int64(t) >= nv {
		return nil, fmt.Errorf("nifti: %s: no volume %d: it holds %d", path, t+1, nv)
	}
	vox, raw := newVoxels(h.dtype, n, 0)
	skip := h.voxOffset + int64(t)*int64(len(raw))
	if isGzip(data) {
		err = gunzipStream(data, skip, raw)
	} else if skip+int64(len(raw)) > int64(len(data)) {
		err = errTruncated
	} else {
		copy(raw, data[skip:])
	}
	if err != nil {
		return nil, fail(path, err)
	}
	return h.volume(path, dims, vox, raw, t), nil
}

// Decode reads a NIfTI image held in memory (plain or gzip); used by Read
// and by the fuzz test. name is for messages.
func Decode(name string, data []byte) (*volume.Volume, error) {
	if isGzip(data) {
		return decodeGzip(name, data)
	}
	h, dims, n, err := plainHeader(data, int64(len(data)))
	if err != nil {
		return nil, fail(name, err)
	}
	vox, raw := newVoxels(h.dtype, n, 0)
	copy(raw, data[h.voxOffset:])
	return h.volume(name, dims, vox, raw, 0), nil
}

// plainHeader parses the header of an uncompressed file of fileSize bytes
// and checks that the file holds the first volume's voxels.
func plainHeader(head []byte, fileSize int64) (*header, [3]int, int, error) {
	h, dims, n, err := headerAndGrid(head)
	if err != nil {
		return nil, dims, 0, err
	}
	if need := h.voxOffset + int64(n)*int64(h.dtype.Size()); need > fileSize {
		return nil, dims, 0, fmt.Errorf("truncated: the image needs %d bytes, the file has %d", need, fileSize)
	}
	return h, dims, n, nil
}

func decodeGzip(name string, src []byte) (*volume.Volume, error) {
	head, err := gunzipHead(src)
	if err != nil {
		return nil, fail(name, err)
	}
	h, dims, n, err := headerAndGrid(head)
	if err != nil {
		return nil, fail(name, err)
	}
	need := h.voxOffset + int64(n)*int64(h.dtype.Size())
	if most := int64(len(src)) * maxDeflateRatio; need > most {
		return nil, fail(name, fmt.Errorf("header claims %d bytes of image but %d compressed bytes inflate to at most %d", need, len(src), most))
	}
	data, raw, err := inflate(src, h, n)
	if err != nil {
		return nil, fail(name, err)
	}
	return h.volume(name, dims, data, raw, 0), nil
}

// headerAndGrid parses a header and checks everything that can be checked
// before voxels are allocated: the grid size and an invertible geometry.
func headerAndGrid(head []byte) (*header, [3]int, int, error) {
	h, err := parseHeader(head)
	if err != nil {
		return nil, [3]int{}, 0, err
	}
	dims, err := h.dims3()
	if err != nil {
		return nil, dims, 0, err
	}
	g := volume.FromAffineRAS(h.bestAffine())
	if _, err := g.WorldToIndex(g.Origin); err != nil {
		return nil, dims, 0, fmt.Errorf("unusable affine (sform code %d, qform code %d): %w", h.sformCode, h.qformCode, err)
	}
	return h, dims, dims[0] * dims[1] * dims[2], nil
}

// volume assembles the result once raw (the voxel bytes of volume t) is
// filled.
func (h *header) volume(name string, dims [3]int, data any, raw []byte, t int) *volume.Volume {
	toNative(raw, h.dtype.Size(), h.order)
	v := &volume.Volume{
		Dims: dims, Data: data, Slope: h.slope, Intercept: h.inter,
		Geom: volume.FromAffineRAS(h.bestAffine()),
		Meta: volume.Meta{Format: fmt.Sprintf("NIfTI-%d", h.version), Source: name, SeriesDescription: h.descrip},
	}
	// cal_min/cal_max is the display range the writer chose, in real values.
	if finite(h.calMin) && finite(h.calMax) && h.calMax > h.calMin {
		v.Meta.Windows = []volume.Window{{Name: "cal_min/cal_max", Center: (h.calMax + h.calMin) / 2, Width: h.calMax - h.calMin}}
	}
	if nv := h.volumes(); nv > 1 {
		shown := "the first"
		if t > 0 {
			shown = fmt.Sprintf("volume %d", t+1)
		}
		v.Warnings = append(v.Warnings, fmt.Sprintf("%dD image: %d volumes, showing %s", h.ndim, nv, shown))
		v.Meta.TimePoints, v.Meta.TimePoint = int(min(nv, math.MaxInt32)), t
	}
	return v
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// gunzipHead inflates just enough of src to hold any NIfTI header.
func gunzipHead(src []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, gzipError(err)
	}
	head := make([]byte, sizeofHdr2)
	n, err := io.ReadFull(zr, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, gzipError(err)
	}
	return head[:n], nil
}

// gunzipStream inflates src, skips skip bytes and fills dst, stopping there:
// for a 4D image only the first volume is ever inflated.
func gunzipStream(src []byte, skip int64, dst []byte) error {
	zr, err := gzip.NewReader(bytes.NewReader(src))
	if err == nil {
		_, err = io.CopyN(io.Discard, zr, skip)
	}
	if err == nil {
		_, err = io.ReadFull(zr, dst)
	}
	if err != nil {
		return gzipError(err)
	}
	return nil
}

// errTruncated is a file that ends before the voxels it announces.
var errTruncated = errors.New("truncated: the data ends before the image does")

func gzipError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errTruncated
	}
	return fmt.Errorf("corrupt gzip data: %w", err)
}

func fail(name string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errTruncated
	}
	return fmt.Errorf("nifti: %s: %w", name, err)
}
