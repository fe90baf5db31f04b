package mesh

import (
	"fmt"
	"slices"

	"github.com/segvolapp/segvol/internal/parallel"
)

// The marching cubes case table is built here from one rule rather than
// typed in: on a face whose inside corners lie diagonally (the ambiguous
// case), the contour cuts each inside corner off on its own. The rule
// depends only on the face's four corners, so the two cubes that share a
// face draw the same segments on it, and the surface has no cracks; each
// cube's contour loops are cut into triangles by diagonals through the
// cube's inside only, so every edge of the surface lies in exactly two
// triangles.
//
// A cube's corner c (0..7) sits at offset (c&1, c>>1&1, c>>2&1); a label
// voxel is a corner, so surface vertices are the midpoints of cube edges
// between an inside and an outside voxel (the 0.5 iso-level of a binary
// mask, as vtkDiscreteFlyingEdges3D places them).

// cubeEdge is an edge of the unit cube: from corner a along axis.
type cubeEdge struct{ a, axis int }

var (
	edges [12]cubeEdge
	// edgeOf[c][axis] is the edge leaving corner c along axis, or -1.
	edgeOf [8][3]int
	// cases[config] lists triangles as cube edge triples, counter-
	// clockwise seen from outside the segment; bit c of config says
	// whether corner c is inside.
	cases [256][]uint8
)

func init() {
	for c := range edgeOf {
		edgeOf[c] = [3]int{-1, -1, -1}
	}
	n := 0
	for axis := range 3 {
		for c := range 8 {
			if c>>axis&1 == 0 {
				edges[n] = cubeEdge{c, axis}
				edgeOf[c][axis] = n
				n++
			}
		}
	}
	faces := faceCycles()
	for config := range 256 {
		cases[config] = triangulate(config, faces)
	}
}

// edgeBetween is the cube edge joining corners a and b (which differ in
// one bit).
func edgeBetween(a, b int) int {
	d := a ^ b
	axis := 0
	for d>>axis != 1 {
		axis++
	}
	return edgeOf[min(a, b)][axis]
}

// faceCycles lists each face's four corners counter-clockwise seen from
// outside the cube.
func faceCycles() [6][4]int {
	var out [6][4]int
	for f := range 6 {
		axis, side := f/2, f%2
		u, v := 1<<((axis+1)%3), 1<<((axis+2)%3)
		base := side << axis
		cyc := [4]int{base, base | u, base | u | v, base | v}
		// (u, v, axis) is right-handed, so this cycle turns around +axis:
		// counter-clockwise from outside on the far face, clockwise on
		// the near one.
		if side == 0 {
			cyc[1], cyc[3] = cyc[3], cyc[1]
		}
		out[f] = cyc
	}
	return out
}

// triangulate builds one configuration's triangles: on each face, a
// segment runs across every run of inside corners, from the edge where
// the counter-clockwise walk enters the run to the edge where it leaves;
// the segments chain into loops around the inside corners, and each loop
// is cut into triangles that keep its direction (splitLoop).
func triangulate(config int, faces [6][4]int) []uint8 {
	in := func(c int) bool { return config>>c&1 == 1 }
	next := map[int]int{} // segment start edge -> end edge
	for _, cyc := range faces {
		for p := range 4 {
			a, b := cyc[p], cyc[(p+1)%4]
			if in(a) || !in(b) {
				continue
			}
			// The walk enters a run at b: follow the run to its end.
			q := (p + 1) % 4
			for in(cyc[(q+1)%4]) {
				q = (q + 1) % 4
			}
			next[edgeBetween(a, b)] = edgeBetween(cyc[q], cyc[(q+1)%4])
		}
	}
	var tris []uint8
	for len(next) > 0 {
		start := -1
		for e := range next {
			if start < 0 || e < start {
				start = e
			}
		}
		loop := []int{start}
		for e := next[start]; e != start; e = next[e] {
			loop = append(loop, e)
		}
		for _, e := range loop {
			delete(next, e)
		}
		t, ok := splitLoop(loop, 0, len(loop)-1)
		if !ok {
			panic(fmt.Sprintf("mesh: no triangulation of loop %v of case %08b", loop, config))
		}
		tris = append(tris, t...)
	}
	// This walk direction makes the triangles face out of the segment
	// (the tests check every surface's signed volume is positive).
	return tris
}

