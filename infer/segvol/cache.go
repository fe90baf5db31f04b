package segvol

import (
	"context"
	"fmt"
	"reflect"

	"github.com/segvolapp/segvol/infer"
)

// maxWindows bounds the cached window embeddings (768 KiB each).
const maxWindows = 256

// imageKey identifies an image by its voxel slice and how it reads: the
// engine assumes, as the viewer guarantees, that an open volume's voxels
// are never changed in place.
type imageKey struct {
	data             uintptr
	typ              reflect.Type
	dims             [3]int
	slope, intercept float64
}

func keyOf(img infer.Image) imageKey {
	return imageKey{
		data: reflect.ValueOf(img.Voxels).Pointer(), typ: reflect.TypeOf(img.Voxels),
		dims: img.Dims, slope: img.Slope, intercept: img.Intercept,
	}
}

// windowKey identifies a window's content: its first voxel in the crop frame
// and the part of it that is not zero padding. zoomKey is the zoom-out view.
type windowKey struct {
	origin [3]int
	valid  box3
}

var zoomKey = windowKey{valid: box3{lo: [3]int{-1, -1, -1}}}

// cache holds what depends on the image only: its preprocessing and the
// image embeddings of the windows seen so far (oldest dropped first), and
// buffers that the calls on it reuse.
type cache struct {
	key    imageKey
	voxels any // the image's, held so that no other image gets their address
	prep   *prepared
	embs   map[windowKey][]float32
	order  []windowKey
	win    []float32 // the encoder's input window
	crop   []float32 // logits over the crop
}

func newCache(img infer.Image, prep *prepared) *cache {
	return &cache{key: keyOf(img), voxels: img.Voxels, prep: prep, embs: map[windowKey][]float32{}}
}

// embedding returns the cached embedding of window k, or encodes the window
// that input writes into the buffer it is given and keeps it.
func (c *cache) embedding(ctx context.Context, m Model, k windowKey, input func(win []float32) []float32, progress infer.Progress, frac float64, stage string) ([]float32, error) {
	if e, ok := c.embs[k]; ok {
		return e, nil
	}
	progress(frac, stage)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.win == nil {
		c.win = make([]float32, Window[0]*Window[1]*Window[2])
	}
	e, err := m.Encode(ctx, input(c.win))
	if err != nil {
		return nil, fmt.Errorf("segvol image encoder: %w", err)
	}
	if want := EmbeddingDim * 8 * 16 * 16; len(e) != want {
		return nil, fmt.Errorf("segvol image encoder returned %d values, want %d", len(e), want)
	}
	if len(c.order) == maxWindows {
		delete(c.embs, c.order[0])
		c.order = c.order[1:]
	}
	c.embs[k] = e
	c.order = append(c.order, k)
	return e, nil
}
