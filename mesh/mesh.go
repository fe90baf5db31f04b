// Package mesh turns a label map into closed triangle surfaces, one per
// segment, in patient space: the 3D view draws them and `segvol mesh`
// writes them as STL, OBJ or PLY. It takes plain data (a label slice, its
// dims and index-to-world matrix) and imports nothing of ours, like render/.
//
// The pipeline is 3D Slicer's closed-surface representation: a discrete
// marching cubes on each segment's mask (with a case table built so that
// neighbouring cubes always agree, which makes every surface closed and
// manifold), then a windowed sinc low-pass (Taubin's non-shrinking filter,
// as vtkWindowedSincPolyDataFilter) and, on request, quadric decimation.
package mesh

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/segvolapp/segvol/internal/parallel"
)

// Grid is a label map: one label per voxel, indexed i + Dims[0]*(j +
// Dims[1]*k), and the matrix that takes a voxel index (i, j, k, 1) to
// patient coordinates (LPS, mm).
type Grid struct {
	Labels       []uint8
	Dims         [3]int
	IndexToWorld [4][4]float64
}

// Options say which segments to build and how.
type Options struct {
	// Labels to build; nil builds every label present, an empty slice
	// none. The app passes only the segments an edit changed.
	Labels []uint8
	// Smoothing is 3D Slicer's smoothing factor, 0..1: 0 keeps the
	// marching cubes surface, 0.5 (Slicer's default) gives the windowed
	// sinc a pass band of 10^(-4*0.5) = 0.01.
	Smoothing float64
	// Decimation is the fraction of triangles to remove, 0..0.99, as
	// Slicer's decimation factor; 0 keeps them all.
	Decimation float64
	// Progress, when set, is told after each label is built how many of
	// the voxels of the labels asked for have their surface (a label's
	// work grows with its size), one call at a time, from the building
	// goroutines: File > Export segments as meshes shows it.
	Progress func(done, total int)
}

// DefaultSmoothing is Slicer's default for its closed-surface representation.
const DefaultSmoothing = 0.5

// Mesh is one segment's closed surface. Positions and Normals hold x, y, z
// per vertex in patient coordinates (LPS, mm), normals of unit length
// pointing out of the segment; Triangles holds three vertex indices per
// triangle, counter-clockwise seen from outside.
type Mesh struct {
	Label     uint8
	Positions []float32
	Normals   []float32
	Triangles []uint32
	// Voxels is the segment's voxel count in the label map, for comparing
	// the enclosed volume with the voxel volume.
	Voxels int
}

// Vertices is the number of vertices.
func (m *Mesh) Vertices() int { return len(m.Positions) / 3 }

// Volume is the volume the surface encloses, in mm³ (the divergence
// theorem over its triangles; positive for outward orientation).
func (m *Mesh) Volume() float64 {
	var v float64
	p := m.Positions
	for t := 0; t+2 < len(m.Triangles); t += 3 {
		a, b, c := 3*int(m.Triangles[t]), 3*int(m.Triangles[t+1]), 3*int(m.Triangles[t+2])
		ax, ay, az := float64(p[a]), float64(p[a+1]), float64(p[a+2])
		bx, by, bz := float64(p[b]), float64(p[b+1]), float64(p[b+2])
		cx, cy, cz := float64(p[c]), float64(p[c+1]), float64(p[c+2])
		v += ax*(by*cz-bz*cy) - ay*(bx*cz-bz*cx) + az*(bx*cy-by*cx)
	}
	return v / 6
}

// Bytes is the memory the mesh's slices hold.
func (m *Mesh) Bytes() int {
	return 4 * (cap(m.Positions) + cap(m.Normals) + cap(m.Triangles))
}

// VoxelVolume is the volume of one voxel in mm³: |det| of the matrix.
func (g Grid) VoxelVolume() float64 { return math.Abs(det3(g.IndexToWorld)) }

