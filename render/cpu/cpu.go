// Package cpu is the reference slice renderer in pure Go: what render/gl must
// match, and the fallback where no OpenGL 3.3 context can be made.
package cpu

import (
	"encoding/binary"
	"image"
	"math"

	"github.com/segvolapp/segvol/internal/parallel"
	"github.com/segvolapp/segvol/render"
)

// Renderer draws slices on the CPU. Its scratch buffers and window lookup
// table are kept between frames, so one Renderer serves one goroutine at a
// time; make one per view.
type Renderer struct {
	lut    lut
	labels []uint8 // the label under each output pixel, for outlines
}

// lut maps every stored value of an integer type of at most 16 bits to its
// grey level, so the hot loop does one load instead of float arithmetic.
type lut struct {
	key    lutKey
	gray   []uint8
	offset int // gray[stored+offset]
}

type lutKey struct {
	min, n                          int
	slope, intercept, center, width float64
}

// New returns a CPU renderer.
func New() *Renderer { return &Renderer{} }

var _ render.Renderer = (*Renderer)(nil)

// window maps a real value to a grey level: linear from black at the lower
// edge of the window to white at the upper edge.
type window struct{ lo, scale float64 }

func newWindow(o render.Options) window {
	return window{lo: o.Center - o.Width/2, scale: 255 / o.Width}
}

func (w window) gray(real float64) uint8 {
	g := (real - w.lo) * w.scale
	switch {
	case g <= 0 || g != g:
		return 0
	case g >= 255:
		return 255
	}
	return uint8(g + 0.5)
}

// Render implements render.Renderer.
func (r *Renderer) Render(dst *image.RGBA, p render.Plane, v *render.Volume, l *render.Labels, o render.Options) error {
	if err := render.Check(dst, v, l, o); err != nil {
		return err
	}
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	if l != nil && cap(r.labels) < w*h {
		r.labels = make([]uint8, w*h)
	}
	win := newWindow(o)
	r.prepareLUT(v, o, win)
	rows := func(y0, y1 int) {
		// Scratch for the trilinear one-axis path, one per worker.
		var col []float64
		if o.Interp == render.Linear {
			col = make([]float64, max(v.Dims[0], v.Dims[1], v.Dims[2]))
		}
		for y := y0; y < y1; y++ {
			r.row(dst, y, p, v, l, o, win, col)
		}
	}
	parallel.For(h, rows)
	if l != nil {
		r.overlay(dst, l)
	}
	return nil
}

func (r *Renderer) prepareLUT(v *render.Volume, o render.Options, win window) {
	var lo, n int
	switch v.Voxels.(type) {
	case []uint8:
		lo, n = 0, 1<<8
	case []int8:
		lo, n = -1<<7, 1<<8
	case []uint16:
		lo, n = 0, 1<<16
	case []int16:
		lo, n = -1<<15, 1<<16
	default:
		r.lut.gray = nil
		return
	}
	key := lutKey{lo, n, v.Slope, v.Intercept, o.Center, o.Width}
	if r.lut.gray != nil && r.lut.key == key {
		return
	}
	if cap(r.lut.gray) < n {
		r.lut.gray = make([]uint8, n)
	}
	r.lut.gray = r.lut.gray[:n]
	for s := 0; s < n; s++ {
		r.lut.gray[s] = win.gray(float64(s+lo)*v.Slope + v.Intercept)
	}
	r.lut.key, r.lut.offset = key, -lo
}