// sameFace reports whether cube edges e and f lie on a common face.
func sameFace(e, f int) bool {
	a, b := edges[e], edges[f]
	for axis := range 3 {
		if axis != a.axis && axis != b.axis && a.a>>axis&1 == b.a>>axis&1 {
			return true
		}
	}
	return false
}

// splitLoop triangulates the polygon loop[i..j] (closed by the side j-i)
// with diagonals that cross the cube's inside only: a diagonal on a face
// could also be drawn by the neighbouring cube, and that edge would then
// lie in four triangles.
func splitLoop(loop []int, i, j int) ([]uint8, bool) {
	if j-i < 2 {
		return nil, true
	}
	for k := i + 1; k < j; k++ {
		if (k-i > 1 && sameFace(loop[i], loop[k])) || (j-k > 1 && sameFace(loop[k], loop[j])) {
			continue
		}
		left, ok1 := splitLoop(loop, i, k)
		right, ok2 := splitLoop(loop, k, j)
		if ok1 && ok2 {
			t := append([]uint8{uint8(loop[i]), uint8(loop[k]), uint8(loop[j])}, left...)
			return append(t, right...), true
		}
	}
	return nil, false
}

// march extracts label v's surface over its bounding box b, one voxel of
// background around it (outside the grid counts as background, so a
// segment touching the border is closed there). It returns vertex
// positions in index space and the triangles. The box is cut into up to
// slabs slabs of slices marched in parallel, whose vertices on the layers
// between them are then merged.
func march(g Grid, v uint8, b box, slabs int) (pos []float64, tri []uint32) {
	// Points (voxel centres) lo-1 .. hi+1 along each axis; cubes between.
	var org, np [3]int
	for a := range 3 {
		org[a] = b.lo[a] - 1
		np[a] = b.hi[a] - b.lo[a] + 3
	}
	layers := np[2] - 1
	slabs = max(1, min(slabs, layers/minSlabLayers))
	parts := make([]slab, slabs)
	parallel.For(slabs, func(lo, hi int) {
		for s := lo; s < hi; s++ {
			parts[s] = marchSlab(g, v, org, np, s*layers/slabs, (s+1)*layers/slabs)
		}
	})
	if slabs == 1 {
		return parts[0].pos, parts[0].tri
	}
	nv, nt := 0, 0
	for _, p := range parts {
		nv += len(p.pos)
		nt += len(p.tri)
	}
	pos = make([]float64, 0, nv)
	tri = make([]uint32, 0, nt)
	var shared []int32 // global ids on the layer the previous slab ended on
	for _, p := range parts {
		remap := make([]int32, len(p.pos)/3)
		for i := range remap {
			remap[i] = -1
		}
		if shared != nil {
			for e, id := range p.first {
				if id >= 0 {
					remap[id] = shared[e]
				}
			}
		}
		for id := range remap {
			if remap[id] < 0 {
				remap[id] = int32(len(pos) / 3)
				pos = append(pos, p.pos[3*id:3*id+3]...)
			}
		}
		for _, id := range p.tri {
			tri = append(tri, uint32(remap[id]))
		}
		shared = p.last
		for e, id := range shared {
			if id >= 0 {
				shared[e] = remap[id]
			}
		}
	}
	return pos, tri
}

// minSlabLayers keeps slabs thick enough that merging them costs little.
const minSlabLayers = 32

// slab is one slab's surface, with local vertex ids, and the ids of the
// vertices on the x and y edges of its first and last point layers
// (-1 where none), which the neighbouring slabs share.
type slab struct {
	pos         []float64
	tri         []uint32
	first, last []int32
}

