package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	clipfiles "github.com/segvolapp/segvol/assets/clip"
	"github.com/segvolapp/segvol/infer"
	"github.com/segvolapp/segvol/infer/classic"
	"github.com/segvolapp/segvol/infer/engine"
	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/study"
	"github.com/segvolapp/segvol/viewer/volume"
)

// pointList collects repeated --point or --negative flags.
type pointList struct {
	pts      *[]infer.Point
	positive bool
}

func (l pointList) String() string { return "" }
func (l pointList) Set(s string) error {
	v, err := ints(s, 3)
	if err != nil {
		return err
	}
	*l.pts = append(*l.pts, infer.Point{I: v[0], J: v[1], K: v[2], Positive: l.positive})
	return nil
}

// ints parses n comma-separated integers.
func ints(s string, n int) ([]int, error) {
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, fmt.Errorf("want %d comma-separated voxel indices, got %q", n, s)
	}
	out := make([]int, n)
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("bad voxel index %q in %q", p, s)
		}
		out[i] = v
	}
	return out, nil
}

// engineFlags are the flags that choose a segmentation engine.
type engineFlags struct{ backend, models, device, ortLib *string }

func addEngineFlags(fs *flag.FlagSet) engineFlags {
	return engineFlags{
		backend: fs.String("backend", "auto", "auto (SegVol when its models are installed, else classic), classic or segvol"),
		models:  fs.String("models", "", "SegVol models folder (default: the user models folder)"),
		device:  fs.String("device", "auto", "auto, cpu, cuda, directml or coreml (SegVol only)"),
		ortLib:  fs.String("ort-lib", "", "ONNX Runtime library to load (default: $SEGVOL_ORT_LIB, beside the program, or the `make ort` folder)"),
	}
}

// segmenter picks the engine behind --backend (see infer/engine); stderr
// says which SegVol runs on, or why auto fell back to the embedded default.
func (e engineFlags) segmenter(stderr io.Writer) (infer.Segmenter, error) {
	s, info, err := engine.Open(engine.Options{Backend: *e.backend, Models: *e.models, Device: *e.device, Library: *e.ortLib,
		Tokenizer: string(clipfiles.TokenizerJSON)})
	if errors.Is(err, engine.ErrUnknownBackend) {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case info.Fallback != nil:
		fmt.Fprintf(stderr, "segvol: using the embedded default: %v\n", info.Fallback)
	case info.Backend == "segvol":
		fmt.Fprintf(stderr, "segvol: SegVol on %s, %s\n", info.Device, info.Runtime)
	}
	return s, nil
}

// openImage opens a study and hands its voxels to an engine without a copy.
func openImage(ctx context.Context, path, series string) (*volume.Volume, infer.Image, error) {
	st, err := study.Open(ctx, path, study.Options{Series: series})
	if err != nil {
		return nil, infer.Image{}, err
	}
	v := st.Volume
	return v, infer.Image{Dims: v.Dims, Spacing: v.Geom.Spacing(), Voxels: v.Data, Slope: v.Slope, Intercept: v.Intercept}, nil
}

func cmdSegment(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("segment", flag.ContinueOnError)
	image := fs.String("image", "", "the study to segment")
	series := fs.String("series", "", "series UID or 1-based index")
	var p infer.Prompt
	fs.Var(pointList{&p.Points, true}, "point", "positive click i,j,k (repeatable)")
	fs.Var(pointList{&p.Points, false}, "negative", "negative click i,j,k (repeatable)")
	box := fs.String("box", "", "box i0,j0,k0,i1,j1,k1 (inclusive voxel indices)")
	text := fs.String("text", "", "structure name (any phrase when the models folder has text_encoder.onnx)")
	engine := addEngineFlags(fs)
	out := fs.String("out", "", "output mask (.nii or .nii.gz)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *image == "" || *out == "" {
		return usageError("segvol segment --image PATH [--series UID|N] [--point i,j,k]... [--negative i,j,k]... [--box i0,j0,k0,i1,j1,k1] [--text PHRASE] [--backend auto|classic|segvol] [--models DIR] [--device auto|cpu|cuda|directml|coreml] [--ort-lib PATH] --out MASK.nii.gz", pos, 0)
	}
	if *box != "" {
		v, err := ints(*box, 6)
		if err != nil {
			return fmt.Errorf("%w: --box: %v", errUsage, err)
		}
		// Corners in any order, as a drag in the viewer gives them.
		b := infer.BoxOf([3]int{v[0], v[1], v[2]}, [3]int{v[3], v[4], v[5]})
		p.Box = &b
	}
	p.Text = *text
	seg, err := engine.segmenter(stderr)
	if err != nil {
		return err
	}
	vol, img, err := openImage(ctx, *image, *series)
	if err != nil {
		return err
	}
	mask, err := seg.Segment(ctx, img, p, nil)
	if errors.Is(err, classic.ErrText) {
		// The engine's own words send a viewer user to the documentation; at
		// the command line the next step is a command.
		return fmt.Errorf("%s: text prompt %q: %w", *image, p.Text, nextStep{err,
			"the embedded default cannot segment by name; install SegVol with " + installHint(*engine.models) + ", or give --box or --point"})
	}
	if err != nil {
		return fmt.Errorf("%s: %w", *image, err)
	}
	res := &volume.Volume{Dims: vol.Dims, Data: mask, Slope: 1, Geom: vol.Geom}
	if err := nifti.Write(*out, res); err != nil {
		return err
	}
	n := 0
	for _, m := range mask {
		n += int(m)
	}
	sp := vol.Geom.Spacing()
	fmt.Fprintf(stdout, "%s: %d voxels (%.1f mL) by %s\n", *out, n, float64(n)*sp[0]*sp[1]*sp[2]/1000, seg.Name())
	return nil
}
