package seg

import (
	"errors"
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"strings"
	"time"

	dcm "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/segvolapp/segvol/internal/atomicfile"
	"github.com/segvolapp/segvol/viewer/dicom"
	"github.com/segvolapp/segvol/viewer/volume"
)

// Source is what a SEG needs of the series it was drawn on.
type Source struct {
	// Header is the top-level elements of one source file: the patient,
	// study and equipment attributes the SEG copies.
	Header []*dcm.Element
	// Refs are the source images, matched to slices by position.
	Refs []dicom.SliceRef
	// The source's study, series and frame of reference. SourceOf makes
	// up a UID the files lack (anonymised data), with a warning.
	StudyInstanceUID, SeriesInstanceUID, FrameOfReferenceUID string
	Warnings                                                 []string
}

// SourceOf reads the references of a scanned series (the one the volume
// given to Write was loaded from).
func SourceOf(s *dicom.Series) (*Source, error) {
	refs, err := s.SliceRefs()
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("series %s has no images", s.UID)
	}
	o, err := dicom.ReadObject(refs[0].File)
	if err != nil {
		return nil, err
	}
	src := &Source{Header: o.Elements, Refs: refs}
	for _, u := range []struct {
		dst  *string
		t    tag.Tag
		what string
	}{
		{&src.StudyInstanceUID, tag.StudyInstanceUID, "study"},
		{&src.SeriesInstanceUID, tag.SeriesInstanceUID, "series"},
		{&src.FrameOfReferenceUID, tag.FrameOfReferenceUID, "frame of reference"},
	} {
		if *u.dst = dicom.String(o.Elements, u.t); *u.dst != "" {
			continue
		}
		if *u.dst, err = newUID(); err != nil {
			return nil, err
		}
		src.Warnings = append(src.Warnings, fmt.Sprintf("the source files have no %s UID: the SEG names a new one, so viewers will not link it to its source by that UID", u.what))
	}
	return src, nil
}

// posTol is how far (in voxels) a source image may sit from a slice of the
// grid and still be its source.
const posTol = 0.05

// frame is one stored frame: slice k of segment index s.
type frame struct{ s, k int }

// planes is where the voxels come from: one mask per segment, or a label
// map whose values are the segment numbers.
type planes interface {
	// frames lists the (segment, slice) pairs that hold voxels, segment by
	// segment, slices ascending.
	frames() []frame
	// plane fills dst (one slice) with the frame's mask, non-zero inside.
	plane(f frame, dst []uint8)
	// overlap is the SegmentsOverlap value.
	overlap() string
}

// Write saves masks (one per segment, each of img.Len() voxels, non-zero
// inside) as a binary DICOM SEG at path, atomically. Only frames holding
// segment voxels are stored; img must be the volume loaded from src.
func Write(path string, src *Source, img *volume.Volume, masks [][]uint8, segs []Segment) error {
	if err := checkMasks(img, masks, segs); err != nil {
		return fmt.Errorf("seg: cannot write %s: %w", path, err)
	}
	return write(path, src, img, segs, maskPlanes{masks, img.Dims})
}

// WriteLabelMap saves a label map (integer voxels in img's grid, 0 outside
// every segment) as a binary DICOM SEG: each segment is the voxels whose
// value is its Number; values no segment names are left out. It holds no
// copy of the voxels, where Write needs a whole mask per segment.
func WriteLabelMap(path string, src *Source, img, labels *volume.Volume, segs []Segment) error {
	lp, err := newLabelPlanes(labels, img, segs)
	if err != nil {
		return fmt.Errorf("seg: cannot write %s: %w", path, err)
	}
	return write(path, src, img, segs, lp)
}

