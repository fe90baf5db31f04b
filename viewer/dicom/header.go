package dicom

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	dcm "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/segvolapp/segvol/viewer/volume"
)

// pixelFormat is how the stored samples are laid out; images of one series
// share it.
type pixelFormat struct {
	samples, bitsAllocated, bitsStored int
	signed                             bool
	photometric                        string
}

// image is one 2D image: a frame of a file, or one tile of a Siemens mosaic.
type image struct {
	file   string
	frame  int // frame number in the file, 0-based
	tile   int // mosaic tile, or -1
	pos    [3]float64
	hasPos bool
	// slope and intercept rescale the stored values of this image.
	slope, intercept float64
	// temporal and instance order images at one position of a 4D series.
	temporal, instance int
}

// fileInfo is what Scan learns from one file's header.
type fileInfo struct {
	path               string
	ts                 string
	seriesUID, number  string
	rows, cols         int // of the stored frame (a whole mosaic)
	tileRows, tileCols int // of one image (differs from rows/cols for a mosaic)
	mosaicGrid         int // tiles per mosaic row, 0 when not a mosaic
	iop                [6]float64
	hasIOP             bool
	spacing            [2]float64 // PixelSpacing: between rows, between columns
	thickness, between float64
	pix                pixelFormat
	meta               volume.Meta
	images             []image
	frames             int
	nonImageReason     string
	encapsulatedBytes  int64
}

// parseHeader reads the header of one walked file.
func parseHeader(r *rawFile) (*fileInfo, error) {
	el, err := parseHeaderElements(r)
	if err != nil {
		return nil, err
	}
	return describe(r, el)
}

// parseHeaderElements parses the bytes before the pixel data with the
// library and returns the top-level elements.
func parseHeaderElements(r *rawFile) (el []*dcm.Element, err error) {
	// The library panics on some malformed input; a bad file must be an
	// error, never a crash.
	defer func() {
		if p := recover(); p != nil {
			el, err = nil, fmt.Errorf("malformed DICOM header: %v", p)
		}
	}()
	hdr := r.header()
	ds, err := dcm.Parse(bytes.NewReader(hdr), int64(len(hdr)), nil, dcm.SkipPixelData(),
		dcm.AllowMissingMetaElementGroupLength(), dcm.AllowUnknownSpecificCharacterSet())
	if err != nil {
		return nil, fmt.Errorf("reading DICOM header: %w", err)
	}
	return ds.Elements, nil
}

