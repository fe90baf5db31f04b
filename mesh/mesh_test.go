package mesh_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/segvolapp/segvol/mesh"
	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/volume"
)

const sampleLabels = "../assets/sample/example_seg.nii.gz"

// organs of the sample (TotalSegmentator values): spleen, kidneys,
// gallbladder, liver, stomach, colon and the autochthon muscles. Structures
// only a few 3 mm voxels thick (ribs, adrenals, vessels, the lung lobes'
// tips cut by the 30 slices) are not organs in the sense: any
// smoothing that removes the staircase thins them (VTK's too: the
// benchmark prints both side by side).
var organs = []uint8{1, 2, 3, 4, 5, 6, 20, 86, 87}

// readGrid loads a label map file as a mesh.Grid with its geometry.
func readGrid(t testing.TB, path string) (mesh.Grid, volume.Geometry) {
	t.Helper()
	v, err := nifti.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := v.Data.([]uint8)
	if !ok {
		t.Fatalf("%s holds %T, want uint8 labels", path, v.Data)
	}
	return mesh.Grid{Labels: d, Dims: v.Dims, IndexToWorld: v.Geom.Affine()}, v.Geom
}

// checkClosed fails unless every edge of m lies in exactly two triangles
// that run along it in opposite directions (closed, manifold, consistently
// oriented), no triangle repeats a vertex, and the signed volume is
// positive (the consistent orientation is the outward one).
func checkClosed(t *testing.T, m *mesh.Mesh) {
	t.Helper()
	if len(m.Triangles) == 0 || len(m.Triangles)%3 != 0 {
		t.Fatalf("label %d: %d triangle indices", m.Label, len(m.Triangles))
	}
	// Every directed edge a->b once, and b->a once too.
	directed := make([]uint64, 0, len(m.Triangles))
	for i := 0; i < len(m.Triangles); i += 3 {
		tr := m.Triangles[i : i+3]
		if tr[0] == tr[1] || tr[1] == tr[2] || tr[0] == tr[2] {
			t.Fatalf("label %d: degenerate triangle %v", m.Label, tr)
		}
		for e := range 3 {
			directed = append(directed, uint64(tr[e])<<32|uint64(tr[(e+1)%3]))
		}
	}
	slices.Sort(directed)
	for i, e := range directed {
		if i > 0 && directed[i-1] == e {
			t.Fatalf("label %d: directed edge %d->%d in two triangles", m.Label, e>>32, e&(1<<32-1))
		}
		if _, found := slices.BinarySearch(directed, e<<32|e>>32); !found {
			t.Fatalf("label %d: edge %d->%d has no opposite half: open or inconsistently oriented", m.Label, e>>32, e&(1<<32-1))
		}
	}
	if v := m.Volume(); v <= 0 {
		t.Fatalf("label %d: enclosed volume %g: faces point inwards", m.Label, v)
	}
	if len(m.Normals) != len(m.Positions) {
		t.Fatalf("label %d: %d normals for %d positions", m.Label, len(m.Normals), len(m.Positions))
	}
}

// checkNear fails unless every vertex lies within tol voxels (in index
// space, each axis) of the centre of a voxel of its label.
func checkNear(t *testing.T, g mesh.Grid, geom volume.Geometry, m *mesh.Mesh, tol float64) {
	t.Helper()
	tol += 1e-3 // float32 positions
	for p := 0; p < len(m.Positions); p += 3 {
		w := [3]float64{float64(m.Positions[p]), float64(m.Positions[p+1]), float64(m.Positions[p+2])}
		x, err := geom.WorldToIndex(w)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for k := int(math.Ceil(x[2] - tol)); k <= int(math.Floor(x[2]+tol)) && !found; k++ {
			for j := int(math.Ceil(x[1] - tol)); j <= int(math.Floor(x[1]+tol)) && !found; j++ {
				for i := int(math.Ceil(x[0] - tol)); i <= int(math.Floor(x[0]+tol)) && !found; i++ {
					if i >= 0 && j >= 0 && k >= 0 && i < g.Dims[0] && j < g.Dims[1] && k < g.Dims[2] &&
						g.Labels[i+g.Dims[0]*(j+g.Dims[1]*k)] == m.Label {
						found = true
					}
				}
			}
		}
		if !found {
			t.Fatalf("label %d: vertex %v (index %.2f) is more than %g voxels from the segment's voxels", m.Label, w, x, tol)
		}
	}
}