func write(path string, src *Source, img *volume.Volume, segs []Segment, p planes) error {
	if err := check(src, img, segs); err != nil {
		return fmt.Errorf("seg: cannot write %s: %w", path, err)
	}
	slices, err := matchSlices(src.Refs, img)
	if err != nil {
		return fmt.Errorf("seg: cannot write %s: %w", path, err)
	}
	frames := p.frames()
	if len(frames) == 0 {
		return fmt.Errorf("seg: cannot write %s: every segment is empty", path)
	}
	ds, err := dataset(src, img, p, segs, slices, frames)
	if err != nil {
		return fmt.Errorf("seg: cannot write %s: %w", path, err)
	}
	if err := writeAtomic(path, ds); err != nil {
		return fmt.Errorf("seg: writing %s: %w", path, err)
	}
	return nil
}

func checkMasks(img *volume.Volume, masks [][]uint8, segs []Segment) error {
	if len(masks) != len(segs) {
		return fmt.Errorf("%d masks for %d segments", len(masks), len(segs))
	}
	for i, m := range masks {
		if img != nil && len(m) != img.Len() {
			return fmt.Errorf("segment %d: mask has %d voxels, the image %d", segs[i].Number, len(m), img.Len())
		}
	}
	return nil
}

func check(src *Source, img *volume.Volume, segs []Segment) error {
	if src == nil || len(src.Refs) == 0 {
		return errors.New("no source DICOM series to reference")
	}
	if src.StudyInstanceUID == "" || src.SeriesInstanceUID == "" || src.FrameOfReferenceUID == "" {
		return errors.New("the source lacks its study, series or frame of reference UID")
	}
	if img == nil || img.Len() == 0 {
		return errors.New("no image")
	}
	if len(segs) == 0 {
		return errors.New("no segments")
	}
	seen := map[int]bool{}
	for i, s := range segs {
		if s.Number < 1 || s.Number > 65535 || seen[s.Number] {
			return fmt.Errorf("segment %d: number %d is outside 1..65535 or repeated", i+1, s.Number)
		}
		seen[s.Number] = true
		switch s.Algorithm {
		case "", "MANUAL", "SEMIAUTOMATIC", "AUTOMATIC":
		default:
			return fmt.Errorf("segment %d: algorithm type %q is not MANUAL, SEMIAUTOMATIC or AUTOMATIC", s.Number, s.Algorithm)
		}
	}
	return nil
}

// matchSlices finds the source image of each slice of img by position
// (by order when the images have none): nil entries have no source.
func matchSlices(refs []dicom.SliceRef, img *volume.Volume) ([]*dicom.SliceRef, error) {
	out := make([]*dicom.SliceRef, img.Dims[2])
	found := 0
	for i := range refs {
		r := &refs[i]
		if !r.HasPosition {
			if len(refs) == img.Dims[2] {
				out[i] = r
				found++
			}
			continue
		}
		p, err := img.Geom.WorldToIndex(r.Position)
		if err != nil {
			return nil, err
		}
		k := math.Round(p[2])
		if math.Abs(p[0]) > posTol || math.Abs(p[1]) > posTol || math.Abs(p[2]-k) > posTol ||
			k < 0 || int(k) >= img.Dims[2] || out[int(k)] != nil {
			continue
		}
		out[int(k)] = r
		found++
	}
	if found == 0 {
		return nil, errors.New("no source image lies on a slice of the image grid (was the image loaded from this series?)")
	}
	return out, nil
}

// Codes the SEG's references and derivation use (DICOM CID 7202, 7203).
var (
	codeSourceImage  = Code{"121322", "DCM", "Source image for image processing operation"}
	codeSegmentation = Code{"113076", "DCM", "Segmentation"}
)