func (g Grid) check() error {
	n := g.Dims[0] * g.Dims[1] * g.Dims[2]
	if g.Dims[0] <= 0 || g.Dims[1] <= 0 || g.Dims[2] <= 0 {
		return fmt.Errorf("mesh: empty label map %v", g.Dims)
	}
	if len(g.Labels) != n {
		return fmt.Errorf("mesh: %d labels for a %dx%dx%d grid", len(g.Labels), g.Dims[0], g.Dims[1], g.Dims[2])
	}
	if d := det3(g.IndexToWorld); d == 0 || math.IsNaN(d) || math.IsInf(d, 0) {
		return fmt.Errorf("mesh: the index-to-world matrix is singular")
	}
	return nil
}

func det3(m [4][4]float64) float64 {
	return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
}

// box is a label's inclusive voxel bounding box and voxel count.
type box struct {
	lo, hi [3]int
	n      int
}

// boxes finds every label's bounding box in one pass over the grid,
// slabs of slices in parallel.
func boxes(g Grid) [256]box {
	var mu sync.Mutex
	var all [256]box
	for v := range all {
		all[v].lo = g.Dims
		all[v].hi = [3]int{-1, -1, -1}
	}
	nx, ny := g.Dims[0], g.Dims[1]
	parallel.For(g.Dims[2], func(k0, k1 int) {
		var b [256]box
		for v := range b {
			b[v].lo = g.Dims
			b[v].hi = [3]int{-1, -1, -1}
		}
		for k := k0; k < k1; k++ {
			for j := 0; j < ny; j++ {
				row := g.Labels[(k*ny+j)*nx : (k*ny+j+1)*nx]
				// One update per run of equal labels, not per voxel.
				for i := 0; i < nx; {
					v, start := row[i], i
					for i++; i < nx && row[i] == v; i++ {
					}
					if v == 0 {
						continue
					}
					x := &b[v]
					x.n += i - start
					x.lo[0], x.hi[0] = min(x.lo[0], start), max(x.hi[0], i-1)
					x.lo[1], x.hi[1] = min(x.lo[1], j), max(x.hi[1], j)
					x.lo[2], x.hi[2] = min(x.lo[2], k), max(x.hi[2], k)
				}
			}
		}
		mu.Lock()
		for v := range b {
			if b[v].n == 0 {
				continue
			}
			x := &all[v]
			x.n += b[v].n
			for a := range 3 {
				x.lo[a], x.hi[a] = min(x.lo[a], b[v].lo[a]), max(x.hi[a], b[v].hi[a])
			}
		}
		mu.Unlock()
	})
	return all
}

// Extract builds the surface of each label asked for (every non-zero label
// present when o.Labels is nil), in ascending label order; a label absent
// from the grid gives no mesh. Labels are built in parallel, largest first.
func Extract(ctx context.Context, g Grid, o Options) ([]Mesh, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	if o.Smoothing < 0 || o.Smoothing > 1 || math.IsNaN(o.Smoothing) {
		return nil, fmt.Errorf("mesh: smoothing %g is outside 0..1", o.Smoothing)
	}
	if o.Decimation < 0 || o.Decimation > 0.99 || math.IsNaN(o.Decimation) {
		return nil, fmt.Errorf("mesh: decimation %g is outside 0..0.99", o.Decimation)
	}
	bb := boxes(g)
	want := o.Labels
	if want == nil {
		for v := 1; v < 256; v++ {
			want = append(want, uint8(v))
		}
	}
	var todo []uint8
	for _, v := range want {
		if v != 0 && bb[v].n > 0 && !slices.Contains(todo, v) {
			todo = append(todo, v)
		}
	}
	// Largest first, so the last label a worker takes is a small one.
	slices.SortFunc(todo, func(a, b uint8) int { return bb[b].n - bb[a].n })
	out := make([]Mesh, len(todo))
	// Fewer labels than CPUs (the app rebuilding one edited segment):
	// each label's marching is split into slabs to use them all.
	slabs := max(1, runtime.GOMAXPROCS(0)/max(1, len(todo)))
	var next atomic.Int64
	var mu sync.Mutex
	var failed error
	total, done := 0, 0
	for _, v := range todo {
		total += bb[v].n
	}
	parallel.For(runtime.GOMAXPROCS(0), func(int, int) {
		for {
			t := int(next.Add(1) - 1)
			if t >= len(todo) || ctx.Err() != nil {
				return
			}
			v := todo[t]
			m, err := build(ctx, g, v, bb[v], o, slabs)
			if err != nil {
				mu.Lock()
				failed = cmp.Or(failed, err)
				mu.Unlock()
				return
			}
			out[t] = m
			if o.Progress != nil {
				mu.Lock()
				done += bb[v].n
				o.Progress(done, total)
				mu.Unlock()
			}
		}
	})
	if err := cmp.Or(ctx.Err(), failed); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Mesh) int { return int(a.Label) - int(b.Label) })
	return out, nil
}