// describe turns the top-level elements of one file into a fileInfo.
func describe(r *rawFile, el []*dcm.Element) (*fileInfo, error) {
	fi := &fileInfo{path: r.path, ts: r.ts}
	fi.seriesUID = str(el, tag.SeriesInstanceUID)
	fi.number = str(el, tag.SeriesNumber)
	modality := str(el, tag.Modality)
	fi.meta = volume.Meta{
		Format:            "DICOM",
		Modality:          modality,
		PatientName:       str(el, tag.PatientName),
		PatientID:         str(el, tag.PatientID),
		StudyDescription:  str(el, tag.StudyDescription),
		SeriesDescription: str(el, tag.SeriesDescription),
		StudyInstanceUID:  str(el, tag.StudyInstanceUID),
		SeriesInstanceUID: fi.seriesUID,
		SeriesNumber:      fi.number,
		Manufacturer:      str(el, tag.Manufacturer),
		TransferSyntax:    r.ts,
		Windows:           windows(el),
	}
	if reason := nonImage(r, el, modality); reason != "" {
		fi.nonImageReason = reason
		return fi, nil
	}
	fi.rows, fi.cols = intOf(el, tag.Rows, 0), intOf(el, tag.Columns, 0)
	fi.tileRows, fi.tileCols = fi.rows, fi.cols
	fi.pix = pixelFormat{
		samples:       intOf(el, tag.SamplesPerPixel, 1),
		bitsAllocated: intOf(el, tag.BitsAllocated, 0),
		bitsStored:    intOf(el, tag.BitsStored, 0),
		signed:        intOf(el, tag.PixelRepresentation, 0) == 1,
		photometric:   str(el, tag.PhotometricInterpretation),
	}
	if fi.pix.bitsStored <= 0 || fi.pix.bitsStored > fi.pix.bitsAllocated {
		fi.pix.bitsStored = fi.pix.bitsAllocated
	}
	if fi.rows <= 0 || fi.cols <= 0 {
		return nil, fmt.Errorf("image has %d rows and %d columns", fi.rows, fi.cols)
	}
	switch fi.pix.bitsAllocated {
	case 8, 16, 32:
	default:
		return nil, fmt.Errorf("unsupported BitsAllocated %d", fi.pix.bitsAllocated)
	}
	if fi.pix.samples < 1 || fi.pix.samples > 4 {
		return nil, fmt.Errorf("invalid SamplesPerPixel %d", fi.pix.samples)
	}
	fi.frames = intOf(el, tag.NumberOfFrames, 1)
	if fi.frames < 1 {
		fi.frames = 1
	}
	if err := fi.checkPixelBytes(r); err != nil {
		return nil, err
	}
	fi.thickness = floatOf(el, tag.SliceThickness, 0)
	fi.between = floatOf(el, tag.SpacingBetweenSlices, 0)
	fi.spacing = pixelSpacing(el)
	fi.iop, fi.hasIOP = orientation(el)
	base := image{file: r.path, tile: -1, slope: 1, instance: intOf(el, tag.InstanceNumber, 0),
		temporal: intOf(el, tag.TemporalPositionIdentifier, 0)}
	base.slope, base.intercept = rescale(el, 1, 0)
	base.pos, base.hasPos = vec3(el, tag.ImagePositionPatient)
	if isMosaic(el) {
		return fi, fi.unpackMosaic(el, base)
	}
	if fi.frames > 1 || find(el, tag.PerFrameFunctionalGroupsSequence) != nil {
		return fi, fi.enhancedFrames(el, base)
	}
	fi.images = []image{base}
	return fi, nil
}

// checkPixelBytes compares the claimed image size with the bytes present
// before anything is allocated from it.
func (fi *fileInfo) checkPixelBytes(r *rawFile) error {
	if r.pixLen < 0 {
		fi.encapsulatedBytes = int64(len(r.data) - r.pixValue)
		// One fragment holds at least one byte per frame; a header claiming
		// more frames than the file has bytes is a lie.
		if fi.frames > len(r.data)-r.pixValue {
			return fmt.Errorf("header claims %d frames but the pixel data holds only %d bytes", fi.frames, len(r.data)-r.pixValue)
		}
		return nil
	}
	want := int64(fi.rows) * int64(fi.cols) * int64(fi.pix.samples) * int64(fi.pix.bitsAllocated/8) * int64(fi.frames)
	got := int64(r.pixLen)
	// An odd byte count is padded to even length.
	if got != want && !(got == want+1 && want%2 == 1) {
		return fmt.Errorf("pixel data holds %d bytes but %dx%d x %d frames x %d bits needs %d",
			got, fi.cols, fi.rows, fi.frames, fi.pix.bitsAllocated, want)
	}
	return nil
}

// Non-image SOP classes and modalities: they have no grayscale volume to show.
var nonImageModalities = map[string]string{
	"SR": "structured report", "RTSTRUCT": "RT structure set", "RTPLAN": "RT plan",
	"PR": "presentation state", "KO": "key object selection", "SEG": "segmentation object",
	"REG": "registration", "RTRECORD": "RT treatment record", "ECG": "waveform", "DOC": "encapsulated document",
}

// NonImageModality says what a series of a non-image modality holds
// ("segmentation object" for SEG), or "" for a modality that may be an
// image: a PACS browser leaves those series out of what it offers to open.
func NonImageModality(modality string) string { return nonImageModalities[modality] }

