package segvol

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/segvolapp/segvol/infer"
)

// fakeModel is a deterministic test double of SegVol's networks for the
// pipeline logic: the embedding's channel 0 is the mean of each 4x16x16
// block of the window, a point token carries its coordinates and label,
// and the decoder marks bright blocks (mean > 0.5, or > bright when set)
// inside the prompt's box, or near its positive clicks, or everywhere for a
// text-only prompt.
type fakeModel struct {
	bright                    float32
	encodes, prompts, decodes int
	labels                    [][]float32 // per Prompt call
	decodeT                   []int
	hasText                   []bool
}

const grid = 8 * 16 * 16

func (f *fakeModel) Encode(ctx context.Context, win []float32) ([]float32, error) {
	f.encodes++
	emb := make([]float32, EmbeddingDim*grid)
	for d := range Window[0] {
		for h := range Window[1] {
			for w := range Window[2] {
				emb[(d/4*16+h/16)*16+w/16] += win[(d*Window[1]+h)*Window[2]+w] / (4 * 16 * 16)
			}
		}
	}
	return emb, nil
}

func (f *fakeModel) Prompt(ctx context.Context, coords, labels []float32, n int) ([]float32, error) {
	f.prompts++
	f.labels = append(f.labels, slices.Clone(labels))
	tok := make([]float32, n*EmbeddingDim)
	for t := range n {
		copy(tok[t*EmbeddingDim:], coords[3*t:3*t+3])
		tok[t*EmbeddingDim+3] = labels[t]
	}
	return tok, nil
}

func (f *fakeModel) Decode(ctx context.Context, emb, sparse []float32, t int, text []float32, hasText bool) ([]float32, error) {
	f.decodes++
	f.decodeT = append(f.decodeT, t)
	f.hasText = append(f.hasText, hasText)
	if hasText {
		t--
	}
	bright := f.bright
	if bright == 0 {
		bright = 0.5
	}
	var box *box3
	var pos, neg [][3]float32
	for x := range t {
		tok := sparse[x*EmbeddingDim:]
		c := [3]float32{tok[0], tok[1], tok[2]}
		switch tok[3] {
		case labelPositive:
			pos = append(pos, c)
		case labelNegative:
			neg = append(neg, c)
		case labelCorner0:
			box = &box3{lo: [3]int{int(c[0]), int(c[1]), int(c[2])}}
		case labelCorner1:
			box.hi = [3]int{int(c[0]), int(c[1]), int(c[2])}
		}
	}
	near := func(ps [][3]float32, d, h, w int, r float32) bool {
		for _, p := range ps {
			if max(abs32(p[0]-float32(d)), abs32(p[1]-float32(h)), abs32(p[2]-float32(w))) <= r {
				return true
			}
		}
		return false
	}
	out := make([]float32, Window[0]*Window[1]*Window[2])
	x := 0
	for d := range Window[0] {
		for h := range Window[1] {
			for w := range Window[2] {
				in := emb[(d/4*16+h/16)*16+w/16] > bright
				switch {
				case box != nil:
					in = in && box.has([3]int{d, h, w})
				case len(pos) > 0:
					in = in && near(pos, d, h, w, 200)
				}
				in = in && !near(neg, d, h, w, 8)
				out[x] = -1
				if in {
					out[x] = 1
				}
				x++
			}
		}
	}
	return out, nil
}

func abs32(x float32) float32 { return max(x, -x) }

// phantom is a 300x120x90 int16 CT: air, a textured body and a bright
// textured organ at i 60..199, j 30..89, k 20..69.
func phantom() (infer.Image, []uint8) {
	dims := [3]int{300, 120, 90}
	v := make([]int16, dims[0]*dims[1]*dims[2])
	organ := make([]uint8, len(v))
	for k := range dims[2] {
		for j := range dims[1] {
			for i := range dims[0] {
				x := i + dims[0]*(j+dims[1]*k)
				v[x] = -1000
				if i >= 20 && i < 280 && j >= 10 && j < 110 && k >= 5 && k < 85 {
					v[x] = int16(20 + (i+j+k)%40)
				}
				if i >= 60 && i < 200 && j >= 30 && j < 90 && k >= 20 && k < 70 {
					v[x] = int16(200 + (7*i+3*j+k)%20)
					organ[x] = 1
				}
			}
		}
	}
	return infer.Image{Dims: dims, Spacing: [3]float64{1, 1, 3}, Voxels: v, Slope: 1}, organ
}

func dice(a, b []uint8) float64 {
	var inter, n int
	for x := range a {
		inter += int(a[x] & b[x])
		n += int(a[x]) + int(b[x])
	}
	return 2 * float64(inter) / float64(n)
}

