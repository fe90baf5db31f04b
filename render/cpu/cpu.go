// Package cpu is the reference slice renderer in pure Go: what render/gl must
// match, and the fallback where no OpenGL 3.3 context can be made.
package cpu

import (
	"image"
	"math"
	"runtime"
	"sync"

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
		for y := y0; y < y1; y++ {
			r.row(dst, y, p, v, l, o, win)
		}
	}
	parallel(h, rows)
	if l != nil {
		r.overlay(dst, l)
	}
	return nil
}

// parallel splits rows [0, n) over the CPUs.
func parallel(n int, f func(y0, y1 int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for y := 0; y < n; y += chunk {
		end := min(y+chunk, n)
		wg.Add(1)
		go func(a, b int) {
			defer wg.Done()
			f(a, b)
		}(y, end)
	}
	wg.Wait()
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
func (r *Renderer) row(dst *image.RGBA, y int, p render.Plane, v *render.Volume, l *render.Labels, o render.Options, win window) {
	w := dst.Rect.Dx()
	m := &v.WorldToIndex
	// Index of pixel (0, y) and the index step of one pixel along the row.
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
	s := sampler{dims: v.Dims, start: start, step: step, win: win, lut: r.lut.gray, off: r.lut.offset}
	switch d := v.Voxels.(type) {
	case []uint8:
		drawRow(s, d, v, o.Interp, pix)
	case []int8:
		drawRow(s, d, v, o.Interp, pix)
	case []uint16:
		drawRow(s, d, v, o.Interp, pix)
	case []int16:
		drawRow(s, d, v, o.Interp, pix)
	case []uint32:
		drawRow(s, d, v, o.Interp, pix)
	case []int32:
		drawRow(s, d, v, o.Interp, pix)
	case []float32:
		drawRow(s, d, v, o.Interp, pix)
	case []float64:
		drawRow(s, d, v, o.Interp, pix)
	}
	if lab != nil {
		labelRow(s, l.Data, lab)
	}
}

type sampler struct {
	dims        [3]int
	start, step [3]float64
	win         window
	lut         []uint8
	off         int
}

// nearest is the flat offset of the voxel nearest to the index of pixel x,
// or -1 outside the grid. Voxel n covers [n-0.5, n+0.5).
func (s *sampler) nearest(x int) int {
	fx := float64(x)
	i := s.start[0] + s.step[0]*fx + 0.5
	j := s.start[1] + s.step[1]*fx + 0.5
	k := s.start[2] + s.step[2]*fx + 0.5
	if i < 0 || j < 0 || k < 0 {
		return -1
	}
	ii, jj, kk := int(i), int(j), int(k)
	if ii >= s.dims[0] || jj >= s.dims[1] || kk >= s.dims[2] {
		return -1
	}
	return ii + s.dims[0]*(jj+s.dims[1]*kk)
}

type number interface {
	~uint8 | ~int8 | ~uint16 | ~int16 | ~uint32 | ~int32 | ~float32 | ~float64
}

func drawRow[T number](s sampler, data []T, v *render.Volume, interp render.Interp, pix []uint8) {
	for x := 0; x < len(pix)/4; x++ {
		var g uint8
		if interp == render.Linear {
			if val, ok := trilinear(&s, data, x); ok {
				g = s.win.gray(val*v.Slope + v.Intercept)
			}
		} else if n := s.nearest(x); n >= 0 {
			if s.lut != nil {
				g = s.lut[int(data[n])+s.off]
			} else {
				g = s.win.gray(float64(data[n])*v.Slope + v.Intercept)
			}
		}
		q := pix[4*x : 4*x+4 : 4*x+4]
		q[0], q[1], q[2], q[3] = g, g, g, 255
	}
}

// trilinear interpolates the stored values around the index of pixel x.
// Points within half a voxel outside the grid take the edge value, so the
// image ends where nearest sampling ends.
func trilinear[T number](s *sampler, data []T, x int) (float64, bool) {
	fx := float64(x)
	var base [3]int
	var frac [3]float64
	for a := 0; a < 3; a++ {
		f := s.start[a] + s.step[a]*fx
		if f < -0.5 || f >= float64(s.dims[a])-0.5 {
			return 0, false
		}
		f = math.Max(0, math.Min(f, float64(s.dims[a]-1)))
		b := int(f)
		if b == s.dims[a]-1 && b > 0 {
			b--
		}
		base[a], frac[a] = b, f-float64(b)
	}
	nx, nxy := s.dims[0], s.dims[0]*s.dims[1]
	// Steps to the next voxel along each axis; zero on a one-voxel axis.
	var d [3]int
	if s.dims[0] > 1 {
		d[0] = 1
	}
	if s.dims[1] > 1 {
		d[1] = nx
	}
	if s.dims[2] > 1 {
		d[2] = nxy
	}
	o := base[0] + nx*base[1] + nxy*base[2]
	c00 := lerp(float64(data[o]), float64(data[o+d[0]]), frac[0])
	c10 := lerp(float64(data[o+d[1]]), float64(data[o+d[1]+d[0]]), frac[0])
	c01 := lerp(float64(data[o+d[2]]), float64(data[o+d[2]+d[0]]), frac[0])
	c11 := lerp(float64(data[o+d[2]+d[1]]), float64(data[o+d[2]+d[1]+d[0]]), frac[0])
	return lerp(lerp(c00, c10, frac[1]), lerp(c01, c11, frac[1]), frac[2]), true
}

func lerp(a, b, t float64) float64 { return a + (b-a)*t }

// labelRow records the label nearest to each pixel of the row (labels are
// categories: they are never interpolated).
func labelRow(s sampler, data []uint8, out []uint8) {
	for x := range out {
		if n := s.nearest(x); n >= 0 {
			out[x] = data[n]
		} else {
			out[x] = 0
		}
	}
}

// overlay tints each labelled pixel with its segment's colour and, for
// outlines, paints opaque every labelled pixel whose 4-neighbour in the
// output has another label.
func (r *Renderer) overlay(dst *image.RGBA, l *render.Labels) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	lab := r.labels[:w*h]
	parallel(h, func(y0, y1 int) {
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
