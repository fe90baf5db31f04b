package seg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	dcm "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/segvolapp/segvol/viewer/dicom"
	"github.com/segvolapp/segvol/viewer/volume"
)

// SEG is a segmentation read back: its segments and one mask per segment in
// a voxel grid. Overlapping segments keep their own masks.
type SEG struct {
	Segments []Segment
	// Masks[i] belongs to Segments[i]: Dims voxels, 1 inside, 0 outside;
	// nil for a segment no frame holds.
	Masks    [][]uint8
	Dims     [3]int
	Geom     volume.Geometry
	Type     string // BINARY, FRACTIONAL or LABELMAP
	Overlaps bool   // some voxel is in two segments

	StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID, FrameOfReferenceUID string
	// ReferencedSeriesUIDs are the source series the SEG names.
	ReferencedSeriesUIDs []string
	// Warnings are what the reader noticed and worked around.
	Warnings []string
}

// segFrame is what the functional groups say of one stored frame.
type segFrame struct {
	pos     [3]float64
	segment int // ReferencedSegmentNumber (0 for a label map)
}

// Read reads a DICOM SEG (binary, fractional or label map). With ref, the
// masks are in ref's grid (its geometry and dimensions), each frame placed
// by its PlanePositionSequence; without, in the grid the frames span.
func Read(path string, ref *volume.Volume) (*SEG, error) {
	o, err := dicom.ReadObject(path)
	if err != nil {
		return nil, fmt.Errorf("seg: %w", err)
	}
	s, err := decode(o, ref)
	if err != nil {
		return nil, fmt.Errorf("seg: %s: %w", path, err)
	}
	return s, nil
}

// pixelLayout is how a SEG's frames are stored.
type pixelLayout struct {
	rows, cols, frames, bits int
	padding                  int // label-map PixelPaddingValue, or -1
	maxFraction              int // MaximumFractionalValue of a FRACTIONAL SEG
}

func decode(o *dicom.Object, ref *volume.Volume) (*SEG, error) {
	el := o.Elements
	cls := dicom.String(el, tag.SOPClassUID)
	if cls != SOPClassSegmentation && cls != SOPClassLabelMapSegmentation && dicom.String(el, tag.Modality) != "SEG" {
		return nil, fmt.Errorf("not a DICOM SEG (SOP class %q)", cls)
	}
	s := &SEG{
		Type:                dicom.String(el, tag.SegmentationType),
		StudyInstanceUID:    dicom.String(el, tag.StudyInstanceUID),
		SeriesInstanceUID:   dicom.String(el, tag.SeriesInstanceUID),
		SOPInstanceUID:      dicom.String(el, tag.SOPInstanceUID),
		FrameOfReferenceUID: dicom.String(el, tag.FrameOfReferenceUID),
	}
	for _, it := range items(el, tag.ReferencedSeriesSequence) {
		s.ReferencedSeriesUIDs = append(s.ReferencedSeriesUIDs, dicom.String(it, tag.SeriesInstanceUID))
	}
	lay, err := layout(o, s.Type)
	if err != nil {
		return nil, err
	}
	segNums, err := s.readSegments(el)
	if err != nil {
		return nil, err
	}
	frames, row, col, spacing, err := readFrames(el, lay.frames, s.Type)
	if err != nil {
		return nil, err
	}
	if ref != nil {
		// A SEG of another series may still fit the grid (a second
		// reconstruction of the same scan): refuse it by name rather than
		// place it on voxels it does not describe.
		if uid := ref.Meta.SeriesInstanceUID; uid != "" && len(s.ReferencedSeriesUIDs) > 0 && !slices.Contains(s.ReferencedSeriesUIDs, uid) {
			return nil, fmt.Errorf("it segments series %s, not the open series %s: open that series first",
				strings.Join(s.ReferencedSeriesUIDs, ", "), uid)
		}
		if ref.Dims[0] != lay.cols || ref.Dims[1] != lay.rows {
			return nil, fmt.Errorf("frames are %dx%d, the reference grid %dx%d (resampling is not supported)",
				lay.cols, lay.rows, ref.Dims[0], ref.Dims[1])
		}
		d := ref.Geom.Direction()
		if dot(d[0], row) < 0.999 || dot(d[1], col) < 0.999 {
			return nil, errors.New("frames are not parallel to the reference grid's slices (resampling is not supported)")
		}
		s.Dims, s.Geom = ref.Dims, ref.Geom
	} else if s.Dims, s.Geom, err = frameGrid(el, frames, lay, row, col, spacing); err != nil {
		return nil, err
	}
	slice, err := s.place(frames)
	if err != nil {
		return nil, err
	}
	return s, s.fill(o.Pixels, o.TransferSyntax, lay, frames, slice, segNums)
}

