package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// Transfer syntaxes the walker needs to tell apart.
const (
	tsImplicitLE = "1.2.840.10008.1.2"
	tsExplicitLE = "1.2.840.10008.1.2.1"
	tsDeflatedLE = "1.2.840.10008.1.2.1.99"
	tsExplicitBE = "1.2.840.10008.1.2.2"
)

// maxInflated bounds what a deflated data set may expand to; the buffer grows
// only with the bytes actually inflated, so a small bomb cannot reserve it.
const maxInflated = 1 << 31

// maxDepth bounds sequence nesting so a crafted file cannot exhaust the stack.
const maxDepth = 32

// rawFile is one file's bytes and the layout our own walker found in them.
//
// suyashkumar/dicom v1.1.0 allocates a value's length before checking it
// against the bytes left (ReadString, readBytes), skips the Basic Offset Table
// and gives no byte offsets. So we walk the element lengths ourselves first:
// every length is checked against its enclosing item and the file before the
// library sees the bytes, and the walk locates the pixel data for Load.
type rawFile struct {
	path     string
	file     []byte // the file as stored
	data     []byte // the data set bytes (inflated for deflate); offsets below index it
	ts       string
	bo       binary.ByteOrder
	implicit bool
	pixTag   int // offset of the top-level PixelData tag in data, or -1
	pixValue int // offset of its value
	pixLen   int // its value length; -1 when encapsulated
}

// buffers recycles file buffers: a series is hundreds of same-sized files,
// and a fresh zeroed buffer per file costs as much as reading it.
var buffers sync.Pool

// readRaw reads and walks one file. Call release when done with it.
func readRaw(path string) (*rawFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	n := int(st.Size())
	var b []byte
	if p, ok := buffers.Get().(*[]byte); ok && cap(*p) >= n {
		b = (*p)[:n]
	} else {
		b = make([]byte, n)
	}
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, err
	}
	return parseRaw(path, b)
}

// release hands the file buffer back for reuse; r must not be used after.
func (r *rawFile) release() {
	b := r.file[:0]
	buffers.Put(&b)
}

// parseRaw walks the file meta group and the data set of b.
func parseRaw(path string, b []byte) (*rawFile, error) {
	r := &rawFile{path: path, file: b, pixTag: -1}
	start := 0
	if len(b) >= 132 && string(b[128:132]) == "DICM" {
		ts, end, err := readMeta(b)
		if err != nil {
			return nil, err
		}
		r.ts, start = ts, end
	} else {
		r.ts = guessSyntax(b)
		if r.ts == "" {
			return nil, errors.New("not a DICOM file (no DICM marker and no readable data set)")
		}
	}
	r.data = b[start:]
	r.bo, r.implicit = binary.ByteOrder(binary.LittleEndian), false
	switch r.ts {
	case tsImplicitLE:
		r.implicit = true
	case tsExplicitBE:
		r.bo = binary.BigEndian
	case tsDeflatedLE:
		inflated, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b[start:])), maxInflated))
		if err != nil {
			return nil, fmt.Errorf("inflating deflated data set: %w", err)
		}
		r.data = inflated
	}
	w := walker{b: r.data, bo: r.bo, r: r}
	if _, err := w.dataset(0, len(r.data), r.implicit, 0, false); err != nil {
		return nil, err
	}
	return r, nil
}

// header is the bytes to hand to the library: everything before the pixel
// data, so it never reads (or allocates) the voxels.
func (r *rawFile) header() []byte {
	if r.ts == tsDeflatedLE {
		return r.file
	}
	if r.pixTag < 0 {
		return r.file
	}
	return r.file[:len(r.file)-len(r.data)+r.pixTag]
}

// readMeta reads the file meta group (always explicit VR little endian) and
// returns the transfer syntax and the offset of the data set.
func readMeta(b []byte) (ts string, end int, err error) {
	off := 132
	for off+8 <= len(b) && binary.LittleEndian.Uint16(b[off:]) == 2 {
		el := binary.LittleEndian.Uint16(b[off+2:])
		vr := string(b[off+4 : off+6])
		hdr, n := 8, int(binary.LittleEndian.Uint16(b[off+6:]))
		if longVR(vr) {
			if off+12 > len(b) {
				return "", 0, errTruncated
			}
			hdr, n = 12, int(binary.LittleEndian.Uint32(b[off+8:]))
		}
		if n < 0 || off+hdr+n > len(b) || n == 0xFFFFFFFF {
			return "", 0, fmt.Errorf("file meta element (0002,%04X) runs past the end of the file", el)
		}
		if el == 0x0010 {
			ts = string(bytes.TrimRight(b[off+hdr:off+hdr+n], "\x00 "))
		}
		off += hdr + n
	}
	if ts == "" {
		// Some writers omit it; the data set then is implicit little endian
		// or says what it is by its VR bytes.
		ts = guessSyntax(b[off:])
		if ts == "" {
			return "", 0, errors.New("file meta group has no transfer syntax and the data set is unreadable")
		}
	}
	return ts, off, nil
}

