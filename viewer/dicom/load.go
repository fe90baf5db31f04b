package dicom

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/segvolapp/segvol/viewer/dicom/codec"
	"github.com/segvolapp/segvol/viewer/volume"
)

// maxCompression bounds how many voxel bytes one byte of encapsulated pixel
// data may claim. Lossless codecs reach a few hundred on blank images; a
// header claiming more is refused before anything is allocated from it.
const maxCompression = 1024

// Load reads one series into a volume. progress (may be nil) is called with
// files done/total.
func Load(ctx context.Context, s *Series, progress func(done, total int)) (*volume.Volume, error) {
	return LoadTimePoint(ctx, s, 0, progress)
}

// LoadTimePoint is Load for volume t (from 0) of a 4D series, for the
// viewer's time-point slider.
func LoadTimePoint(ctx context.Context, s *Series, t int, progress func(done, total int)) (*volume.Volume, error) {
	p, dims, err := s.prepare(t)
	if err != nil {
		return nil, err
	}
	data, err := volume.Alloc(s.dtype(), dims)
	if err != nil {
		return nil, fmt.Errorf("series %s: %w", s.UID, err)
	}
	if err := s.decodeAll(ctx, p.images, data, progress); err != nil {
		return nil, err
	}
	return s.assemble(p, dims, data, t)
}

// prepare checks the series and plans volume t: its images in slice order
// and the volume's dims.
func (s *Series) prepare(t int) (*slicePlan, [3]int, error) {
	if err := s.checkGrayscale(); err != nil {
		return nil, [3]int{}, err
	}
	p, err := planTimePoint(s, t)
	if err != nil {
		return nil, [3]int{}, err
	}
	dims := [3]int{s.Cols, s.Rows, len(p.images)}
	return p, dims, s.checkClaim(dims)
}

// assemble makes the volume of the planned images from their decoded
// voxels.
func (s *Series) assemble(p *slicePlan, dims [3]int, data any, t int) (*volume.Volume, error) {
	v := &volume.Volume{Dims: dims, Data: data, Slope: 1, Geom: p.geom, Meta: s.meta, Warnings: p.warnings}
	v.Meta.TransferSyntax = s.transferSyntaxNames()
	if p.timePoints > 1 {
		v.Meta.TimePoints, v.Meta.TimePoint = p.timePoints, t
	}
	s.applyRescale(v, p.images)
	if p.resample != nil {
		if err := p.resample(v); err != nil {
			return nil, err
		}
	}
	return v, v.Validate()
}

// checkGrayscale refuses colour series: this is a grayscale 3D viewer.
func (s *Series) checkGrayscale() error {
	ph := s.pix.photometric
	if s.pix.samples != 1 || (ph != "" && ph != "MONOCHROME1" && ph != "MONOCHROME2") {
		return fmt.Errorf("series %s is a colour image (%s, %d samples per pixel): segvol shows grayscale CT and MR only", s.UID, ph, s.pix.samples)
	}
	return nil
}

// checkClaim refuses a compressed series whose claimed voxels the files
// could not plausibly fill (native pixel data lengths were checked exactly
// by Scan).
func (s *Series) checkClaim(dims [3]int) error {
	n, err := volume.Count(dims)
	if err != nil {
		return fmt.Errorf("series %s: %w", s.UID, err)
	}
	if s.encapsulatedBytes > 0 && int64(n)*int64(s.pix.bitsAllocated/8) > s.encapsulatedBytes*maxCompression {
		return fmt.Errorf("series %s claims %dx%dx%d voxels but holds only %d bytes of compressed pixel data",
			s.UID, dims[0], dims[1], dims[2], s.encapsulatedBytes)
	}
	return nil
}

func (s *Series) dtype() volume.DType {
	switch {
	case s.pix.bitsAllocated == 8 && s.pix.signed:
		return volume.Int8
	case s.pix.bitsAllocated == 8:
		return volume.Uint8
	case s.pix.bitsAllocated == 16 && s.pix.signed:
		return volume.Int16
	case s.pix.bitsAllocated == 16:
		return volume.Uint16
	case s.pix.signed:
		return volume.Int32
	}
	return volume.Uint32
}