// TestSampleSurfaces builds every segment of the bundled sample (41
// TotalSegmentator labels on 3 mm voxels) and checks each surface is
// closed, manifold and outward, and lies in patient space where its voxels
// are: marching cubes vertices half a voxel from a voxel centre of the
// segment (on the faces between it and the rest), smoothed ones within a
// voxel of those faces, and each organ's enclosed volume within 3% of its
// voxel volume, its centroid within a voxel of theirs.
func TestSampleSurfaces(t *testing.T) {
	g, geom := readGrid(t, sampleLabels)
	for _, smoothing := range []float64{0, mesh.DefaultSmoothing} {
		ms, err := mesh.Extract(context.Background(), g, mesh.Options{Smoothing: smoothing})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 41 {
			t.Fatalf("smoothing %g: %d meshes, want the sample's 41 labels", smoothing, len(ms))
		}
		byLabel := map[uint8]*mesh.Mesh{}
		for i := range ms {
			m := &ms[i]
			byLabel[m.Label] = m
			checkClosed(t, m)
			checkNear(t, g, geom, m, 0.5+smoothing/mesh.DefaultSmoothing)
		}
		for _, v := range organs {
			m := byLabel[v]
			want := float64(m.Voxels) * g.VoxelVolume()
			got := m.Volume()
			t.Logf("smoothing %g label %3d: %7d triangles, %9.0f mm³ vs %9.0f voxel (%+.2f%%)",
				smoothing, v, len(m.Triangles)/3, got, want, 100*(got/want-1))
			if math.Abs(got/want-1) > 0.03 {
				t.Errorf("smoothing %g label %d: encloses %.0f mm³, voxels %.0f mm³ (%+.1f%%)",
					smoothing, v, got, want, 100*(got/want-1))
			}
			c, vc := centroid(m), voxelCentroid(g, geom, v)
			if d := math.Hypot(c[0]-vc[0], math.Hypot(c[1]-vc[1], c[2]-vc[2])); d > 3 {
				t.Errorf("smoothing %g label %d: centroid %.1f mm, voxels' %.1f mm: %.1f mm apart", smoothing, v, c, vc, d)
			}
		}
	}
}

// centroid is the centroid of the solid a closed mesh encloses.
func centroid(m *mesh.Mesh) [3]float64 {
	var c [3]float64
	var vol float64
	p := m.Positions
	for t := 0; t < len(m.Triangles); t += 3 {
		var q [3][3]float64
		for n := range 3 {
			i := 3 * int(m.Triangles[t+n])
			q[n] = [3]float64{float64(p[i]), float64(p[i+1]), float64(p[i+2])}
		}
		// signed volume of the tetrahedron (origin, q0, q1, q2)
		d := q[0][0]*(q[1][1]*q[2][2]-q[1][2]*q[2][1]) - q[0][1]*(q[1][0]*q[2][2]-q[1][2]*q[2][0]) + q[0][2]*(q[1][0]*q[2][1]-q[1][1]*q[2][0])
		vol += d
		for a := range 3 {
			c[a] += d * (q[0][a] + q[1][a] + q[2][a]) / 4
		}
	}
	for a := range 3 {
		c[a] /= vol
	}
	return c
}