// layout reads and checks the pixel description against the bytes present.
func layout(o *dicom.Object, typ string) (pixelLayout, error) {
	el := o.Elements
	lay := pixelLayout{
		rows:    int(num(el, tag.Rows, 0)),
		cols:    int(num(el, tag.Columns, 0)),
		frames:  int(num(el, tag.NumberOfFrames, 1)),
		bits:    int(num(el, tag.BitsAllocated, 0)),
		padding: int(num(el, tag.PixelPaddingValue, -1)),
	}
	if lay.rows <= 0 || lay.cols <= 0 || lay.frames <= 0 {
		return lay, fmt.Errorf("invalid size: %d rows, %d columns, %d frames", lay.rows, lay.cols, lay.frames)
	}
	switch {
	case typ == "BINARY" && lay.bits == 1:
	case typ == "FRACTIONAL" && lay.bits == 8:
		lay.maxFraction = int(num(el, tag.MaximumFractionalValue, 255))
	case typ == "LABELMAP" && (lay.bits == 8 || lay.bits == 16):
	default:
		return lay, fmt.Errorf("unsupported segmentation type %q with BitsAllocated %d", typ, lay.bits)
	}
	if o.Pixels == nil {
		return lay, fmt.Errorf("no native pixel data (transfer syntax %s is not supported for SEG)", o.TransferSyntax)
	}
	need := (int64(lay.rows)*int64(lay.cols)*int64(lay.frames)*int64(lay.bits) + 7) / 8
	if int64(len(o.Pixels)) < need {
		return lay, fmt.Errorf("pixel data has %d bytes, %d frames of %dx%d need %d", len(o.Pixels), lay.frames, lay.cols, lay.rows, need)
	}
	return lay, nil
}

// readSegments fills s.Segments and returns segment number -> index.
func (s *SEG) readSegments(el []*dcm.Element) (map[int]int, error) {
	idx := map[int]int{}
	for _, it := range items(el, tag.SegmentSequence) {
		n := int(num(it, tag.SegmentNumber, -1))
		if n == 0 && s.Type == "LABELMAP" {
			continue // the label map's background
		}
		if n < 1 || n > 65535 {
			return nil, fmt.Errorf("segment number %d is outside 1..65535", n)
		}
		if _, dup := idx[n]; dup {
			return nil, fmt.Errorf("segment number %d appears twice", n)
		}
		seg := Segment{
			Number:        n,
			Label:         dicom.String(it, tag.SegmentLabel),
			Description:   dicom.String(it, tag.SegmentDescription),
			Category:      code(it, tag.SegmentedPropertyCategoryCodeSequence),
			Type:          code(it, tag.SegmentedPropertyTypeCodeSequence),
			Algorithm:     dicom.String(it, tag.SegmentAlgorithmType),
			AlgorithmName: dicom.String(it, tag.SegmentAlgorithmName),
		}
		if lab := dicom.Floats(it, tag.RecommendedDisplayCIELabValue); len(lab) == 3 {
			seg.Color = labToRGB([3]int{int(lab[0]), int(lab[1]), int(lab[2])})
		}
		idx[n] = len(s.Segments)
		s.Segments = append(s.Segments, seg)
	}
	if len(s.Segments) == 0 {
		return nil, errors.New("no segments in SegmentSequence")
	}
	return idx, nil
}

