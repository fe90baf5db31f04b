package mesh

import (
	"math"
	"slices"
)

// Cluster is m with about fraction (0..0.99) of its triangles removed by
// vertex clustering (Lindstrom's out-of-core simplification, VTK's
// vtkQuadricClustering, which vtkLODActor draws while the camera moves):
// the vertices in each cell of a regular grid become one, placed where the
// cell's triangles' planes meet (their quadric's optimum, else their
// mean), and triangles that collapse are dropped. One pass over the mesh,
// against the priority queue of edge collapses of Options.Decimation: a
// whole-body map's 5M triangles lightened to 300k in about a second where
// that took 40. The result keeps m's orientation but need not be closed or
// manifold: it is for the frames drawn while the mouse moves, not for
// export. m is left as it was.
func Cluster(m Mesh, fraction float64) Mesh {
	fraction = min(max(fraction, 0), 0.99)
	nf := len(m.Triangles) / 3
	target := max(nf-int(fraction*float64(nf)), 4)
	if nf == 0 || target >= nf {
		return Mesh{Label: m.Label, Voxels: m.Voxels, Positions: slices.Clone(m.Positions), Normals: slices.Clone(m.Normals), Triangles: slices.Clone(m.Triangles)}
	}
	area := 0.0
	for f := range nf {
		area += triArea(m.Positions, m.Triangles[3*f:3*f+3])
	}
	// A closed surface has about twice as many triangles as vertices, and
	// a cell of side h that it crosses holds about h^2 of its area: h^2 =
	// 2 area / target. Corrected when that gives more than a tenth over
	// the target or a quarter under (thin or folded surfaces cross more
	// cells). But cells wider than a structure flatten it (a rib of 4 mm
	// in 6 mm cells lost 80% of its volume): at most half its mean
	// thickness, 3 volume / area (a sphere's radius, 1.5 times a tube's),
	// whatever the triangles that keeps.
	thick := 3 * math.Abs(m.Volume()) / area
	size := func(h float64) float64 {
		if thick > 0 {
			return min(h, thick/2)
		}
		return h
	}
	h := size(math.Sqrt(2 * area / float64(target)))
	var pos []float64
	var tri []uint32
	for try := 0; try < 3; try++ {
		pos, tri = cluster(m.Positions, m.Triangles, h)
		got := len(tri) / 3
		next := size(h * math.Sqrt(float64(max(got, 1))/float64(target)))
		if got <= target*11/10 && got >= target*3/4 || next == h {
			break
		}
		h = next
	}
	return newMesh(m.Label, m.Voxels, pos, tri)
}

// cell is one grid cell's vertices: their sum and count, and the quadric
// of the planes of the triangles that touch them.
type cell struct {
	sum [3]float64
	n   int
	q   quadric
	at  uint32 // the output vertex, +1 (0: not used yet)
}

// cluster merges the vertices of pos within each cell of side h and keeps
// the triangles whose three corners fall in three cells, once each.
func cluster(pos []float32, tri []uint32, h float64) ([]float64, []uint32) {
	nv := len(pos) / 3
	lo := [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	for v := range nv {
		for a := range 3 {
			lo[a] = min(lo[a], float64(pos[3*v+a]))
		}
	}
	of := make([]int32, nv) // each vertex's cell
	index := map[[3]int32]int32{}
	var cells []cell
	for v := range nv {
		var key [3]int32
		var p [3]float64
		for a := range 3 {
			p[a] = float64(pos[3*v+a])
			key[a] = int32((p[a] - lo[a]) / h)
		}
		c, ok := index[key]
		if !ok {
			c = int32(len(cells))
			index[key] = c
			cells = append(cells, cell{})
		}
		of[v] = c
		cl := &cells[c]
		cl.n++
		for a := range 3 {
			cl.sum[a] += p[a]
		}
	}
	// Each triangle's plane, weighted by its area, goes to its corners'
	// cells, as vtkQuadricClustering does.
	kept := make([]uint32, 0, len(tri)/4)
	seen := map[[3]int32]bool{}
	for t := 0; t < len(tri); t += 3 {
		a, b, c := of[tri[t]], of[tri[t+1]], of[tri[t+2]]
		pa, pb, pc := at32(pos, tri[t]), at32(pos, tri[t+1]), at32(pos, tri[t+2])
		nrm := cross3(sub3(pb, pa), sub3(pc, pa))
		if l := math.Sqrt(dot3(nrm, nrm)); l > 0 {
			n := [3]float64{nrm[0] / l, nrm[1] / l, nrm[2] / l}
			q := planeQuadric(n, dot3(n, pa))
			for i := range q {
				q[i] *= l / 2
			}
			cells[a].q.add(q)
			cells[b].q.add(q)
			cells[c].q.add(q)
		}
		if a == b || b == c || a == c {
			continue
		}
		// The same triangle from several: once (rotated so the smallest
		// cell comes first, which keeps its orientation).
		k := [3]int32{a, b, c}
		for k[0] > k[1] || k[0] > k[2] {
			k = [3]int32{k[1], k[2], k[0]}
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		kept = append(kept, uint32(a), uint32(b), uint32(c))
	}
	var out []float64
	for i, c := range kept {
		cl := &cells[c]
		if cl.at == 0 {
			mean := [3]float64{cl.sum[0] / float64(cl.n), cl.sum[1] / float64(cl.n), cl.sum[2] / float64(cl.n)}
			p, ok := cl.q.optimum()
			// The planes' meeting point, unless they are nearly parallel
			// and it lies far off (more than a cell from the vertices).
			if !ok || dist3(p, mean) > h {
				p = mean
			}
			out = append(out, p[0], p[1], p[2])
			cl.at = uint32(len(out) / 3)
		}
		kept[i] = cl.at - 1
	}
	return out, kept
}

func at32(pos []float32, v uint32) [3]float64 {
	return [3]float64{float64(pos[3*v]), float64(pos[3*v+1]), float64(pos[3*v+2])}
}

func dist3(a, b [3]float64) float64 { d := sub3(a, b); return math.Sqrt(dot3(d, d)) }

func triArea(pos []float32, t []uint32) float64 {
	a, b, c := at32(pos, t[0]), at32(pos, t[1]), at32(pos, t[2])
	n := cross3(sub3(b, a), sub3(c, a))
	return math.Sqrt(dot3(n, n)) / 2
}