// voxelCentroid is the mean patient position of label v's voxel centres.
func voxelCentroid(g mesh.Grid, geom volume.Geometry, v uint8) [3]float64 {
	var s [3]float64
	n := 0
	for k := range g.Dims[2] {
		for j := range g.Dims[1] {
			for i := range g.Dims[0] {
				if g.Labels[i+g.Dims[0]*(j+g.Dims[1]*k)] == v {
					s[0], s[1], s[2] = s[0]+float64(i), s[1]+float64(j), s[2]+float64(k)
					n++
				}
			}
		}
	}
	return geom.IndexToWorld([3]float64{s[0] / float64(n), s[1] / float64(n), s[2] / float64(n)})
}

// TestObliqueSurface meshes a real oblique study: the dcm_qa_ts Siemens EPI
// (64x64x35, 3.25x3.25x3.6 mm, its slices tilted about 6° and its matrix
// mirrored), thresholded into a head mask. The surface must be closed and
// outward whatever the matrix's handedness, sit on the mask in patient
// space, and enclose the mask's volume within 3%.
func TestObliqueSurface(t *testing.T) {
	v, err := nifti.Read("../testdata/dcm_qa_ts/Ref/1.nii")
	if err != nil {
		t.Fatal(err)
	}
	if !oblique(v.Geom) {
		t.Fatalf("the EPI's geometry %v is not oblique", v.Geom)
	}
	lo, hi := v.Range()
	mask := make([]uint8, v.Len())
	for n := range mask {
		if v.Value(n) > lo+0.2*(hi-lo) {
			mask[n] = 1
		}
	}
	g := mesh.Grid{Labels: mask, Dims: v.Dims, IndexToWorld: v.Geom.Affine()}
	for _, smoothing := range []float64{0, mesh.DefaultSmoothing} {
		ms, err := mesh.Extract(context.Background(), g, mesh.Options{Smoothing: smoothing})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 {
			t.Fatalf("%d meshes for one label", len(ms))
		}
		m := &ms[0]
		checkClosed(t, m)
		checkNear(t, g, v.Geom, m, 0.5+smoothing/mesh.DefaultSmoothing)
		want := float64(m.Voxels) * g.VoxelVolume()
		got := m.Volume()
		t.Logf("smoothing %g: %d voxels, %d triangles, %.0f mm³ vs %.0f (%+.2f%%)", smoothing, m.Voxels, len(m.Triangles)/3, got, want, 100*(got/want-1))
		if math.Abs(got/want-1) > 0.03 {
			t.Errorf("smoothing %g: encloses %.0f mm³, voxels %.0f mm³", smoothing, got, want)
		}
		c, vc := centroid(m), voxelCentroid(g, v.Geom, 1)
		if d := math.Hypot(c[0]-vc[0], math.Hypot(c[1]-vc[1], c[2]-vc[2])); d > 3 {
			t.Errorf("smoothing %g: centroid %.1f mm, voxels' %.1f mm", smoothing, c, vc)
		}
	}
}

// oblique reports whether some voxel axis is off every patient axis.
func oblique(g volume.Geometry) bool {
	for _, ax := range g.Axes {
		n := math.Sqrt(ax[0]*ax[0] + ax[1]*ax[1] + ax[2]*ax[2])
		if max(math.Abs(ax[0]), math.Abs(ax[1]), math.Abs(ax[2])) < 0.999*n {
			return true
		}
	}
	return false
}