// build makes one label's mesh: extraction in index space, then world
// coordinates, smoothing, decimation and normals.
func build(ctx context.Context, g Grid, v uint8, b box, o Options, slabs int) (Mesh, error) {
	pos, tri := march(g, v, b, slabs)
	toWorld(pos, g.IndexToWorld)
	if det3(g.IndexToWorld) < 0 {
		// A mirroring matrix turns outward counter-clockwise triangles
		// clockwise: swap two corners of each.
		for t := 0; t < len(tri); t += 3 {
			tri[t+1], tri[t+2] = tri[t+2], tri[t+1]
		}
	}
	if err := ctx.Err(); err != nil {
		return Mesh{}, err
	}
	if o.Smoothing > 0 {
		smooth(pos, tri, math.Pow(10, -4*o.Smoothing), smoothIterations)
	}
	if o.Decimation > 0 {
		pos, tri = decimate(pos, tri, o.Decimation)
	}
	if cap(tri) > len(tri)+len(tri)/8 {
		tri = slices.Clone(tri) // drop the room growing left: it would live as long as the mesh
	}
	return newMesh(v, b.n, pos, tri), nil
}

// newMesh is the mesh of label v (voxels in the map) with the positions
// pos, worked on in float64, stored as float32, and normals computed.
func newMesh(v uint8, voxels int, pos []float64, tri []uint32) Mesh {
	m := Mesh{Label: v, Triangles: tri, Voxels: voxels, Positions: make([]float32, len(pos))}
	for i, x := range pos {
		m.Positions[i] = float32(x)
	}
	m.Normals = normals(pos, tri)
	return m
}

func toWorld(pos []float64, m [4][4]float64) {
	for p := 0; p < len(pos); p += 3 {
		i, j, k := pos[p], pos[p+1], pos[p+2]
		for a := range 3 {
			pos[p+a] = m[a][0]*i + m[a][1]*j + m[a][2]*k + m[a][3]
		}
	}
}

// normals are the area-weighted averages of the faces around each vertex.
func normals(pos []float64, tri []uint32) []float32 {
	acc := make([]float64, len(pos))
	for t := 0; t < len(tri); t += 3 {
		a, b, c := 3*int(tri[t]), 3*int(tri[t+1]), 3*int(tri[t+2])
		ux, uy, uz := pos[b]-pos[a], pos[b+1]-pos[a+1], pos[b+2]-pos[a+2]
		vx, vy, vz := pos[c]-pos[a], pos[c+1]-pos[a+1], pos[c+2]-pos[a+2]
		nx, ny, nz := uy*vz-uz*vy, uz*vx-ux*vz, ux*vy-uy*vx
		for _, p := range [3]int{a, b, c} {
			acc[p] += nx
			acc[p+1] += ny
			acc[p+2] += nz
		}
	}
	out := make([]float32, len(pos))
	for p := 0; p < len(acc); p += 3 {
		l := math.Sqrt(acc[p]*acc[p] + acc[p+1]*acc[p+1] + acc[p+2]*acc[p+2])
		if l > 0 {
			out[p], out[p+1], out[p+2] = float32(acc[p]/l), float32(acc[p+1]/l), float32(acc[p+2]/l)
		}
	}
	return out
}
