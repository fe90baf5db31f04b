package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/segvolapp/segvol/viewer/dicom"
	"github.com/segvolapp/segvol/viewer/dicom/seg"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/volume"
)

const exportSegUsage = "segvol export-seg --image DICOM_DIR [--series UID|N] --labels MASK.nii.gz [--names LABELS.txt] [--algorithm MANUAL|SEMIAUTOMATIC|AUTOMATIC] --out SEG.dcm"

func cmdExportSeg(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export-seg", flag.ContinueOnError)
	image := fs.String("image", "", "DICOM file, folder or DICOMDIR of the source series")
	series := fs.String("series", "", "series UID or 1-based index")
	labelPath := fs.String("labels", "", "label map (NIfTI) in the image's grid")
	names := fs.String("names", "", "ITK-SNAP label description file")
	algorithm := fs.String("algorithm", "SEMIAUTOMATIC", "how the segments were made")
	out := fs.String("out", "", "DICOM SEG file to write")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *image == "" || *labelPath == "" || *out == "" {
		return usageError(exportSegUsage, pos, 0)
	}
	// A SEG names the images it lies on, so only their DICOM series will do:
	// a NIfTI of the same scan, the natural first try, has no such names.
	needSeries := func(err error) error {
		return fmt.Errorf("export-seg needs the DICOM series the labels belong to (a DICOM file, folder or DICOMDIR), since the SEG refers to its images: %w", err)
	}
	sc, err := dicom.Scan(ctx, *image)
	if err != nil {
		return needSeries(err)
	}
	s, err := sc.Select(*series)
	if err != nil {
		return needSeries(err)
	}
	img, err := dicom.Load(ctx, s, nil)
	if err != nil {
		return err
	}
	lab, err := nifti.Read(*labelPath)
	if err != nil {
		return err
	}
	if lab, err = lab.OnGrid(img.Dims, img.Geom); err != nil {
		return fmt.Errorf("%s: %w", *labelPath, err)
	}
	values, err := labelValues(lab)
	if err != nil {
		return fmt.Errorf("%s: %w", *labelPath, err)
	}
	table := map[int]labels.Segment{}
	if *names != "" {
		described, err := labels.ReadDescription(*names)
		if err != nil {
			return err
		}
		for _, d := range described {
			table[int(d.Value)] = d
		}
	}
	segs := make([]seg.Segment, len(values))
	for i, v := range values {
		sg := seg.Segment{Number: v, Label: fmt.Sprintf("Segment %d", v), Algorithm: *algorithm, AlgorithmName: "SegVol"}
		c := labels.DefaultColor(uint8(v))
		sg.Color = [3]uint8{c.R, c.G, c.B}
		if l, ok := table[v]; ok {
			sg.Label, sg.Color = l.Name, [3]uint8{l.Color.R, l.Color.G, l.Color.B}
		}
		segs[i] = sg
	}
	src, err := seg.SourceOf(s)
	if err != nil {
		return err
	}
	for _, w := range src.Warnings {
		fmt.Fprintf(stderr, "segvol: warning: %s\n", w)
	}
	if err := seg.WriteLabelMap(*out, src, img, lab, segs); err != nil {
		return err
	}
	generic := 0
	for _, sg := range segs {
		if _, _, known := seg.CodeFor(sg.Label); !known {
			generic++
		}
	}
	fmt.Fprintf(stdout, "wrote %s: %d segments, referencing series %s", *out, len(segs), src.SeriesInstanceUID)
	if generic > 0 {
		fmt.Fprintf(stdout, " (%d coded as generic Tissue: name not in the anatomy table)", generic)
	}
	fmt.Fprintln(stdout)
	return nil
}

// labelValues are the distinct non-zero values of a label map, ascending.
func labelValues(lab *volume.Volume) ([]int, error) {
	seen := map[int]bool{}
	last := 0.0
	for n := 0; n < lab.Len(); n++ {
		v := lab.Stored(n)
		if v == last {
			continue
		}
		last = v
		if v != math.Trunc(v) || v < 0 || v > 65535 {
			return nil, fmt.Errorf("value %g is not a label (an integer 0..65535)", v)
		}
		if v != 0 {
			seen[int(v)] = true
		}
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("label map is empty")
	}
	out := make([]int, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Ints(out)
	return out, nil
}