// nonImage says why a file is not an image we can load, or "".
func nonImage(r *rawFile, el []*dcm.Element, modality string) string {
	if why, ok := nonImageModalities[modality]; ok {
		return fmt.Sprintf("%s (%s), not an image", modality, why)
	}
	if find(el, tag.DirectoryRecordSequence) != nil {
		return "DICOMDIR index, not an image"
	}
	if r.pixTag < 0 {
		if find(el, tag.FloatPixelData) != nil || find(el, tag.DoubleFloatPixelData) != nil {
			return "float pixel data is not supported"
		}
		return "no pixel data, not an image"
	}
	if intOf(el, tag.BitsAllocated, 0) == 1 {
		return "1-bit pixel data (a mask), not an image"
	}
	return ""
}

// enhancedFrames lists the frames of a multi-frame file, with per-frame
// positions and rescale from the functional groups of an enhanced CT/MR.
func (fi *fileInfo) enhancedFrames(el []*dcm.Element, base image) error {
	shared := firstItem(find(el, tag.SharedFunctionalGroupsSequence))
	perFrame := seqItems(find(el, tag.PerFrameFunctionalGroupsSequence))
	if pm := firstItem(find(shared, tag.PixelMeasuresSequence)); pm != nil {
		fi.spacing = pixelSpacing(pm)
		fi.thickness = floatOf(pm, tag.SliceThickness, fi.thickness)
		fi.between = floatOf(pm, tag.SpacingBetweenSlices, fi.between)
	}
	if po := firstItem(find(shared, tag.PlaneOrientationSequence)); po != nil {
		fi.iop, fi.hasIOP = orientation(po)
	}
	if pv := firstItem(find(shared, tag.PixelValueTransformationSequence)); pv != nil {
		base.slope, base.intercept = rescale(pv, base.slope, base.intercept)
	}
	if len(perFrame) > 0 && len(perFrame) != fi.frames {
		return fmt.Errorf("%d per-frame functional groups for %d frames", len(perFrame), fi.frames)
	}
	fi.images = make([]image, fi.frames)
	for f := range fi.images {
		im := base
		im.frame, im.instance = f, f
		if f < len(perFrame) {
			g := perFrame[f]
			if pp := firstItem(find(g, tag.PlanePositionSequence)); pp != nil {
				im.pos, im.hasPos = vec3(pp, tag.ImagePositionPatient)
			}
			if pv := firstItem(find(g, tag.PixelValueTransformationSequence)); pv != nil {
				im.slope, im.intercept = rescale(pv, im.slope, im.intercept)
			}
			if fc := firstItem(find(g, tag.FrameContentSequence)); fc != nil {
				im.temporal = intOf(fc, tag.TemporalPositionIndex, im.temporal)
			}
			if po := firstItem(find(g, tag.PlaneOrientationSequence)); po != nil && f == 0 {
				// Per-frame orientation: frames of one enhanced series share
				// it in practice; the first frame's stands for all.
				fi.iop, fi.hasIOP = orientation(po)
			}
			if pm := firstItem(find(g, tag.PixelMeasuresSequence)); pm != nil && f == 0 {
				fi.spacing = pixelSpacing(pm)
				fi.thickness = floatOf(pm, tag.SliceThickness, fi.thickness)
			}
		} else if f > 0 {
			im.hasPos = false // a plain multi-frame file: one position for all frames
		}
		fi.images[f] = im
	}
	return nil
}

// Value helpers over the library's elements.

func find(el []*dcm.Element, t tag.Tag) *dcm.Element {
	for _, e := range el {
		if e.Tag == t {
			return e
		}
	}
	return nil
}

func seqItems(e *dcm.Element) [][]*dcm.Element {
	if e == nil {
		return nil
	}
	items, ok := e.Value.GetValue().([]*dcm.SequenceItemValue)
	if !ok {
		return nil
	}
	out := make([][]*dcm.Element, 0, len(items))
	for _, it := range items {
		if v, ok := it.GetValue().([]*dcm.Element); ok {
			out = append(out, v)
		}
	}
	return out
}

