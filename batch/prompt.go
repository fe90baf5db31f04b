package batch

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/segvolapp/segvol/infer"
	"github.com/segvolapp/segvol/viewer/volume"
)

// prompt turns a row's LPS millimetres into voxel indices on the study's
// grid. A box is the grid-aligned hull of its corners' indices, cut to the
// image; one wholly outside the image, or a point outside it, is an error
// that names the image's extent (a box in voxels or in RAS lands there).
func prompt(r Row, g volume.Geometry, dims [3]int) (infer.Prompt, error) {
	p := infer.Prompt{Text: r.Text}
	if r.Box != nil {
		lo := [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
		hi := [3]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
		for c := range 8 {
			w := [3]float64{r.Box[c&1][0], r.Box[c>>1&1][1], r.Box[c>>2&1][2]}
			idx, err := g.WorldToIndex(w)
			if err != nil {
				return p, err
			}
			for a := range 3 {
				lo[a], hi[a] = min(lo[a], idx[a]), max(hi[a], idx[a])
			}
		}
		var b infer.Box
		for a := range 3 {
			b.Min[a] = max(int(math.Ceil(lo[a]-0.5)), 0)
			b.Max[a] = min(int(math.Floor(hi[a]+0.5)), dims[a]-1)
			if b.Min[a] > b.Max[a] {
				return p, fmt.Errorf("line %d: box %s mm lies outside the image (%s); give LPS millimetres", r.Line, mm(r.Box[0], r.Box[1]), extent(g, dims))
			}
		}
		p.Box = &b
	}
	for _, set := range []struct {
		pts      [][3]float64
		positive bool
	}{{r.Points, true}, {r.Negative, false}} {
		for _, w := range set.pts {
			idx, err := g.WorldToIndex(w)
			if err != nil {
				return p, err
			}
			pt := infer.Point{I: int(math.Round(idx[0])), J: int(math.Round(idx[1])), K: int(math.Round(idx[2])), Positive: set.positive}
			if pt.I < 0 || pt.J < 0 || pt.K < 0 || pt.I >= dims[0] || pt.J >= dims[1] || pt.K >= dims[2] {
				return p, fmt.Errorf("line %d: point %s mm lies outside the image (%s); give LPS millimetres", r.Line, mm(w), extent(g, dims))
			}
			p.Points = append(p.Points, pt)
		}
	}
	return p, nil
}

// mm writes positions as the manifest's columns do: "x y z", one after
// the other.
func mm(ps ...[3]float64) string {
	var f []string
	for _, p := range ps {
		for _, v := range p {
			f = append(f, strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	return strings.Join(f, " ")
}

// extent says where the image lies in LPS mm: the range of its voxel
// centres along x, y and z.
func extent(g volume.Geometry, dims [3]int) string {
	lo := [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	hi := [3]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for c := range 8 {
		w := g.IndexToWorld([3]float64{float64((c & 1) * (dims[0] - 1)), float64((c >> 1 & 1) * (dims[1] - 1)), float64((c >> 2 & 1) * (dims[2] - 1))})
		for a := range 3 {
			lo[a], hi[a] = min(lo[a], w[a]), max(hi[a], w[a])
		}
	}
	return fmt.Sprintf("x %.1f..%.1f, y %.1f..%.1f, z %.1f..%.1f mm", lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])
}