// readFrames reads each frame's position and segment from the per-frame
// (or shared) functional groups, and the shared orientation and spacing.
func readFrames(el []*dcm.Element, n int, typ string) (frames []segFrame, row, col [3]float64, spacing [2]float64, err error) {
	sharedG := first(el, tag.SharedFunctionalGroupsSequence)
	per := items(el, tag.PerFrameFunctionalGroupsSequence)
	if len(per) != n {
		return nil, row, col, spacing, fmt.Errorf("%d per-frame functional groups for %d frames", len(per), n)
	}
	// group finds a functional group macro in the frame's item or the shared one.
	group := func(f int, t tag.Tag) []*dcm.Element {
		if g := first(per[f], t); g != nil {
			return g
		}
		return first(sharedG, t)
	}
	iop := dicom.Floats(group(0, tag.PlaneOrientationSequence), tag.ImageOrientationPatient)
	if len(iop) != 6 {
		return nil, row, col, spacing, errors.New("no ImageOrientationPatient in the functional groups")
	}
	row, col = unit([3]float64{iop[0], iop[1], iop[2]}), unit([3]float64{iop[3], iop[4], iop[5]})
	if ps := dicom.Floats(group(0, tag.PixelMeasuresSequence), tag.PixelSpacing); len(ps) == 2 && ps[0] > 0 && ps[1] > 0 {
		spacing = [2]float64{ps[0], ps[1]}
	}
	frames = make([]segFrame, n)
	for f := range frames {
		p := dicom.Floats(group(f, tag.PlanePositionSequence), tag.ImagePositionPatient)
		if len(p) != 3 {
			return nil, row, col, spacing, fmt.Errorf("frame %d has no PlanePositionSequence", f+1)
		}
		frames[f].pos = [3]float64{p[0], p[1], p[2]}
		if typ != "LABELMAP" {
			frames[f].segment = int(num(group(f, tag.SegmentIdentificationSequence), tag.ReferencedSegmentNumber, -1))
		}
	}
	return frames, row, col, spacing, nil
}

// frameGrid is the grid the frames span when no reference grid is given:
// their plane, their pixel spacing, and slices from the lowest to the
// highest position at the step between them.
func frameGrid(el []*dcm.Element, frames []segFrame, lay pixelLayout, row, col [3]float64, spacing [2]float64) ([3]int, volume.Geometry, error) {
	var g volume.Geometry
	if spacing == [2]float64{} {
		return [3]int{}, g, errors.New("no PixelSpacing in the functional groups")
	}
	normal := unit(cross(row, col))
	sorted := append([]segFrame(nil), frames...)
	sort.Slice(sorted, func(a, b int) bool { return dot(sorted[a].pos, normal) < dot(sorted[b].pos, normal) })
	lo, hi := sorted[0].pos, sorted[len(sorted)-1].pos
	extent := dot(hi, normal) - dot(lo, normal)
	step := num(first(first(el, tag.SharedFunctionalGroupsSequence), tag.PixelMeasuresSequence), tag.SpacingBetweenSlices, 0)
	if step <= 0 {
		// The smallest gap between distinct positions.
		step = math.Inf(1)
		for i := 1; i < len(sorted); i++ {
			if d := dot(sorted[i].pos, normal) - dot(sorted[i-1].pos, normal); d > 0.01 && d < step {
				step = d
			}
		}
		if math.IsInf(step, 1) {
			step = 1
		}
	}
	nk := int(math.Round(extent/step)) + 1
	dims := [3]int{lay.cols, lay.rows, nk}
	if _, err := volume.Count(dims); err != nil || nk > 1<<16 {
		return dims, g, fmt.Errorf("frames span %d slices of %.4g mm: too many", nk, step)
	}
	g.Origin = lo
	g.Axes[0] = scale(row, spacing[1])
	g.Axes[1] = scale(col, spacing[0])
	g.Axes[2] = scale(normal, step)
	if nk > 1 {
		// Along the frames' own line: a tilted stack stays sheared.
		g.Axes[2] = scale(sub(hi, lo), 1/float64(nk-1))
	}
	return dims, g, nil
}

