package mesh_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/segvolapp/segvol/internal/parallel"
	"github.com/segvolapp/segvol/mesh"
	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/volume"
)

// benchDims is a whole-body CT's label map size, as the issue asks.
var benchDims = [3]int{512, 512, 300}

var (
	benchOnce sync.Once
	benchGrid mesh.Grid
	benchGeom volume.Geometry
)

// benchMap builds a 512x512x300 label map with 61 structures from the
// sample's 41 TotalSegmentator labels: each label's indicator trilinearly
// upsampled and the strongest taken at every voxel (smooth boundaries at
// the fine resolution, as a model's output at that size has, not blocks of
// 4x5x10 voxels), then the upper half (k >= 150) of the 20 largest
// structures that cross it renumbered v+128, as separate vertebrae or ribs
// would be.
func benchMap(b *testing.B) (mesh.Grid, volume.Geometry) {
	benchOnce.Do(func() {
		src, err := nifti.Read(sampleLabels)
		if err != nil {
			b.Fatal(err)
		}
		sd := src.Dims
		sv := src.Data.([]uint8)
		var f [3]float64
		for a := range 3 {
			f[a] = float64(sd[a]) / float64(benchDims[a])
		}
		out := make([]uint8, benchDims[0]*benchDims[1]*benchDims[2])
		nx, ny := benchDims[0], benchDims[1]
		parallel.For(benchDims[2], func(k0, k1 int) {
			for k := k0; k < k1; k++ {
				z0, wz := split((float64(k)+0.5)*f[2]-0.5, sd[2])
				for j := range ny {
					y0, wy := split((float64(j)+0.5)*f[1]-0.5, sd[1])
					for i := range nx {
						x0, wx := split((float64(i)+0.5)*f[0]-0.5, sd[0])
						var labs [8]uint8
						var ws [8]float64
						n := 0
						for c := range 8 {
							x, y, z := x0+c&1, y0+c>>1&1, z0+c>>2&1
							x, y, z = min(x, sd[0]-1), min(y, sd[1]-1), min(z, sd[2]-1)
							w := pick(wx, c&1) * pick(wy, c>>1&1) * pick(wz, c>>2&1)
							v := sv[x+sd[0]*(y+sd[1]*z)]
							p := slices.Index(labs[:n], v)
							if p < 0 {
								labs[n], p = v, n
								n++
							}
							ws[p] += w
						}
						best := 0
						for p := 1; p < n; p++ {
							if ws[p] > ws[best] {
								best = p
							}
						}
						out[i+nx*(j+ny*k)] = labs[best]
					}
				}
			}
		})
		half := nx * ny * benchDims[2] / 2
		var count, upper [256]int
		for n, v := range out {
			count[v]++
			if n >= half {
				upper[v]++
			}
		}
		var order []int
		for v := 1; v < 256; v++ {
			if upper[v] > 0 && upper[v] < count[v] {
				order = append(order, v)
			}
		}
		slices.SortFunc(order, func(a, b int) int { return count[b] - count[a] })
		var split [256]bool
		for _, v := range order[:20] {
			split[v] = true
		}
		for n := half; n < len(out); n++ {
			if split[out[n]] {
				out[n] += 128
			}
		}
		// index -> source index (x+0.5)*f-0.5 -> patient space
		a := src.Geom.Affine()
		var m [4][4]float64
		for r := range 3 {
			for c := range 3 {
				m[r][c] = a[r][c] * f[c]
				m[r][3] += a[r][c] * (0.5*f[c] - 0.5)
			}
			m[r][3] += a[r][3]
		}
		m[3][3] = 1
		benchGrid = mesh.Grid{Labels: out, Dims: benchDims, IndexToWorld: m}
		for c := range 3 {
			benchGeom.Origin[c] = m[c][3]
			for ax := range 3 {
				benchGeom.Axes[ax][c] = m[c][ax]
			}
		}
	})
	return benchGrid, benchGeom
}

// split is the lower neighbour of a fractional index and the weight of
// the upper one, clamped to the grid.
func split(x float64, n int) (int, float64) {
	if x <= 0 {
		return 0, 0
	}
	if x >= float64(n-1) {
		return n - 1, 0
	}
	i := int(x)
	return i, x - float64(i)
}

// pick is the linear weight of the lower (0) or upper (1) neighbour.
func pick(w float64, upper int) float64 {
	if upper == 1 {
		return w
	}
	return 1 - w
}