// marchSlab marches the cube layers z0..z1-1 of the points from org, np
// of them along each axis.
func marchSlab(g Grid, v uint8, org, np [3]int, z0, z1 int) (out slab) {
	px, py := np[0], np[1]
	layer := px * py
	nx, ny := g.Dims[0], g.Dims[1]

	// Two layers of the mask and of the vertex ids on x and y edges, and
	// the ids on the z edges between them: the vertex on a shared edge is
	// made once.
	mask := [2][]uint8{make([]uint8, layer), make([]uint8, layer)}
	rowAny := [2][]bool{make([]bool, py), make([]bool, py)}
	xy := [2][]int32{make([]int32, 2*layer), make([]int32, 2*layer)}
	zid := make([]int32, layer)

	fill := func(z int, m []uint8, any []bool) {
		clear(m)
		clear(any)
		k := org[2] + z
		if k < 0 || k >= g.Dims[2] {
			return
		}
		for y := range py {
			j := org[1] + y
			if j < 0 || j >= ny {
				continue
			}
			row := g.Labels[(k*ny+j)*nx:]
			for x := range px {
				i := org[0] + x
				if i >= 0 && i < nx && row[i] == v {
					m[y*px+x] = 1
					any[y] = true
				}
			}
		}
	}
	pos, tri := out.pos, out.tri
	vertex := func(x, y, z, axis int) uint32 {
		var slot *int32
		switch axis {
		case 2:
			slot = &zid[y*px+x]
		default:
			slot = &xy[z&1][2*(y*px+x)+axis]
		}
		if *slot < 0 {
			if len(pos)+3 > cap(pos) {
				pos = slices.Grow(pos, len(pos)+3) // double: append's 1.25x allocates 5x the result
			}
			*slot = int32(len(pos) / 3)
			p := [3]float64{float64(org[0] + x), float64(org[1] + y), float64(org[2] + z)}
			p[axis] += 0.5
			pos = append(pos, p[0], p[1], p[2])
		}
		return uint32(*slot)
	}

	// A start the size of the slab's faces: a compact segment's surface.
	area := px*py + (py+px)*(z1-z0+1)
	pos = make([]float64, 0, 3*area)
	tri = make([]uint32, 0, 6*area)

	fill(z0, mask[z0&1], rowAny[z0&1])
	for i := range xy[z0&1] {
		xy[z0&1][i] = -1
	}
	for z := z0; z < z1; z++ {
		lo, hi := z&1, (z+1)&1
		fill(z+1, mask[hi], rowAny[hi])
		for i := range xy[hi] {
			xy[hi][i] = -1
		}
		for i := range zid {
			zid[i] = -1
		}
		m0, m1 := mask[lo], mask[hi]
		for y := 0; y+1 < py; y++ {
			if !rowAny[lo][y] && !rowAny[lo][y+1] && !rowAny[hi][y] && !rowAny[hi][y+1] {
				continue
			}
			r0, r1 := y*px, (y+1)*px
			for x := 0; x+1 < px; x++ {
				config := int(m0[r0+x]) | int(m0[r0+x+1])<<1 | int(m0[r1+x])<<2 | int(m0[r1+x+1])<<3 |
					int(m1[r0+x])<<4 | int(m1[r0+x+1])<<5 | int(m1[r1+x])<<6 | int(m1[r1+x+1])<<7
				if config == 0 || config == 255 {
					continue
				}
				if len(tri)+len(cases[config]) > cap(tri) {
					tri = slices.Grow(tri, len(tri)+len(cases[config]))
				}
				for _, e := range cases[config] {
					c := edges[e]
					tri = append(tri, vertex(x+c.a&1, y+c.a>>1&1, z+c.a>>2&1, c.axis))
				}
			}
		}
		if z == z0 {
			out.first = slices.Clone(xy[lo])
		}
	}
	out.pos, out.tri, out.last = pos, tri, xy[z1&1]
	return out
}
