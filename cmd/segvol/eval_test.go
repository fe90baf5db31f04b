package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

var sampleDir = filepath.Join("..", "..", "assets", "sample")

func TestEvalJSONOnSampleKidney(t *testing.T) {
	var out, errb bytes.Buffer
	err := cmdEval(context.Background(), []string{"--image", filepath.Join(sampleDir, "example_ct_sm.nii.gz"),
		"--labels", filepath.Join(sampleDir, "example_seg.nii.gz"), "--label", "3", "--json"}, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		FinalDice   float64   `json:"final_dice"`
		DicePerStep []float64 `json:"dice_per_step"`
		DSCAUC      float64   `json:"dsc_auc"`
		Seconds     []float64 `json:"seconds_per_step"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.DicePerStep) != 6 || len(r.Seconds) != 6 || r.FinalDice < 0.9 || r.DSCAUC <= 0 {
		t.Fatalf("result %s", out.String())
	}
}

func TestEvalBackends(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-models")
	args := []string{"--image", "x", "--labels", "y", "--label", "1", "--models", missing, "--backend"}
	err := cmdEval(context.Background(), append(args, "segvol"), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "SegVol model files not found") || !strings.Contains(err.Error(), missing) {
		t.Errorf("segvol backend: %v", err)
	}
	err = cmdEval(context.Background(), append(args, "magic"), &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, errUsage) {
		t.Errorf("unknown backend: %v", err)
	}
}