func (s *Series) transferSyntaxNames() string {
	seen := map[string]bool{}
	var names []string
	for _, f := range s.Files {
		ts := s.files[f].ts
		if !seen[ts] {
			seen[ts] = true
			names = append(names, codec.Name(ts))
		}
	}
	return strings.Join(names, ", ")
}

// mono1Pivot is K in the MONOCHROME1 inversion stored' = K - stored: the top
// of the BitsStored range for unsigned data, -1 for signed (two's complement
// inversion), so inverted values stay within the stored range.
func (s *Series) mono1Pivot() int64 {
	if s.pix.signed {
		return -1
	}
	return int64(1)<<s.pix.bitsStored - 1
}

// applyRescale sets the volume's rescale from the images, falling back to
// float32 real values when it differs between them.
func (s *Series) applyRescale(v *volume.Volume, ims []image) {
	slope, inter := ims[0].slope, ims[0].intercept
	varies := false
	for _, im := range ims[1:] {
		varies = varies || im.slope != slope || im.intercept != inter
	}
	v.Meta.Windows = append([]volume.Window(nil), v.Meta.Windows...) // the series keeps its own
	if s.pix.photometric == "MONOCHROME1" {
		// Stored values were inverted (K - v) so that high is bright; the
		// real values and windows follow: real' = (slope*K + 2*inter) - real.
		k := float64(s.mono1Pivot())
		for i := range v.Meta.Windows {
			v.Meta.Windows[i].Center = slope*k + 2*inter - v.Meta.Windows[i].Center
		}
		v.Warnings = append(v.Warnings, "MONOCHROME1: values inverted within the stored range so that high is bright")
	}
	if !varies {
		v.Slope, v.Intercept = slope, inter
		return
	}
	n := v.Dims[0] * v.Dims[1]
	out := make([]float32, v.Len())
	for k, im := range ims {
		for i := k * n; i < (k+1)*n; i++ {
			out[i] = float32(v.Stored(i)*im.slope + im.intercept)
		}
	}
	v.Data = out
	v.Warnings = append(v.Warnings, "rescale slope/intercept differ between slices: voxels stored as float32 real values")
}

// job is one image to decode into slice k.
type job struct {
	im image
	k  int
}

// decodeAll decodes the planned images into data, one file per worker.
func (s *Series) decodeAll(ctx context.Context, ims []image, data any, progress func(done, total int)) error {
	byFile := map[string][]job{}
	var files []string
	for k, im := range ims {
		if byFile[im.file] == nil {
			files = append(files, im.file)
		}
		byFile[im.file] = append(byFile[im.file], job{im, k})
	}
	var (
		done     atomic.Int64
		mu       sync.Mutex
		firstErr error
	)
	parallel(ctx, len(files), func(i int) {
		err := s.decodeFile(files[i], byFile[files[i]], data)
		mu.Lock()
		defer mu.Unlock()
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("%s: %w", files[i], err)
		}
		if progress != nil {
			progress(int(done.Add(1)), len(files))
		}
	})
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// decodeFile reads one file and writes its images into their slices.
func (s *Series) decodeFile(path string, jobs []job, data any) error {
	r, err := readRaw(path)
	if err != nil {
		return err
	}
	defer r.release()
	if r.pixTag < 0 {
		return errors.New("pixel data disappeared since the scan")
	}
	frames, err := s.frameSource(r)
	if err != nil {
		return err
	}
	cache := map[int][]byte{}
	plane := s.Rows * s.Cols
	for _, j := range jobs {
		src, ok := cache[j.im.frame]
		if !ok {
			if src, err = frames(j.im.frame); err != nil {
				return fmt.Errorf("frame %d: %w", j.im.frame+1, err)
			}
			cache[j.im.frame] = src
		}
		x0, y0 := 0, 0
		if j.im.tile >= 0 {
			x0, y0 = (j.im.tile%s.mosaicGrid)*s.Cols, (j.im.tile/s.mosaicGrid)*s.Rows
		}
		s.put(data, j.k*plane, src, x0, y0)
	}
	return nil
}

