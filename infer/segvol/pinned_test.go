package segvol

import (
	"context"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/segvolapp/segvol/infer"
)

// upsampled is the sample CT resized (nearest) to dims, a larger real image
// whose crop needs windows overlapping along every axis.
func upsampled(tb testing.TB, dims [3]int) infer.Image {
	img := sampleImage(tb)
	src := img.Voxels.([]int16)
	out := make([]int16, dims[0]*dims[1]*dims[2])
	x := 0
	for k := range dims[2] {
		for j := range dims[1] {
			for i := range dims[0] {
				out[x] = src[i*img.Dims[0]/dims[0]+img.Dims[0]*(j*img.Dims[1]/dims[1]+img.Dims[1]*(k*img.Dims[2]/dims[2]))]
				x++
			}
		}
	}
	img.Dims, img.Voxels = dims, out
	return img
}

// noisyModel's logits vary continuously with the window's content, the
// prompt's box and the voxel, so that blending sums distinct floats and a
// change in their order or rounding shows in the bits. Its encoder is
// fakeModel's block means; dense makes nearly every voxel positive, as
// random weights do, so that the zoom-in region is the whole crop.
type noisyModel struct {
	fakeModel
	dense bool
}

func (m *noisyModel) Decode(_ context.Context, emb, sparse []float32, t int, _ []float32, _ bool) ([]float32, error) {
	m.decodes++
	var box box3
	for x := range t {
		tok := sparse[x*EmbeddingDim:]
		c := [3]int{int(tok[0]), int(tok[1]), int(tok[2])}
		switch tok[3] {
		case labelCorner0:
			box.lo = c
		case labelCorner1:
			box.hi = c
		}
	}
	bias := float32(-0.45)
	if m.dense {
		bias = 0.4
	}
	out := make([]float32, Window[0]*Window[1]*Window[2])
	x := 0
	for d := range Window[0] {
		for h := range Window[1] {
			for w := range Window[2] {
				v := emb[(d/4*16+h/16)*16+w/16] + bias + float32(math.Sin(float64(x)*0.37))*0.3
				if box.has([3]int{d, h, w}) {
					v += 0.2
				}
				out[x] = v
				x++
			}
		}
	}
	return out, nil
}

// The mask and the crop-frame logits of a click on a 300x330x40 upsampling
// of the sample CT (eight windows overlapping along every axis), pinned to
// the bits the sequential code gave, with one CPU and with all of them.
func TestPipelinePinned(t *testing.T) {
	img := upsampled(t, [3]int{300, 330, 40})
	p := infer.Prompt{
		Box:    &infer.Box{Min: [3]int{60, 60, 5}, Max: [3]int{240, 270, 35}},
		Points: []infer.Point{{I: 150, J: 165, K: 20, Positive: true}, {I: 100, J: 240, K: 10}},
	}
	const wantLogits, wantMask = 0xb81bed8e477100, 0x72857ea7e69ec429
	for _, procs := range []int{1, runtime.NumCPU()} {
		prev := runtime.GOMAXPROCS(procs)
		m := &noisyModel{}
		s := New(m, nil)
		r := run{s: s, ctx: context.Background(), progress: func(float64, string) {}}
		if err := r.prepare(img); err != nil {
			t.Fatal(err)
		}
		logits, err := r.zoomOut(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.zoomIn(logits); err != nil {
			t.Fatal(err)
		}
		if m.decodes != 9 {
			t.Fatalf("%d decodes, want 9 (zoom-out and 2x2x2 windows)", m.decodes)
		}
		h := fnv.New64a()
		for _, v := range logits.data {
			b := math.Float32bits(v)
			h.Write([]byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24)})
		}
		if got := h.Sum64(); got != wantLogits {
			t.Errorf("GOMAXPROCS %d: logits hash %#x, want %#x", procs, got, wantLogits)
		}
		mask, err := s.Segment(context.Background(), img, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		h = fnv.New64a()
		h.Write(mask)
		if got := h.Sum64(); got != wantMask {
			t.Errorf("GOMAXPROCS %d: mask hash %#x, want %#x", procs, got, wantMask)
		}
		runtime.GOMAXPROCS(prev)
	}
}

// newBlend and cut are blendOver and cutInto on fresh buffers, for the
// step tests.
func newBlend(dims [3]int) *blend {
	return blendOver(&volume3{data: make([]float32, dims[0]*dims[1]*dims[2]), dims: dims}, whole(dims))
}

func cut(src *volume3, org [3]int, valid box3) []float32 {
	return cutInto(make([]float32, Window[0]*Window[1]*Window[2]), src, org, valid)
}

// spans.box against every voxel, on logits with negative zeros, NaNs and
// sparse positives, for the whole volume and random boxes.
func TestSpansBox(t *testing.T) {
	v := &volume3{dims: [3]int{7, 9, 40}, data: make([]float32, 7*9*40)}
	rng := rand.New(rand.NewPCG(1, 2))
	for x := range v.data {
		switch rng.IntN(10) {
		case 0:
			v.data[x] = 1
		case 1:
			v.data[x] = float32(math.NaN())
		case 2:
			v.data[x] = float32(math.Copysign(0, -1))
		default:
			v.data[x] = -1
		}
	}
	s := newSpans(v)
	for n := range 500 {
		in := whole(v.dims)
		if n > 0 {
			for a := range 3 {
				p, q := rng.IntN(v.dims[a]), rng.IntN(v.dims[a])
				in.lo[a], in.hi[a] = min(p, q), max(p, q)
			}
		}
		want := box3{lo: in.hi, hi: [3]int{-1, -1, -1}}
		for d := in.lo[0]; d <= in.hi[0]; d++ {
			for h := in.lo[1]; h <= in.hi[1]; h++ {
				for w := in.lo[2]; w <= in.hi[2]; w++ {
					if v.at(d, h, w) > 0 {
						want.lo = [3]int{min(want.lo[0], d), min(want.lo[1], h), min(want.lo[2], w)}
						want.hi = [3]int{max(want.hi[0], d), max(want.hi[1], h), max(want.hi[2], w)}
					}
				}
			}
		}
		if got, ok := s.box(in); got != want || ok != (want.hi[0] >= 0) {
			t.Fatalf("box in %v = %v %v, want %v", in, got, ok, want)
		}
	}
}
