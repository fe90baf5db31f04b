package cpu

import "encoding/binary"

// linearRow draws the trilinear grey levels of pixels [x0, x1), all of whose
// nearest voxels are inside the grid, and the label under each (that of
// its nearest voxel) when lab is set.
func linearRow[T number](f *frame, s *sampler, data []T, pix, lab []uint8, x0, x1 int) {
	t := newTrilinearAxes(s.dims, s.frac)
	if a, base, stride, ok := s.oneAxis(); ok {
		linearOneAxis(f, s, &t, data, pix, lab, x0, x1, a, base, stride)
		return
	}
	for x := x0; x < x1; x++ {
		val := trilinear(&t, data, s.index(0, x), s.index(1, x), s.index(2, x))
		g := uint32(f.win.gray(val*f.v.Slope + f.v.Intercept))
		binary.LittleEndian.PutUint32(pix[4*x:], 0xff000000|g*0x010101)
		if lab != nil {
			lab[x] = f.labels[s.voxel(x)]
		}
	}
}

// linearOneAxis is linearRow when only index axis a changes along the row.
// The other two axes' voxels and fractions are fixed, so the row is first
// interpolated across them once per voxel along a (into s.col), and each
// pixel then only interpolates along a. The sum is trilinear's; the order of
// its terms differs, which moves a value by far less than a grey level.
func linearOneAxis[T number](f *frame, s *sampler, t *trilinearAxes, data []T, pix, lab []uint8, x0, x1, a, base, stride int) {
	var b [3]int
	var frac [3]float64
	for c := 0; c < 3; c++ {
		if c != a {
			b[c], frac[c] = t.axis(c, s.start[c])
		}
	}
	// The two fixed axes, lower first, and their steps to the next voxel.
	steps := [3]int{t.dx, t.dy, t.dz}
	strides := [3]int{1, t.nx, t.nxy}
	u, w := (a+1)%3, (a+2)%3
	if u > w {
		u, w = w, u
	}
	da := steps[a] / strides[a] // next voxel along a; none on a one-voxel axis
	// The voxels along a that the pixels [x0, x1) interpolate between.
	p0, _ := t.axis(a, s.index(a, x0))
	p1, _ := t.axis(a, s.index(a, x1-1))
	p0, p1 = min(p0, p1), max(p0, p1)+da
	o0 := b[u]*strides[u] + b[w]*strides[w]
	du, dw := steps[u], steps[w]
	// The column holds grey levels before rounding: interpolation commutes
	// with the window's affine map, so it is folded into the weights once
	// per row and each pixel only interpolates and rounds.
	k := f.v.Slope * f.win.scale
	c := (f.v.Intercept - f.win.lo) * f.win.scale
	col, sa := s.col, strides[a]
	// A fixed axis whose fraction is 0 (the plane through voxel centres,
	// as after scrolling) needs no second sample.
	fu, fw := frac[u], frac[w]
	switch {
	case fu == 0 && fw == 0:
		for p := p0; p <= p1; p++ {
			col[p] = float64(data[o0+p*sa])*k + c
		}
	case fw == 0:
		w0, w1 := (1-fu)*k, fu*k
		for p := p0; p <= p1; p++ {
			o := o0 + p*sa
			col[p] = float64(data[o])*w0 + float64(data[o+du])*w1 + c
		}
	case fu == 0:
		w0, w1 := (1-fw)*k, fw*k
		for p := p0; p <= p1; p++ {
			o := o0 + p*sa
			col[p] = float64(data[o])*w0 + float64(data[o+dw])*w1 + c
		}
	default:
		w00, w01, w10, w11 := (1-fu)*(1-fw)*k, fu*(1-fw)*k, (1-fu)*fw*k, fu*fw*k
		for p := p0; p <= p1; p++ {
			o := o0 + p*sa
			col[p] = float64(data[o])*w00 + float64(data[o+du])*w01 + float64(data[o+dw])*w10 + float64(data[o+dw+du])*w11 + c
		}
	}
	st := s.step[a]
	alongColumn(pix[4*x0:4*x1], col, s.index(a, x0), st, t.last[a], int32(t.top[a]), s.frac, t.unit, da)
	if lab != nil {
		labels, fr := f.labels, s.frac&31
		half := int32(1) << fr >> 1
		for x, i := x0, s.index(a, x0); x < x1; x, i = x+1, i+st {
			lab[x] = labels[base+stride*int((i+half)>>fr)]
		}
	}
}

// alongColumn draws a run of pixels, 4 bytes each, whose fixed-point index
// along the column's axis starts at i and steps by st: trilinearAxes.axis
// with its fields as arguments, so that they stay in registers (frac&31
// tells the compiler that the shifts need no check for counts >= 32), then
// the interpolated grey level.
func alongColumn(pix []uint8, col []float64, i, st, last, top int32, frac uint, unit float64, da int) {
	fr := frac & 31
	for x := 0; x+4 <= len(pix); x += 4 {
		fi := min(max(i, 0), last)
		b := min(fi>>fr, top)
		c0 := col[b]
		g := uint32(level(c0 + (col[int(b)+da]-c0)*(float64(fi-b<<fr)*unit)))
		binary.LittleEndian.PutUint32(pix[x:x+4], 0xff000000|g*0x010101)
		i += st
	}
}

// trilinearAxes holds what trilinear interpolation needs of the grid, worked
// out once per row rather than per pixel.
type trilinearAxes struct {
	last       [3]int32 // (dims-1) << frac, the clamp bound
	top        [3]int   // the highest base voxel: dims-2, or 0 on a one-voxel axis
	frac       uint
	unit       float64 // 2^-frac
	nx, nxy    int
	dx, dy, dz int // steps to the next voxel; zero on a one-voxel axis
}

func newTrilinearAxes(dims [3]int, frac uint) trilinearAxes {
	t := trilinearAxes{frac: frac, unit: 1 / float64(int64(1)<<frac), nx: dims[0], nxy: dims[0] * dims[1]}
	for a := 0; a < 3; a++ {
		t.last[a] = int32(dims[a]-1) << frac
		t.top[a] = max(dims[a]-2, 0)
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

// axis clamps a fixed-point index onto the grid and splits it into the
// lower voxel and the weight of the next one. Within half a voxel outside
// the grid the edge value holds, so the image ends where nearest sampling
// ends.
func (t *trilinearAxes) axis(a int, f int32) (int, float64) {
	f = min(max(f, 0), t.last[a])
	b := min(int(f>>t.frac), t.top[a])
	return b, float64(f-int32(b)<<t.frac) * t.unit
}

// trilinear interpolates the stored values around a fixed-point index
// inside the grid.
func trilinear[T number](t *trilinearAxes, data []T, fi, fj, fk int32) float64 {
	bi, ti := t.axis(0, fi)
	bj, tj := t.axis(1, fj)
	bk, tk := t.axis(2, fk)
	o := bi + t.nx*bj + t.nxy*bk
	dx, dy, dz := t.dx, t.dy, t.dz
	c00 := lerp(float64(data[o]), float64(data[o+dx]), ti)
	c10 := lerp(float64(data[o+dy]), float64(data[o+dy+dx]), ti)
	c01 := lerp(float64(data[o+dz]), float64(data[o+dz+dx]), ti)
	c11 := lerp(float64(data[o+dz+dy]), float64(data[o+dz+dy+dx]), ti)
	return lerp(lerp(c00, c10, tj), lerp(c01, c11, tj), tk)
}

func lerp(a, b, t float64) float64 { return a + (b-a)*t }