// frameSource returns a function giving the little-endian bytes of frame f.
func (s *Series) frameSource(r *rawFile) (func(f int) ([]byte, error), error) {
	bpp := s.pix.bitsAllocated / 8
	frameBytes := s.frameRows * s.frameCols * bpp
	nFrames := s.files[r.path].frames
	if r.pixLen >= 0 {
		if r.pixLen < frameBytes*nFrames {
			return nil, fmt.Errorf("pixel data holds %d bytes, %d frames need %d", r.pixLen, nFrames, frameBytes*nFrames)
		}
		pix := r.data[r.pixValue : r.pixValue+frameBytes*nFrames]
		if r.bo == binary.BigEndian && bpp > 1 {
			// We own the file buffer: swap in place to little endian once.
			swapBytes(pix, bpp)
		}
		return func(f int) ([]byte, error) { return pix[f*frameBytes : (f+1)*frameBytes], nil }, nil
	}
	frags, err := r.frameFragments()
	if err != nil {
		return nil, err
	}
	framesData, err := splitFrames(frags[0], frags[1:], nFrames)
	if err != nil {
		return nil, err
	}
	cf := codec.Frame{Rows: s.frameRows, Cols: s.frameCols, SamplesPerPixel: s.pix.samples,
		BitsAllocated: s.pix.bitsAllocated, BitsStored: s.pix.bitsStored, Signed: s.pix.signed,
		Photometric: s.pix.photometric}
	return func(f int) ([]byte, error) {
		out, err := codec.Decode(r.ts, framesData[f], cf)
		if err == nil && len(out) != frameBytes {
			err = fmt.Errorf("decoder returned %d bytes for a %d-byte frame", len(out), frameBytes)
		}
		return out, err
	}, nil
}

// splitFrames assembles the fragments of encapsulated pixel data into
// frames: all fragments for a single frame, else by the Basic Offset Table,
// else one fragment per frame, else by where a new codestream starts.
func splitFrames(bot []byte, frags [][]byte, n int) ([][]byte, error) {
	if len(frags) == 0 {
		return nil, errors.New("encapsulated pixel data has no fragments")
	}
	if n == 1 {
		return [][]byte{concat(frags)}, nil
	}
	if len(bot) == 4*n {
		// Offsets count from the first fragment's item tag; each item adds
		// an 8-byte header.
		starts := make([]int, len(frags))
		pos := 0
		for i, f := range frags {
			starts[i] = pos
			pos += 8 + len(f)
		}
		out := make([][]byte, n)
		fi := 0
		for f := 0; f < n; f++ {
			off := int(binary.LittleEndian.Uint32(bot[4*f:]))
			end := pos
			if f+1 < n {
				end = int(binary.LittleEndian.Uint32(bot[4*f+4:]))
			}
			if fi >= len(frags) || starts[fi] != off || end < off {
				return nil, fmt.Errorf("basic offset table entry %d (%d) does not start a fragment", f, off)
			}
			var parts [][]byte
			for fi < len(frags) && starts[fi] < end {
				parts = append(parts, frags[fi])
				fi++
			}
			out[f] = concat(parts)
		}
		return out, nil
	}
	if len(frags) == n {
		return frags, nil
	}
	// No table: JPEG family and JPEG 2000 codestreams start with a marker
	// (SOI FFD8, SOC FF4F) that continuation fragments rarely begin with.
	var out [][]byte
	var cur [][]byte
	for i, f := range frags {
		if i > 0 && len(f) >= 2 && f[0] == 0xFF && (f[1] == 0xD8 || f[1] == 0x4F) {
			out = append(out, concat(cur))
			cur = nil
		}
		cur = append(cur, f)
	}
	out = append(out, concat(cur))
	if len(out) != n {
		return nil, fmt.Errorf("cannot assemble %d fragments into %d frames without an offset table", len(frags), n)
	}
	return out, nil
}