// row draws output row y: the grey image, and the label under each pixel.
func (r *Renderer) row(dst *image.RGBA, y int, p render.Plane, v *render.Volume, l *render.Labels, o render.Options, win window, col []float64) {
	w := dst.Rect.Dx()
	m := &v.WorldToIndex
	// Index of pixel (0, y) and the index step of one pixel along the row.
	// render/gl repeats this arithmetic in the same order, so that both
	// renderers pick the same voxels.
	var start, step [3]float64
	for a := 0; a < 3; a++ {
		c := [3]float64{p.Origin[0] + p.V[0]*float64(y), p.Origin[1] + p.V[1]*float64(y), p.Origin[2] + p.V[2]*float64(y)}
		start[a] = m[a][0]*c[0] + m[a][1]*c[1] + m[a][2]*c[2] + m[a][3]
		step[a] = m[a][0]*p.U[0] + m[a][1]*p.U[1] + m[a][2]*p.U[2]
	}
	pix := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
	var lab []uint8
	if l != nil {
		lab = r.labels[y*w : (y+1)*w]
	}
	s := sampler{dims: v.Dims, start: start, step: step, win: win, lut: r.lut.gray, off: r.lut.offset, col: col}
	// Pixels whose nearest voxel is inside form one run [x0, x1): the index
	// is monotonic along a row. Outside it the image is black, unlabelled.
	x0, x1 := s.span(w)
	if x0 >= x1 {
		x0, x1 = w, w
	}
	blank := func(a, b int) {
		for x := a; x < b; x++ {
			q := pix[4*x : 4*x+4 : 4*x+4]
			q[0], q[1], q[2], q[3] = 0, 0, 0, 255
			if lab != nil {
				lab[x] = 0
			}
		}
	}
	blank(0, x0)
	blank(x1, w)
	if x0 == x1 {
		return
	}
	var labels []uint8
	if l != nil {
		labels = l.Data
	}
	switch d := v.Voxels.(type) {
	case []uint8:
		drawRow(&s, d, v, o.Interp, pix, labels, lab, x0, x1)
	case []int8:
		drawRow(&s, d, v, o.Interp, pix, labels, lab, x0, x1)
	case []uint16:
		drawRow(&s, d, v, o.Interp, pix, labels, lab, x0, x1)
	case []int16:
		drawRow(&s, d, v, o.Interp, pix, labels, lab, x0, x1)
	case []uint32:
		drawRow(&s, d, v, o.Interp, pix, labels, lab, x0, x1)
	case []int32:
		drawRow(&s, d, v, o.Interp, pix, labels, lab, x0, x1)
	case []float32:
		drawRow(&s, d, v, o.Interp, pix, labels, lab, x0, x1)
	case []float64:
		drawRow(&s, d, v, o.Interp, pix, labels, lab, x0, x1)
	}
}

type sampler struct {
	dims        [3]int
	start, step [3]float64
	win         window
	lut         []uint8
	off         int
	col         []float64 // scratch: one value per voxel along a row's axis
}

// index is the fractional voxel index of pixel x along axis a.
func (s *sampler) index(a, x int) float64 { return s.start[a] + s.step[a]*float64(x) }

// inside reports whether pixel x's nearest voxel lies in the grid: voxel n
// covers [n-0.5, n+0.5).
func (s *sampler) inside(x int) bool {
	for a := 0; a < 3; a++ {
		if f := s.index(a, x) + 0.5; f < 0 || f >= float64(s.dims[a]) {
			return false
		}
	}
	return true
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
			base += strides[c] * int(s.start[c]+0.5)
		}
	}
	return a, base, strides[a], true
}

// span is the run of pixels [x0, x1) of a row of w whose nearest voxel is
// inside the grid (x0 >= x1 when there is none). It solves each axis's
// bounds, then settles the ends with the exact per-pixel test so that the
// inner loops need no bounds checks.
func (s *sampler) span(w int) (x0, x1 int) {
	lo, hi := 0.0, float64(w)
	for a := 0; a < 3; a++ {
		st, d := s.step[a], float64(s.dims[a])
		f0 := s.start[a] + 0.5
		if st == 0 {
			if f0 < 0 || f0 >= d {
				return 0, 0
			}
			continue
		}
		// 0 <= f0 + st*x < d
		b0, b1 := -f0/st, (d-f0)/st
		if st < 0 {
			b0, b1 = b1, b0
		}
		lo, hi = math.Max(lo, b0), math.Min(hi, b1)
	}
	if !(lo < hi) {
		return 0, 0
	}
	x0, x1 = max(0, int(lo)-1), min(w, int(hi)+2)
	for x0 < x1 && !s.inside(x0) {
		x0++
	}
	for x1 > x0 && !s.inside(x1-1) {
		x1--
	}
	return x0, x1
}

type number interface {
	~uint8 | ~int8 | ~uint16 | ~int16 | ~uint32 | ~int32 | ~float32 | ~float64
}

