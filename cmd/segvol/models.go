package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	clipfiles "github.com/segvolapp/segvol/assets/clip"
	"github.com/segvolapp/segvol/infer/ort"
	sv "github.com/segvolapp/segvol/infer/segvol"
)

// subcommand is one `segvol models` command; a new one is a row of
// modelsCommands.
type subcommand struct {
	name, usage string
	run         func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var modelsCommands = []subcommand{
	{"install", installUsage + "\n        installs SegVol from a Hugging Face folder or a GitHub .pth, no Python needed", cmdModelsInstall},
	{"download", downloadUsage + "\n        downloads SegVol from the Hugging Face hub (resumable, checked) and installs it", cmdModelsDownload},
	{"list", listUsage + "\n        what is installed: the source, its SHA-256, the date", cmdModelsList},
	{"text", textUsage + "\n        per phrase: the sentence SegVol sees, its CLIP token ids and its 768 numbers", cmdModelsText},
}

const textUsage = "text [--models DIR] [--json] [--device auto|cpu|cuda|directml|coreml] [--ort-lib PATH] PHRASE..."

// modelsUsage lists the subcommands, as the top-level usage shows them.
func modelsUsage() string {
	var b strings.Builder
	for _, c := range modelsCommands {
		fmt.Fprintf(&b, "  models %s\n", c.usage)
	}
	return b.String()
}

func cmdModels(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		for _, c := range modelsCommands {
			if c.name == args[0] {
				return c.run(ctx, args[1:], stdout, stderr)
			}
		}
		return fmt.Errorf("%w: unknown command `segvol models %s`; the models commands are:\n%s", errUsage, args[0], modelsUsage())
	}
	return fmt.Errorf("%w: segvol models COMMAND:\n%s", errUsage, modelsUsage())
}

// textJSON is one phrase of `segvol models text --json`.
type textJSON struct {
	Phrase    string    `json:"phrase"`
	Prompt    string    `json:"prompt"`
	IDs       []int64   `json:"ids"`
	Embedding []float32 `json:"embedding"`
}

func cmdModelsText(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("models text", flag.ContinueOnError)
	models := fs.String("models", "", "SegVol models folder (default: the user models folder)")
	asJSON := fs.Bool("json", false, "print a JSON list of {phrase, prompt, ids, embedding}")
	device := fs.String("device", "cpu", "auto, cpu, cuda, directml or coreml")
	ortLib := fs.String("ort-lib", "", "ONNX Runtime library to load (default: $SEGVOL_ORT_LIB, beside the program, or the `make ort` folder)")
	phrases, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(phrases) == 0 {
		return fmt.Errorf("%w: segvol models %s", errUsage, textUsage)
	}
	dir := *models
	if dir == "" {
		if dir, err = sv.DefaultDir(); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, sv.TextEncoderFile)); err != nil {
		return fmt.Errorf("%w: %s has no %s, which turns phrases into SegVol's text vectors; export it with `python3 models/segvol/export.py --checkpoint PATH --out %s`",
			sv.ErrNoModels, dir, sv.TextEncoderFile, dir)
	}
	rt, err := ort.Open(ort.Options{Device: *device, LibPath: *ortLib})
	if err != nil {
		return err
	}
	defer rt.Close()
	enc, err := sv.LoadTextEncoder(dir, rt, clipfiles.TokenizerJSON)
	if err != nil {
		return err
	}
	out := make([]textJSON, 0, len(phrases))
	for _, p := range phrases {
		v, err := enc.Encode(ctx, p)
		if err != nil {
			return err // it quotes the phrase
		}
		out = append(out, textJSON{v.Phrase, v.Prompt, v.IDs, v.Embedding})
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	for i, v := range out {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "phrase: %s\nprompt: %s\nids (%d): %s\nembedding (%d): %s\n",
			v.Phrase, v.Prompt, len(v.IDs), joinNumbers(v.IDs, func(x int64) string { return strconv.FormatInt(x, 10) }),
			len(v.Embedding), joinNumbers(v.Embedding, func(x float32) string { return strconv.FormatFloat(float64(x), 'g', -1, 32) }))
	}
	return nil
}

func joinNumbers[T any](xs []T, format func(T) string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = format(x)
	}
	return strings.Join(parts, " ")
}
