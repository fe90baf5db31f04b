package nifti

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/segvolapp/segvol/viewer/volume"
)

// Header sizes and where the voxels may start at the earliest.
const (
	sizeofHdr1 = 348
	sizeofHdr2 = 540
	minOffset1 = sizeofHdr1 + 4 // header plus the 4-byte extension flag
	minOffset2 = sizeofHdr2 + 4
)

// nativeTypes maps a NIfTI datatype code to the volume type that holds it
// unchanged.
var nativeTypes = map[int16]volume.DType{
	2: volume.Uint8, 4: volume.Int16, 8: volume.Int32, 16: volume.Float32,
	64: volume.Float64, 256: volume.Int8, 512: volume.Uint16, 768: volume.Uint32,
}

// refusedTypes names the NIfTI datatypes a segmentation viewer cannot hold
// as one scalar per voxel, so the refusal can say which one it met.
var refusedTypes = map[int16]string{
	1: "binary (1 bit)", 32: "complex64", 128: "RGB24", 1024: "int64", 1280: "uint64",
	1536: "float128", 1792: "complex128", 2048: "complex256", 2304: "RGBA32",
}

// header is what the reader needs from a NIfTI-1 or NIfTI-2 header, widened
// to the NIfTI-2 types.
type header struct {
	version   int // 1 or 2
	order     binary.ByteOrder
	ndim      int
	dim       [7]int64 // dim[1..7]; entries past ndim are 1
	datatype  int16
	pixdim    [8]float64
	voxOffset int64
	sclSlope  float64
	sclInter  float64
	calMax    float64
	calMin    float64
	descrip   string
	qformCode int32
	sformCode int32
	quatern   [3]float64 // b, c, d
	qoffset   [3]float64
	srow      [3][4]float64

	// Derived by check.
	dtype        volume.DType
	slope, inter float64
}

// parseHeader decodes and checks a header from the first bytes of a file.
func parseHeader(b []byte) (*header, error) {
	if len(b) < sizeofHdr1 {
		return nil, fmt.Errorf("%d bytes is too short for a NIfTI header", len(b))
	}
	h := &header{}
	le, be := int32(binary.LittleEndian.Uint32(b)), int32(binary.BigEndian.Uint32(b))
	switch {
	case le == sizeofHdr1 || le == sizeofHdr2:
		h.order = binary.LittleEndian
	case be == sizeofHdr1 || be == sizeofHdr2:
		h.order = binary.BigEndian
	default:
		return nil, fmt.Errorf("not a NIfTI file: sizeof_hdr is %d, want 348 or 540", le)
	}
	var err error
	if int32(h.order.Uint32(b)) == sizeofHdr1 {
		err = h.parse1(b)
	} else {
		err = h.parse2(b)
	}
	if err != nil {
		return nil, err
	}
	return h, h.check()
}

func (h *header) parse1(b []byte) error {
	h.version = 1
	if err := checkMagic(b[344:348], "n+1", "ni1"); err != nil {
		return err
	}
	o := h.order
	f32 := func(at int) float64 { return float64(math.Float32frombits(o.Uint32(b[at:]))) }
	h.ndim = int(int16(o.Uint16(b[40:])))
	for i := range h.dim {
		h.dim[i] = int64(int16(o.Uint16(b[42+2*i:])))
	}
	h.datatype = int16(o.Uint16(b[70:]))
	for i := range h.pixdim {
		h.pixdim[i] = f32(76 + 4*i)
	}
	off := f32(108)
	if off != math.Trunc(off) || off < 0 || off > math.MaxInt32 {
		return fmt.Errorf("invalid vox_offset %g", off)
	}
	h.voxOffset = max(int64(off), minOffset1)
	h.sclSlope, h.sclInter = f32(112), f32(116)
	h.calMax, h.calMin = f32(124), f32(128)
	h.descrip = cString(b[148:228])
	h.qformCode, h.sformCode = int32(int16(o.Uint16(b[252:]))), int32(int16(o.Uint16(b[254:])))
	for i := 0; i < 3; i++ {
		h.quatern[i], h.qoffset[i] = f32(256+4*i), f32(268+4*i)
		for c := 0; c < 4; c++ {
			h.srow[i][c] = f32(280 + 16*i + 4*c)
		}
	}
	return nil
}