// drawRow fills pixels [x0, x1) of a row, all of whose nearest voxels are
// inside the grid, and the label under each when labels is set.
func drawRow[T number](s *sampler, data []T, v *render.Volume, interp render.Interp, pix []uint8, labels, lab []uint8, x0, x1 int) {
	nx, nxy := s.dims[0], s.dims[0]*s.dims[1]
	var tri trilinearAxes
	if interp == render.Linear {
		tri = newTrilinearAxes(s.dims)
	}
	if interp == render.Linear {
		if a, base, stride, ok := s.oneAxis(); ok {
			linearOneAxis(s, &tri, data, v, pix, labels, lab, x0, x1, a, base, stride)
			return
		}
	}
	if interp == render.Nearest && s.lut != nil {
		if a, base, stride, ok := s.oneAxis(); ok {
			// An axis-aligned view of an axis-aligned study: only one index
			// changes along the row, so one conversion per pixel.
			st, f0 := s.step[a], s.start[a]
			for x := x0; x < x1; x++ {
				n := base + stride*int(f0+st*float64(x)+0.5)
				g := uint32(s.lut[int(data[n])+s.off])
				binary.LittleEndian.PutUint32(pix[4*x:], 0xff000000|g*0x010101)
				if lab != nil {
					lab[x] = labels[n]
				}
			}
			return
		}
	}
	for x := x0; x < x1; x++ {
		fx := float64(x)
		fi, fj, fk := s.start[0]+s.step[0]*fx, s.start[1]+s.step[1]*fx, s.start[2]+s.step[2]*fx
		n := int(fi+0.5) + nx*int(fj+0.5) + nxy*int(fk+0.5)
		var g uint8
		switch {
		case interp == render.Linear:
			if val, ok := trilinear(&tri, data, fi, fj, fk); ok {
				g = s.win.gray(val*v.Slope + v.Intercept)
			}
		case s.lut != nil:
			g = s.lut[int(data[n])+s.off]
		default:
			g = s.win.gray(float64(data[n])*v.Slope + v.Intercept)
		}
		q := pix[4*x : 4*x+4 : 4*x+4]
		q[0], q[1], q[2], q[3] = g, g, g, 255
		if lab != nil {
			lab[x] = labels[n]
		}
	}
}

// linearOneAxis is drawRow's trilinear case when only index axis a changes
// along the row. The other two axes' voxels and fractions are fixed, so the
// row is first interpolated across them once per voxel along a (into
// s.col), and each pixel then only interpolates along a. The sum is
// trilinear's; the order of its terms differs, which moves a value by far
// less than a grey level (render/gl agrees within one level).
func linearOneAxis[T number](s *sampler, t *trilinearAxes, data []T, v *render.Volume, pix []uint8, labels, lab []uint8, x0, x1, a, base, stride int) {
	var b [3]int
	var frac [3]float64
	inside := true
	for c := 0; c < 3; c++ {
		if c == a {
			continue
		}
		f := s.start[c]
		if f < -0.5 || f >= t.hi[c] {
			inside = false
		}
		b[c], frac[c] = t.axis(c, f)
	}
	// The two fixed axes, lower first, and their steps to the next voxel.
	steps := [3]int{t.dx, t.dy, t.dz}
	strides := [3]int{1, t.nx, t.nxy}
	u, w := (a+1)%3, (a+2)%3
	if u > w {
		u, w = w, u
	}
	if inside {
		o0 := b[u]*strides[u] + b[w]*strides[w]
		du, dw := steps[u], steps[w]
		// A fixed axis whose fraction is 0 (the plane through voxel centres,
		// as after scrolling) needs no second sample: lerp(a, b, 0) is a.
		fu, fw := frac[u], frac[w]
		switch {
		case fu == 0 && fw == 0:
			for p := range t.dims[a] {
				s.col[p] = float64(data[o0+p*strides[a]])
			}
		case fw == 0:
			for p := range t.dims[a] {
				o := o0 + p*strides[a]
				s.col[p] = lerp(float64(data[o]), float64(data[o+du]), fu)
			}
		case fu == 0:
			for p := range t.dims[a] {
				o := o0 + p*strides[a]
				s.col[p] = lerp(float64(data[o]), float64(data[o+dw]), fw)
			}
		default:
			for p := range t.dims[a] {
				o := o0 + p*strides[a]
				lo := lerp(float64(data[o]), float64(data[o+du]), fu)
				hi := lerp(float64(data[o+dw]), float64(data[o+dw+du]), fu)
				s.col[p] = lerp(lo, hi, fw)
			}
		}
	}
	da := min(1, t.dims[a]-1) // next voxel along a; none on a one-voxel axis
	st, f0 := s.step[a], s.start[a]
	for x := x0; x < x1; x++ {
		f := f0 + st*float64(x)
		var g uint32
		if inside && f >= -0.5 && f < t.hi[a] {
			ba, ta := t.axis(a, f)
			val := lerp(s.col[ba], s.col[ba+da], ta)
			g = uint32(s.win.gray(val*v.Slope + v.Intercept))
		}
		binary.LittleEndian.PutUint32(pix[4*x:], 0xff000000|g*0x010101)
		if lab != nil {
			lab[x] = labels[base+stride*int(f+0.5)]
		}
	}
}

