package cpu

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/segvolapp/segvol/render"
)

// grid builds a volume whose stored value encodes its index, placed by an
// index-to-world rotation about S of angle theta (radians) and the given
// spacing; it returns the volume and its index-to-world function.
func grid(dims [3]int, spacing [3]float64, theta float64) (*render.Volume, func(i, j, k float64) [3]float64) {
	data := make([]int16, dims[0]*dims[1]*dims[2])
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				data[i+dims[0]*(j+dims[1]*k)] = int16(i + 10*j + 100*k - 500)
			}
		}
	}
	c, s := math.Cos(theta), math.Sin(theta)
	origin := [3]float64{-20, 15, -40}
	toWorld := func(i, j, k float64) [3]float64 {
		x, y := i*spacing[0], j*spacing[1]
		return [3]float64{origin[0] + c*x - s*y, origin[1] + s*x + c*y, origin[2] + k*spacing[2]}
	}
	// The inverse written out by hand, independent of viewer/volume.
	var m [3][4]float64
	m[0] = [4]float64{c / spacing[0], s / spacing[0], 0, -(c*origin[0] + s*origin[1]) / spacing[0]}
	m[1] = [4]float64{-s / spacing[1], c / spacing[1], 0, -(-s*origin[0] + c*origin[1]) / spacing[1]}
	m[2] = [4]float64{0, 0, 1 / spacing[2], -origin[2] / spacing[2]}
	return &render.Volume{Dims: dims, Voxels: data, Slope: 1, Intercept: 0, WorldToIndex: m}, toWorld
}

func grayOf(img *image.RGBA, x, y int) uint8 {
	return img.Pix[y*img.Stride+4*x]
}

func TestAxialSliceMatchesVoxels(t *testing.T) {
	dims := [3]int{9, 7, 5}
	v, toWorld := grid(dims, [3]float64{0.5, 0.75, 2}, 0)
	k := 3
	// A plane whose pixels sit on the voxel centres of slice k.
	p := render.Plane{Origin: toWorld(0, 0, float64(k)), U: [3]float64{0.5, 0, 0}, V: [3]float64{0, 0.75, 0}}
	dst := image.NewRGBA(image.Rect(0, 0, dims[0], dims[1]))
	o := render.Options{Center: -100, Width: 400}
	if err := New().Render(dst, p, v, nil, o); err != nil {
		t.Fatal(err)
	}
	win := newWindow(o)
	for j := 0; j < dims[1]; j++ {
		for i := 0; i < dims[0]; i++ {
			want := win.gray(float64(i + 10*j + 100*k - 500))
			if got := grayOf(dst, i, j); got != want {
				t.Fatalf("pixel (%d,%d) = %d, want %d", i, j, got, want)
			}
		}
	}
}

// TestObliqueVolumeInPatientPlane renders an axial patient-space plane
// through a volume rotated 30 degrees: each pixel must show the voxel
// nearest to its world position, found here by brute force.
func TestObliqueVolumeInPatientPlane(t *testing.T) {
	dims := [3]int{12, 10, 4}
	theta := math.Pi / 6
	v, toWorld := grid(dims, [3]float64{1, 1, 3}, theta)
	o := render.Options{Center: 0, Width: 2000}
	p := render.Plane{Origin: [3]float64{-30, 5, -34}, U: [3]float64{0.7, 0, 0}, V: [3]float64{0, 0.7, 0}}
	dst := image.NewRGBA(image.Rect(0, 0, 48, 40))
	if err := New().Render(dst, p, v, nil, o); err != nil {
		t.Fatal(err)
	}
	win := newWindow(o)
	inside := 0
	for y := 0; y < 40; y++ {
		for x := 0; x < 48; x++ {
			w := [3]float64{p.Origin[0] + 0.7*float64(x), p.Origin[1] + 0.7*float64(y), p.Origin[2]}
			// Brute force: the voxel centre nearest in index space.
			best, bi, bj, bk := math.Inf(1), -1, -1, -1
			for k := 0; k < dims[2]; k++ {
				for j := 0; j < dims[1]; j++ {
					for i := 0; i < dims[0]; i++ {
						c := toWorld(float64(i), float64(j), float64(k))
						d := math.Hypot((c[0]-w[0])/1, (c[1]-w[1])/1) + math.Abs(c[2]-w[2])
						if d < best {
							best, bi, bj, bk = d, i, j, k
						}
					}
				}
			}
			want := uint8(0)
			// Inside the grid means within half a voxel of the nearest centre.
			if best < 0.5*0.999 {
				want = win.gray(float64(bi + 10*bj + 100*bk - 500))
				inside++
			} else if best < 0.5*1.001+0.5*math.Sqrt2 {
				continue // on the edge of the grid: either answer is right
			}
			if got := grayOf(dst, x, y); got != want {
				t.Fatalf("pixel (%d,%d) at %v = %d, want %d (voxel %d,%d,%d)", x, y, w, got, want, bi, bj, bk)
			}
		}
	}
	if inside < 100 {
		t.Fatalf("only %d pixels inside the volume: the plane misses it", inside)
	}
}