func (h *header) parse2(b []byte) error {
	h.version = 2
	if len(b) < sizeofHdr2 {
		return fmt.Errorf("%d bytes is too short for a NIfTI-2 header", len(b))
	}
	if err := checkMagic(b[4:8], "n+2", "ni2"); err != nil {
		return err
	}
	o := h.order
	f64 := func(at int) float64 { return math.Float64frombits(o.Uint64(b[at:])) }
	h.datatype = int16(o.Uint16(b[12:]))
	ndim := int64(o.Uint64(b[16:]))
	if ndim < 1 || ndim > 7 {
		return fmt.Errorf("dim[0] is %d, want 1 to 7", ndim)
	}
	h.ndim = int(ndim)
	for i := range h.dim {
		h.dim[i] = int64(o.Uint64(b[24+8*i:]))
	}
	for i := range h.pixdim {
		h.pixdim[i] = f64(104 + 8*i)
	}
	off := int64(o.Uint64(b[168:]))
	if off < 0 {
		return fmt.Errorf("invalid vox_offset %d", off)
	}
	h.voxOffset = max(off, minOffset2)
	h.sclSlope, h.sclInter = f64(176), f64(184)
	h.calMax, h.calMin = f64(192), f64(200)
	h.descrip = cString(b[240:320])
	h.qformCode, h.sformCode = int32(o.Uint32(b[344:])), int32(o.Uint32(b[348:]))
	for i := 0; i < 3; i++ {
		h.quatern[i], h.qoffset[i] = f64(352+8*i), f64(376+8*i)
		for c := 0; c < 4; c++ {
			h.srow[i][c] = f64(400 + 32*i + 8*c)
		}
	}
	return nil
}

func checkMagic(m []byte, single, pair string) error {
	switch string(m[:3]) {
	case single:
		return nil
	case pair:
		return errors.New("this is the header of a .hdr/.img pair; only single-file .nii is supported")
	}
	return fmt.Errorf("bad NIfTI magic %q, want %q", m, single)
}

// check validates the fields the reader relies on and fixes, as nibabel
// does on load, the ones it repairs silently.
func (h *header) check() error {
	if h.ndim < 1 || h.ndim > 7 {
		return fmt.Errorf("dim[0] is %d, want 1 to 7", h.ndim)
	}
	for i := range h.dim {
		if i >= h.ndim {
			h.dim[i] = 1
		} else if h.dim[i] < 1 {
			return fmt.Errorf("dim[%d] is %d, must be at least 1", i+1, h.dim[i])
		}
	}
	if name, ok := refusedTypes[h.datatype]; ok {
		return fmt.Errorf("datatype %d (%s) is not supported: only scalar images can be segmented", h.datatype, name)
	}
	dt, ok := nativeTypes[h.datatype]
	if !ok {
		return fmt.Errorf("unknown datatype %d", h.datatype)
	}
	h.dtype = dt
	for i := 1; i <= 3; i++ { // nibabel: zero spacing becomes 1, negative its absolute value
		if h.pixdim[i] == 0 {
			h.pixdim[i] = 1
		}
		h.pixdim[i] = math.Abs(h.pixdim[i])
	}
	for _, c := range []*int32{&h.qformCode, &h.sformCode} {
		if *c < 0 || *c > 5 { // nibabel resets an unknown xform code to 0
			*c = 0
		}
	}
	return h.setSlopeInter()
}

// dims3 is the first 3D volume's grid, checked against volume.MaxVoxels.
func (h *header) dims3() ([3]int, error) {
	var d [3]int
	for i := range d {
		if h.dim[i] > volume.MaxVoxels {
			return d, fmt.Errorf("%w: dim[%d] is %d", volume.ErrTooLarge, i+1, h.dim[i])
		}
		d[i] = int(h.dim[i])
	}
	_, err := volume.Count(d)
	return d, err
}

// volumes is how many 3D volumes the image holds (dims 4 to 7 multiplied),
// saturating instead of overflowing for a hostile header.
func (h *header) volumes() int64 {
	n := int64(1)
	for _, d := range h.dim[3:] {
		if n > math.MaxInt64/d {
			return math.MaxInt64
		}
		n *= d
	}
	return n
}

// setSlopeInter sets the rescale as nibabel applies it: a zero or
// non-finite slope means no scaling at all.
func (h *header) setSlopeInter() error {
	h.slope, h.inter = 1, 0
	if h.sclSlope == 0 || !finite(h.sclSlope) {
		return nil
	}
	if !finite(h.sclInter) {
		return fmt.Errorf("scl_slope %g with invalid scl_inter %g", h.sclSlope, h.sclInter)
	}
	h.slope, h.inter = h.sclSlope, h.sclInter
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(bytes.TrimSpace(b))
}
