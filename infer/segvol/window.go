package segvol

import "github.com/segvolapp/segvol/internal/parallel"

// Window is the model's fixed input size in [D,H,W].
var Window = [3]int{32, 256, 256}

// box3 is an inclusive box in [D,H,W] voxel indices.
type box3 struct{ lo, hi [3]int }

// whole is the box of a volume of the given dims.
func whole(dims [3]int) box3 {
	return box3{hi: [3]int{dims[0] - 1, dims[1] - 1, dims[2] - 1}}
}

// spans are, per row (d,h) of a volume, the first and last w whose value is
// above 0 (-1 when none), so that the foreground box of the whole volume and
// of each window comes from the rows' ends, not from every voxel again.
type spans struct {
	v           *volume3
	first, last []int32
}

func newSpans(v *volume3) *spans {
	rows := v.dims[0] * v.dims[1]
	s := &spans{v: v, first: make([]int32, rows), last: make([]int32, rows)}
	parallel.For(rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			f, l := rowSpan(v.data[r*v.dims[2]:][:v.dims[2]])
			s.first[r], s.last[r] = int32(f), int32(l)
		}
	})
	return s
}

// rowSpan is the first and last index of a value above 0 in row, or -1, -1.
func rowSpan(row []float32) (int, int) {
	for f, v := range row {
		if v > 0 {
			l := len(row) - 1
			for !(row[l] > 0) { // not <= 0: NaN is not foreground
				l--
			}
			return f, l
		}
	}
	return -1, -1
}

// box returns the bounding box of the values above 0 inside in; ok is
// false when there are none.
func (s *spans) box(in box3) (box3, bool) {
	r := box3{lo: in.hi, hi: [3]int{-1, -1, -1}}
	for d := in.lo[0]; d <= in.hi[0]; d++ {
		for h := in.lo[1]; h <= in.hi[1]; h++ {
			x := d*s.v.dims[1] + h
			f, l := int(s.first[x]), int(s.last[x])
			if f < 0 || l < in.lo[2] || f > in.hi[2] {
				continue
			}
			if f < in.lo[2] || l > in.hi[2] {
				// The row's ends lie outside: look inside in only.
				if f, l = rowSpan(s.v.data[x*s.v.dims[2]:][in.lo[2] : in.hi[2]+1]); f < 0 {
					continue
				}
				f, l = f+in.lo[2], l+in.lo[2]
			}
			r.lo = [3]int{min(r.lo[0], d), min(r.lo[1], h), min(r.lo[2], f)}
			r.hi = [3]int{max(r.hi[0], d), max(r.hi[1], h), max(r.hi[2], l)}
		}
	}
	return r, r.hi[0] >= 0
}

// roi grows the bounding box of the zoom-out prediction towards one window:
// per axis by pad = max(0, window-extent), pad/2 on each side, clamped to
// dims (an odd pad or a clamp leaves it smaller than the window).
func roi(fg box3, dims [3]int) box3 {
	r := fg
	for a := range 3 {
		pad := max(0, Window[a]-(fg.hi[a]-fg.lo[a]+1))
		r.lo[a] = max(0, fg.lo[a]-pad/2)
		r.hi[a] = min(dims[a]-1, fg.hi[a]+pad/2)
	}
	return r
}

// starts are the window starts along one axis of a region of n voxels
// zero-padded to at least the window: stride window/2 (overlap 0.5), the
// last window moved back to end at the padded end.
func starts(n, window int) []int {
	size := max(n, window)
	if size == window {
		return []int{0}
	}
	stride := window / 2
	var s []int
	for x := 0; ; x += stride {
		s = append(s, min(x, size-window))
		if x+window >= size {
			return s
		}
	}
}

// padLeft is the zero padding before a region of n voxels, which is centred
// in the window with the odd voxel after it.
func padLeft(n, window int) int { return max(0, window-n) / 2 }

// tile is one sliding window: its start in the ROI's padded frame, and the
// part of it that holds ROI voxels, in window coordinates.
type tile struct {
	start [3]int
	valid box3
}

// tiles lists the windows over an ROI of the given size, D slowest.
func tiles(size [3]int) []tile {
	var pl [3]int
	var s [3][]int
	for a := range 3 {
		pl[a] = padLeft(size[a], Window[a])
		s[a] = starts(size[a], Window[a])
	}
	var ts []tile
	for _, d := range s[0] {
		for _, h := range s[1] {
			for _, w := range s[2] {
				t := tile{start: [3]int{d, h, w}}
				for a := range 3 {
					t.valid.lo[a] = max(0, pl[a]-t.start[a])
					t.valid.hi[a] = min(Window[a], pl[a]+size[a]-t.start[a]) - 1
				}
				ts = append(ts, t)
			}
		}
	}
	return ts
}