// insideBox is the fraction of the mask inside b.
func insideBox(m []uint8, dims [3]int, b infer.Box) float64 {
	var in, all int
	for k := range dims[2] {
		for j := range dims[1] {
			for i := range dims[0] {
				if m[i+dims[0]*(j+dims[1]*k)] == 1 {
					all++
					if i >= b.Min[0] && i <= b.Max[0] && j >= b.Min[1] && j <= b.Max[1] && k >= b.Min[2] && k <= b.Max[2] {
						in++
					}
				}
			}
		}
	}
	return float64(in) / float64(all)
}

var organBox = infer.Box{Min: [3]int{55, 25, 18}, Max: [3]int{205, 95, 72}}

func TestBoxPromptEndToEnd(t *testing.T) {
	img, organ := phantom()
	f := &fakeModel{}
	s := New(f, nil)
	var fracs []float64
	m, err := s.Segment(context.Background(), img, infer.Prompt{Box: &organBox}, func(x float64, _ string) { fracs = append(fracs, x) })
	if err != nil {
		t.Fatal(err)
	}
	// Crop D 80 (k 5..84); the organ's ROI is D 50, H 60 grown to the crop's
	// 100, W 140 grown to 256: windows at D 0, 16, 18.
	if f.encodes != 4 || f.decodes != 4 || f.prompts != 4 {
		t.Errorf("encodes %d prompts %d decodes %d, want 4 each (zoom-out + 3 windows)", f.encodes, f.prompts, f.decodes)
	}
	for _, l := range f.labels {
		if !slices.Equal(l, []float32{2, 3}) {
			t.Errorf("box-only prompt labels %v, want [2 3]", l)
		}
	}
	if d := dice(m, organ); d < 0.85 {
		t.Errorf("Dice with the organ %.3f", d)
	}
	if in := insideBox(m, img.Dims, organBox); in < 0.999 {
		t.Errorf("only %.4f of the mask lies in the box", in)
	}
	if !slices.IsSorted(fracs) || fracs[len(fracs)-1] != 1 {
		t.Errorf("progress %v", fracs)
	}
	again, err := New(&fakeModel{}, nil).Segment(context.Background(), img, infer.Prompt{Box: &organBox}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m, again) {
		t.Error("a second engine gives another mask")
	}
}