// trilinearAxes holds what trilinear interpolation needs of the grid, worked
// out once per row rather than per pixel.
type trilinearAxes struct {
	dims       [3]int
	last       [3]float64 // dims-1, the clamp bound
	hi         [3]float64 // dims-0.5, the edge of the grid
	nx, nxy    int
	dx, dy, dz int // steps to the next voxel; zero on a one-voxel axis
}

func newTrilinearAxes(dims [3]int) trilinearAxes {
	t := trilinearAxes{dims: dims, nx: dims[0], nxy: dims[0] * dims[1]}
	for a := 0; a < 3; a++ {
		t.last[a] = float64(dims[a] - 1)
		t.hi[a] = float64(dims[a]) - 0.5
	}
	if dims[0] > 1 {
		t.dx = 1
	}
	if dims[1] > 1 {
		t.dy = t.nx
	}
	if dims[2] > 1 {
		t.dz = t.nxy
	}
	return t
}

// axis clamps a fractional index onto the grid and splits it into the
// lower voxel and the fraction towards the next one.
func (t *trilinearAxes) axis(a int, f float64) (int, float64) {
	if f < 0 {
		f = 0
	} else if f > t.last[a] {
		f = t.last[a]
	}
	b := int(f)
	if b == t.dims[a]-1 && b > 0 {
		b--
	}
	return b, f - float64(b)
}

// trilinear interpolates the stored values around a fractional index.
// Points within half a voxel outside the grid take the edge value, so the
// image ends where nearest sampling ends.
func trilinear[T number](t *trilinearAxes, data []T, fi, fj, fk float64) (float64, bool) {
	if fi < -0.5 || fj < -0.5 || fk < -0.5 || fi >= t.hi[0] || fj >= t.hi[1] || fk >= t.hi[2] {
		return 0, false
	}
	bi, ti := t.axis(0, fi)
	bj, tj := t.axis(1, fj)
	bk, tk := t.axis(2, fk)
	o := bi + t.nx*bj + t.nxy*bk
	dx, dy, dz := t.dx, t.dy, t.dz
	c00 := lerp(float64(data[o]), float64(data[o+dx]), ti)
	c10 := lerp(float64(data[o+dy]), float64(data[o+dy+dx]), ti)
	c01 := lerp(float64(data[o+dz]), float64(data[o+dz+dx]), ti)
	c11 := lerp(float64(data[o+dz+dy]), float64(data[o+dz+dy+dx]), ti)
	return lerp(lerp(c00, c10, tj), lerp(c01, c11, tj), tk), true
}

func lerp(a, b, t float64) float64 { return a + (b-a)*t }

// overlay tints each labelled pixel with its segment's colour and, for
// outlines, paints opaque every labelled pixel whose 4-neighbour in the
// output has another label.
func (r *Renderer) overlay(dst *image.RGBA, l *render.Labels) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	lab := r.labels[:w*h]
	parallel.For(h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			pix := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
			for x := 0; x < w; x++ {
				v := lab[y*w+x]
				if v == 0 || int(v) >= len(l.Colors) {
					continue
				}
				c := l.Colors[v]
				if c.A == 0 {
					continue
				}
				edge := l.Outline && (x == 0 || y == 0 || x == w-1 || y == h-1 ||
					lab[y*w+x-1] != v || lab[y*w+x+1] != v || lab[(y-1)*w+x] != v || lab[(y+1)*w+x] != v)
				q := pix[4*x : 4*x+4 : 4*x+4]
				switch {
				case edge:
					q[0], q[1], q[2] = c.R, c.G, c.B
				case l.Fill:
					a := uint32(c.A)
					q[0] = uint8((uint32(q[0])*(255-a) + uint32(c.R)*a + 127) / 255)
					q[1] = uint8((uint32(q[1])*(255-a) + uint32(c.G)*a + 127) / 255)
					q[2] = uint8((uint32(q[2])*(255-a) + uint32(c.B)*a + 127) / 255)
				}
			}
		}
	})
}
