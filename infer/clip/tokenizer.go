// Package clip is CLIP's tokenizer as Hugging Face tokenizers runs it from a
// tokenizer.json (the Rust library that Python's transformers uses, so the
// ids are the ones SegVol's text encoder saw in training): added special
// tokens cut out first, then the declared normalizer (NFC, runs of white
// space to one space, lower case), the split pattern, GPT-2's byte-to-unicode
// mapping, byte-level BPE with "</w>" word ends merged by rank, and
// <|startoftext|> ... <|endoftext|> around the result.
//
// It reads the pipeline a tokenizer.json declares and refuses, naming it,
// any step it does not implement exactly, rather than give different ids.
package clip

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ContextLength is the most tokens CLIP's text tower reads (its positions),
// the special tokens included.
const ContextLength = 77

// Template is SegVol's sentence around a phrase ("{}" is the phrase).
const Template = "A computerized tomography of a {}."

// Prompt is the sentence the model sees for phrase.
func Prompt(phrase string) string { return strings.Replace(Template, "{}", phrase, 1) }

// Tokenizer turns text into CLIP token ids. It is safe for concurrent use.
type Tokenizer struct {
	normalizers []func(string) string
	// added are the special tokens found in the text before anything else,
	// raw are matched in the text as given, the rest after normalising.
	raw, normalized []addedToken
	vocab           map[string]int64
	merges          map[[2]int64]merge
	suffix          string // end-of-word suffix of BPE, "</w>"
	unk             int64  // id of a character missing from the vocabulary, -1 if none
	cls, sep        int64  // ids put first and last
}

type addedToken struct {
	content string
	id      int64
}

type merge struct {
	rank int
	id   int64 // the merged token
}

// white is Oniguruma's \s under Unicode (the White_Space property), the
// engine tokenizer.json's patterns are written for; Go's \s is ASCII only.
const white = `\t-\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}`

// clipSplit is the one Split pattern implemented: CLIP's, as its
// tokenizer.json writes it, and splitRe its Go translation.
const clipSplit = `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`

var (
	splitRe = regexp.MustCompile(`<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^` + white + `\p{L}\p{N}]+`)
	// byteLevelRe is GPT-2's pattern that the ByteLevel pre-tokenizer
	// applies (use_regex). Its white-space alternatives are left out: the
	// split before it has removed all white space.
	byteLevelRe = regexp.MustCompile(`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^` + white + `\p{L}\p{N}]+`)
	whiteRun    = regexp.MustCompile(`[` + white + `]+`)
	byteChar    = byteToUnicode()
)

// Encode gives text's token ids with <|startoftext|> first and <|endoftext|>
// last, or an error when they are more than ContextLength.
func (t *Tokenizer) Encode(text string) ([]int64, error) {
	ids, err := t.encode(text)
	if err != nil {
		return nil, err
	}
	if len(ids) > ContextLength {
		return nil, fmt.Errorf("clip: %q is %d tokens (with the start and end tokens); CLIP reads at most %d: shorten it", shorten(text), len(ids), ContextLength)
	}
	return ids, nil
}

// EncodePrompt puts phrase in SegVol's Template and encodes the sentence.
func (t *Tokenizer) EncodePrompt(phrase string) (prompt string, ids []int64, err error) {
	prompt = Prompt(phrase)
	ids, err = t.Encode(prompt)
	return prompt, ids, err
}

