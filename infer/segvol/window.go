package segvol

// Window is the model's fixed input size in [D,H,W].
var Window = [3]int{32, 256, 256}

// box3 is an inclusive box in [D,H,W] voxel indices.
type box3 struct{ lo, hi [3]int }

// foreground returns the bounding box of the values above 0 inside b (the
// whole volume when b is nil); ok is false when there are none.
func foreground(v *volume3, b *box3) (box3, bool) {
	r := box3{hi: [3]int{-1, -1, -1}}
	in := box3{hi: [3]int{v.dims[0] - 1, v.dims[1] - 1, v.dims[2] - 1}}
	if b != nil {
		in = *b
	}
	r.lo = in.hi
	for d := in.lo[0]; d <= in.hi[0]; d++ {
		for h := in.lo[1]; h <= in.hi[1]; h++ {
			row := v.data[(d*v.dims[1]+h)*v.dims[2]:]
			for w := in.lo[2]; w <= in.hi[2]; w++ {
				if row[w] > 0 {
					r.lo = [3]int{min(r.lo[0], d), min(r.lo[1], h), min(r.lo[2], w)}
					r.hi = [3]int{max(r.hi[0], d), max(r.hi[1], h), max(r.hi[2], w)}
				}
			}
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

// cut copies the window of src whose first voxel is at org (in src's frame),
// with zeros outside valid (the padding, in window coordinates).
func cut(src *volume3, org [3]int, valid box3) []float32 {
	out := make([]float32, Window[0]*Window[1]*Window[2])
	for d := valid.lo[0]; d <= valid.hi[0]; d++ {
		for h := valid.lo[1]; h <= valid.hi[1]; h++ {
			o := (d*Window[1]+h)*Window[2] + valid.lo[2]
			s := ((org[0]+d)*src.dims[1]+org[1]+h)*src.dims[2] + org[2] + valid.lo[2]
			copy(out[o:o+valid.hi[2]-valid.lo[2]+1], src.data[s:])
		}
	}
	return out
}

// blend sums window logits over a region and counts the windows that cover
// each voxel, so that overlaps are averaged with equal weights.
type blend struct {
	sum   volume3
	count []uint8
}

func newBlend(dims [3]int) *blend {
	n := dims[0] * dims[1] * dims[2]
	return &blend{sum: volume3{data: make([]float32, n), dims: dims}, count: make([]uint8, n)}
}

// add accumulates the valid part of one window's logits; org is the
// window's first voxel in the region's frame.
func (b *blend) add(logits []float32, org [3]int, valid box3) {
	dims := b.sum.dims
	for d := valid.lo[0]; d <= valid.hi[0]; d++ {
		for h := valid.lo[1]; h <= valid.hi[1]; h++ {
			o := (d*Window[1]+h)*Window[2] + valid.lo[2]
			s := ((org[0]+d)*dims[1]+org[1]+h)*dims[2] + org[2] + valid.lo[2]
			for w := valid.lo[2]; w <= valid.hi[2]; w++ {
				b.sum.data[s] += logits[o]
				b.count[s]++
				o++
				s++
			}
		}
	}
}

// mean divides each sum by its count in place and returns the averages.
func (b *blend) mean() *volume3 {
	for x, c := range b.count {
		if c > 0 {
			b.sum.data[x] /= float32(c)
		}
	}
	return &b.sum
}