// place finds the slice of each frame in s's grid, or -1 for one outside
// it (with a warning).
func (s *SEG) place(frames []segFrame) ([]int, error) {
	slice := make([]int, len(frames))
	outside := 0
	for f, fr := range frames {
		p, err := s.Geom.WorldToIndex(fr.pos)
		if err != nil {
			return nil, err
		}
		k := math.Round(p[2])
		if math.Abs(p[0]) > posTol || math.Abs(p[1]) > posTol || math.Abs(p[2]-k) > posTol {
			return nil, fmt.Errorf("frame %d at %.4g,%.4g,%.4g mm is not on a slice of the grid (index %.3f,%.3f,%.3f)",
				f+1, fr.pos[0], fr.pos[1], fr.pos[2], p[0], p[1], p[2])
		}
		if k < 0 || int(k) >= s.Dims[2] {
			slice[f] = -1
			outside++
			continue
		}
		slice[f] = int(k)
	}
	if outside > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d frame(s) lie outside the reference grid and were skipped", outside))
	}
	return slice, nil
}

// fill allocates the masks of the segments the frames hold and sets their
// voxels.
func (s *SEG) fill(pix []byte, ts string, lay pixelLayout, frames []segFrame, slice []int, segNums map[int]int) error {
	plane := lay.rows * lay.cols
	vox := s.Dims[0] * s.Dims[1] * s.Dims[2]
	s.Masks = make([][]uint8, len(s.Segments))
	alloc := func(i int) error {
		if s.Masks[i] != nil {
			return nil
		}
		allocated := 0
		for _, m := range s.Masks {
			if m != nil {
				allocated += vox
			}
		}
		if allocated+vox > volume.MaxVoxels {
			return fmt.Errorf("%d segments of %d voxels exceed %d voxels of masks", allocated/vox+1, vox, volume.MaxVoxels)
		}
		s.Masks[i] = make([]uint8, vox)
		return nil
	}
	bo := binary.ByteOrder(binary.LittleEndian)
	if ts == "1.2.840.10008.1.2.2" {
		bo = binary.BigEndian
	}
	for f, fr := range frames {
		k := slice[f]
		if k < 0 {
			continue
		}
		base := k * plane
		if s.Type == "LABELMAP" {
			for p := 0; p < plane; p++ {
				v := int(pix[f*plane+p])
				if lay.bits == 16 {
					v = int(bo.Uint16(pix[2*(f*plane+p):]))
				}
				if err := s.label(v, lay.padding, base+p, segNums, alloc); err != nil {
					return err
				}
			}
			continue
		}
		i, ok := segNums[fr.segment]
		if !ok {
			return fmt.Errorf("frame %d refers to segment %d, which SegmentSequence does not list", f+1, fr.segment)
		}
		if err := alloc(i); err != nil {
			return err
		}
		m := s.Masks[i][base : base+plane]
		if lay.bits == 1 {
			bit := f * plane
			for p := range m {
				if pix[(bit+p)>>3]&(1<<((bit+p)&7)) != 0 {
					m[p] = 1
				}
			}
			continue
		}
		for p, v := range pix[f*plane : (f+1)*plane] {
			if 2*int(v) > lay.maxFraction {
				m[p] = 1
			}
		}
	}
	s.Overlaps = overlap(s.presentMasks(vox)) == "YES"
	return nil
}

// label sets voxel n of the segment a label-map value names.
func (s *SEG) label(v, padding, n int, segNums map[int]int, alloc func(int) error) error {
	if v == 0 || v == padding {
		return nil
	}
	i, ok := segNums[v]
	if !ok {
		return nil // a value no segment describes is not a segment
	}
	if err := alloc(i); err != nil {
		return err
	}
	s.Masks[i][n] = 1
	return nil
}

// presentMasks are the allocated masks (for the overlap test).
func (s *SEG) presentMasks(vox int) [][]uint8 {
	var out [][]uint8
	for _, m := range s.Masks {
		if m != nil && len(m) == vox {
			out = append(out, m)
		}
	}
	return out
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

func cross(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

func sub(a, b [3]float64) [3]float64 { return [3]float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }

func scale(a [3]float64, s float64) [3]float64 { return [3]float64{a[0] * s, a[1] * s, a[2] * s} }

func unit(a [3]float64) [3]float64 {
	n := math.Sqrt(dot(a, a))
	if n == 0 {
		return a
	}
	return scale(a, 1/n)
}
