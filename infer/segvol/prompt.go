package segvol

import "github.com/segvolapp/segvol/infer"

// Point labels of the prompt encoder.
const (
	labelPad      = -1 // ignored point: zeroed position encoding plus not_a_point
	labelNegative = 0
	labelPositive = 1
	labelCorner0  = 2 // a box's first corner
	labelCorner1  = 3 // its second corner
)

// point is a prompt point in a window's frame: (d,h,w) voxel indices of the
// 32x256x256 window. The Go side passes raw voxel indices: the +0.5 and
// SAM's axis normalisation are inside the prompt-encoder graph.
type point struct {
	at    [3]int
	label int
}

// noBox is what upstream's generate_box returns for a window with nothing
// in it: both corners at -1.
var noBox = box3{lo: [3]int{-1, -1, -1}, hi: [3]int{-1, -1, -1}}

// tokens orders a window's point tokens as the contract says: the points,
// one (0,0,0) pad only when there are points and no box, then the box's
// two corners. The text vector, when used, follows these in sparse_tokens.
func tokens(pts []point, box *box3) (coords, labels []float32) {
	add := func(at [3]int, label int) {
		coords = append(coords, float32(at[0]), float32(at[1]), float32(at[2]))
		labels = append(labels, float32(label))
	}
	for _, p := range pts {
		add(p.at, p.label)
	}
	if len(pts) > 0 && box == nil {
		add([3]int{}, labelPad)
	}
	if box != nil {
		add(box.lo, labelCorner0)
		add(box.hi, labelCorner1)
	}
	return coords, labels
}

// cropPoints turns the user's clicks (i,j,k) into [D,H,W] indices of the
// crop, with their labels; clicks outside the crop are kept (the frames
// they are mapped into decide what falls inside).
func cropPoints(ps []infer.Point, org [3]int) []point {
	var out []point
	for _, p := range ps {
		l := labelNegative
		if p.Positive {
			l = labelPositive
		}
		out = append(out, point{at: [3]int{p.K - org[0], p.J - org[1], p.I - org[2]}, label: l})
	}
	return out
}

// cropBox turns the user's box into [D,H,W] indices of the crop.
func cropBox(b *infer.Box, org [3]int) *box3 {
	if b == nil {
		return nil
	}
	return &box3{
		lo: [3]int{b.Min[2] - org[0], b.Min[1] - org[1], b.Min[0] - org[2]},
		hi: [3]int{b.Max[2] - org[0], b.Max[1] - org[1], b.Max[0] - org[2]},
	}
}

// zoomPrompt maps crop-frame prompts into the zoom-out window through the
// resize's index maps: a box becomes the window voxels sampled from inside
// it, a point the middle one of the window voxels sampled from it (the
// nearest sampled one where the resize skips it). Crop-frame prompts
// outside the crop are clamped to it first.
func zoomPrompt(pts []point, box *box3, maps [3][]int, crop [3]int) ([]point, *box3) {
	var zp []point
	for _, p := range pts {
		var at [3]int
		for a := range 3 {
			c := min(max(p.at[a], 0), crop[a]-1)
			lo, hi := preimage(maps[a], c, c)
			at[a] = (lo + hi) / 2
		}
		zp = append(zp, point{at: at, label: p.label})
	}
	if box == nil {
		return zp, nil
	}
	var zb box3
	for a := range 3 {
		lo := min(max(box.lo[a], 0), crop[a]-1)
		hi := min(max(box.hi[a], 0), crop[a]-1)
		zb.lo[a], zb.hi[a] = preimage(maps[a], lo, hi)
	}
	return zp, &zb
}

// inWindow maps crop-frame points into a window whose first voxel is org
// (crop frame) and keeps those on its valid (non-padding) part.
func inWindow(pts []point, org [3]int, valid box3) []point {
	var out []point
	for _, p := range pts {
		q := point{label: p.label}
		for a := range 3 {
			q.at[a] = p.at[a] - org[a]
		}
		if valid.has(q.at) {
			out = append(out, q)
		}
	}
	return out
}

// boxInWindow cuts a crop-frame box to a window's valid part, in window
// coordinates; noBox when they do not meet.
func boxInWindow(b box3, org [3]int, valid box3) box3 {
	var r box3
	for a := range 3 {
		r.lo[a] = max(b.lo[a]-org[a], valid.lo[a])
		r.hi[a] = min(b.hi[a]-org[a], valid.hi[a])
		if r.lo[a] > r.hi[a] {
			return noBox
		}
	}
	return r
}

func (b box3) has(at [3]int) bool {
	for a := range 3 {
		if at[a] < b.lo[a] || at[a] > b.hi[a] {
			return false
		}
	}
	return true
}
