package clip

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bundled "github.com/segvolapp/segvol/assets/clip"
)

// segvolClip is SegVol's own CLIP tokenizer folder (config/clip of its
// repository), where the shared data is laid out.
const segvolClip = "../../../shared/data/segvol_clip_tokenizer"

type reference struct {
	Engine string `json:"engine"`
	Cases  []struct {
		Text string  `json:"text"`
		IDs  []int64 `json:"ids"`
	} `json:"cases"`
}

func bundledTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := Parse(bundled.TokenizerJSON)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// checkAgainst compares the ids tok gives with a reference's for every case.
func checkAgainst(t *testing.T, tok *Tokenizer, ref reference) {
	t.Helper()
	bad := 0
	for _, c := range ref.Cases {
		got, err := tok.encode(c.Text)
		if err != nil || !slices.Equal(got, c.IDs) {
			if bad++; bad <= 10 {
				t.Errorf("%q: got %v (%v), %s gives %v", c.Text, got, err, ref.Engine, c.IDs)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d strings differ from %s", bad, len(ref.Cases), ref.Engine)
	}
}

// TestMatchesReferenceGolden checks the ids of 1,300 strings (SegVol's
// category names, alone and in its prompt, case and spacing variants,
// punctuation, digits, accents, other scripts, emoji, special tokens, long
// texts, random strings) against those Hugging Face's Rust tokenizers gave,
// as recorded by testdata/reference.cjs in reference_rust.json.
func TestMatchesReferenceGolden(t *testing.T) {
	var texts []string
	var ref reference
	readJSON(t, "testdata/strings.json", &texts)
	readJSON(t, "testdata/reference_rust.json", &ref)
	if len(ref.Cases) != len(texts) || len(texts) < 1000 {
		t.Fatalf("reference_rust.json has %d cases for %d strings (want the same, at least 1000): regenerate it", len(ref.Cases), len(texts))
	}
	for i, c := range ref.Cases {
		if c.Text != texts[i] {
			t.Fatalf("reference_rust.json case %d is %q, strings.json has %q: regenerate it", i, c.Text, texts[i])
		}
	}
	checkAgainst(t, bundledTokenizer(t), ref)
}

// TestMatchesReferenceLive runs the reference itself on the same strings,
// where node and the npm package are installed (npm ci in testdata).
func TestMatchesReferenceLive(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	if _, err := os.Stat("testdata/node_modules/tokenizers"); err != nil {
		t.Skip("the reference is not installed: run npm ci in infer/clip/testdata")
	}
	in, err := os.Open("testdata/strings.json")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cmd := exec.Command("node", "reference.cjs", "rust", "../../../assets/clip/tokenizer.json.gz")
	cmd.Dir, cmd.Stdin, cmd.Stderr = "testdata", in, os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference.cjs: %v", err)
	}
	var ref reference
	if err := json.Unmarshal(out, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 1000 {
		t.Fatalf("the reference gave %d cases", len(ref.Cases))
	}
	checkAgainst(t, bundledTokenizer(t), ref)
}

// TestBundledIsSegVols checks that the embedded file is SegVol's
// tokenizer.json unchanged (the SHA-256 its README gives, and the bytes of
// the shared copy where present).
func TestBundledIsSegVols(t *testing.T) {
	r, err := gzip.NewReader(bytes.NewReader(bundled.TokenizerJSON))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(plain)
	readme, err := os.ReadFile("../../assets/clip/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(strings.Fields(string(readme)), " "), hex.EncodeToString(sum[:])) {
		t.Errorf("assets/clip/README.md does not give the bundled file's SHA-256 %x", sum)
	}
	orig, err := os.ReadFile(filepath.Join(segvolClip, "tokenizer.json"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("shared data absent")
	}
	if err != nil || !bytes.Equal(orig, plain) {
		t.Errorf("the bundled tokenizer.json differs from SegVol's (%v)", err)
	}
}

// TestLiverPrompt checks the ids docs/segvol.md gives for SegVol's prompt.
func TestLiverPrompt(t *testing.T) {
	prompt, ids, err := bundledTokenizer(t).EncodePrompt("liver")
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{49406, 320, 11639, 704, 7690, 999, 22399, 539, 320, 12639, 269, 49407}
	if prompt != "A computerized tomography of a liver." || !slices.Equal(ids, want) {
		t.Errorf("got %q %v, want %v", prompt, ids, want)
	}
}

// TestContextLength checks that 77 tokens pass and 78 get a clear error
// ("a " is one token a time; the start and end tokens make two more).
func TestContextLength(t *testing.T) {
	tok := bundledTokenizer(t)
	ids, err := tok.Encode(strings.Repeat("a ", 75))
	if err != nil || len(ids) != 77 {
		t.Fatalf("75 words: %d ids, %v; want 77 and no error", len(ids), err)
	}
	_, err = tok.Encode(strings.Repeat("a ", 76))
	if err == nil || !strings.Contains(err.Error(), "78 tokens") || !strings.Contains(err.Error(), "at most 77") {
		t.Errorf("76 words: got error %v, want one saying 78 tokens, at most 77", err)
	}
	if _, _, err := tok.EncodePrompt(strings.Repeat("liver ", 80)); err == nil {
		t.Error("an 80-word phrase was accepted")
	}
}

// TestVocabMerges loads a folder holding vocab.json and merges.txt (SegVol's
// vocab.json where the shared data has it, merges.txt written from the
// bundled tokenizer.json in the format of OpenAI's) and checks the same ids
// as the reference's.
func TestVocabMerges(t *testing.T) {
	var f struct {
		Model struct {
			Vocab  json.RawMessage `json:"vocab"`
			Merges []string        `json:"merges"`
		} `json:"model"`
	}
	plain, err := gunzip(bundled.TokenizerJSON)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(plain, &f); err != nil {
		t.Fatal(err)
	}
	vocab, err := os.ReadFile(filepath.Join(segvolClip, "vocab.json"))
	if errors.Is(err, fs.ErrNotExist) {
		vocab = f.Model.Vocab
	} else if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	merges := "#version: 0.2\n" + strings.Join(f.Model.Merges, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "merges.txt"), []byte(merges), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.json"), vocab, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	readJSON(t, "testdata/reference_rust.json", &ref)
	checkAgainst(t, tok, ref)
}

// TestLoadOr checks where the tokenizer comes from: the folder's
// tokenizer.json, else the bundled one; a broken file is an error, not a
// silent fallback.
func TestLoadOr(t *testing.T) {
	empty := t.TempDir()
	if _, err := Load(empty); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of an empty folder: %v, want not-exist", err)
	}
	tok, err := LoadOr(empty, bundled.TokenizerJSON)
	if err != nil {
		t.Fatal(err)
	}
	if ids, _ := tok.Encode("liver"); !slices.Equal(ids, []int64{49406, 12639, 49407}) {
		t.Errorf("bundled fallback gives %v for liver", ids)
	}
	plain, err := gunzip(bundled.TokenizerJSON)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), plain, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOr(dir, nil); err != nil {
		t.Errorf("folder's tokenizer.json: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), plain[:len(plain)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOr(dir, bundled.TokenizerJSON); err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Errorf("truncated tokenizer.json: got %v, want an error naming it", err)
	}
}

// TestRefusesOtherPipelines changes one step of the real tokenizer.json at a
// time to one that is not implemented and expects a message naming it.
func TestRefusesOtherPipelines(t *testing.T) {
	plain, err := gunzip(bundled.TokenizerJSON)
	if err != nil {
		t.Fatal(err)
	}
	type obj = map[string]any
	at := func(f obj, keys ...any) obj { // f's object at a path of keys and list indices
		var v any = f
		for _, k := range keys {
			if i, ok := k.(int); ok {
				v = v.([]any)[i]
			} else {
				v = v.(obj)[k.(string)]
			}
		}
		return v.(obj)
	}
	for _, c := range []struct {
		name   string
		change func(obj)
		want   string
	}{
		{"normalizer", func(f obj) { at(f, "normalizer", "normalizers", 0)["type"] = "NFKC" }, `"NFKC" is not supported`},
		{"split pattern", func(f obj) { at(f, "pre_tokenizer", "pretokenizers", 0, "pattern")["Regex"] = `\p{L}+` }, "pre_tokenizer"},
		{"byte-level prefix", func(f obj) { at(f, "pre_tokenizer", "pretokenizers", 1)["add_prefix_space"] = true }, "pre_tokenizer"},
		{"model", func(f obj) { at(f, "model")["type"] = "WordPiece" }, `"WordPiece" is not supported`},
		{"post-processor", func(f obj) { at(f, "post_processor")["type"] = "BertProcessing" }, "RobertaProcessing"},
		{"merge", func(f obj) { at(f, "model")["merges"].([]any)[0] = "i nx" }, `merge 1 "i nx"`},
		{"added token", func(f obj) { at(f, "added_tokens", 0)["lstrip"] = true }, "lstrip"},
	} {
		var f obj
		if err := json.Unmarshal(plain, &f); err != nil {
			t.Fatal(err)
		}
		c.change(f)
		changed, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(changed); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s changed: got %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// BenchmarkEncodePrompt is the tokenizer's share of a new phrase's text
// vector: a category name in SegVol's prompt.
func BenchmarkEncodePrompt(b *testing.B) {
	tok := bundledTokenizer(b)
	for b.Loop() {
		if _, _, err := tok.EncodePrompt("left adrenal gland"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse is loading the bundled tokenizer, once per program.
func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		bundledTokenizer(b)
	}
}
