// Package cpu is the reference slice renderer in pure Go: what render/gl must
// match, and the fallback where no OpenGL 3.3 context can be made.
package cpu

import (
	"encoding/binary"
	"image"

	"github.com/segvolapp/segvol/internal/parallel"
	"github.com/segvolapp/segvol/render"
)

// Renderer draws slices on the CPU. Its scratch buffers and window lookup
// table are kept between frames, so one Renderer serves one goroutine at a
// time; make one per view.
type Renderer struct {
	lut      lut
	labels   []uint8   // the label under each output pixel, for outlines
	black    []uint8   // a row of opaque black pixels
	depth    []float64 // the 3D depth buffer
	proj     []float32 // the 3D surfaces' projected vertices
	noBlocks bool      // tests: cast every sample, to check that skipping changes nothing
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

func (w window) gray(real float64) uint8 { return level((real - w.lo) * w.scale) }

// level rounds a grey level, clamped to [0, 255]; NaN is black.
func level(g float64) uint8 {
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
	g, err := render.NewGrid(p, v, w, h)
	if err != nil {
		return err
	}
	if l != nil && cap(r.labels) < w*h {
		r.labels = make([]uint8, w*h)
	}
	if len(r.black) < 4*w {
		r.black = make([]uint8, 4*w)
		for i := 3; i < len(r.black); i += 4 {
			r.black[i] = 255
		}
	}
	f := frame{grid: g, vox: voxelsOf(v.Voxels), v: v, interp: o.Interp, win: newWindow(o)}
	r.prepareLUT(v, o, f.win)
	f.lut, f.off = r.lut.gray, r.lut.offset
	if l != nil {
		f.labels = l.Data
	}
	parallel.For(h, func(y0, y1 int) {
		// Scratch for the trilinear one-axis path, one per worker.
		s := new(sampler)
		var col []float64
		if o.Interp == render.Linear {
			col = make([]float64, max(v.Dims[0], v.Dims[1], v.Dims[2]))
		}
		if l == nil {
			for y := y0; y < y1; y++ {
				r.row(dst, y, &f, s, col)
			}
			return
		}
		// Each row's overlay follows one row behind its drawing, while both
		// are in cache: an outline needs the labels of the rows above and
		// below. Those of the neighbouring workers' edge rows are worked out
		// again here rather than waited for.
		lab := func(y int) []uint8 { return r.labels[y*w : (y+1)*w] }
		var above, below []uint8
		if l.Outline && y0 > 0 {
			above = make([]uint8, w)
			labelRow(above, y0-1, &f)
		}
		if l.Outline && y1 < h {
			below = make([]uint8, w)
			labelRow(below, y1, &f)
		}
		for y := y0; y < y1; y++ {
			r.row(dst, y, &f, s, col)
			if y > y0 {
				overlayRow(dst.Pix[(y-1)*dst.Stride:], y-1, l, above, lab(y-1), lab(y))
				above = lab(y - 1)
			}
		}
		if y1 > y0 {
			overlayRow(dst.Pix[(y1-1)*dst.Stride:], y1-1, l, above, lab(y1-1), below)
		}
	})
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

// overlayRow tints each labelled pixel of row y with its segment's colour
// and, for outlines, paints opaque every labelled pixel whose 4-neighbour in
// the output has another label, and the stripes of the hatched label;
// above and below are the labels of the rows around, nil at the image's
// edges.
func overlayRow(pix []uint8, y int, l *render.Labels, above, lab, below []uint8) {
	w := len(lab)
	for x := 0; x < w; x++ {
		v := lab[x]
		if v == 0 {
			// Skip unlabelled runs eight pixels at a time.
			if x+8 <= w && binary.LittleEndian.Uint64(lab[x:]) == 0 {
				x += 7
			}
			continue
		}
		if int(v) >= len(l.Colors) {
			continue
		}
		c := l.Colors[v]
		if c.A == 0 {
			continue
		}
		edge := l.Outline && (x == 0 || x == w-1 || above == nil || below == nil ||
			lab[x-1] != v || lab[x+1] != v || above[x] != v || below[x] != v)
		q := pix[4*x : 4*x+4 : 4*x+4]
		switch {
		case edge, v == l.Hatched && render.Hatch(x, y):
			q[0], q[1], q[2] = c.R, c.G, c.B
		case l.Fill:
			a := uint32(c.A)
			q[0] = uint8((uint32(q[0])*(255-a) + uint32(c.R)*a + 127) / 255)
			q[1] = uint8((uint32(q[1])*(255-a) + uint32(c.G)*a + 127) / 255)
			q[2] = uint8((uint32(q[2])*(255-a) + uint32(c.B)*a + 127) / 255)
		}
	}
}