// guessSyntax tells implicit from explicit little endian (and explicit big
// endian) by whether the first element's bytes 4-5 look like a VR.
func guessSyntax(b []byte) string {
	if len(b) < 8 {
		return ""
	}
	group := binary.LittleEndian.Uint16(b)
	isVR := b[4] >= 'A' && b[4] <= 'Z' && b[5] >= 'A' && b[5] <= 'Z'
	switch {
	case group == 0x0008 && isVR:
		return tsExplicitLE
	case group == 0x0800 && isVR:
		return tsExplicitBE
	case group == 0x0008 || group == 0x0002:
		return tsImplicitLE
	}
	return ""
}

// longVR reports the explicit VRs with a 2-byte reserved field and a 4-byte
// length.
func longVR(vr string) bool {
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		return true
	}
	return false
}

var errTruncated = errors.New("file is truncated")

const undefinedLength = 0xFFFFFFFF

// walker checks element lengths over a data set.
type walker struct {
	b  []byte
	bo binary.ByteOrder
	r  *rawFile // where the top-level pixel data is recorded
}

// elemHdr is one element's header.
type elemHdr struct {
	group, elem uint16
	vr          string // "" in implicit VR
	val         int    // offset of the value
	vl          uint32
}

func (h elemHdr) isPixelData() bool { return h.group == 0x7FE0 && h.elem == 0x0010 }

// header reads the element header at off.
func (w walker) header(off, end int, implicit bool) (elemHdr, error) {
	if off+8 > end {
		return elemHdr{}, errTruncated
	}
	h := elemHdr{group: w.bo.Uint16(w.b[off:]), elem: w.bo.Uint16(w.b[off+2:]), val: off + 8}
	if implicit || h.group == 0xFFFE { // items and delimiters are always implicit
		h.vl = w.bo.Uint32(w.b[off+4:])
		return h, nil
	}
	h.vr = string(w.b[off+4 : off+6])
	if h.vr[0] < 'A' || h.vr[0] > 'Z' || h.vr[1] < 'A' || h.vr[1] > 'Z' {
		return h, fmt.Errorf("invalid VR at element (%04X,%04X)", h.group, h.elem)
	}
	if !longVR(h.vr) {
		h.vl = uint32(w.bo.Uint16(w.b[off+6:]))
		return h, nil
	}
	if off+12 > end {
		return h, errTruncated
	}
	h.val, h.vl = off+12, w.bo.Uint32(w.b[off+8:])
	return h, nil
}

// dataset walks the elements in b[off:end]. An undefined-length item
// (delimited) ends at its delimiter, whose end it returns. At depth 0 it
// records the pixel data in w.r and stops there.
func (w walker) dataset(off, end int, implicit bool, depth int, delimited bool) (int, error) {
	if depth > maxDepth {
		return 0, errors.New("sequences nested too deeply")
	}
	for off < end {
		h, err := w.header(off, end, implicit)
		if err != nil {
			return 0, err
		}
		if h.group == 0xFFFE && h.elem == 0xE00D {
			if !delimited {
				return 0, errors.New("item delimiter outside an undefined-length item")
			}
			return h.val, nil
		}
		if depth == 0 && h.isPixelData() {
			w.r.pixTag, w.r.pixValue, w.r.pixLen = off, h.val, -1
			if h.vl == undefinedLength {
				return end, nil
			}
			if int64(h.val)+int64(h.vl) > int64(end) {
				return 0, fmt.Errorf("pixel data claims %d bytes but only %d follow", h.vl, end-h.val)
			}
			w.r.pixLen = int(h.vl)
			return end, nil
		}
		if off, err = w.value(h, end, implicit, depth); err != nil {
			return 0, err
		}
	}
	if delimited {
		return 0, errTruncated
	}
	return off, nil
}