// A new click reuses every image embedding: only the prompt encoder and
// the decoder run again.
func TestClickReusesEmbeddings(t *testing.T) {
	img, organ := phantom()
	f := &fakeModel{}
	s := New(f, nil)
	p := infer.Prompt{Points: []infer.Point{{I: 120, J: 60, K: 45, Positive: true}}}
	first, err := s.Segment(context.Background(), img, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := dice(first, organ); d < 0.85 {
		t.Errorf("Dice after one click %.3f", d)
	}
	// Zoom-out: the click then the pad point.
	if !slices.Equal(f.labels[0], []float32{1, -1}) {
		t.Errorf("zoom-out labels %v, want [1 -1]", f.labels[0])
	}
	// Windows: the click where it falls, then the zoom-out box (no pad).
	for _, l := range f.labels[1:] {
		if !slices.Equal(l, []float32{1, 2, 3}) && !slices.Equal(l, []float32{2, 3}) {
			t.Errorf("window labels %v", l)
		}
	}
	encodes, decodes := f.encodes, f.decodes
	p.Points = append(p.Points, infer.Point{I: 150, J: 60, K: 45})
	second, err := s.Segment(context.Background(), img, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.encodes != encodes {
		t.Errorf("the second click ran the image encoder %d more times", f.encodes-encodes)
	}
	if f.decodes <= decodes {
		t.Error("the second click did not run the decoder")
	}
	if slices.Equal(first, second) {
		t.Error("the negative click changed nothing")
	}
	// Another image (same shape) is encoded afresh.
	other, _ := phantom()
	if _, err := s.Segment(context.Background(), other, p, nil); err != nil {
		t.Fatal(err)
	}
	if f.encodes == encodes {
		t.Error("a new image reused the old image's embeddings")
	}
	// After Forget (the study was closed) nothing of it is kept, and the
	// same image is encoded again.
	s.Forget()
	if s.cache != nil {
		t.Error("Forget kept the cache")
	}
	encodes = f.encodes
	if _, err := s.Segment(context.Background(), other, p, nil); err != nil {
		t.Fatal(err)
	}
	if f.encodes == encodes {
		t.Error("the image was not encoded again after Forget")
	}
}

func writeText(t *testing.T, dir string, names []string, vec func(r, x int) float32) {
	t.Helper()
	idx := `{"dim": 768, "template": "A computerized tomography of a {}.", "categories": ["` + strings.Join(names, `", "`) + `"]}`
	if err := os.WriteFile(filepath.Join(dir, TextIndexFile), []byte(idx), 0o644); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, len(names)*EmbeddingDim*4)
	for r := range names {
		for x := range EmbeddingDim {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(vec(r, x)))
		}
	}
	if err := os.WriteFile(filepath.Join(dir, TextVectorFile), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTextPrompt(t *testing.T) {
	dir := t.TempDir()
	writeText(t, dir, []string{"liver", "left kidney", "right kidney", "spleen"}, func(r, x int) float32 { return float32(r*1000 + x) })
	te, err := LoadText(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := te.Vector("Left_Kidney")
	if err != nil || v[0] != 1000 || v[767] != 1767 {
		t.Fatalf("left kidney: %v %v", v[:2], err)
	}
	for _, c := range []struct{ name, want string }{
		{"livr", `did you mean "liver"`},
		{"kidney", `"left kidney", "right kidney"`},
		{"heart", "the model knows 4 names"},
	} {
		if _, err := te.Vector(c.name); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want it to say %s", c.name, err, c.want)
		}
	}
	img, organ := phantom()
	f := &fakeModel{}
	m, err := New(f, te).Segment(context.Background(), img, infer.Prompt{Text: "liver"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.prompts != 0 || !slices.Equal(f.decodeT, []int{1, 1, 1, 1}) || slices.Contains(f.hasText, false) {
		t.Errorf("text only: %d prompt calls, tokens %v, text %v", f.prompts, f.decodeT, f.hasText)
	}
	if d := dice(m, organ); d < 0.85 {
		t.Errorf("Dice %.3f", d)
	}
	if _, err := New(f, nil).Segment(context.Background(), img, infer.Prompt{Text: "liver"}, nil); err == nil || !strings.Contains(err.Error(), TextIndexFile) {
		t.Errorf("no text files: %v", err)
	}
}

func TestBadTextFiles(t *testing.T) {
	dir := t.TempDir()
	writeText(t, dir, []string{"liver", "Liver"}, func(r, x int) float32 { return 0 })
	if _, err := LoadText(dir); err == nil || !strings.Contains(err.Error(), "same name") {
		t.Errorf("duplicate names: %v", err)
	}
	writeText(t, dir, []string{"liver"}, func(r, x int) float32 { return 0 })
	if err := os.WriteFile(filepath.Join(dir, TextVectorFile), make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadText(dir); err == nil || !strings.Contains(err.Error(), "holds 100 bytes") {
		t.Errorf("short vectors: %v", err)
	}
	if _, err := LoadText(t.TempDir()); err == nil {
		t.Error("missing files: no error")
	}
}

func TestCancel(t *testing.T) {
	img, _ := phantom()
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeModel{}
	_, err := New(f, nil).Segment(ctx, img, infer.Prompt{Box: &organBox}, func(_ float64, stage string) {
		if stage == "encoding window 2 of 3" {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if f.encodes != 2 {
		t.Errorf("%d encoder runs after cancelling before the second window", f.encodes)
	}
}

// The sample CT (soft tissue near 0.35 once normalised) with a box in the
// abdomen runs one window (the 30x96x121 crop fits it once padded) and
// stays in the box.
func TestSampleOneWindow(t *testing.T) {
	img := sampleImage(t)
	f := &fakeModel{bright: 0.25}
	box := infer.Box{Min: [3]int{20, 20, 5}, Max: [3]int{70, 70, 25}}
	m, err := New(f, nil).Segment(context.Background(), img, infer.Prompt{Box: &box}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.encodes != 2 {
		t.Errorf("%d encoder runs, want 2", f.encodes)
	}
	if in := insideBox(m, img.Dims, box); !(in > 0.999) {
		t.Errorf("%.4f of the mask in the box", in)
	}
}

func TestModelsFolder(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope")
	if _, err := modelFiles(missing); !errors.Is(err, ErrNoModels) || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "export.py") {
		t.Errorf("missing folder: %v", err)
	}
	if _, err := modelFiles(dir); !errors.Is(err, ErrNoModels) || !strings.Contains(err.Error(), EncoderFile) {
		t.Errorf("empty folder: %v", err)
	}
	for _, f := range []string{EncoderFile, PromptFile, DecoderFile} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := modelFiles(dir); err != nil {
		t.Errorf("complete folder: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(`{"window": [32, 128, 128]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := modelFiles(dir); err == nil || !strings.Contains(err.Error(), "window") {
		t.Errorf("wrong window: %v", err)
	}
	if te, err := loadTextIfPresent(dir); te != nil || err != nil {
		t.Errorf("no text files: %v %v", te, err)
	}
}