// encode is Encode without the length limit.
func (t *Tokenizer) encode(text string) ([]int64, error) {
	ids := []int64{t.cls}
	for _, raw := range splitAdded(text, t.raw) {
		if raw.id >= 0 {
			ids = append(ids, raw.id)
			continue
		}
		for _, seg := range splitAdded(t.normalize(raw.content), t.normalized) {
			if seg.id >= 0 {
				ids = append(ids, seg.id)
				continue
			}
			for _, piece := range splitRe.FindAllString(seg.content, -1) {
				for _, word := range byteLevelRe.FindAllString(piece, -1) {
					var err error
					if ids, err = t.bpe(ids, word); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return append(ids, t.sep), nil
}

// splitAdded cuts text at the leftmost, longest occurrences of tokens, as
// Hugging Face's added vocabulary does. Pieces of text between them have id -1.
func splitAdded(text string, tokens []addedToken) []addedToken {
	var out []addedToken
	for text != "" {
		at, found := len(text), addedToken{id: -1}
		for _, tok := range tokens {
			i := strings.Index(text, tok.content)
			if i >= 0 && (i < at || i == at && len(tok.content) > len(found.content)) {
				at, found = i, tok
			}
		}
		if at > 0 {
			out = append(out, addedToken{content: text[:at], id: -1})
		}
		if found.id < 0 {
			break
		}
		out = append(out, found)
		text = text[at+len(found.content):]
	}
	return out
}

func (t *Tokenizer) normalize(s string) string {
	for _, n := range t.normalizers {
		s = n(s)
	}
	return s
}

// bpe appends the ids of one pre-tokenized word: its bytes as GPT-2's
// unicode characters, the last with the end-of-word suffix, merged pair by
// pair, always the pair of lowest rank first and the leftmost among equals
// (the order of Hugging Face's merge queue).
func (t *Tokenizer) bpe(ids []int64, word string) ([]int64, error) {
	syms := make([]int64, len(word))
	for i := range len(word) {
		s := byteChar[word[i]]
		if i == len(word)-1 {
			s += t.suffix
		}
		id, ok := t.vocab[s]
		if !ok {
			if t.unk < 0 {
				return nil, fmt.Errorf("clip: %q is not in the vocabulary and it has no unknown token", s)
			}
			id = t.unk
		}
		syms[i] = id
	}
	for len(syms) > 1 {
		best, bestRank := -1, 0
		for i := 0; i+1 < len(syms); i++ {
			if m, ok := t.merges[[2]int64{syms[i], syms[i+1]}]; ok && (best < 0 || m.rank < bestRank) {
				best, bestRank = i, m.rank
			}
		}
		if best < 0 {
			break
		}
		syms[best] = t.merges[[2]int64{syms[best], syms[best+1]}].id
		syms = append(syms[:best+1], syms[best+2:]...)
	}
	return append(ids, syms...), nil
}

// lower is the Lowercase normalizer: Rust's char::to_lowercase on each
// character alone (no final-sigma rule), whose only mapping to more than
// one character is İ's.
func lower(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r == 'İ' {
			b.WriteString("i\u0307")
		} else {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// byteToUnicode is GPT-2's table from bytes to printable characters: the
// printable Latin-1 bytes stand for themselves, the others for 256 upward.
func byteToUnicode() [256]string {
	var t [256]string
	next := rune(256)
	for b := range 256 {
		if '!' <= b && b <= '~' || '¡' <= b && b <= '¬' || '®' <= b && b <= 'ÿ' {
			t[b] = string(rune(b))
		} else {
			t[b] = string(next)
			next++
		}
	}
	return t
}

// shorten keeps an error message about a long text readable.
func shorten(s string) string {
	if utf8.RuneCountInString(s) <= 60 {
		return s
	}
	return string([]rune(s)[:60]) + "…"
}

// Load reads the tokenizer of a checkpoint folder: tokenizer.json, else
// vocab.json and merges.txt. An error wraps fs.ErrNotExist when the folder
// has neither.
func Load(dir string) (*Tokenizer, error) {
	b, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err == nil {
		return Parse(b)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("clip: %w", err)
	}
	vocab, verr := os.ReadFile(filepath.Join(dir, "vocab.json"))
	merges, merr := os.ReadFile(filepath.Join(dir, "merges.txt"))
	if verr != nil || merr != nil {
		return nil, fmt.Errorf("clip: %s has no tokenizer.json and no vocab.json with merges.txt: %w", dir, errors.Join(verr, merr))
	}
	return FromVocabMerges(vocab, merges)
}

// LoadOr is Load, falling back to the tokenizer.json bytes given (the one
// the programs carry, assets/clip) when dir has no tokenizer files.
func LoadOr(dir string, fallback []byte) (*Tokenizer, error) {
	t, err := Load(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return Parse(fallback)
	}
	return t, err
}

// gunzip returns b decompressed when it is gzip data, else b.
func gunzip(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		return b, nil
	}
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}
