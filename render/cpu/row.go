package cpu

import (
	"encoding/binary"
	"image"

	"github.com/segvolapp/segvol/render"
)

// frame is what every row of one render shares.
type frame struct {
	grid   render.Grid
	vox    voxels
	v      *render.Volume
	interp render.Interp
	win    window
	lut    []uint8 // see Renderer.lut; nil for wider types
	off    int
	labels []uint8 // the label map; nil without one
}

// voxels draws rows of one native voxel type, so that the type is switched
// on once per frame rather than once per row.
type voxels interface {
	drawRow(f *frame, s *sampler, pix, lab []uint8, x0, x1 int)
}

type typed[T number] []T

func (d typed[T]) drawRow(f *frame, s *sampler, pix, lab []uint8, x0, x1 int) {
	drawRow(f, s, []T(d), pix, lab, x0, x1)
}

// voxelsOf wraps a slice that render.Check accepted.
func voxelsOf(data any) voxels {
	switch d := data.(type) {
	case []uint8:
		return typed[uint8](d)
	case []int8:
		return typed[int8](d)
	case []uint16:
		return typed[uint16](d)
	case []int16:
		return typed[int16](d)
	case []uint32:
		return typed[uint32](d)
	case []int32:
		return typed[int32](d)
	case []float32:
		return typed[float32](d)
	}
	return typed[float64](data.([]float64))
}

type number interface {
	~uint8 | ~int8 | ~uint16 | ~int16 | ~uint32 | ~int32 | ~float32 | ~float64
}

// rowSampler is the sampler of output row y.
func rowSampler(f *frame, y int, col []float64) sampler {
	s := sampler{dims: f.v.Dims, step: f.grid.U, frac: f.grid.Frac, col: col}
	for a := 0; a < 3; a++ {
		s.start[a] = f.grid.Index(a, 0, y)
	}
	return s
}

// labelRow is the label under each pixel of output row y, as row finds it.
func labelRow(lab []uint8, y int, f *frame) {
	s := rowSampler(f, y, nil)
	x0, x1 := s.span(len(lab))
	clear(lab)
	for x := x0; x < x1; x++ {
		lab[x] = f.labels[s.voxel(x)]
	}
}

// row draws output row y: the grey image, and the label under each pixel.
// s is the worker's sampler, set to the row here: one that lived in row
// would escape (drawRow is an interface call) and cost an allocation a row.
func (r *Renderer) row(dst *image.RGBA, y int, f *frame, s *sampler, col []float64) {
	w := dst.Rect.Dx()
	*s = rowSampler(f, y, col)
	pix := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
	var lab []uint8
	if f.labels != nil {
		lab = r.labels[y*w : (y+1)*w]
	}
	// Pixels whose nearest voxel is inside form one run [x0, x1): the index
	// is monotonic along a row. Outside it the image is black, unlabelled.
	x0, x1 := s.span(w)
	blank := func(a, b int) {
		copy(pix[4*a:4*b], r.black)
		if lab != nil {
			clear(lab[a:b])
		}
	}
	blank(0, x0)
	blank(x1, w)
	if x0 < x1 {
		f.vox.drawRow(f, s, pix, lab, x0, x1)
	}
}

// sampler is one row of a render.Grid: the fixed-point index of pixel x
// along axis a is start[a] + step[a]*x.
type sampler struct {
	dims        [3]int
	start, step [3]int32
	frac        uint
	col         []float64 // scratch: one value per voxel along a row's axis
}

// index is the fixed-point voxel index of pixel x along axis a.
func (s *sampler) index(a, x int) int32 { return s.start[a] + s.step[a]*int32(x) }

// nearest is the voxel along axis a whose cell holds pixel x.
func (s *sampler) nearest(a, x int) int {
	return int((s.index(a, x) + 1<<(s.frac-1)) >> s.frac)
}

// voxel is the flat offset of pixel x's nearest voxel.
func (s *sampler) voxel(x int) int {
	return s.nearest(0, x) + s.dims[0]*(s.nearest(1, x)+s.dims[1]*s.nearest(2, x))
}

// oneAxis reports whether only index axis a changes along the row, with
// the flat offset of the other two and the stride of a.
func (s *sampler) oneAxis() (a, base, stride int, ok bool) {
	strides := [3]int{1, s.dims[0], s.dims[0] * s.dims[1]}
	a = -1
	for c := 0; c < 3; c++ {
		if s.step[c] != 0 {
			if a >= 0 {
				return 0, 0, 0, false
			}
			a = c
		}
	}
	if a < 0 {
		a = 0
	}
	for c := 0; c < 3; c++ {
		if c != a {
			base += strides[c] * s.nearest(c, 0)
		}
	}
	return a, base, strides[a], true
}

// span is the run of pixels [x0, x1) of a row of w whose nearest voxel is
// inside the grid (x0 == x1 when there is none): along each axis,
// 0 <= index + 2^(frac-1) + step*x < dims << frac, solved exactly.
func (s *sampler) span(w int) (x0, x1 int) {
	lo, hi := int64(0), int64(w)
	for a := 0; a < 3; a++ {
		c := int64(s.start[a]) + 1<<(s.frac-1)
		st, d := int64(s.step[a]), int64(s.dims[a])<<s.frac
		switch {
		case st == 0:
			if c < 0 || c >= d {
				return 0, 0
			}
		case st > 0:
			lo, hi = max(lo, -floorDiv(c, st)), min(hi, -floorDiv(c-d, st))
		default:
			lo, hi = max(lo, floorDiv(c-d, -st)+1), min(hi, floorDiv(c, -st)+1)
		}
	}
	if lo >= hi {
		return 0, 0
	}
	return int(lo), int(hi)
}

// floorDiv is a/b rounded down, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// drawRow fills pixels [x0, x1) of a row, all of whose nearest voxels are
// inside the grid, and the label under each when lab is set.
func drawRow[T number](f *frame, s *sampler, data []T, pix, lab []uint8, x0, x1 int) {
	if f.interp == render.Linear {
		linearRow(f, s, data, pix, lab, x0, x1)
		return
	}
	if f.lut != nil {
		if a, base, stride, ok := s.oneAxis(); ok {
			// An axis-aligned view of an axis-aligned study: only one index
			// changes along the row, so one shift per pixel.
			for x := x0; x < x1; x++ {
				n := base + stride*s.nearest(a, x)
				g := uint32(f.lut[int(data[n])+f.off])
				binary.LittleEndian.PutUint32(pix[4*x:], 0xff000000|g*0x010101)
				if lab != nil {
					lab[x] = f.labels[n]
				}
			}
			return
		}
	}
	for x := x0; x < x1; x++ {
		n := s.voxel(x)
		var g uint32
		if f.lut != nil {
			g = uint32(f.lut[int(data[n])+f.off])
		} else {
			g = uint32(f.win.gray(float64(data[n])*f.v.Slope + f.v.Intercept))
		}
		binary.LittleEndian.PutUint32(pix[4*x:], 0xff000000|g*0x010101)
		if lab != nil {
			lab[x] = f.labels[n]
		}
	}
}