// TestChosenLabels builds only the liver and the spleen of the sample (what
// the app asks after an edit of those two) and gets exactly the meshes the
// whole build makes for them; a label absent from the map gives none.
func TestChosenLabels(t *testing.T) {
	g, _ := readGrid(t, sampleLabels)
	all, err := mesh.Extract(context.Background(), g, mesh.Options{Smoothing: mesh.DefaultSmoothing})
	if err != nil {
		t.Fatal(err)
	}
	// Progress counts the voxels of the labels built, up to all of theirs.
	var told [][2]int
	some, err := mesh.Extract(context.Background(), g, mesh.Options{Labels: []uint8{5, 200, 1, 5}, Smoothing: mesh.DefaultSmoothing,
		Progress: func(done, total int) { told = append(told, [2]int{done, total}) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(some) != 2 || some[0].Label != 1 || some[1].Label != 5 {
		t.Fatalf("got %d meshes, want spleen (1) and liver (5)", len(some))
	}
	voxels := some[0].Voxels + some[1].Voxels
	if len(told) != 2 || told[0][1] != voxels || told[1] != [2]int{voxels, voxels} ||
		told[0][0] != some[0].Voxels && told[0][0] != some[1].Voxels { // built in parallel: either may end first
		t.Errorf("progress %v, want the spleen's %d or the liver's %d voxels, then both labels' %d, of %d", told, some[0].Voxels, some[1].Voxels, voxels, voxels)
	}
	for _, m := range some {
		for _, a := range all {
			if a.Label == m.Label && (!slices.Equal(a.Positions, m.Positions) || !slices.Equal(a.Triangles, m.Triangles)) {
				t.Errorf("label %d differs when built alone", m.Label)
			}
		}
	}
}

// TestExtractRejects checks bad input is refused with a message, not a
// panic: a label slice of the wrong length, a singular matrix, smoothing
// out of range, a cancelled context.
func TestExtractRejects(t *testing.T) {
	good := mesh.Grid{Labels: make([]uint8, 8), Dims: [3]int{2, 2, 2}, IndexToWorld: [4][4]float64{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}}
	good.Labels[0] = 1
	short := good
	short.Labels = good.Labels[:7]
	flat := good
	flat.IndexToWorld[2][2] = 0
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name string
		ctx  context.Context
		g    mesh.Grid
		o    mesh.Options
		want string
	}{
		{"short", context.Background(), short, mesh.Options{}, "7 labels"},
		{"singular", context.Background(), flat, mesh.Options{}, "singular"},
		{"smoothing", context.Background(), good, mesh.Options{Smoothing: 2}, "smoothing"},
		{"cancelled", cancelled, good, mesh.Options{}, "canceled"},
	} {
		_, err := mesh.Extract(c.ctx, c.g, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
	// The good grid's single voxel becomes the octahedron through its six
	// face centres: 8 triangles, 1/6 mm³.
	ms, err := mesh.Extract(context.Background(), good, mesh.Options{})
	if err != nil || len(ms) != 1 || len(ms[0].Triangles) != 24 || math.Abs(ms[0].Volume()-1.0/6) > 1e-6 {
		t.Fatalf("one voxel: %v, %+v", err, ms)
	}
}

// TestDecimatedSurfaces decimates the sample's organs by half and by three
// quarters after smoothing: each surface stays closed, manifold and
// outward, loses about the fraction asked of its triangles, and still
// encloses its voxel volume within 3%, its vertices on the segment. Every
// segment, ribs and one-voxel specks too, stays closed and manifold when
// 95% of its triangles go (or as many as can while it stays so).
func TestDecimatedSurfaces(t *testing.T) {
	g, geom := readGrid(t, sampleLabels)
	all, err := mesh.Extract(context.Background(), g, mesh.Options{Smoothing: mesh.DefaultSmoothing, Decimation: 0.95})
	if err != nil {
		t.Fatal(err)
	}
	for i := range all {
		checkClosed(t, &all[i])
	}
	full, err := mesh.Extract(context.Background(), g, mesh.Options{Labels: organs, Smoothing: mesh.DefaultSmoothing})
	if err != nil {
		t.Fatal(err)
	}
	for _, fraction := range []float64{0.5, 0.75} {
		ms, err := mesh.Extract(context.Background(), g, mesh.Options{Labels: organs, Smoothing: mesh.DefaultSmoothing, Decimation: fraction})
		if err != nil {
			t.Fatal(err)
		}
		for i := range ms {
			m := &ms[i]
			checkClosed(t, m)
			checkNear(t, g, geom, m, 1.5)
			n0, n := len(full[i].Triangles)/3, len(m.Triangles)/3
			kept := float64(n) / float64(n0)
			want := float64(m.Voxels) * g.VoxelVolume()
			t.Logf("decimation %g label %3d: %6d -> %6d triangles (%.3f kept), volume %+.2f%%", fraction, m.Label, n0, n, kept, 100*(m.Volume()/want-1))
			if kept > 1-fraction+0.05 || kept < 1-fraction-0.01 {
				t.Errorf("decimation %g label %d: kept %d of %d triangles", fraction, m.Label, n, n0)
			}
			if math.Abs(m.Volume()/want-1) > 0.03 {
				t.Errorf("decimation %g label %d: encloses %.0f mm³, voxels %.0f mm³", fraction, m.Label, m.Volume(), want)
			}
		}
	}
}

// TestSlabsMerge builds the liver of the sample stretched to 90 slices (each
// slice three times) alone, on 4 CPUs, so its marching is split into slabs
// of slices, and checks the merged surface is closed and manifold and
// equals the one marched in one piece (the build of every label at once):
// the same triangles, the same volume, no vertex twice.
func TestSlabsMerge(t *testing.T) {
	g, _ := readGrid(t, sampleLabels)
	layer := g.Dims[0] * g.Dims[1]
	tall := mesh.Grid{Dims: [3]int{g.Dims[0], g.Dims[1], 3 * g.Dims[2]}, IndexToWorld: g.IndexToWorld}
	for k := range tall.Dims[2] {
		tall.Labels = append(tall.Labels, g.Labels[k/3*layer:(k/3+1)*layer]...)
	}
	for r := range 3 {
		tall.IndexToWorld[r][2] /= 3
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, smoothing := range []float64{0, mesh.DefaultSmoothing} {
		all, err := mesh.Extract(context.Background(), tall, mesh.Options{Smoothing: smoothing})
		if err != nil {
			t.Fatal(err)
		}
		one, err := mesh.Extract(context.Background(), tall, mesh.Options{Labels: []uint8{5}, Smoothing: smoothing})
		if err != nil {
			t.Fatal(err)
		}
		var whole *mesh.Mesh
		for i := range all {
			if all[i].Label == 5 {
				whole = &all[i]
			}
		}
		m := &one[0]
		checkClosed(t, m)
		if m.Vertices() != whole.Vertices() || len(m.Triangles) != len(whole.Triangles) || math.Abs(m.Volume()/whole.Volume()-1) > 1e-9 {
			t.Errorf("smoothing %g: in slabs %d vertices, %d triangles, %.3f mm³; in one piece %d, %d, %.3f",
				smoothing, m.Vertices(), len(m.Triangles)/3, m.Volume(), whole.Vertices(), len(whole.Triangles)/3, whole.Volume())
		}
		seen := map[[3]float32]bool{}
		for p := 0; p < len(m.Positions); p += 3 {
			k := [3]float32(m.Positions[p : p+3])
			if smoothing == 0 && seen[k] {
				t.Fatalf("vertex %v twice", k)
			}
			seen[k] = true
		}
	}
}

// TestShearedSurface meshes the head of a real gantry-tilted CT (niivue's
// shear.nii.gz: its slices stacked along an axis 3.7° off their normal, so
// the index-to-world matrix is sheared), thresholded at -300 HU. The
// surface must follow the shear: closed, on the mask in patient space, its
// volume within 3% of the voxels' (each |det| mm³, not the spacings'
// product). The file is in the shared data, not the repository: skipped
// without it.
func TestShearedSurface(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "data", "niivue_niivue_demos", "shear.nii.gz")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s is absent", path)
	}
	v, err := nifti.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Geom.Sheared() {
		t.Fatalf("%s is not sheared", path)
	}
	// Its first 16 of 54 slices: the shear is the same, the test quicker.
	dims := [3]int{v.Dims[0], v.Dims[1], 16}
	mask := make([]uint8, dims[0]*dims[1]*dims[2])
	for n := range mask {
		if v.Value(n) > -300 {
			mask[n] = 1
		}
	}
	g := mesh.Grid{Labels: mask, Dims: dims, IndexToWorld: v.Geom.Affine()}
	ms, err := mesh.Extract(context.Background(), g, mesh.Options{Smoothing: mesh.DefaultSmoothing})
	if err != nil {
		t.Fatal(err)
	}
	m := &ms[0]
	checkClosed(t, m)
	checkNear(t, g, v.Geom, m, 1.5)
	want := float64(m.Voxels) * g.VoxelVolume()
	t.Logf("%d voxels, %d triangles, %.0f mm³ vs %.0f (%+.2f%%)", m.Voxels, len(m.Triangles)/3, m.Volume(), want, 100*(m.Volume()/want-1))
	if math.Abs(m.Volume()/want-1) > 0.03 {
		t.Errorf("encloses %.0f mm³, voxels %.0f mm³", m.Volume(), want)
	}
}

// TestDecimateCopy: Decimate of a built organ surface (the 3D view's light
// copy) keeps it closed, near the voxels and the volume, removes the
// fraction asked, and leaves the full mesh untouched.
func TestDecimateCopy(t *testing.T) {
	g, geom := readGrid(t, sampleLabels)
	full, err := mesh.Extract(context.Background(), g, mesh.Options{Labels: organs, Smoothing: mesh.DefaultSmoothing})
	if err != nil {
		t.Fatal(err)
	}
	for i := range full {
		m := &full[i]
		before := slices.Clone(m.Positions)
		d := mesh.Decimate(*m, 0.9)
		checkClosed(t, &d)
		checkNear(t, g, geom, &d, 1.5)
		if !slices.Equal(before, m.Positions) {
			t.Errorf("label %d: Decimate changed the full mesh", m.Label)
		}
		kept := float64(len(d.Triangles)) / float64(len(m.Triangles))
		if kept > 0.15 || kept < 0.09 {
			t.Errorf("label %d: kept %.3f of the triangles, want 0.1", m.Label, kept)
		}
		if want := m.Volume(); math.Abs(d.Volume()/want-1) > 0.03 {
			t.Errorf("label %d: encloses %.0f mm³, the full mesh %.0f", m.Label, d.Volume(), want)
		}
	}
}

// TestClusterCopy: Cluster of a built organ surface (the 3D view's light
// copy while the mouse moves) removes about the fraction asked, stays near
// the voxels, keeps the orientation and about the volume (a flipped mesh
// encloses a negative one), and leaves the full mesh untouched.
func TestClusterCopy(t *testing.T) {
	g, geom := readGrid(t, sampleLabels)
	full, err := mesh.Extract(context.Background(), g, mesh.Options{Labels: organs, Smoothing: mesh.DefaultSmoothing})
	if err != nil {
		t.Fatal(err)
	}
	for i := range full {
		m := &full[i]
		before := slices.Clone(m.Positions)
		d := mesh.Cluster(*m, 0.9)
		checkNear(t, g, geom, &d, 1.5)
		if !slices.Equal(before, m.Positions) {
			t.Errorf("label %d: Cluster changed the full mesh", m.Label)
		}
		kept := float64(len(d.Triangles)) / float64(len(m.Triangles))
		t.Logf("label %d: %d -> %d triangles, %.0f -> %.0f mm³", m.Label, len(m.Triangles)/3, len(d.Triangles)/3, m.Volume(), d.Volume())
		if kept > 0.14 || kept < 0.066 {
			t.Errorf("label %d: kept %.3f of the triangles, want 0.1", m.Label, kept)
		}
		if want := m.Volume(); math.Abs(d.Volume()/want-1) > 0.05 {
			t.Errorf("label %d: encloses %.0f mm³, the full mesh %.0f", m.Label, d.Volume(), want)
		}
	}
}
