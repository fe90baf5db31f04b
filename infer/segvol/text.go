package segvol

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Text embedding files, written by the export script next to the ONNX
// graphs:
//
//	text_embeddings.json  {"dim": 768, "categories": ["liver", "spleen", ...]}
//	text_embeddings.bin   len(categories) x dim float32, little endian, row-major:
//	                      row r is the vector of categories[r]
//
// A vector is the CLIP text tower's pooled output for "A computerized
// tomography of a {name}." through the 512->768 projection, i.e. exactly
// what the mask decoder takes as text_embedding. Other JSON keys (template,
// checkpoint) are allowed and ignored. Names match case-insensitively, with
// '_' read as a space and runs of spaces as one.
const (
	TextIndexFile  = "text_embeddings.json"
	TextVectorFile = "text_embeddings.bin"
)

// EmbeddingDim is the width of a text vector and of a prompt token.
const EmbeddingDim = 768

// TextEmbeddings maps category names to their text vectors.
type TextEmbeddings struct {
	names   []string // as the file spells them
	index   map[string]int
	vectors []float32
}

// LoadText reads the two text embedding files from dir.
func LoadText(dir string) (*TextEmbeddings, error) {
	jpath, bpath := filepath.Join(dir, TextIndexFile), filepath.Join(dir, TextVectorFile)
	raw, err := os.ReadFile(jpath)
	if err != nil {
		return nil, err
	}
	var idx struct {
		Dim        int      `json:"dim"`
		Categories []string `json:"categories"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("%s: %v", jpath, err)
	}
	if idx.Dim != EmbeddingDim {
		return nil, fmt.Errorf("%s: dim is %d, SegVol's text vectors have %d", jpath, idx.Dim, EmbeddingDim)
	}
	if len(idx.Categories) == 0 {
		return nil, fmt.Errorf("%s: no categories", jpath)
	}
	t := &TextEmbeddings{names: idx.Categories, index: make(map[string]int, len(idx.Categories))}
	for r, name := range idx.Categories {
		key := canonical(name)
		if key == "" {
			return nil, fmt.Errorf("%s: category %d has an empty name", jpath, r)
		}
		if prev, dup := t.index[key]; dup {
			return nil, fmt.Errorf("%s: categories %q and %q have the same name", jpath, idx.Categories[prev], name)
		}
		t.index[key] = r
	}
	want := int64(len(idx.Categories)) * EmbeddingDim * 4
	st, err := os.Stat(bpath)
	if err != nil {
		return nil, err
	}
	if st.Size() != want {
		return nil, fmt.Errorf("%s holds %d bytes, %d categories x %d float32 need %d", bpath, st.Size(), len(idx.Categories), EmbeddingDim, want)
	}
	buf, err := os.ReadFile(bpath)
	if err != nil {
		return nil, err
	}
	t.vectors = make([]float32, len(buf)/4)
	for x := range t.vectors {
		v := math.Float32frombits(binary.LittleEndian.Uint32(buf[4*x:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%s: value %d is not finite", bpath, x)
		}
		t.vectors[x] = v
	}
	return t, nil
}

// Categories lists the names in file order.
func (t *TextEmbeddings) Categories() []string { return slices.Clone(t.names) }

// Vector returns the text vector of a structure name; for an unknown name
// the error lists the closest known ones.
func (t *TextEmbeddings) Vector(name string) ([]float32, error) {
	if r, ok := t.index[canonical(name)]; ok {
		return t.vectors[r*EmbeddingDim : (r+1)*EmbeddingDim], nil
	}
	if close := t.closest(name, 5); len(close) > 0 {
		return nil, fmt.Errorf("unknown structure %q; did you mean %s?", name, strings.Join(close, ", "))
	}
	return nil, fmt.Errorf("unknown structure %q; the model knows %d names, e.g. %s", name, len(t.names), strings.Join(t.names[:min(5, len(t.names))], ", "))
}

// closest returns up to n names that contain the query (or that it
// contains) or lie within an edit distance of a third of its length,
// nearest first.
func (t *TextEmbeddings) closest(name string, n int) []string {
	q := canonical(name)
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for _, s := range t.names {
		c := canonical(s)
		d := editDistance(q, c)
		if q != "" && (strings.Contains(c, q) || strings.Contains(q, c)) {
			cs = append(cs, cand{s, min(d, abs(len(c)-len(q)))})
		} else if d <= max(2, len(q)/3) {
			cs = append(cs, cand{s, d})
		}
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return a.d - b.d })
	var out []string
	for _, c := range cs[:min(n, len(cs))] {
		out = append(out, fmt.Sprintf("%q", c.name))
	}
	return out
}

func canonical(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.ToLower(s), "_", " ")), " ")
}

// editDistance is the Levenshtein distance in bytes.
func editDistance(a, b string) int {
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			diag, row[j] = row[j], min(row[j]+1, row[j-1]+1, diag+cost)
		}
	}
	return row[len(b)]
}

func abs(x int) int { return max(x, -x) }
