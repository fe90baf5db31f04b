package nifti

import (
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/segvolapp/segvol/internal/atomicfile"
	"github.com/segvolapp/segvol/viewer/volume"
)

// xformScanner is the qform/sform code written: coordinates of the scanner
// (or of whatever the volume was read from, now aligned to it).
const xformScanner = 1

// datatypeCodes is nativeTypes reversed, for writing.
var datatypeCodes = func() map[volume.DType]int16 {
	m := make(map[volume.DType]int16, len(nativeTypes))
	for code, dt := range nativeTypes {
		m[dt] = code
	}
	return m
}()

// gzipWriters keeps gzip writers at the fastest level, as nibabel writes:
// a CT is mostly noise that higher levels barely shrink, at several times
// the cost, and a label map compresses well enough (the sample's 383 kB
// map: 34 kB at this level in 1.6 ms, 22 kB at the default in 7 ms).
// Making a writer allocates and clears 1.2 MB (0.55 ms), as long as
// compressing a batch study's label map takes, so a few are kept for
// reuse; not in a sync.Pool, which every garbage collection empties, and
// an engine run between two saves makes several.
var gzipWriters = make(chan *gzip.Writer, 4)

func getGzip(w io.Writer) *gzip.Writer {
	select {
	case zw := <-gzipWriters:
		zw.Reset(w)
		return zw
	default:
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		return zw
	}
}

func putGzip(zw *gzip.Writer) {
	select {
	case gzipWriters <- zw:
	default:
	}
}

// Write saves v as NIfTI-1 (.nii, or gzip when path ends in .gz),
// atomically (temp file in the same folder, fsync, rename).
func Write(path string, v *volume.Volume) error {
	return WriteWith(path, v, atomicfile.Write)
}

// WriteWith is Write through another atomic writer (atomicfile's, without
// the folder's sync when the caller syncs it after several files).
func WriteWith(path string, v *volume.Volume, atomic func(path string, write func(io.Writer) error) error) error {
	hdr, err := encodeHeader(v)
	if err != nil {
		return fmt.Errorf("nifti: cannot write %s: %w", path, err)
	}
	err = atomic(path, func(w io.Writer) error {
		if !strings.HasSuffix(strings.ToLower(path), ".gz") {
			return writeImage(w, hdr, v)
		}
		zw := getGzip(w)
		defer putGzip(zw)
		if err := writeImage(zw, hdr, v); err != nil {
			return err
		}
		return zw.Close()
	})
	if err != nil {
		return fmt.Errorf("nifti: writing %s: %w", path, err)
	}
	return nil
}

func writeImage(w io.Writer, hdr []byte, v *volume.Volume) error {
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	return writeLittle(w, voxelBytes(v.Data), v.DType().Size())
}

// encodeHeader is the little-endian NIfTI-1 header of v, with the 4-byte
// extension flag, so the voxels follow at offset 352.
func encodeHeader(v *volume.Volume) ([]byte, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	for _, d := range v.Dims {
		if d > math.MaxInt16 {
			return nil, fmt.Errorf("dimension %d does not fit NIfTI-1 (at most %d)", d, math.MaxInt16)
		}
	}
	b := make([]byte, minOffset1)
	le := binary.LittleEndian
	put16 := func(at int, x int) { le.PutUint16(b[at:], uint16(int16(x))) }
	putF := func(at int, x float64) { le.PutUint32(b[at:], math.Float32bits(float32(x))) }

	aff := v.Geom.AffineRAS()
	quat, zooms, qfac := qformOf(aff)
	le.PutUint32(b[0:], sizeofHdr1)
	dims := [8]int{3, v.Dims[0], v.Dims[1], v.Dims[2], 1, 1, 1, 1}
	for i, d := range dims {
		put16(40+2*i, d)
	}
	dt := v.DType()
	put16(70, int(datatypeCodes[dt]))
	put16(72, 8*dt.Size())
	pixdim := [8]float64{qfac, zooms[0], zooms[1], zooms[2], 1, 1, 1, 1}
	for i, p := range pixdim {
		putF(76+4*i, p)
	}
	putF(108, minOffset1)
	putF(112, v.Slope)
	putF(116, v.Intercept)
	b[123] = 2 // xyzt_units: mm
	if len(v.Meta.Windows) > 0 {
		w := v.Meta.Windows[0]
		putF(124, w.Center+w.Width/2) // cal_max
		putF(128, w.Center-w.Width/2) // cal_min
	}
	copy(b[148:227], v.Meta.SeriesDescription) // 79 bytes keep the NUL
	put16(252, xformScanner)
	put16(254, xformScanner)
	for i := 0; i < 3; i++ {
		putF(256+4*i, quat[i])
		putF(268+4*i, aff[i][3])
		for c := 0; c < 4; c++ {
			putF(280+16*i+4*c, aff[i][c])
		}
	}
	copy(b[344:], "n+1\x00")
	return b, nil
}