func TestLinearBetweenCentres(t *testing.T) {
	v, toWorld := grid([3]int{4, 4, 4}, [3]float64{1, 1, 1}, 0)
	// Halfway between voxels (1,1,1) and (2,1,1): the mean of their values.
	a := toWorld(1.5, 1, 1)
	p := render.Plane{Origin: a, U: [3]float64{1, 0, 0}, V: [3]float64{0, 1, 0}}
	dst := image.NewRGBA(image.Rect(0, 0, 1, 1))
	o := render.Options{Center: -384.5, Width: 1, Interp: render.Linear}
	if err := New().Render(dst, p, v, nil, o); err != nil {
		t.Fatal(err)
	}
	// (1+10+100-500 + 2+10+100-500)/2 = -388.5 -> below the window: black;
	// move the window so that -388.5 is its centre: mid grey.
	o.Center = -388.5
	if err := New().Render(dst, p, v, nil, o); err != nil {
		t.Fatal(err)
	}
	if g := grayOf(dst, 0, 0); g < 127 || g > 128 {
		t.Fatalf("interpolated grey %d, want 127 or 128", g)
	}
}

func TestLabelFillAndOutline(t *testing.T) {
	dims := [3]int{8, 8, 1}
	v, toWorld := grid(dims, [3]float64{1, 1, 1}, 0)
	lab := make([]uint8, 64)
	for j := 2; j < 6; j++ {
		for i := 2; i < 6; i++ {
			lab[i+8*j] = 3
		}
	}
	colors := make([]color.NRGBA, 4)
	colors[3] = color.NRGBA{R: 255, G: 0, B: 0, A: 255}
	p := render.Plane{Origin: toWorld(0, 0, 0), U: [3]float64{1, 0, 0}, V: [3]float64{0, 1, 0}}
	dst := image.NewRGBA(image.Rect(0, 0, 8, 8))
	l := &render.Labels{Data: lab, Colors: colors, Fill: false, Outline: true}
	if err := New().Render(dst, p, v, l, render.Options{Center: 0, Width: 10000}); err != nil {
		t.Fatal(err)
	}
	at := func(x, y int) color.RGBA { return dst.RGBAAt(x, y) }
	if c := at(2, 3); c.R != 255 || c.G != 0 {
		t.Fatalf("outline pixel %v", c)
	}
	if c := at(3, 3); c.R == 255 && c.G == 0 {
		t.Fatalf("inside pixel painted with outline only: %v", c)
	}
	if c := at(0, 0); c.R != c.G {
		t.Fatalf("unlabelled pixel tinted: %v", c)
	}
	l.Fill, l.Outline = true, false
	if err := New().Render(dst, p, v, l, render.Options{Center: 0, Width: 10000}); err != nil {
		t.Fatal(err)
	}
	if c := at(3, 3); c.R != 255 || c.G != 0 {
		t.Fatalf("opaque fill gave %v", c)
	}
	// A hidden segment (alpha 0) is not drawn.
	colors[3].A = 0
	if err := New().Render(dst, p, v, l, render.Options{Center: 0, Width: 10000}); err != nil {
		t.Fatal(err)
	}
	if c := at(3, 3); c.R != c.G {
		t.Fatalf("hidden segment drawn: %v", c)
	}
}

func TestRejectsBadInput(t *testing.T) {
	v, _ := grid([3]int{4, 4, 4}, [3]float64{1, 1, 1}, 0)
	dst := image.NewRGBA(image.Rect(0, 0, 4, 4))
	r := New()
	if err := r.Render(dst, render.Plane{}, v, nil, render.Options{Width: 0}); err == nil {
		t.Error("zero window width accepted")
	}
	if err := r.Render(dst, render.Plane{}, v, &render.Labels{Data: make([]uint8, 3)}, render.Options{Width: 1}); err == nil {
		t.Error("short label map accepted")
	}
	short := *v
	short.Voxels = make([]int16, 10)
	if err := r.Render(dst, render.Plane{}, &short, nil, render.Options{Width: 1}); err == nil {
		t.Error("short voxel slice accepted")
	}
}

// TestSpanIsExact: the run of pixels a row draws is exactly the pixels
// whose nearest voxel is inside, for rows crossing the grid at any slope.
func TestSpanIsExact(t *testing.T) {
	dims := [3]int{7, 5, 3}
	for i, st := range [][3]int32{{1 << 15, 0, 0}, {-70000, 3000, 0}, {40000, -40000, 9000}, {0, 0, 0}, {-1, 1, 0}} {
		for _, start := range [][3]int32{{-1 << 17, 1 << 16, 0}, {5 << 16, 2 << 16, 1 << 16}, {1 << 15, -1<<15 + 1, 2<<16 + 1<<15 - 1}} {
			s := sampler{dims: dims, start: start, step: st, frac: 16}
			x0, x1 := s.span(300)
			for x := 0; x < 300; x++ {
				in := true
				for a := 0; a < 3; a++ {
					n := s.nearest(a, x)
					in = in && n >= 0 && n < dims[a]
				}
				if got := x >= x0 && x < x1; got != in {
					t.Fatalf("row %d start %v: pixel %d inside %v, span [%d, %d)", i, start, x, in, x0, x1)
				}
			}
		}
	}
}
