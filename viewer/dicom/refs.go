package dicom

import (
	"fmt"

	dcm "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// Object is one DICOM file read whole for a derived-object reader or
// writer (DICOM SEG): its top-level elements and its native pixel bytes.
type Object struct {
	// Elements are the top-level elements before the pixel data (the file
	// meta group included), as the library parses them.
	Elements       []*dcm.Element
	TransferSyntax string
	// Pixels is the value of a native PixelData element; nil when the file
	// has none or its pixel data is encapsulated.
	Pixels []byte
}

// ReadObject reads one DICOM file with every length checked against the
// file before the library sees it (see rawFile).
func ReadObject(path string) (*Object, error) {
	r, err := readRaw(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// The buffer stays with the Object (Pixels aliases it), so it is not
	// released to the pool.
	el, err := parseHeaderElements(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	o := &Object{Elements: el, TransferSyntax: r.ts}
	if r.pixTag >= 0 && r.pixLen >= 0 {
		o.Pixels = r.data[r.pixValue : r.pixValue+r.pixLen]
	}
	return o, nil
}

// SliceRef is the stored image behind one slice of a loaded series: the
// instance (and frame) that holds it and where it lies.
type SliceRef struct {
	File                        string
	SOPClassUID, SOPInstanceUID string
	// Frame is the 1-based frame number in a multi-frame file, 0 for a
	// single-frame one.
	Frame int
	// Position is the ImagePositionPatient of the image (LPS, mm).
	Position    [3]float64
	HasPosition bool
}

// SliceRefs lists the images Load turns into slices, in slice order: one per
// slice unless Load resamples an irregular series (then match by Position).
// Each file's header is read again for its SOP Class and Instance UIDs.
func (s *Series) SliceRefs() ([]SliceRef, error) {
	p, err := plan(s)
	if err != nil {
		return nil, err
	}
	uids := map[string][2]string{}
	out := make([]SliceRef, 0, len(p.images))
	for _, im := range p.images {
		u, ok := uids[im.file]
		if !ok {
			o, err := ReadObject(im.file)
			if err != nil {
				return nil, err
			}
			u = [2]string{str(o.Elements, tag.SOPClassUID), str(o.Elements, tag.SOPInstanceUID)}
			// Anonymisers sometimes blank the data set's UIDs and leave
			// the file meta group's copies.
			if u[0] == "" {
				u[0] = str(o.Elements, tag.MediaStorageSOPClassUID)
			}
			if u[1] == "" {
				u[1] = str(o.Elements, tag.MediaStorageSOPInstanceUID)
			}
			if u[1] == "" {
				return nil, fmt.Errorf("%s: no SOPInstanceUID", im.file)
			}
			uids[im.file] = u
		}
		ref := SliceRef{File: im.file, SOPClassUID: u[0], SOPInstanceUID: u[1],
			Position: im.pos, HasPosition: im.hasPos}
		if s.files[im.file].frames > 1 {
			ref.Frame = im.frame + 1
		}
		out = append(out, ref)
	}
	return out, nil
}

// Value helpers over an Object's elements, for packages that read derived
// objects with the same rules as this one.

// Find returns the element of tag t in el, or nil.
func Find(el []*dcm.Element, t tag.Tag) *dcm.Element { return find(el, t) }

// Items returns the items of the sequence of tag t in el.
func Items(el []*dcm.Element, t tag.Tag) [][]*dcm.Element { return seqItems(find(el, t)) }

// String returns the first value of a string element, trimmed; "" if absent.
func String(el []*dcm.Element, t tag.Tag) string { return str(el, t) }

// Floats reads DS/IS strings or binary numbers; nil when absent or unreadable.
func Floats(el []*dcm.Element, t tag.Tag) []float64 { return floats(el, t) }