// dataset builds the SEG: file meta, the modules of the Segmentation IOD,
// and the bit-packed frames.
func dataset(src *Source, img *volume.Volume, p planes, segs []Segment, slices []*dicom.SliceRef, frames []frame) (*dcm.Dataset, error) {
	var uids [4]string // SOP instance, series, dimension organisation, implementation
	for i := range uids {
		u, err := newUID()
		if err != nil {
			return nil, err
		}
		uids[i] = u
	}
	sopUID, seriesUID, dimUID := uids[0], uids[1], uids[2]
	h := src.Header
	now := time.Now()
	date, tm := now.Format("20060102"), now.Format("150405")
	b := &builder{}
	// Attributes copied from the source: patient, study, frame of
	// reference. Type 2 ones are written empty when the source lacks them.
	copied := []tag.Tag{tag.PatientName, tag.PatientID, tag.PatientBirthDate, tag.PatientSex,
		tag.StudyDate, tag.StudyTime, tag.ReferringPhysicianName, tag.StudyID,
		tag.AccessionNumber, tag.PositionReferenceIndicator}
	var el []*dcm.Element
	for _, t := range copied {
		v := dicom.String(h, t)
		if v == "" {
			el = append(el, b.el(t, []string{}))
		} else {
			el = append(el, b.el(t, v))
		}
	}
	for _, t := range []tag.Tag{tag.SpecificCharacterSet, tag.StudyDescription} {
		// Type 1C and 3: absent rather than empty.
		if e := dicom.Find(h, t); e != nil {
			if v, _ := e.Value.GetValue().([]string); strings.Trim(strings.Join(v, ""), " \x00") != "" {
				el = append(el, e)
			}
		}
	}
	version := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	el = append(el,
		b.el(tag.FileMetaInformationVersion, []byte{0, 1}),
		b.el(tag.MediaStorageSOPClassUID, SOPClassSegmentation),
		b.el(tag.MediaStorageSOPInstanceUID, sopUID),
		b.el(tag.TransferSyntaxUID, "1.2.840.10008.1.2.1"),
		b.el(tag.ImplementationClassUID, implementationUID),
		b.el(tag.ImplementationVersionName, "SEGVOL"),
		b.el(tag.ImageType, []string{"DERIVED", "PRIMARY"}),
		b.el(tag.InstanceCreationDate, date), b.el(tag.InstanceCreationTime, tm),
		b.el(tag.SOPClassUID, SOPClassSegmentation), b.el(tag.SOPInstanceUID, sopUID),
		b.el(tag.SeriesDate, date), b.el(tag.SeriesTime, tm),
		b.el(tag.ContentDate, date), b.el(tag.ContentTime, tm),
		b.el(tag.Modality, "SEG"),
		b.el(tag.Manufacturer, "SegVol"), b.el(tag.ManufacturerModelName, "segvol"),
		b.el(tag.DeviceSerialNumber, "1"), b.el(tag.SoftwareVersions, version),
		b.el(tag.SeriesDescription, "Segmentation"),
		b.el(tag.SeriesInstanceUID, seriesUID), b.el(tag.SeriesNumber, "300"), b.el(tag.InstanceNumber, "1"),
		b.el(tag.StudyInstanceUID, src.StudyInstanceUID), b.el(tag.FrameOfReferenceUID, src.FrameOfReferenceUID),
		b.el(tag.ContentLabel, "SEGMENTATION"), b.el(tag.ContentDescription, "SegVol segmentation"),
		b.el(tag.ContentCreatorName, []string{}),
		b.el(tag.SamplesPerPixel, 1), b.el(tag.PhotometricInterpretation, "MONOCHROME2"),
		b.el(tag.NumberOfFrames, fmt.Sprint(len(frames))),
		b.el(tag.Rows, img.Dims[1]), b.el(tag.Columns, img.Dims[0]),
		b.el(tag.BitsAllocated, 1), b.el(tag.BitsStored, 1), b.el(tag.HighBit, 0),
		b.el(tag.PixelRepresentation, 0), b.el(tag.LossyImageCompression, "00"),
		b.el(tag.SegmentationType, "BINARY"),
		b.el(tag.SegmentsOverlap, p.overlap()),
		b.seq(tag.DimensionOrganizationSequence, []*dcm.Element{b.el(tag.DimensionOrganizationUID, dimUID)}),
		b.seq(tag.DimensionIndexSequence,
			dimension(b, dimUID, tag.ReferencedSegmentNumber, tag.SegmentIdentificationSequence, "ReferencedSegmentNumber"),
			dimension(b, dimUID, tag.ImagePositionPatient, tag.PlanePositionSequence, "ImagePositionPatient")),
		referencedSeries(b, src.SeriesInstanceUID, slices),
		segmentSequence(b, segs),
		shared(b, h, img),
		perFrame(b, img, slices, frames),
	)
	if b.err != nil {
		return nil, b.err
	}
	pix, err := dcm.NewValue(dcm.PixelDataInfo{IntentionallyUnprocessed: true, UnprocessedValueData: pack(img, p, frames)})
	if err != nil {
		return nil, err
	}
	el = append(el, &dcm.Element{Tag: tag.PixelData, RawValueRepresentation: "OB",
		ValueRepresentation: tag.GetVRKind(tag.PixelData, "OB"), Value: pix})
	sortElements(el)
	return &dcm.Dataset{Elements: el}, nil
}