func concat(parts [][]byte) []byte {
	if len(parts) == 1 {
		return parts[0]
	}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func swapBytes(b []byte, size int) {
	for i := 0; i+size <= len(b); i += size {
		for a, z := i, i+size-1; a < z; a, z = a+1, z-1 {
			b[a], b[z] = b[z], b[a]
		}
	}
}

// put writes the image at (x0, y0) of a little-endian frame into data at
// offset, masked to BitsStored, sign-extended, and inverted for MONOCHROME1.
func (s *Series) put(data any, offset int, src []byte, x0, y0 int) {
	c := conv{bpp: s.pix.bitsAllocated / 8, stride: s.frameCols, x0: x0, y0: y0, rows: s.Rows, cols: s.Cols,
		bits: uint(s.pix.bitsStored), signed: s.pix.signed, mono1: s.pix.photometric == "MONOCHROME1", pivot: s.mono1Pivot()}
	n := s.Rows * s.Cols
	switch d := data.(type) {
	case []uint8:
		convert(c, d[offset:offset+n], src)
	case []int8:
		convert(c, d[offset:offset+n], src)
	case []uint16:
		convert(c, d[offset:offset+n], src)
	case []int16:
		convert(c, d[offset:offset+n], src)
	case []uint32:
		convert(c, d[offset:offset+n], src)
	case []int32:
		convert(c, d[offset:offset+n], src)
	}
}

type conv struct {
	bpp, stride, x0, y0, rows, cols int
	bits                            uint
	signed, mono1                   bool
	pivot                           int64
}

type integer interface {
	~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32
}

// convert is the hot loop of Load. The library's native frames hold every
// sample as an int in per-frame slices (8 bytes a sample, allocated per
// frame); we read the little-endian bytes straight into the volume instead.
func convert[T integer](c conv, dst []T, src []byte) {
	mask := uint32(1)<<c.bits - 1
	if c.bits >= 32 {
		mask = ^uint32(0)
	}
	sign := uint32(1) << (c.bits - 1)
	full := int64(mask) + 1
	le := binary.LittleEndian
	for y := 0; y < c.rows; y++ {
		row := src[((c.y0+y)*c.stride+c.x0)*c.bpp:]
		out := dst[y*c.cols : (y+1)*c.cols]
		if c.bpp == 2 && !c.mono1 {
			// The common case, kept branch-free: mask to BitsStored, and
			// sign-extend by shifting the sign bit to the top and back.
			// The loops are split by sign and index a row cut to length,
			// so that the compiler drops the bounds checks: 2x faster.
			m, sh := uint16(mask), 16-c.bits
			row = row[:2*len(out)]
			if c.signed {
				for x := range out {
					v := (uint16(row[2*x]) | uint16(row[2*x+1])<<8) & m
					out[x] = T(int16(v<<sh) >> sh)
				}
			} else {
				// Four samples at a time, masked as one uint64.
				m4 := uint64(m) * 0x0001000100010001
				x := 0
				for ; x+4 <= len(out); x += 4 {
					v := le.Uint64(row[2*x:]) & m4
					o := out[x : x+4 : x+4]
					o[0], o[1], o[2], o[3] = T(uint16(v)), T(uint16(v>>16)), T(uint16(v>>32)), T(uint16(v>>48))
				}
				for ; x < len(out); x++ {
					out[x] = T((uint16(row[2*x]) | uint16(row[2*x+1])<<8) & m)
				}
			}
			continue
		}
		for x := range out {
			var raw uint32
			switch c.bpp {
			case 1:
				raw = uint32(row[x])
			case 2:
				raw = uint32(le.Uint16(row[2*x:]))
			default:
				raw = le.Uint32(row[4*x:])
			}
			raw &= mask
			v := int64(raw)
			if c.signed && raw&sign != 0 {
				v -= full
			}
			if c.mono1 {
				v = c.pivot - v
			}
			out[x] = T(v)
		}
	}
}
