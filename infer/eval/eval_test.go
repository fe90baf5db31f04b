package eval

import (
	"context"
	"math"
	"testing"

	"github.com/segvolapp/segvol/infer"
)

func TestDice(t *testing.T) {
	for _, c := range []struct {
		a, b []uint8
		want float64
	}{
		{[]uint8{1, 1, 0, 0}, []uint8{1, 0, 1, 0}, 0.5},
		{[]uint8{0, 0}, []uint8{0, 0}, 1},
		{[]uint8{1, 0}, []uint8{0, 1}, 0},
		{[]uint8{1, 2, 0}, []uint8{1, 1, 0}, 1}, // any nonzero is inside
	} {
		if got := Dice(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Dice(%v, %v) = %g, want %g", c.a, c.b, got, c.want)
		}
	}
}

// cube sets the voxels of box b in a mask of dims.
func cube(mask []uint8, dims [3]int, b infer.Box) {
	for k := b.Min[2]; k <= b.Max[2]; k++ {
		for j := b.Min[1]; j <= b.Max[1]; j++ {
			for i := b.Min[0]; i <= b.Max[0]; i++ {
				mask[i+dims[0]*(j+dims[1]*k)] = 1
			}
		}
	}
}

func TestNextClickPicksLargestErrorCentre(t *testing.T) {
	dims := [3]int{20, 20, 20}
	sp := [3]float64{1, 1, 1}
	target := make([]uint8, 8000)
	pred := make([]uint8, 8000)
	// Target: a 7-cube the prediction misses, and a 3-cube the prediction has.
	cube(target, dims, infer.Box{Min: [3]int{2, 2, 2}, Max: [3]int{8, 8, 8}})
	cube(target, dims, infer.Box{Min: [3]int{14, 14, 14}, Max: [3]int{16, 16, 16}})
	cube(pred, dims, infer.Box{Min: [3]int{14, 14, 14}, Max: [3]int{16, 16, 16}})
	// A spill of a 4-cube: smaller than the miss.
	cube(pred, dims, infer.Box{Min: [3]int{12, 2, 2}, Max: [3]int{15, 5, 5}})
	c, ok := NextClick(pred, target, dims, sp)
	if !ok || c != (infer.Point{I: 5, J: 5, K: 5, Positive: true}) {
		t.Fatalf("click %+v, want the miss's centre (5,5,5) positive", c)
	}
	// Fill the miss: the spill is now the largest error, and the click is
	// negative at the first of its deepest voxels.
	cube(pred, dims, infer.Box{Min: [3]int{2, 2, 2}, Max: [3]int{8, 8, 8}})
	c, ok = NextClick(pred, target, dims, sp)
	if !ok || c != (infer.Point{I: 13, J: 3, K: 3, Positive: false}) {
		t.Fatalf("click %+v, want (13,3,3) negative", c)
	}
	copy(pred, target)
	if _, ok := NextClick(pred, target, dims, sp); ok {
		t.Fatal("click on a perfect mask")
	}
}

func TestNextClickTouchingBorder(t *testing.T) {
	// A miss flush with the grid's border: the border counts as boundary,
	// as in the challenge's zero padding, so the click is inside, not on it.
	dims := [3]int{9, 9, 9}
	target := make([]uint8, 729)
	cube(target, dims, infer.Box{Min: [3]int{0, 0, 0}, Max: [3]int{4, 8, 8}})
	c, _ := NextClick(make([]uint8, 729), target, dims, [3]float64{1, 1, 1})
	if c != (infer.Point{I: 2, J: 2, K: 2, Positive: true}) { // first of the voxels 3 mm deep
		t.Fatalf("click %+v, want (2,2,2) positive", c)
	}
}

// oracle returns the target after its first click: it checks that the
// protocol passes box, clicks and previous masks along.
type oracle struct {
	target []uint8
	calls  []infer.Prompt
}

func (o *oracle) Name() string { return "oracle" }
func (o *oracle) Segment(_ context.Context, img infer.Image, p infer.Prompt, _ infer.Progress) ([]uint8, error) {
	o.calls = append(o.calls, p)
	out := make([]uint8, img.Len())
	if len(p.Points) > 0 {
		copy(out, o.target)
		return out, nil
	}
	cube(out, img.Dims, infer.Box{Min: p.Box.Min, Max: [3]int{p.Box.Max[0], p.Box.Max[1], p.Box.Min[2]}})
	return out, nil
}

func TestRunProtocolAndAUC(t *testing.T) {
	dims := [3]int{10, 10, 4}
	target := make([]uint8, 400)
	cube(target, dims, infer.Box{Min: [3]int{2, 2, 0}, Max: [3]int{5, 5, 3}})
	o := &oracle{target: target}
	img := infer.Image{Dims: dims, Spacing: [3]float64{1, 1, 1}, Voxels: make([]int16, 400), Slope: 1}
	res, err := Run(context.Background(), o, img, target, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != 4 || res.Steps[0].Click != nil || res.Steps[1].Click == nil || res.Steps[2].Click != nil {
		t.Fatalf("steps %+v", res.Steps)
	}
	if b := o.calls[0].Box; b == nil || b.Min != [3]int{2, 2, 0} || b.Max != [3]int{5, 5, 3} {
		t.Fatalf("box %+v", b)
	}
	if o.calls[1].Previous == nil || len(o.calls[3].Points) != 1 {
		t.Fatal("previous mask or clicks not passed on")
	}
	if math.Abs(res.Steps[0].Dice-0.4) > 1e-12 || res.FinalDice != 1 || res.DSCAUC != 2 || res.DSCAUCNormalized != 1 {
		t.Fatalf("result %+v", res)
	}
}

// Two cubes offset along one axis: every surface voxel of the face that
// leads is 3 voxels (6 mm at 2 mm spacing) from the other's surface, most
// others closer; a brute-force numpy computation of MONAI's formula over
// every pair of surface voxels gives 6 mm for this pair.
func TestHD95(t *testing.T) {
	dims := [3]int{30, 30, 30}
	sp := [3]float64{2, 1, 1}
	a := make([]uint8, 30*30*30)
	b := make([]uint8, 30*30*30)
	cube(a, dims, infer.Box{Min: [3]int{5, 5, 5}, Max: [3]int{14, 14, 14}})
	cube(b, dims, infer.Box{Min: [3]int{8, 5, 5}, Max: [3]int{17, 14, 14}})
	if got := HD95(a, a, dims, sp); got != 0 {
		t.Errorf("HD95 of a mask with itself = %g, want 0", got)
	}
	if got := HD95(a, b, dims, sp); math.Abs(got-6) > 1e-9 {
		t.Errorf("HD95 of cubes 3 voxels (6 mm) apart = %g, want 6", got)
	}
	if got, back := HD95(a, b, dims, sp), HD95(b, a, dims, sp); got != back {
		t.Errorf("HD95 not symmetric: %g vs %g", got, back)
	}
	if got := HD95(a, make([]uint8, len(a)), dims, sp); !math.IsNaN(got) {
		t.Errorf("HD95 against an empty mask = %g, want NaN", got)
	}
}
