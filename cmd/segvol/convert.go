package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/study"
)

func cmdConvert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	series := fs.String("series", "", "series UID or 1-based index")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError("segvol convert PATH OUT.nii[.gz] [--series UID|N]", pos, 2)
	}
	in, out := pos[0], pos[1]
	if !strings.HasSuffix(out, ".nii") && !strings.HasSuffix(out, ".nii.gz") {
		return fmt.Errorf("%w: the output must end in .nii or .nii.gz: %s", errUsage, out)
	}
	st, err := study.Open(ctx, in, study.Options{Series: *series})
	if err != nil {
		return err
	}
	v := st.Volume
	for _, w := range v.Warnings {
		fmt.Fprintf(stderr, "segvol: warning: %s\n", w)
	}
	if err := nifti.Write(out, v); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %dx%dx%d %s\n", out, v.Dims[0], v.Dims[1], v.Dims[2], v.DType())
	return nil
}
