package clip

import (
	"encoding/json"
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// file is the part of tokenizer.json that decides the ids (the decoder,
// which turns ids back into text, does not).
type file struct {
	Truncation  json.RawMessage `json:"truncation"`
	Padding     json.RawMessage `json:"padding"`
	AddedTokens []struct {
		ID         int64  `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		Lstrip     bool   `json:"lstrip"`
		Rstrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
	} `json:"added_tokens"`
	Normalizer    *step `json:"normalizer"`
	PreTokenizer  *step `json:"pre_tokenizer"`
	PostProcessor *step `json:"post_processor"`
	Model         struct {
		Type                    string           `json:"type"`
		Dropout                 *float64         `json:"dropout"`
		UnkToken                *string          `json:"unk_token"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
		FuseUnk                 bool             `json:"fuse_unk"`
		ByteFallback            bool             `json:"byte_fallback"`
		IgnoreMerges            bool             `json:"ignore_merges"`
		Vocab                   map[string]int64 `json:"vocab"`
		Merges                  json.RawMessage  `json:"merges"`
	} `json:"model"`
}

// step is a normalizer, pre-tokenizer or post-processor; a Sequence holds others.
type step struct {
	Type          string  `json:"type"`
	Normalizers   []*step `json:"normalizers"`
	Pretokenizers []*step `json:"pretokenizers"`
	Pattern       struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	} `json:"pattern"`
	Content        string `json:"content"`
	Behavior       string `json:"behavior"`
	Invert         bool   `json:"invert"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	UseRegex       *bool  `json:"use_regex"`
	Cls            []any  `json:"cls"`
	Sep            []any  `json:"sep"`
}

// Parse reads a tokenizer.json, plain or gzip-compressed.
func Parse(b []byte) (*Tokenizer, error) {
	b, err := gunzip(b)
	if err != nil {
		return nil, fmt.Errorf("clip: tokenizer.json: %w", err)
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("clip: tokenizer.json: %w", err)
	}
	t, err := f.tokenizer()
	if err != nil {
		return nil, fmt.Errorf("clip: tokenizer.json: %w", err)
	}
	return t, nil
}

func (f *file) tokenizer() (*Tokenizer, error) {
	if !isNull(f.Truncation) || !isNull(f.Padding) {
		return nil, fmt.Errorf("truncation and padding are not supported (want null)")
	}
	m := f.Model
	switch {
	case m.Type != "BPE":
		return nil, fmt.Errorf("model %q is not supported (want BPE)", m.Type)
	case m.Dropout != nil || m.FuseUnk || m.ByteFallback || m.IgnoreMerges:
		return nil, fmt.Errorf("BPE dropout, fuse_unk, byte_fallback and ignore_merges are not supported")
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return nil, fmt.Errorf("BPE continuing_subword_prefix %q is not supported", *m.ContinuingSubwordPrefix)
	}
	t := &Tokenizer{vocab: m.Vocab, unk: -1}
	if m.EndOfWordSuffix != nil {
		t.suffix = *m.EndOfWordSuffix
	}
	if m.UnkToken != nil {
		id, ok := m.Vocab[*m.UnkToken]
		if !ok {
			return nil, fmt.Errorf("unknown token %q is not in the vocabulary", *m.UnkToken)
		}
		t.unk = id
	}
	pairs, err := jsonMerges(m.Merges)
	if err != nil {
		return nil, err
	}
	if t.merges, err = rankMerges(pairs, m.Vocab); err != nil {
		return nil, err
	}
	if t.normalizers, err = normalizers(f.Normalizer); err != nil {
		return nil, err
	}
	if err := checkPreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if t.cls, t.sep, err = roberta(f.PostProcessor); err != nil {
		return nil, err
	}
	for _, a := range f.AddedTokens {
		if a.SingleWord || a.Lstrip || a.Rstrip {
			return nil, fmt.Errorf("added token %q: single_word, lstrip and rstrip are not supported", a.Content)
		}
		if a.Normalized {
			t.normalized = append(t.normalized, addedToken{t.normalize(a.Content), a.ID})
		} else {
			t.raw = append(t.raw, addedToken{a.Content, a.ID})
		}
	}
	return t, nil
}

// replaceWhite is the Replace normalizer on the pattern \s+.
func replaceWhite(content string) func(string) string {
	return func(x string) string { return whiteRun.ReplaceAllLiteralString(x, content) }
}

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// normalizers turns the declared normalizer into functions applied in turn.
func normalizers(s *step) ([]func(string) string, error) {
	if s == nil {
		return nil, nil
	}
	switch s.Type {
	case "Sequence":
		var out []func(string) string
		for _, n := range s.Normalizers {
			fs, err := normalizers(n)
			if err != nil {
				return nil, err
			}
			out = append(out, fs...)
		}
		return out, nil
	case "NFC":
		return []func(string) string{norm.NFC.String}, nil
	case "Lowercase":
		return []func(string) string{lower}, nil
	case "Replace":
		content := s.Content
		switch {
		case s.Pattern.Regex != nil && *s.Pattern.Regex == `\s+`:
			return []func(string) string{replaceWhite(content)}, nil
		case s.Pattern.String != nil:
			old := *s.Pattern.String
			return []func(string) string{func(x string) string { return strings.ReplaceAll(x, old, content) }}, nil
		}
		return nil, fmt.Errorf("Replace normalizer: only the pattern \\s+ or a plain string is supported")
	}
	return nil, fmt.Errorf("normalizer %q is not supported", s.Type)
}

// checkPreTokenizer accepts only CLIP's: its Split pattern keeping the
// matches, then ByteLevel with GPT-2's pattern and no prefix space.
func checkPreTokenizer(s *step) error {
	ok := s != nil && s.Type == "Sequence" && len(s.Pretokenizers) == 2
	if ok {
		split, bl := s.Pretokenizers[0], s.Pretokenizers[1]
		ok = split.Type == "Split" && split.Pattern.Regex != nil && *split.Pattern.Regex == clipSplit &&
			split.Behavior == "Removed" && split.Invert &&
			bl.Type == "ByteLevel" && !bl.AddPrefixSpace && (bl.UseRegex == nil || *bl.UseRegex)
	}
	if !ok {
		return fmt.Errorf("pre_tokenizer is not CLIP's (Split on %s keeping the matches, then ByteLevel): not supported", clipSplit)
	}
	return nil
}

// roberta reads the ids RobertaProcessing puts first (cls) and last (sep).
func roberta(s *step) (cls, sep int64, err error) {
	if s == nil || s.Type != "RobertaProcessing" {
		return 0, 0, fmt.Errorf("post_processor must be RobertaProcessing")
	}
	id := func(p []any) (int64, bool) {
		if len(p) != 2 {
			return 0, false
		}
		v, ok := p[1].(float64)
		return int64(v), ok
	}
	cls, ok1 := id(s.Cls)
	sep, ok2 := id(s.Sep)
	if !ok1 || !ok2 {
		return 0, 0, fmt.Errorf("post_processor: cls and sep must be [token, id]")
	}
	return cls, sep, nil
}

// jsonMerges reads the model's merges, written "a b" or ["a", "b"].
func jsonMerges(raw json.RawMessage) ([][2]string, error) {
	var lines []string
	if json.Unmarshal(raw, &lines) == nil {
		return splitMerges(lines)
	}
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("model merges: %w", err)
	}
	return pairs, nil
}

func splitMerges(lines []string) ([][2]string, error) {
	pairs := make([][2]string, len(lines))
	for i, l := range lines {
		a, b, ok := strings.Cut(l, " ")
		if !ok || strings.Contains(b, " ") {
			return nil, fmt.Errorf("merge %d %q is not two tokens separated by a space", i+1, l)
		}
		pairs[i] = [2]string{a, b}
	}
	return pairs, nil
}

// rankMerges indexes the merges by the ids of their pair, the rank being the order.
func rankMerges(pairs [][2]string, vocab map[string]int64) (map[[2]int64]merge, error) {
	out := make(map[[2]int64]merge, len(pairs))
	for rank, p := range pairs {
		a, okA := vocab[p[0]]
		b, okB := vocab[p[1]]
		id, okC := vocab[p[0]+p[1]]
		if !okA || !okB || !okC {
			return nil, fmt.Errorf("merge %d %q: a token is not in the vocabulary", rank+1, p[0]+" "+p[1])
		}
		if _, dup := out[[2]int64{a, b}]; !dup {
			out[[2]int64{a, b}] = merge{rank, id}
		}
	}
	return out, nil
}

// FromVocabMerges builds CLIP's tokenizer from vocab.json and merges.txt,
// with the pipeline CLIP's tokenizer.json declares around them.
func FromVocabMerges(vocabJSON, mergesTxt []byte) (*Tokenizer, error) {
	var vocab map[string]int64
	if err := json.Unmarshal(vocabJSON, &vocab); err != nil {
		return nil, fmt.Errorf("clip: vocab.json: %w", err)
	}
	var lines []string
	for i, l := range strings.Split(strings.ReplaceAll(string(mergesTxt), "\r\n", "\n"), "\n") {
		if l == "" || i == 0 && strings.HasPrefix(l, "#version") {
			continue
		}
		lines = append(lines, l)
	}
	pairs, err := splitMerges(lines)
	if err != nil {
		return nil, fmt.Errorf("clip: merges.txt: %w", err)
	}
	merges, err := rankMerges(pairs, vocab)
	if err != nil {
		return nil, fmt.Errorf("clip: merges.txt: %w", err)
	}
	const start, end = "<|startoftext|>", "<|endoftext|>"
	cls, ok1 := vocab[start]
	sep, ok2 := vocab[end]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("clip: vocab.json lacks %s or %s", start, end)
	}
	return &Tokenizer{
		normalizers: []func(string) string{norm.NFC.String, replaceWhite(" "), lower},
		raw:         []addedToken{{end, sep}},
		normalized:  []addedToken{{start, cls}},
		vocab:       vocab, merges: merges, suffix: "</w>", unk: sep, cls: cls, sep: sep,
	}, nil
}
