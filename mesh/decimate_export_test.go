package mesh

import "slices"

// Decimate is m with about fraction of its triangles removed by the
// quadric edge collapse Options.Decimation runs: for the tests and for
// BenchmarkLightCopy, which times Cluster (what the 3D view uses) against
// it. m is left as it was.
func Decimate(m Mesh, fraction float64) Mesh {
	pos := make([]float64, len(m.Positions))
	for i, x := range m.Positions {
		pos[i] = float64(x)
	}
	pos, tri := decimate(pos, slices.Clone(m.Triangles), min(max(fraction, 0), 0.99))
	return newMesh(m.Label, m.Voxels, pos, tri)
}