// implementationUID identifies this writer in the file meta group (a fixed
// 2.25 UUID UID).
const implementationUID = "2.25.259337372460215064416934045693386093839"

func dimension(b *builder, org string, index, group tag.Tag, label string) []*dcm.Element {
	return []*dcm.Element{
		b.el(tag.DimensionOrganizationUID, org),
		b.el(tag.DimensionIndexPointer, []int{int(index.Group), int(index.Element)}),
		b.el(tag.FunctionalGroupPointer, []int{int(group.Group), int(group.Element)}),
		b.el(tag.DimensionDescriptionLabel, label),
	}
}

// referencedSeries is the Common Instance Reference: every source image a
// slice of the grid came from.
func referencedSeries(b *builder, seriesUID string, slices []*dicom.SliceRef) *dcm.Element {
	var inst [][]*dcm.Element
	seen := map[string]bool{}
	for _, r := range slices {
		if r == nil || seen[r.SOPInstanceUID] {
			continue
		}
		seen[r.SOPInstanceUID] = true
		inst = append(inst, []*dcm.Element{
			b.el(tag.ReferencedSOPClassUID, r.SOPClassUID),
			b.el(tag.ReferencedSOPInstanceUID, r.SOPInstanceUID),
		})
	}
	return b.seq(tag.ReferencedSeriesSequence, []*dcm.Element{
		b.el(tag.SeriesInstanceUID, seriesUID),
		b.seq(tag.ReferencedInstanceSequence, inst...),
	})
}

func segmentSequence(b *builder, segs []Segment) *dcm.Element {
	out := make([][]*dcm.Element, len(segs))
	for i, s := range segs {
		cat, typ, _ := CodeFor(s.Label)
		if s.Category.Value != "" {
			cat = s.Category
		}
		if s.Type.Value != "" {
			typ = s.Type
		}
		alg := s.Algorithm
		if alg == "" {
			alg = "MANUAL"
		}
		label := s.Label
		if label == "" {
			label = fmt.Sprintf("Segment %d", i+1)
		}
		lab := rgbToLab(s.Color)
		it := []*dcm.Element{
			b.el(tag.SegmentNumber, i+1),
			b.el(tag.SegmentLabel, truncate(label, 64)),
			b.el(tag.SegmentAlgorithmType, alg),
			b.el(tag.RecommendedDisplayCIELabValue, lab[:]),
			b.code(tag.SegmentedPropertyCategoryCodeSequence, cat),
			b.code(tag.SegmentedPropertyTypeCodeSequence, typ),
		}
		if s.Description != "" {
			it = append(it, b.el(tag.SegmentDescription, truncate(s.Description, 1024)))
		}
		if alg != "MANUAL" {
			name := s.AlgorithmName
			if name == "" {
				name = "SegVol"
			}
			it = append(it, b.el(tag.SegmentAlgorithmName, truncate(name, 64)))
		}
		out[i] = it
	}
	return b.seq(tag.SegmentSequence, out...)
}

