package segvol

import (
	"context"
	"testing"

	"github.com/segvolapp/segvol/infer"
)

// The Go side of a SegVol run, step by step, on the sample CT (122x101x30)
// and on the 300x120x90 phantom; the networks are not timed here.

func BenchmarkPrepareSample(b *testing.B) {
	img := sampleImage(b)
	for b.Loop() {
		if _, err := prepare(img); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPreparePhantom(b *testing.B) {
	img, _ := phantom()
	for b.Loop() {
		if _, err := prepare(img); err != nil {
			b.Fatal(err)
		}
	}
}

// Zoom-out resize of the sample's crop to 32x256x256 and the logits back.
func BenchmarkResizeSample(b *testing.B) {
	p, err := prepare(sampleImage(b))
	if err != nil {
		b.Fatal(err)
	}
	var fwd, back [3][]int
	for a := range 3 {
		fwd[a] = exactMap(p.dims[a], Window[a])
		back[a] = legacyMap(Window[a], p.dims[a])
	}
	for b.Loop() {
		z := resample(&p.volume3, fwd, nil)
		resample(z, back, nil)
	}
}

// Cutting and blending the phantom's three windows.
func BenchmarkWindowsPhantom(b *testing.B) {
	img, _ := phantom()
	p, err := prepare(img)
	if err != nil {
		b.Fatal(err)
	}
	size := [3]int{50, 100, 256}
	ts := tiles(size)
	logits := make([]float32, Window[0]*Window[1]*Window[2])
	for b.Loop() {
		acc := newBlend(size)
		for _, t := range ts {
			cut(&p.volume3, t.origin(size), t.valid)
			acc.add(logits, t.origin(size), t.valid)
		}
		acc.mean()
	}
}

// A cached click on the phantom with a model that costs nothing: what the
// Go side adds to the decoder's time per interaction.
func BenchmarkClickPhantom(b *testing.B) {
	img, _ := phantom()
	s := New(nullModel{}, nil)
	p := infer.Prompt{Box: &organBox}
	for b.Loop() {
		if _, err := s.Segment(context.Background(), img, p, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// nullModel returns a fixed embedding and logits positive in a central
// block, so that the pipeline runs its zoom-in windows.
type nullModel struct{}

var nullLogits = func() []float32 {
	l := make([]float32, Window[0]*Window[1]*Window[2])
	for d := 8; d < 24; d++ {
		for h := 64; h < 192; h++ {
			for w := 64; w < 192; w++ {
				l[(d*Window[1]+h)*Window[2]+w] = 1
			}
		}
	}
	return l
}()

func (nullModel) Encode(context.Context, []float32) ([]float32, error) {
	return make([]float32, EmbeddingDim*8*16*16), nil
}

func (nullModel) Prompt(_ context.Context, _, _ []float32, n int) ([]float32, error) {
	return make([]float32, n*EmbeddingDim), nil
}

func (nullModel) Decode(context.Context, []float32, []float32, int, []float32, bool) ([]float32, error) {
	return nullLogits, nil
}

// The Go stages of a click on a 512x512x300 upsampling of the sample CT
// with logits positive everywhere, as random weights give: the zoom-in
// region is the whole crop, 162 windows. The embeddings are cached first,
// so "click" is what the Go side adds to 163 decoder runs per click.
func BenchmarkLarge(b *testing.B) {
	img := upsampled(b, [3]int{512, 512, 300})
	s := New(denseModel{}, nil)
	p := infer.Prompt{Points: []infer.Point{{I: 256, J: 256, K: 150, Positive: true}}}
	if _, err := s.Segment(context.Background(), img, p, nil); err != nil {
		b.Fatal(err)
	}
	prep := s.cache.prep
	var fwd, back [3][]int
	for a := range 3 {
		fwd[a] = exactMap(prep.dims[a], Window[a])
		back[a] = legacyMap(Window[a], prep.dims[a])
	}
	global := resample(&volume3{data: denseLogits, dims: Window}, back, nil)
	size := global.dims
	b.Run("prepare", func(b *testing.B) {
		for b.Loop() {
			if _, err := prepare(img); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("resize-out", func(b *testing.B) {
		for b.Loop() {
			resample(&prep.volume3, fwd, nil)
		}
	})
	b.Run("resize-back", func(b *testing.B) {
		buf := make([]float32, len(global.data))
		for b.Loop() {
			resample(&volume3{data: denseLogits, dims: Window}, back, buf)
		}
	})
	b.Run("foreground", func(b *testing.B) {
		for b.Loop() {
			newSpans(global).box(whole(size))
		}
	})
	b.Run("cut", func(b *testing.B) {
		win := make([]float32, len(denseLogits))
		for b.Loop() {
			for _, t := range tiles(size) {
				cutInto(win, &prep.volume3, t.origin(size), t.valid)
			}
		}
	})
	b.Run("blend", func(b *testing.B) {
		g := &volume3{data: make([]float32, len(global.data)), dims: size}
		for b.Loop() {
			acc := blendOver(g, whole(size))
			for _, t := range tiles(size) {
				acc.add(denseLogits, t.origin(size), t.valid)
			}
			acc.mean()
		}
	})
	b.Run("zoom-in", func(b *testing.B) {
		r := run{s: s, ctx: context.Background(), progress: func(float64, string) {}, c: s.cache}
		r.pts = cropPoints(p.Points, prep.origin)
		g := &volume3{data: make([]float32, len(global.data)), dims: size}
		for range b.N {
			b.StopTimer()
			copy(g.data, global.data)
			b.StartTimer()
			if err := r.zoomIn(g); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("paste", func(b *testing.B) {
		for b.Loop() {
			paste(global, prep.origin, img.Dims)
		}
	})
	b.Run("click", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Segment(context.Background(), img, p, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// denseModel's logits are positive everywhere and vary by voxel.
type denseModel struct{ nullModel }

var denseLogits = func() []float32 {
	l := make([]float32, Window[0]*Window[1]*Window[2])
	for x := range l {
		l[x] = 1 + float32(x%7)/8
	}
	return l
}()

func (denseModel) Decode(context.Context, []float32, []float32, int, []float32, bool) ([]float32, error) {
	return denseLogits, nil
}
