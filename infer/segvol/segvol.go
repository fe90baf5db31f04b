// Package segvol runs SegVol (a promptable 3D CT segmentation model) with
// the exact zoom-out-zoom-in pipeline of docs/segvol.md: foreground
// normalisation, crop, a zoom-out pass on the whole crop resized to one
// 32x256x256 window, then sliding windows over the region it found, with
// the prompts mapped into every window deterministically. The networks sit
// behind Model (ONNX Runtime in production); everything data-dependent is
// done here. Image embeddings are cached per image and window, so a new
// click reruns only the prompt encoder and the mask decoder.
package segvol

import (
	"context"
	"fmt"
	"sync"

	"github.com/segvolapp/segvol/infer"
	"github.com/segvolapp/segvol/internal/parallel"
)

// Model is SegVol's three networks, flat float32 tensors in C order, batch 1.
// The inputs are reused once a call returns, so a model must not keep them;
// the logits Decode returns are read before the next Decode, so a model may
// reuse their buffer.
type Model interface {
	// Encode maps a window [1,1,32,256,256] to its embedding [1,768,8,16,16].
	Encode(ctx context.Context, window []float32) ([]float32, error)
	// Prompt maps n points, coords [1,n,3] (window voxel indices d,h,w) and
	// labels [1,n], to point tokens [1,n,768].
	Prompt(ctx context.Context, coords, labels []float32, n int) ([]float32, error)
	// Decode maps an embedding and t sparse tokens [1,t,768] (the text
	// vector [768] is also passed alone, zeros when hasText is false) to
	// logits [1,1,32,256,256].
	Decode(ctx context.Context, emb, sparse []float32, t int, text []float32, hasText bool) ([]float32, error)
}

// Segmenter is the SegVol engine. It is safe for concurrent use; calls run
// one at a time.
type Segmenter struct {
	model   Model
	text    *TextEmbeddings // the category list's vectors; nil: none
	encoder *TextEncoder    // any phrase's vector; nil: the category list only
	mu      sync.Mutex
	cache   *cache
}

// New returns an engine over m; text may be nil, which refuses text prompts.
func New(m Model, text *TextEmbeddings) *Segmenter {
	return &Segmenter{model: m, text: text}
}

// Forget drops what the engine keeps of the last image (its voxels, window
// embeddings and logits buffers, hundreds of MB for a thin-slice CT), for
// when the viewer closes that study. It waits for a run in progress.
func (s *Segmenter) Forget() {
	s.mu.Lock()
	s.cache = nil
	s.mu.Unlock()
}

// Name is "segvol".
func (s *Segmenter) Name() string { return "segvol" }

