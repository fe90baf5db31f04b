package dicom

import (
	"fmt"
	"math"
	"sort"

	"github.com/segvolapp/segvol/viewer/volume"
)

// posTol is how far (mm) a slice may sit from the regular grid before the
// series counts as irregular or tilted: the accuracy we promise.
const posTol = 0.01

// slicePlan is how a series' images become a volume.
type slicePlan struct {
	images   []image // one per stored slice, sorted along the slice normal
	geom     volume.Geometry
	warnings []string
	// timePoints is how many volumes a 4D series holds (1 for 3D).
	timePoints int
	// resample, when set, turns the stored slices into a regular grid.
	resample func(v *volume.Volume) error
}

// plan sorts the images by their position along the slice normal (never by
// file name or InstanceNumber) and derives the geometry.
func plan(s *Series) (*slicePlan, error) { return planTimePoint(s, 0) }

// planTimePoint is plan for time point t (from 0) of a 4D series.
func planTimePoint(s *Series, t int) (*slicePlan, error) {
	p := &slicePlan{}
	rowDir, colDir := [3]float64{1, 0, 0}, [3]float64{0, 1, 0}
	if s.iop {
		rowDir = [3]float64{s.Orientation[0], s.Orientation[1], s.Orientation[2]}
		colDir = [3]float64{s.Orientation[3], s.Orientation[4], s.Orientation[5]}
	} else {
		p.warn("no ImageOrientationPatient: axial orientation assumed")
	}
	normal := cross(rowDir, colDir)
	normal = scale(normal, 1/norm(normal))
	sp := s.spacing
	if sp[0] <= 0 || sp[1] <= 0 {
		sp = [2]float64{1, 1}
		p.warn("no PixelSpacing: 1 mm pixels assumed")
	}
	// PixelSpacing is [between rows, between columns]: the column index i
	// steps along the row direction by the column spacing.
	p.geom.Axes[0] = scale(rowDir, sp[1])
	p.geom.Axes[1] = scale(colDir, sp[0])

	ims := append([]image(nil), s.images...)
	allPos := true
	for _, im := range ims {
		allPos = allPos && im.hasPos
	}
	if !allPos {
		return p.withoutPositions(s, ims, normal)
	}
	dist := func(im image) float64 { return dot(im.pos, normal) }
	sort.SliceStable(ims, func(a, b int) bool {
		da, db := dist(ims[a]), dist(ims[b])
		if math.Abs(da-db) > posTol {
			return da < db
		}
		if ims[a].temporal != ims[b].temporal {
			return ims[a].temporal < ims[b].temporal
		}
		return ims[a].instance < ims[b].instance
	})
	ims, err := p.volumeAt(ims, dist, t)
	if err != nil {
		return nil, fmt.Errorf("series %s: %w", s.UID, err)
	}
	p.images = ims
	p.geom.Origin = ims[0].pos
	if len(ims) == 1 {
		step := s.between
		if step <= 0 {
			step = s.thickness
		}
		if step <= 0 {
			step = 1
			p.warn("single slice without SpacingBetweenSlices or SliceThickness: 1 mm assumed")
		}
		p.geom.Axes[2] = scale(normal, step)
		return p, nil
	}
	return p, p.sliceAxis(ims, dist, normal)
}

func (p *slicePlan) warn(format string, args ...any) {
	p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
}

// volumeAt keeps the image of time point t at each position of a 4D series
// (sorted by temporal position, then instance) and counts the time points:
// the fewest images at any position.
func (p *slicePlan) volumeAt(ims []image, dist func(image) float64, t int) ([]image, error) {
	var out []image
	for start := 0; start < len(ims); {
		end := start + 1
		for end < len(ims) && math.Abs(dist(ims[end])-dist(ims[start])) <= posTol {
			end++
		}
		if n := end - start; p.timePoints == 0 || n < p.timePoints {
			p.timePoints = n
		}
		if t < end-start {
			out = append(out, ims[start+t])
		}
		start = end
	}
	if t < 0 || t >= p.timePoints {
		return nil, fmt.Errorf("no time point %d: it has %d", t+1, p.timePoints)
	}
	if len(out) < len(ims) {
		shown := "the first"
		if t > 0 {
			shown = fmt.Sprintf("volume %d", t+1)
		}
		p.warn("4D series: %d images at %d positions, %d time points; showing %s", len(ims), len(out), p.timePoints, shown)
	}
	return out, nil
}