// truncate shortens s to at most n bytes on a rune boundary (VR limits).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	for len(string(r)) > n {
		r = r[:len(r)-1]
	}
	return string(r)
}

// shared is the Shared Functional Groups: pixel measures and orientation.
func shared(b *builder, h []*dcm.Element, img *volume.Volume) *dcm.Element {
	sp := img.Geom.Spacing()
	d := img.Geom.Direction()
	normal := unit(cross(d[0], d[1]))
	// The step between slices along their normal (a tilted gantry's axis
	// is sheared; the planes are still this far apart).
	step := math.Abs(dot(normal, img.Geom.Axes[2]))
	thick := num(h, tag.SliceThickness, step)
	return b.seq(tag.SharedFunctionalGroupsSequence, []*dcm.Element{
		b.seq(tag.PixelMeasuresSequence, []*dcm.Element{
			b.el(tag.PixelSpacing, []float64{sp[1], sp[0]}),
			b.el(tag.SliceThickness, thick),
			b.el(tag.SpacingBetweenSlices, step),
		}),
		b.seq(tag.PlaneOrientationSequence, []*dcm.Element{
			b.el(tag.ImageOrientationPatient, []float64{d[0][0], d[0][1], d[0][2], d[1][0], d[1][1], d[1][2]}),
		}),
	})
}

// perFrame is the Per-frame Functional Groups: for each frame its source
// image, dimension indices, position and segment.
func perFrame(b *builder, img *volume.Volume, slices []*dicom.SliceRef, frames []frame) *dcm.Element {
	out := make([][]*dcm.Element, len(frames))
	for i, f := range frames {
		num := f.s + 1 // segments are numbered 1..N in order (PS3.3 C.8.20.2)
		pos := img.Geom.IndexToWorld([3]float64{0, 0, float64(f.k)})
		it := []*dcm.Element{
			b.seq(tag.FrameContentSequence, []*dcm.Element{b.el(tag.DimensionIndexValues, []int{num, f.k + 1})}),
			b.seq(tag.PlanePositionSequence, []*dcm.Element{b.el(tag.ImagePositionPatient, pos[:])}),
			b.seq(tag.SegmentIdentificationSequence, []*dcm.Element{b.el(tag.ReferencedSegmentNumber, num)}),
		}
		if r := slices[f.k]; r != nil {
			source := []*dcm.Element{
				b.el(tag.ReferencedSOPClassUID, r.SOPClassUID),
				b.el(tag.ReferencedSOPInstanceUID, r.SOPInstanceUID),
				b.code(tag.PurposeOfReferenceCodeSequence, codeSourceImage),
			}
			if r.Frame > 0 {
				source = append(source, b.el(tag.ReferencedFrameNumber, fmt.Sprint(r.Frame)))
			}
			it = append(it, b.seq(tag.DerivationImageSequence, []*dcm.Element{
				b.seq(tag.SourceImageSequence, source),
				b.code(tag.DerivationCodeSequence, codeSegmentation),
			}))
		}
		out[i] = it
	}
	return b.seq(tag.PerFrameFunctionalGroupsSequence, out...)
}

// pack stores the frames one bit per pixel, frame after frame with no
// padding between them, the first pixel in the lowest bit (PS3.5 8.1.1).
func pack(img *volume.Volume, p planes, frames []frame) []byte {
	plane := make([]uint8, img.Dims[0]*img.Dims[1])
	n := (len(frames)*len(plane) + 7) / 8
	out := make([]byte, n+n%2)
	bit := 0
	for _, f := range frames {
		p.plane(f, plane)
		for _, v := range plane {
			if v != 0 {
				out[bit>>3] |= 1 << (bit & 7)
			}
			bit++
		}
	}
	return out
}

// writeAtomic writes the data set so that a crash never leaves half a file.
func writeAtomic(path string, ds *dcm.Dataset) error {
	return atomicfile.Write(path, func(w io.Writer) error { return dcm.Write(w, *ds) })
}