// value walks the value of h (nested items included) and returns its end.
func (w walker) value(h elemHdr, end int, implicit bool, depth int) (int, error) {
	if h.vl == undefinedLength {
		if h.isPixelData() || h.vr == "OB" || h.vr == "OW" {
			_, next, err := w.fragments(h.val, end)
			return next, err
		}
		// Else only a sequence may have an undefined length: the library
		// reads any other value by allocating its length first, 4 GB for
		// this one (a 4 KB file found by FuzzParse). A tag the dictionary
		// does not know may be a private sequence.
		if h.vr != "SQ" && h.vr != "UN" && (h.vr != "" || knownNotSequence(h.group, h.elem)) {
			return 0, fmt.Errorf("element (%04X,%04X) has an undefined length but is not a sequence", h.group, h.elem)
		}
		// The items of an undefined-length UN are implicit VR.
		return w.items(h.val, end, implicit || h.vr == "UN", depth+1, true)
	}
	if int64(h.val)+int64(h.vl) > int64(end) {
		return 0, fmt.Errorf("element (%04X,%04X) claims %d bytes but only %d remain", h.group, h.elem, h.vl, end-h.val)
	}
	next := h.val + int(h.vl)
	if h.vr == "SQ" || (h.vr == "" && isSequence(h.group, h.elem)) {
		if _, err := w.items(h.val, next, implicit, depth+1, false); err != nil {
			return 0, err
		}
	}
	return next, nil
}

// items walks the items of a sequence in b[off:end]; an undefined-length
// sequence (delimited) ends at its delimiter, whose end it returns.
func (w walker) items(off, end int, implicit bool, depth int, delimited bool) (int, error) {
	for off < end {
		h, err := w.header(off, end, true)
		if err != nil {
			return 0, err
		}
		switch {
		case h.group == 0xFFFE && h.elem == 0xE0DD && delimited:
			return h.val, nil
		case h.group != 0xFFFE || h.elem != 0xE000:
			return 0, fmt.Errorf("expected a sequence item, found (%04X,%04X)", h.group, h.elem)
		case h.vl == undefinedLength:
			off, err = w.dataset(h.val, end, implicit, depth, true)
		case int64(h.val)+int64(h.vl) > int64(end):
			return 0, fmt.Errorf("sequence item claims %d bytes but only %d remain", h.vl, end-h.val)
		default:
			off = h.val + int(h.vl)
			_, err = w.dataset(h.val, off, implicit, depth, false)
		}
		if err != nil {
			return 0, err
		}
	}
	if delimited {
		return 0, errTruncated
	}
	return off, nil
}

// fragments lists the items of encapsulated pixel data starting at off (the
// first is the Basic Offset Table) and returns the offset after the sequence
// delimiter. The fragments alias b.
func (w walker) fragments(off, end int) ([][]byte, int, error) {
	var out [][]byte
	for {
		h, err := w.header(off, end, true)
		if err != nil {
			return nil, 0, err
		}
		if h.group == 0xFFFE && h.elem == 0xE0DD {
			return out, h.val, nil
		}
		if h.group != 0xFFFE || h.elem != 0xE000 || h.vl == undefinedLength {
			return nil, 0, fmt.Errorf("malformed encapsulated pixel data at (%04X,%04X)", h.group, h.elem)
		}
		if int64(h.val)+int64(h.vl) > int64(end) {
			return nil, 0, fmt.Errorf("pixel data fragment claims %d bytes but only %d remain", h.vl, end-h.val)
		}
		off = h.val + int(h.vl)
		out = append(out, w.b[h.val:off])
	}
}

// isSequence reports whether the data dictionary knows the tag as a sequence,
// which implicit VR needs to find nested lengths.
func isSequence(group, elem uint16) bool {
	info, err := tag.Find(tag.Tag{Group: group, Element: elem})
	return err == nil && len(info.VRs) > 0 && info.VRs[0] == "SQ"
}

// knownNotSequence reports whether the data dictionary knows the tag as
// something other than a sequence.
func knownNotSequence(group, elem uint16) bool {
	info, err := tag.Find(tag.Tag{Group: group, Element: elem})
	return err == nil && len(info.VRs) > 0 && info.VRs[0] != "SQ"
}

// frameFragments lists the fragments of the top-level encapsulated pixel
// data; the first is the Basic Offset Table (possibly empty).
func (r *rawFile) frameFragments() ([][]byte, error) {
	w := walker{b: r.data, bo: r.bo}
	f, _, err := w.fragments(r.pixValue, len(r.data))
	if err != nil {
		return nil, err
	}
	if len(f) == 0 {
		return nil, errors.New("encapsulated pixel data has no Basic Offset Table item")
	}
	return f, nil
}
