package mesh

import (
	"container/heap"
	"math"
	"slices"
)

// decimate removes about fraction of a closed mesh's triangles by quadric
// edge collapse (Garland and Heckbert, 1997): each vertex carries the sum
// of the squared distances to the planes of its faces, and the edge whose
// merged vertex would stray least from them goes first, its vertex placed
// where that error is least. A collapse that would make the surface
// non-manifold (the link condition), leave a vertex with two faces, or
// fold a face over is skipped, so the result is closed, manifold and
// oriented like the input.
func decimate(pos []float64, tri []uint32, fraction float64) ([]float64, []uint32) {
	nv, nf := len(pos)/3, len(tri)/3
	target := max(nf-int(fraction*float64(nf)), 4)
	d := &decimator{pos: pos, tri: tri, q: make([]quadric, nv), faces: make([][]int32, nv),
		version: make([]uint32, nv), deadV: make([]bool, nv), deadF: make([]bool, nf)}
	for f := range nf {
		n, off := d.plane(f)
		q := planeQuadric(n, off)
		for c := range 3 {
			v := tri[3*f+c]
			d.q[v].add(q)
			d.faces[v] = append(d.faces[v], int32(f))
		}
	}
	for f := range nf {
		for c := range 3 {
			a, b := tri[3*f+c], tri[3*f+(c+1)%3]
			if a < b { // each undirected edge once
				d.push(a, b)
			}
		}
	}
	live := nf
	for live > target && d.edges.Len() > 0 {
		e := heap.Pop(&d.edges).(edge)
		if d.deadV[e.a] || d.deadV[e.b] || d.version[e.a] != e.va || d.version[e.b] != e.vb {
			continue
		}
		if d.collapse(e) {
			live -= 2
		}
	}
	return d.compact()
}

type decimator struct {
	pos     []float64
	tri     []uint32
	q       []quadric
	faces   [][]int32 // each vertex's faces; dead ones are skipped
	version []uint32  // bumped when a vertex moves, to drop stale edges
	deadV   []bool
	deadF   []bool
	edges   edgeHeap
}

func (d *decimator) at(v uint32) [3]float64 {
	return [3]float64{d.pos[3*v], d.pos[3*v+1], d.pos[3*v+2]}
}

// plane is face f's unit normal and offset (n·x = off on the plane).
func (d *decimator) plane(f int) ([3]float64, float64) {
	a, b, c := d.at(d.tri[3*f]), d.at(d.tri[3*f+1]), d.at(d.tri[3*f+2])
	n := unit(cross3(sub3(b, a), sub3(c, a)))
	return n, dot3(n, a)
}

