package seg

import (
	"crypto/rand"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"

	dcm "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/segvolapp/segvol/viewer/dicom"
)

// builder makes library elements and keeps the first error, so the data set
// reads as a list instead of a ladder of error checks.
type builder struct{ err error }

// el makes an element of the tag's dictionary VR. v is a string, []string,
// int, []int, float64 (written as DS), []float64 (DS), or [][]*dcm.Element
// (a sequence).
func (b *builder) el(t tag.Tag, v any) *dcm.Element {
	switch x := v.(type) {
	case string:
		v = []string{x}
	case int:
		v = []int{x}
	case float64:
		v = []string{ds(x)}
	case []float64:
		s := make([]string, len(x))
		for i, f := range x {
			s[i] = ds(f)
		}
		v = s
	}
	e, err := dcm.NewElement(t, v)
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("element %v: %w", t, err)
	}
	return e
}

// seq makes a sequence of the given items.
func (b *builder) seq(t tag.Tag, items ...[]*dcm.Element) *dcm.Element {
	for _, it := range items {
		sortElements(it)
	}
	return b.el(t, items)
}

// code makes a one-item code sequence.
func (b *builder) code(t tag.Tag, c Code) *dcm.Element {
	return b.seq(t, []*dcm.Element{
		b.el(tag.CodeValue, c.Value),
		b.el(tag.CodingSchemeDesignator, c.Scheme),
		b.el(tag.CodeMeaning, c.Meaning),
	})
}

// sortElements puts elements in ascending tag order, as DICOM requires.
func sortElements(el []*dcm.Element) {
	sort.SliceStable(el, func(i, j int) bool {
		a, b := el[i].Tag, el[j].Tag
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		return a.Element < b.Element
	})
}

// ds formats a number as a Decimal String (at most 16 characters).
func ds(f float64) string {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return "0"
	}
	for prec := 10; prec > 0; prec-- {
		s := strconv.FormatFloat(f, 'g', prec, 64)
		if len(s) <= 16 {
			return s
		}
	}
	return "0"
}

// newUID returns a UID under the 2.25 root: a random 122-bit UUID (version
// 4) as a decimal number, as PS3.5 B.2 allows without a registered root.
func newUID() (string, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", err
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return "2.25." + new(big.Int).SetBytes(u[:]).String(), nil
}

// Value helpers over parsed elements, on viewer/dicom's.

func items(el []*dcm.Element, t tag.Tag) [][]*dcm.Element { return dicom.Items(el, t) }

func first(el []*dcm.Element, t tag.Tag) []*dcm.Element {
	if it := items(el, t); len(it) > 0 {
		return it[0]
	}
	return nil
}

func num(el []*dcm.Element, t tag.Tag, def float64) float64 {
	if f := dicom.Floats(el, t); len(f) > 0 {
		return f[0]
	}
	return def
}

func code(el []*dcm.Element, t tag.Tag) Code {
	it := first(el, t)
	return Code{dicom.String(it, tag.CodeValue), dicom.String(it, tag.CodingSchemeDesignator), dicom.String(it, tag.CodeMeaning)}
}