// Segment returns the mask in img's grid. Prompt.Previous is not used:
// SegVol takes no mask prompt at inference, so the result replaces it.
func (s *Segmenter) Segment(ctx context.Context, img infer.Image, p infer.Prompt, progress infer.Progress) ([]uint8, error) {
	progress, err := infer.Begin(img, p, progress)
	if err != nil {
		return nil, err
	}
	var text []float32
	if p.Text != "" {
		if text, err = s.textVector(ctx, p.Text); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := run{s: s, ctx: ctx, progress: progress, text: text}
	progress(0, "preparing")
	if err := r.prepare(img); err != nil {
		return nil, err
	}
	logits, err := r.zoomOut(p)
	if err != nil {
		return nil, err
	}
	if err := r.zoomIn(logits); err != nil {
		return nil, err
	}
	progress(1, "done")
	return paste(logits, r.c.prep.origin, img.Dims), nil
}

// textVector is the vector of a text prompt: from the text encoder when
// there is one (any phrase; the category list's vectors come from the same
// tower), else from the category list.
func (s *Segmenter) textVector(ctx context.Context, phrase string) ([]float32, error) {
	switch {
	case s.encoder != nil:
		v, err := s.encoder.Encode(ctx, phrase)
		return v.Embedding, err
	case s.text == nil:
		return nil, fmt.Errorf("text prompt %q: the models folder has neither %s nor %s and %s, so SegVol cannot segment by name", phrase, TextEncoderFile, TextIndexFile, TextVectorFile)
	}
	v, err := s.text.Vector(phrase)
	if err != nil {
		return nil, fmt.Errorf("%w (any phrase works once the models folder has %s)", err, TextEncoderFile)
	}
	return v, nil
}

// run is the state of one Segment call.
type run struct {
	s        *Segmenter
	ctx      context.Context
	progress infer.Progress
	text     []float32 // nil: no text
	c        *cache
	pts      []point // the user's clicks in the crop frame
	box      *box3   // the user's box in the crop frame, or nil
}

// prepare finds or builds the cached preprocessing of img.
func (r *run) prepare(img infer.Image) error {
	key := keyOf(img)
	if r.s.cache == nil || r.s.cache.key != key {
		r.s.cache = nil // drop the old image's embeddings before allocating
		prep, err := prepare(img)
		if err != nil {
			return err
		}
		r.s.cache = newCache(img, prep)
	}
	r.c = r.s.cache
	return r.ctx.Err()
}

// zoomOut runs the whole crop resized to one window and returns its logits
// brought back to the crop's size.
func (r *run) zoomOut(p infer.Prompt) (*volume3, error) {
	prep := r.c.prep
	r.pts = cropPoints(p.Points, prep.origin)
	r.box = cropBox(p.Box, prep.origin)
	var maps [3][]int
	for a := range 3 {
		maps[a] = exactMap(prep.dims[a], Window[a])
	}
	emb, err := r.c.embedding(r.ctx, r.s.model, zoomKey, func(win []float32) []float32 {
		return resample(&prep.volume3, maps, win).data
	}, r.progress, 0.05, "encoding the zoom-out view")
	if err != nil {
		return nil, err
	}
	zp, zb := zoomPrompt(r.pts, r.box, maps, prep.dims)
	r.progress(0.2, "decoding the zoom-out view")
	logits, err := r.decode(emb, zp, zb)
	if err != nil {
		return nil, err
	}
	var back [3][]int
	for a := range 3 {
		back[a] = legacyMap(Window[a], prep.dims[a])
	}
	global := resample(&volume3{data: logits, dims: Window}, back, r.c.crop)
	r.c.crop = global.data
	return global, nil
}

// zoomIn reruns the region the zoom-out view found with sliding windows and
// writes their averaged logits over it in global.
func (r *run) zoomIn(global *volume3) error {
	fg := newSpans(global)
	all, ok := fg.box(whole(global.dims))
	if !ok {
		return nil // nothing found: the zoom-out result is final
	}
	reg := roi(all, global.dims)
	var size [3]int
	for a := range 3 {
		size[a] = reg.hi[a] - reg.lo[a] + 1
	}
	ts := tiles(size)
	inCrop := func(t tile) [3]int {
		o := t.origin(size)
		return [3]int{reg.lo[0] + o[0], reg.lo[1] + o[1], reg.lo[2] + o[2]}
	}
	// The prompts read the zoom-out logits, which the blend then replaces.
	type prompt struct {
		pts []point
		box *box3
	}
	prompts := make([]prompt, len(ts))
	for n, t := range ts {
		prompts[n].pts, prompts[n].box = r.windowPrompt(fg, inCrop(t), t.valid, len(ts))
	}
	acc := blendOver(global, reg)
	for n, t := range ts {
		frac := 0.25 + 0.7*float64(n)/float64(len(ts))
		org := inCrop(t)
		key := windowKey{origin: org, valid: t.valid}
		emb, err := r.c.embedding(r.ctx, r.s.model, key, func(win []float32) []float32 {
			return cutInto(win, &r.c.prep.volume3, org, t.valid)
		}, r.progress, frac, fmt.Sprintf("encoding window %d of %d", n+1, len(ts)))
		if err != nil {
			return err
		}
		r.progress(frac, fmt.Sprintf("decoding window %d of %d", n+1, len(ts)))
		logits, err := r.decode(emb, prompts[n].pts, prompts[n].box)
		if err != nil {
			return err
		}
		acc.add(logits, t.origin(size), t.valid)
	}
	acc.mean()
	return nil
}

// windowPrompt is the prompt of one window (first voxel org in the crop
// frame): the text always (added by decode); with a box, the user's box cut
// to the window when it is the only one, else the box of the zoom-out
// prediction (fg) inside it; with clicks, the clicks that fall in the window
// (negatives included, so that a corrective click acts on the final mask;
// upstream samples positives at random) and the zoom-out box.
func (r *run) windowPrompt(fg *spans, org [3]int, valid box3, windows int) ([]point, *box3) {
	if r.box == nil && len(r.pts) == 0 {
		return nil, nil
	}
	var box box3
	if r.box != nil && windows == 1 {
		box = boxInWindow(*r.box, org, valid)
	} else {
		in := box3{}
		for a := range 3 {
			in.lo[a] = org[a] + valid.lo[a]
			in.hi[a] = org[a] + valid.hi[a]
		}
		if b, ok := fg.box(in); ok {
			box = boxInWindow(b, org, valid)
		} else {
			box = noBox
		}
	}
	return inWindow(r.pts, org, valid), &box
}

// decode runs the prompt encoder (when there are points) and the mask
// decoder on one window's embedding.
func (r *run) decode(emb []float32, pts []point, box *box3) ([]float32, error) {
	coords, labels := tokens(pts, box)
	n := len(labels)
	sparse := make([]float32, 0, (n+1)*EmbeddingDim)
	if n > 0 {
		if err := r.ctx.Err(); err != nil {
			return nil, err
		}
		tok, err := r.s.model.Prompt(r.ctx, coords, labels, n)
		if err != nil {
			return nil, fmt.Errorf("segvol prompt encoder: %w", err)
		}
		if len(tok) != n*EmbeddingDim {
			return nil, fmt.Errorf("segvol prompt encoder returned %d values for %d points", len(tok), n)
		}
		sparse = append(sparse, tok...)
	}
	text := r.text
	if text != nil {
		sparse = append(sparse, text...)
	} else {
		text = make([]float32, EmbeddingDim)
	}
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	logits, err := r.s.model.Decode(r.ctx, emb, sparse, len(sparse)/EmbeddingDim, text, r.text != nil)
	if err != nil {
		return nil, fmt.Errorf("segvol mask decoder: %w", err)
	}
	if len(logits) != Window[0]*Window[1]*Window[2] {
		return nil, fmt.Errorf("segvol mask decoder returned %d logits for a %dx%dx%d window", len(logits), Window[0], Window[1], Window[2])
	}
	return logits, nil
}

// paste thresholds crop-frame logits at 0 into a mask of the image grid;
// (d,h,w) of the crop is (k,j,i) - origin.
func paste(logits *volume3, org [3]int, dims [3]int) []uint8 {
	out := make([]uint8, dims[0]*dims[1]*dims[2])
	n := logits.dims[2]
	parallel.For(logits.dims[0], func(lo, hi int) {
		for d := lo; d < hi; d++ {
			for h := range logits.dims[1] {
				src := logits.data[(d*logits.dims[1]+h)*n:][:n]
				row := out[org[2]+dims[0]*(org[1]+h+dims[1]*(org[0]+d)):][:n]
				for w, v := range src {
					var m uint8
					if v > 0 {
						m = 1
					}
					row[w] = m
				}
			}
		}
	})
	return out
}