func firstItem(e *dcm.Element) []*dcm.Element {
	items := seqItems(e)
	if len(items) == 0 {
		return nil
	}
	return items[0]
}

func strs(el []*dcm.Element, t tag.Tag) []string {
	e := find(el, t)
	if e == nil {
		return nil
	}
	v, _ := e.Value.GetValue().([]string)
	return v
}

func str(el []*dcm.Element, t tag.Tag) string {
	s := strs(el, t)
	if len(s) == 0 {
		return ""
	}
	return strings.TrimSpace(strings.TrimRight(s[0], "\x00"))
}

// floats reads DS/IS strings or FL/FD/US/SS numbers as float64.
func floats(el []*dcm.Element, t tag.Tag) []float64 {
	e := find(el, t)
	if e == nil {
		return nil
	}
	switch v := e.Value.GetValue().(type) {
	case []float64:
		return v
	case []int:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	case []string:
		out := make([]float64, 0, len(v))
		for _, s := range v {
			f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimRight(s, "\x00")), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil
			}
			out = append(out, f)
		}
		return out
	}
	return nil
}

func floatOf(el []*dcm.Element, t tag.Tag, def float64) float64 {
	if f := floats(el, t); len(f) > 0 {
		return f[0]
	}
	return def
}

func intOf(el []*dcm.Element, t tag.Tag, def int) int {
	f := floatOf(el, t, math.NaN())
	if math.IsNaN(f) || math.Abs(f) > 1<<31 {
		return def
	}
	return int(f)
}

func vec3(el []*dcm.Element, t tag.Tag) ([3]float64, bool) {
	f := floats(el, t)
	if len(f) < 3 {
		return [3]float64{}, false
	}
	return [3]float64{f[0], f[1], f[2]}, true
}

func orientation(el []*dcm.Element) ([6]float64, bool) {
	f := floats(el, tag.ImageOrientationPatient)
	var o [6]float64
	if len(f) < 6 {
		return o, false
	}
	copy(o[:], f)
	r, c := [3]float64{o[0], o[1], o[2]}, [3]float64{o[3], o[4], o[5]}
	if math.Abs(norm(r)-1) > 0.01 || math.Abs(norm(c)-1) > 0.01 || math.Abs(dot(r, c)) > 0.01 {
		return o, false
	}
	return o, true
}

func pixelSpacing(el []*dcm.Element) [2]float64 {
	if f := floats(el, tag.PixelSpacing); len(f) >= 2 && f[0] > 0 && f[1] > 0 {
		return [2]float64{f[0], f[1]}
	}
	if f := floats(el, tag.ImagerPixelSpacing); len(f) >= 2 && f[0] > 0 && f[1] > 0 {
		return [2]float64{f[0], f[1]}
	}
	return [2]float64{}
}

func rescale(el []*dcm.Element, slope, intercept float64) (float64, float64) {
	if s := floatOf(el, tag.RescaleSlope, 0); s != 0 {
		slope = s
	}
	return slope, floatOf(el, tag.RescaleIntercept, intercept)
}

// windows pairs WindowCenter and WindowWidth values with their explanations.
func windows(el []*dcm.Element) []volume.Window {
	c, w := floats(el, tag.WindowCenter), floats(el, tag.WindowWidth)
	names := strs(el, tag.WindowCenterWidthExplanation)
	var out []volume.Window
	for i := 0; i < len(c) && i < len(w); i++ {
		if w[i] <= 0 {
			continue
		}
		win := volume.Window{Center: c[i], Width: w[i]}
		if i < len(names) {
			win.Name = strings.TrimSpace(names[i])
		}
		out = append(out, win)
	}
	return out
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

func norm(a [3]float64) float64 { return math.Sqrt(dot(a, a)) }

func cross(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

func sub(a, b [3]float64) [3]float64 { return [3]float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }

func scale(a [3]float64, s float64) [3]float64 { return [3]float64{a[0] * s, a[1] * s, a[2] * s} }

func add(a, b [3]float64) [3]float64 { return [3]float64{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }
