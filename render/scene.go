package render

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// Surface is one segment's closed triangle mesh in patient space.
type Surface struct {
	Label     uint8     // the label value it encloses, reported by Pick
	Positions []float32 // x, y, z of each vertex, LPS mm
	// Normals holds one unit normal per vertex (x, y, z), pointing out of
	// the segment; nil shades each triangle by its own face normal.
	Normals []float32
	Indices []uint32    // three vertices per triangle, counter-clockwise seen from outside
	Color   color.NRGBA // A is the opacity
	// Revision changes whenever the mesh's content does, so that a renderer
	// keeping a copy (render/gl's vertex buffers) knows when to replace it.
	Revision uint64
}

// Preset is a volume rendering's transfer function.
type Preset uint8

// Volume rendering presets. MIP maps the brightest value along each ray
// through the scene's window/level, as the slices show it.
const (
	NoVolume Preset = iota
	CTBone
	CTSoftTissue
	CTAngio
	MRDefault
	MIP
)

var presetNames = [...]string{"none", "ct-bone", "ct-soft-tissue", "ct-angio", "mr-default", "mip"}

func (p Preset) String() string {
	if int(p) < len(presetNames) {
		return presetNames[p]
	}
	return fmt.Sprintf("Preset(%d)", p)
}

// Presets lists the presets that draw something, in menu order.
func Presets() []Preset { return []Preset{CTBone, CTSoftTissue, CTAngio, MRDefault, MIP} }

// ParsePreset reads a preset's name as String writes it.
func ParsePreset(s string) (Preset, error) {
	for i, n := range presetNames {
		if s == n {
			return Preset(i), nil
		}
	}
	return 0, fmt.Errorf("render: unknown volume preset %q (want one of %v)", s, presetNames)
}

// Scene is what a 3D view shows. Volume, when set, is the image in the
// same form the slice renderer takes: it is ray cast with Preset, and the
// three slice planes are cut through it.
type Scene struct {
	Surfaces []Surface
	Volume   *Volume
	Preset   Preset
	// Window is the slices' window/level: the grey of the slice planes and
	// the transfer of MIP and MRDefault.
	Window Options
	// Labels, when set, tints the slice planes as the slice views do.
	Labels *Labels
	Planes bool       // draw the axial, coronal and sagittal planes through Cursor
	Cursor [3]float64 // LPS mm; drawn as a cross when ShowCursor
	// ShowCursor draws the cursor.
	ShowCursor bool
}

// SceneRenderer draws a scene as a camera sees it.
type SceneRenderer interface {
	RenderScene(dst *image.RGBA, s *Scene, c Camera) error
}

// CheckScene validates a scene, so that every renderer rejects the same bad
// input with the same message.
func CheckScene(dst *image.RGBA, s *Scene, c Camera) error {
	if dst == nil || dst.Rect.Empty() {
		return fmt.Errorf("render: empty destination")
	}
	if s.Volume != nil {
		if err := Check(dst, s.Volume, s.Labels, s.Window); err != nil {
			return err
		}
	}
	if s.Volume == nil && (s.Preset != NoVolume || s.Planes) {
		return fmt.Errorf("render: volume rendering and slice planes need a volume")
	}
	if s.Preset > MIP {
		return fmt.Errorf("render: unknown volume preset %d", s.Preset)
	}
	for i := range s.Surfaces {
		m := &s.Surfaces[i]
		nv := len(m.Positions) / 3
		if len(m.Positions)%3 != 0 || len(m.Indices)%3 != 0 {
			return fmt.Errorf("render: surface of label %d: %d coordinates and %d indices are not whole triangles", m.Label, len(m.Positions), len(m.Indices))
		}
		if m.Normals != nil && len(m.Normals) != len(m.Positions) {
			return fmt.Errorf("render: surface of label %d has %d normal and %d position coordinates", m.Label, len(m.Normals), len(m.Positions))
		}
		for _, ix := range m.Indices {
			if int(ix) >= nv {
				return fmt.Errorf("render: surface of label %d refers to vertex %d of %d", m.Label, ix, nv)
			}
		}
	}
	return c.check()
}

// Bounds is the box that a volume's voxels fill in patient space: the
// smallest and largest coordinates of its corners (voxel centres +- half a
// voxel).
func Bounds(v *Volume) (lo, hi [3]float64, err error) {
	toWorld, err := IndexToWorld(v)
	if err != nil {
		return lo, hi, err
	}
	lo = [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	hi = [3]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for c := 0; c < 8; c++ {
		var idx [3]float64
		for a := range 3 {
			idx[a] = -0.5
			if c>>a&1 == 1 {
				idx[a] = float64(v.Dims[a]) - 0.5
			}
		}
		p := toWorld(idx)
		for a := range 3 {
			lo[a], hi[a] = min(lo[a], p[a]), max(hi[a], p[a])
		}
	}
	return lo, hi, nil
}

// IndexToWorld inverts v.WorldToIndex.
func IndexToWorld(v *Volume) (func(idx [3]float64) [3]float64, error) {
	m := &v.WorldToIndex
	a := [3][3]float64{{m[0][0], m[0][1], m[0][2]}, {m[1][0], m[1][1], m[1][2]}, {m[2][0], m[2][1], m[2][2]}}
	det := a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) - a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) + a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
	if det == 0 || math.IsNaN(det) || math.IsInf(det, 0) {
		return nil, fmt.Errorf("render: the volume's world-to-index matrix is singular")
	}
	var inv [3][3]float64
	for r := range 3 {
		for c := range 3 {
			// The cofactor of a[c][r] over the determinant.
			r1, r2 := (c+1)%3, (c+2)%3
			c1, c2 := (r+1)%3, (r+2)%3
			inv[r][c] = (a[r1][c1]*a[r2][c2] - a[r1][c2]*a[r2][c1]) / det
		}
	}
	return func(idx [3]float64) [3]float64 {
		d := [3]float64{idx[0] - m[0][3], idx[1] - m[1][3], idx[2] - m[2][3]}
		var p [3]float64
		for r := range 3 {
			p[r] = inv[r][0]*d[0] + inv[r][1]*d[1] + inv[r][2]*d[2]
		}
		return p
	}, nil
}