// push queues edge (a, b) with the cost and place of its collapse.
func (d *decimator) push(a, b uint32) {
	q := d.q[a]
	q.add(d.q[b])
	p, ok := q.optimum()
	if !ok {
		// A flat neighbourhood has no single best point: take the best
		// of the ends and the midpoint.
		pa, pb := d.at(a), d.at(b)
		mid := [3]float64{(pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2, (pa[2] + pb[2]) / 2}
		p = mid
		for _, c := range [][3]float64{pa, pb} {
			if q.eval(c) < q.eval(p) {
				p = c
			}
		}
	}
	heap.Push(&d.edges, edge{cost: q.eval(p), a: a, b: b, va: d.version[a], vb: d.version[b], p: p})
}

// neighbours lists v's live faces and the vertices around it.
func (d *decimator) neighbours(v uint32) (faces []int32, verts []uint32) {
	for _, f := range d.faces[v] {
		if d.deadF[f] {
			continue
		}
		faces = append(faces, f)
		for c := range 3 {
			if w := d.tri[3*int(f)+c]; w != v && !slices.Contains(verts, w) {
				verts = append(verts, w)
			}
		}
	}
	return faces, verts
}

// collapse merges e.b into e.a at e.p if that keeps the mesh a closed
// manifold without fold-overs, and reports whether it did.
func (d *decimator) collapse(e edge) bool {
	fa, na := d.neighbours(e.a)
	fb, nb := d.neighbours(e.b)
	// The two faces on the edge, and their third vertices.
	var shared []int32
	for _, f := range fa {
		for c := range 3 {
			if d.tri[3*int(f)+c] == e.b {
				shared = append(shared, f)
			}
		}
	}
	if len(shared) != 2 {
		return false
	}
	var opp []uint32
	for _, f := range shared {
		for c := range 3 {
			if w := d.tri[3*int(f)+c]; w != e.a && w != e.b {
				opp = append(opp, w)
			}
		}
	}
	// Link condition: a and b share no neighbour but those two, else
	// the collapse pinches the surface.
	common := 0
	for _, w := range na {
		if slices.Contains(nb, w) {
			common++
		}
	}
	if common != 2 {
		return false
	}
	// The two opposite vertices lose a face each: three must remain.
	for _, w := range opp {
		n := 0
		for _, f := range d.faces[w] {
			if !d.deadF[f] {
				n++
			}
		}
		if n <= 3 {
			return false
		}
	}
	// No face around the edge may turn over (or collapse to a line).
	for _, list := range [2][]int32{fa, fb} {
		for _, f := range list {
			if f == shared[0] || f == shared[1] {
				continue
			}
			var before, after [3][3]float64
			for c := range 3 {
				v := d.tri[3*int(f)+c]
				before[c] = d.at(v)
				after[c] = before[c]
				if v == e.a || v == e.b {
					after[c] = e.p
				}
			}
			n0 := cross3(sub3(before[1], before[0]), sub3(before[2], before[0]))
			n1 := cross3(sub3(after[1], after[0]), sub3(after[2], after[0]))
			if dot3(n0, n1) <= 0.2*math.Sqrt(dot3(n0, n0)*dot3(n1, n1)) {
				return false
			}
		}
	}

	for _, f := range shared {
		d.deadF[f] = true
	}
	merged := fa[:0:0]
	for _, list := range [2][]int32{fa, fb} {
		for _, f := range list {
			if d.deadF[f] {
				continue
			}
			for c := range 3 {
				if d.tri[3*int(f)+c] == e.b {
					d.tri[3*int(f)+c] = e.a
				}
			}
			merged = append(merged, f)
		}
	}
	d.faces[e.a], d.faces[e.b] = merged, nil
	d.deadV[e.b] = true
	d.pos[3*e.a], d.pos[3*e.a+1], d.pos[3*e.a+2] = e.p[0], e.p[1], e.p[2]
	d.q[e.a].add(d.q[e.b])
	d.version[e.a]++
	_, around := d.neighbours(e.a)
	for _, w := range around {
		d.push(e.a, w)
	}
	return true
}

// compact renumbers the live vertices and faces.
func (d *decimator) compact() ([]float64, []uint32) {
	index := make([]uint32, len(d.deadV))
	var pos []float64
	n := uint32(0)
	for v, dead := range d.deadV {
		if !dead {
			index[v] = n
			n++
			pos = append(pos, d.pos[3*v], d.pos[3*v+1], d.pos[3*v+2])
		}
	}
	var tri []uint32
	for f, dead := range d.deadF {
		if !dead {
			tri = append(tri, index[d.tri[3*f]], index[d.tri[3*f+1]], index[d.tri[3*f+2]])
		}
	}
	return pos, tri
}

// quadric is a symmetric 4x4 matrix (upper triangle, row by row): the
// squared distance to a set of planes is [x 1] Q [x 1]ᵀ.
type quadric [10]float64

func planeQuadric(n [3]float64, off float64) quadric {
	a, b, c, dd := n[0], n[1], n[2], -off
	return quadric{a * a, a * b, a * c, a * dd, b * b, b * c, b * dd, c * c, c * dd, dd * dd}
}

func (q *quadric) add(o quadric) {
	for i := range q {
		q[i] += o[i]
	}
}

func (q quadric) eval(p [3]float64) float64 {
	x, y, z := p[0], p[1], p[2]
	return q[0]*x*x + 2*q[1]*x*y + 2*q[2]*x*z + 2*q[3]*x +
		q[4]*y*y + 2*q[5]*y*z + 2*q[6]*y +
		q[7]*z*z + 2*q[8]*z + q[9]
}

// optimum is the point of least error: the solution of the 3x3 system
// (Cramer's rule), unless it is ill-conditioned.
func (q quadric) optimum() ([3]float64, bool) {
	m := [3][3]float64{{q[0], q[1], q[2]}, {q[1], q[4], q[5]}, {q[2], q[5], q[7]}}
	r := [3]float64{-q[3], -q[6], -q[8]}
	det := dot3(m[0], cross3(m[1], m[2]))
	scale := q[0] + q[4] + q[7]
	if math.Abs(det) < 1e-6*scale*scale*scale || scale == 0 {
		return [3]float64{}, false
	}
	// columns of m, each replaced by r in turn
	var p [3]float64
	for i := range 3 {
		var mi [3][3]float64
		for row := range 3 {
			mi[row] = m[row]
			mi[row][i] = r[row]
		}
		p[i] = dot3(mi[0], cross3(mi[1], mi[2])) / det
	}
	return p, true
}

type edge struct {
	cost   float64
	a, b   uint32
	va, vb uint32
	p      [3]float64
}

type edgeHeap []edge

func (h edgeHeap) Len() int           { return len(h) }
func (h edgeHeap) Less(i, j int) bool { return h[i].cost < h[j].cost }
func (h edgeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *edgeHeap) Push(x any)        { *h = append(*h, x.(edge)) }
func (h *edgeHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func sub3(a, b [3]float64) [3]float64 { return [3]float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func dot3(a, b [3]float64) float64    { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func cross3(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

func unit(a [3]float64) [3]float64 {
	l := math.Sqrt(dot3(a, a))
	if l == 0 {
		return a
	}
	return [3]float64{a[0] / l, a[1] / l, a[2] / l}
}
