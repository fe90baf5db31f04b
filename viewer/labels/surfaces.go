package labels

import (
	"context"

	"github.com/segvolapp/segvol/mesh"
)

// Surfaces builds the closed surfaces of the segments with the given
// values (every segment when values is nil; those without voxels give
// none), in patient coordinates, each named and coloured as the segment
// table says: what the 3D view draws and File > Export segments as meshes
// and `segvol mesh` write. It holds the read lock while it builds, so
// edits wait for it.
func (m *LabelMap) Surfaces(ctx context.Context, values []uint8, o mesh.Options) ([]mesh.Part, error) {
	o.Labels = values
	if values == nil {
		for _, s := range m.Segments() {
			o.Labels = append(o.Labels, s.Value)
		}
	}
	var ms []mesh.Mesh
	var err error
	m.Read(func(vox []uint8) {
		ms, err = mesh.Extract(ctx, mesh.Grid{Labels: vox, Dims: m.dims, IndexToWorld: m.geom.Affine()}, o)
	})
	if err != nil {
		return nil, err
	}
	parts := make([]mesh.Part, len(ms))
	for i := range ms {
		s, ok := m.Segment(ms[i].Label)
		if !ok {
			s = defaultSegment(ms[i].Label)
		}
		parts[i] = mesh.Part{Mesh: &ms[i], Name: s.Name, Color: [3]uint8{s.Color.R, s.Color.G, s.Color.B}}
	}
	return parts, nil
}