// origin is the tile's first voxel in the ROI's own (unpadded) frame; it
// may be negative where the window reaches into the padding.
func (t tile) origin(size [3]int) [3]int {
	var o [3]int
	for a := range 3 {
		o[a] = t.start[a] - padLeft(size[a], Window[a])
	}
	return o
}

// cutInto copies into win (one window) the window of src whose first voxel is
// at org (in src's frame), with zeros outside valid (the padding, in window
// coordinates); every value of win is written, so win may be reused.
func cutInto(win []float32, src *volume3, org [3]int, valid box3) []float32 {
	plane := Window[1] * Window[2]
	parallel.For(Window[0], func(lo, hi int) {
		for d := lo; d < hi; d++ {
			slice := win[d*plane:][:plane]
			if d < valid.lo[0] || d > valid.hi[0] {
				clear(slice)
				continue
			}
			for h := range Window[1] {
				row := slice[h*Window[2]:][:Window[2]]
				if h < valid.lo[1] || h > valid.hi[1] {
					clear(row)
					continue
				}
				clear(row[:valid.lo[2]])
				clear(row[valid.hi[2]+1:])
				s := ((org[0]+d)*src.dims[1]+org[1]+h)*src.dims[2] + org[2] + valid.lo[2]
				copy(row[valid.lo[2]:valid.hi[2]+1], src.data[s:])
			}
		}
	})
	return win
}

// blend averages the logits of the windows tiles(region size) over a
// region of dst, in place: the region is zeroed, each window's logits are
// added, and mean divides each sum by the number of windows over it.
type blend struct {
	dst   *volume3
	reg   box3
	cover [3][]int // per axis: how many windows cover each index of the region
}

// blendOver zeroes reg in dst and returns a blend over it.
func blendOver(dst *volume3, reg box3) *blend {
	b := &blend{dst: dst, reg: reg}
	var size [3]int
	for a := range 3 {
		size[a] = reg.hi[a] - reg.lo[a] + 1
		b.cover[a] = make([]int, size[a])
		// The windows are the product of each axis's starts, so the
		// windows over a voxel are the product of its axes' counts.
		pl := padLeft(size[a], Window[a])
		for _, s := range starts(size[a], Window[a]) {
			for x := max(0, s-pl); x < min(size[a], s-pl+Window[a]); x++ {
				b.cover[a][x]++
			}
		}
	}
	b.rows(func(d, h int, row []float32) { clear(row) })
	return b
}

// rows calls f on each row of the region (d,h in the region's frame), the
// slices split across the CPUs.
func (b *blend) rows(f func(d, h int, row []float32)) {
	dims := b.dst.dims
	n := b.reg.hi[2] - b.reg.lo[2] + 1
	parallel.For(len(b.cover[0]), func(lo, hi int) {
		for d := lo; d < hi; d++ {
			for h := range b.cover[1] {
				x := ((b.reg.lo[0]+d)*dims[1]+b.reg.lo[1]+h)*dims[2] + b.reg.lo[2]
				f(d, h, b.dst.data[x:x+n])
			}
		}
	})
}

// add accumulates the valid part of one window's logits; org is the
// window's first voxel in the region's frame. Each voxel is written by one
// CPU and its sum taken in window order, so the result does not depend on
// how many CPUs there are.
func (b *blend) add(logits []float32, org [3]int, valid box3) {
	dims := b.dst.dims
	n := valid.hi[2] - valid.lo[2] + 1
	parallel.For(valid.hi[0]-valid.lo[0]+1, func(lo, hi int) {
		for d := valid.lo[0] + lo; d < valid.lo[0]+hi; d++ {
			for h := valid.lo[1]; h <= valid.hi[1]; h++ {
				o := (d*Window[1]+h)*Window[2] + valid.lo[2]
				s := ((b.reg.lo[0]+org[0]+d)*dims[1]+b.reg.lo[1]+org[1]+h)*dims[2] + b.reg.lo[2] + org[2] + valid.lo[2]
				src := logits[o : o+n]
				dst := b.dst.data[s : s+n]
				for x, v := range src {
					dst[x] += v
				}
			}
		}
	})
}

// mean divides each sum by its count in place and returns dst.
func (b *blend) mean() *volume3 {
	b.rows(func(d, h int, row []float32) {
		c := b.cover[0][d] * b.cover[1][h]
		for w, n := range b.cover[2] {
			if k := c * n; k > 0 {
				row[w] /= float32(k)
			}
		}
	})
	return b.dst
}
