package cpu

import (
	"image"
	"image/color"
	"testing"

	"github.com/segvolapp/segvol/render"
)

// BenchmarkViews draws each of the three 512x512 views that render/gl's
// BenchmarkRender3Views draws (a 512x512x300 int16 CT, planes through its
// centre, half-way between voxels on the fixed axes), one view per
// sub-benchmark, so that a change's effect on each shows. The volume is
// synthetic, in index space, with ten labelled balls for the overlay.
func BenchmarkViews(b *testing.B) {
	dims := [3]int{512, 512, 300}
	vox := make([]int16, dims[0]*dims[1]*dims[2])
	lab := make([]uint8, len(vox))
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				n := i + dims[0]*(j+dims[1]*k)
				vox[n] = int16((i*7+j*13+k*29)%1500 - 1000)
				for c := 1; c <= 10; c++ {
					di, dj, dk := i-40*c-30, j-256, (k-150)*2
					if di*di+dj*dj+dk*dk < 60*60 {
						lab[n] = uint8(c)
					}
				}
			}
		}
	}
	v := &render.Volume{Dims: dims, Voxels: vox, Slope: 1, Intercept: 0,
		WorldToIndex: [3][4]float64{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}}
	colors := make([]color.NRGBA, 11)
	for c := 1; c < len(colors); c++ {
		colors[c] = color.NRGBA{R: uint8(25 * c), G: 200, B: uint8(255 - 25*c), A: 128}
	}
	l := &render.Labels{Data: lab, Colors: colors, Fill: true, Outline: true}
	// The index-space planes of BenchmarkRender3Views' views.
	views := []struct {
		name string
		p    render.Plane
	}{
		{"axial", render.Plane{Origin: [3]float64{511, 564.1, 149.5}, U: [3]float64{-1, 0, 0}, V: [3]float64{0, -1.208, 0}}},
		{"coronal", render.Plane{Origin: [3]float64{511, 255.5, 758.3}, U: [3]float64{-1, 0, 0}, V: [3]float64{0, 0, -2.383}}},
		{"sagittal", render.Plane{Origin: [3]float64{255.5, 511, 653.5}, U: [3]float64{0, -1, 0}, V: [3]float64{0, 0, -1.973}}},
	}
	dst := image.NewRGBA(image.Rect(0, 0, 512, 512))
	for _, interp := range []render.Interp{render.Nearest, render.Linear} {
		mode := map[render.Interp]string{render.Nearest: "nearest", render.Linear: "linear"}[interp]
		for _, view := range views {
			b.Run(mode+"/"+view.name, func(b *testing.B) {
				r := New()
				o := render.Options{Center: 40, Width: 400, Interp: interp}
				for b.Loop() {
					if err := r.Render(dst, view.p, v, l, o); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(mode+"/all", func(b *testing.B) {
			rs := []*Renderer{New(), New(), New()}
			o := render.Options{Center: 40, Width: 400, Interp: interp}
			for b.Loop() {
				for i, view := range views {
					if err := rs[i].Render(dst, view.p, v, l, o); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