// peakHeap is the most heap one build of every surface of g holds above
// what was there before: the meshes and the work of the labels being built.
// The collector runs at a tenth of the live heap's growth meanwhile (GOGC=10),
// so that garbage it would collect under memory pressure is not counted.
func peakHeap(g mesh.Grid) float64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	base := heapBytes()
	peak, stop := watchHeap()
	_, err := mesh.Extract(context.Background(), g, mesh.Options{Smoothing: mesh.DefaultSmoothing})
	stop()
	if err != nil {
		panic(err)
	}
	return float64(*peak - base)
}

// heapBytes is the memory held by live and not yet swept heap objects.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// watchHeap samples heapBytes every millisecond until stop, keeping the
// highest: the peak a build needs above what was there before.
func watchHeap() (peak *uint64, stop func()) {
	peak = new(uint64)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			*peak = max(*peak, heapBytes())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return peak, func() { close(done); wg.Wait() }
}

// BenchmarkSurfaces builds every segment's surface of the 512x512x300
// map with Slicer's default smoothing: what scripts/bench-mesh.sh times
// against VTK's vtkDiscreteFlyingEdges3D + vtkWindowedSincPolyDataFilter
// on the same map. It reports the triangles, the meshes' memory and the
// memory a build needs at most (peakHeap); with
// SEGVOL_BENCH_MESH_DIR set it also writes the map (map.nii.gz) and each
// label's triangles and volume (go.json) there for the script.
func BenchmarkSurfaces(b *testing.B) {
	g, geom := benchMap(b)
	var ms []mesh.Mesh
	var err error
	for b.Loop() {
		if ms, err = mesh.Extract(context.Background(), g, mesh.Options{Smoothing: mesh.DefaultSmoothing}); err != nil {
			b.Fatal(err)
		}
	}
	tris, bytes := 0, 0
	for i := range ms {
		tris += len(ms[i].Triangles) / 3
		bytes += ms[i].Bytes()
	}
	b.ReportMetric(float64(len(ms)), "labels")
	b.ReportMetric(float64(tris), "triangles")
	b.ReportMetric(float64(bytes)/1e6, "MB-meshes")
	b.ReportMetric(peakHeap(g)/1e6, "MB-peak-heap")
	dir := os.Getenv("SEGVOL_BENCH_MESH_DIR")
	if dir == "" {
		return
	}
	path := filepath.Join(dir, "map.nii.gz")
	if _, err := os.Stat(path); err != nil {
		v := &volume.Volume{Dims: g.Dims, Data: g.Labels, Slope: 1, Geom: geom}
		if err := nifti.Write(path, v); err != nil {
			b.Fatal(err)
		}
	}
	type row struct {
		Triangles int
		Volume    float64
		Voxels    float64
	}
	rows := map[int]row{}
	for i := range ms {
		rows[int(ms[i].Label)] = row{len(ms[i].Triangles) / 3, ms[i].Volume(), float64(ms[i].Voxels) * g.VoxelVolume()}
	}
	data, err := json.Marshal(rows)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.json"), data, 0o644); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLargestSegment rebuilds only the largest structure of the
// 512x512x300 map, as the app does after an edit of one segment: label 133,
// the upper part of the sample's liver (757 mL of its 1043; 600k
// triangles), with Slicer's default smoothing.
func BenchmarkLargestSegment(b *testing.B) {
	g, _ := benchMap(b)
	for b.Loop() {
		if _, err := mesh.Extract(context.Background(), g, mesh.Options{Labels: []uint8{133}, Smoothing: mesh.DefaultSmoothing}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLightCopy makes the 3D view's light copy (90% of the triangles
// removed) of the largest structure of the 512x512x300 map (600k
// triangles): Cluster, which the view uses, against Decimate.
func BenchmarkLightCopy(b *testing.B) {
	g, _ := benchMap(b)
	ms, err := mesh.Extract(context.Background(), g, mesh.Options{Labels: []uint8{133}, Smoothing: mesh.DefaultSmoothing})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		f    func(mesh.Mesh, float64) mesh.Mesh
	}{{"cluster", mesh.Cluster}, {"decimate", mesh.Decimate}} {
		b.Run(c.name, func(b *testing.B) {
			var d mesh.Mesh
			for b.Loop() {
				d = c.f(ms[0], 0.9)
			}
			b.ReportMetric(float64(len(d.Triangles)/3), "triangles")
			b.ReportMetric(d.Volume()/ms[0].Volume(), "volume/full")
		})
	}
}