// sliceAxis sets the slice step from the actual positions (never
// SliceThickness), keeping a sheared axis for a tilted gantry and planning a
// resample for missing slices or varying spacing.
func (p *slicePlan) sliceAxis(ims []image, dist func(image) float64, normal [3]float64) error {
	n := len(ims)
	d0, dn := dist(ims[0]), dist(ims[n-1])
	extent := dn - d0
	// The true direction between slices, per mm along the normal.
	along := scale(sub(ims[n-1].pos, ims[0].pos), 1/extent)
	inPlane := sub(along, scale(normal, dot(along, normal)))
	tilted := norm(inPlane)*extent > posTol
	if tilted {
		deg := math.Atan(norm(inPlane)) * 180 / math.Pi
		p.warn("gantry tilt of %.2f degrees: kept as a sheared grid", deg)
	} else {
		along = normal
	}
	minStep, regular := math.Inf(1), true
	avg := extent / float64(n-1)
	for k := 1; k < n; k++ {
		minStep = math.Min(minStep, dist(ims[k])-dist(ims[k-1]))
		want := add(ims[0].pos, scale(along, avg*float64(k)))
		if norm(sub(ims[k].pos, want)) > posTol {
			regular = false
		}
	}
	if regular {
		p.geom.Axes[2] = scale(along, avg)
		return nil
	}
	// Resample onto the smallest step (bounded so a near-duplicate cannot
	// blow up the slice count), landing exactly on the last slice.
	out := int(math.Round(extent/minStep)) + 1
	out = min(out, 4*n)
	step := extent / float64(out-1)
	p.geom.Axes[2] = scale(along, step)
	p.warn("irregular slice spacing (%s): resampled to %d slices of %.4g mm by linear interpolation", describeGaps(ims, dist, minStep), out, step)
	pos := make([]float64, n)
	for k := range ims {
		pos[k] = dist(ims[k]) - d0
	}
	p.resample = func(v *volume.Volume) error { return resampleSlices(v, pos, out, step) }
	return nil
}

// describeGaps names the first step that departs from the smallest one.
func describeGaps(ims []image, dist func(image) float64, minStep float64) string {
	gaps := 0
	first := ""
	for k := 1; k < len(ims); k++ {
		d := dist(ims[k]) - dist(ims[k-1])
		if d-minStep > posTol {
			gaps++
			if first == "" {
				first = fmt.Sprintf("%.4g mm step after slice %d of %d", d, k, len(ims))
			}
		}
	}
	if gaps > 1 {
		return fmt.Sprintf("%s, %d uneven steps in all, smallest %.4g mm", first, gaps, minStep)
	}
	return fmt.Sprintf("%s, others %.4g mm", first, minStep)
}

// withoutPositions stacks images that carry no ImagePositionPatient (plain
// multi-frame, secondary captures) in instance and frame order.
func (p *slicePlan) withoutPositions(s *Series, ims []image, normal [3]float64) (*slicePlan, error) {
	sort.SliceStable(ims, func(a, b int) bool {
		if ims[a].instance != ims[b].instance {
			return ims[a].instance < ims[b].instance
		}
		return ims[a].frame < ims[b].frame
	})
	step := s.between
	if step <= 0 {
		step = s.thickness
	}
	if step <= 0 {
		step = 1
	}
	if len(ims) > 1 || !ims[0].hasPos {
		p.warn("no ImagePositionPatient: images stacked in instance order, %.4g mm apart", step)
	}
	p.images = ims
	if ims[0].hasPos {
		p.geom.Origin = ims[0].pos
	}
	p.geom.Axes[2] = scale(normal, step)
	return p, nil
}

// resampleSlices replaces the slices of v, stored at pos (mm along the slice
// axis from the first), with out slices step apart, linearly interpolated
// between neighbours in the native type.
func resampleSlices(v *volume.Volume, pos []float64, out int, step float64) error {
	plane := v.Dims[0] * v.Dims[1]
	dims := [3]int{v.Dims[0], v.Dims[1], out}
	data, err := volume.Alloc(v.DType(), dims)
	if err != nil {
		return err
	}
	switch d := data.(type) {
	case []uint8:
		interpolate(d, v.Data.([]uint8), plane, pos, step)
	case []int8:
		interpolate(d, v.Data.([]int8), plane, pos, step)
	case []uint16:
		interpolate(d, v.Data.([]uint16), plane, pos, step)
	case []int16:
		interpolate(d, v.Data.([]int16), plane, pos, step)
	case []uint32:
		interpolate(d, v.Data.([]uint32), plane, pos, step)
	case []int32:
		interpolate(d, v.Data.([]int32), plane, pos, step)
	case []float32:
		interpolate(d, v.Data.([]float32), plane, pos, step)
	}
	v.Data, v.Dims = data, dims
	return nil
}

func interpolate[T integer | ~float32](dst, src []T, plane int, pos []float64, step float64) {
	_, isFloat := any(dst).([]float32)
	k := 0
	for m := 0; m*plane < len(dst); m++ {
		t := float64(m) * step
		for k+2 < len(pos) && pos[k+1] <= t {
			k++
		}
		w := (t - pos[k]) / (pos[k+1] - pos[k])
		w = math.Max(0, math.Min(1, w))
		a, b := src[k*plane:(k+1)*plane], src[(k+1)*plane:(k+2)*plane]
		o := dst[m*plane : (m+1)*plane]
		for i := range o {
			x := float64(a[i])*(1-w) + float64(b[i])*w
			if !isFloat {
				x = math.Round(x)
			}
			o[i] = T(x)
		}
	}
}
