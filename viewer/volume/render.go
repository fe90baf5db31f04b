package volume

import "github.com/segvolapp/segvol/render"

// ForRender hands the voxels to a renderer without copying them: the
// render.Volume shares Data.
func (v *Volume) ForRender() (*render.Volume, error) {
	m, err := v.Geom.WorldToIndexMatrix()
	if err != nil {
		return nil, err
	}
	return &render.Volume{Dims: v.Dims, Voxels: v.Data, Slope: v.Slope, Intercept: v.Intercept, WorldToIndex: m}, nil
}
