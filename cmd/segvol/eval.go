package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/segvolapp/segvol/infer/eval"
	"github.com/segvolapp/segvol/viewer/study"
)

// evalJSON is the output of `segvol eval --json`.
type evalJSON struct {
	Backend          string    `json:"backend"`
	Label            int       `json:"label"`
	Clicks           int       `json:"clicks"`
	FinalDice        float64   `json:"final_dice"`
	DicePerStep      []float64 `json:"dice_per_step"`
	DSCAUC           float64   `json:"dsc_auc"`
	DSCAUCNormalized float64   `json:"dsc_auc_normalized"`
	SecondsPerStep   []float64 `json:"seconds_per_step"`
	ClicksPlaced     [][4]int  `json:"clicks_placed"` // i, j, k, 1 positive / 0 negative
}

func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	image := fs.String("image", "", "the study")
	labels := fs.String("labels", "", "label map in the image's grid")
	label := fs.Int("label", 0, "label value of the target")
	clicks := fs.Int("clicks", 5, "corrective clicks after the box")
	engine := addEngineFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *image == "" || *labels == "" || *label <= 0 || *clicks < 0 {
		return usageError("segvol eval --image IMAGE --labels LABELMAP --label N [--clicks 5] [--backend auto|classic|segvol] [--models DIR] [--device D] [--json]", pos, 0)
	}
	seg, err := engine.segmenter(stderr)
	if err != nil {
		return err
	}
	_, img, err := openImage(ctx, *image, "")
	if err != nil {
		return err
	}
	lm, err := study.Open(ctx, *labels, study.Options{})
	if err != nil {
		return err
	}
	if lm.Volume.Dims != img.Dims {
		return fmt.Errorf("%s: label map of %v voxels does not match the image's %v", *labels, lm.Volume.Dims, img.Dims)
	}
	target := make([]uint8, img.Len())
	found := false
	for n := range target {
		if lm.Volume.Stored(n) == float64(*label) {
			target[n], found = 1, true
		}
	}
	if !found {
		return fmt.Errorf("%s: no voxel has label %d", *labels, *label)
	}
	res, err := eval.Run(ctx, seg, img, target, *clicks)
	if err != nil {
		return err
	}
	out := evalJSON{Backend: seg.Name(), Label: *label, Clicks: *clicks, FinalDice: res.FinalDice,
		DSCAUC: res.DSCAUC, DSCAUCNormalized: res.DSCAUCNormalized, ClicksPlaced: [][4]int{}}
	for _, s := range res.Steps {
		out.DicePerStep = append(out.DicePerStep, s.Dice)
		out.SecondsPerStep = append(out.SecondsPerStep, s.Seconds)
		if c := s.Click; c != nil {
			sign := 0
			if c.Positive {
				sign = 1
			}
			out.ClicksPlaced = append(out.ClicksPlaced, [4]int{c.I, c.J, c.K, sign})
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for i, s := range res.Steps {
		what := "box"
		if c := s.Click; c != nil {
			what = fmt.Sprintf("click %+d at (%d,%d,%d)", map[bool]int{true: 1, false: -1}[c.Positive], c.I, c.J, c.K)
		} else if i > 0 {
			what = "no error left"
		}
		fmt.Fprintf(stdout, "step %d  %-28s Dice %.4f  %.3f s\n", i, what, s.Dice, s.Seconds)
	}
	fmt.Fprintf(stdout, "final Dice %.4f  DSC_AUC %.4f (normalised %.4f)  backend %s\n", res.FinalDice, res.DSCAUC, res.DSCAUCNormalized, seg.Name())
	return nil
}
