package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/segvolapp/segvol/viewer/study"
	"github.com/segvolapp/segvol/viewer/volume"
)

// infoJSON is the machine-readable form of `segvol info --json`.
type infoJSON struct {
	Path        string          `json:"path"`
	Format      string          `json:"format,omitempty"`
	Series      []seriesJSON    `json:"series,omitempty"`
	Selected    string          `json:"selected_series,omitempty"`
	Dims        [3]int          `json:"dims,omitempty"`
	Spacing     [3]float64      `json:"spacing_mm,omitempty"`
	DType       string          `json:"dtype,omitempty"`
	Slope       float64         `json:"rescale_slope,omitempty"`
	Intercept   float64         `json:"rescale_intercept"`
	Modality    string          `json:"modality,omitempty"`
	Description string          `json:"description,omitempty"`
	Transfer    string          `json:"transfer_syntax,omitempty"`
	Orient      string          `json:"orientation,omitempty"`
	Direction   [3][3]float64   `json:"direction_lps,omitempty"`
	Origin      [3]float64      `json:"origin_lps_mm,omitempty"`
	Sheared     bool            `json:"sheared,omitempty"`
	AffineRAS   [4][4]float64   `json:"affine_ras,omitempty"`
	Range       [2]float64      `json:"value_range,omitempty"`
	Windows     []volume.Window `json:"windows,omitempty"`
	Warnings    []string        `json:"warnings,omitempty"`
	Notes       []string        `json:"notes,omitempty"`
}

type seriesJSON struct {
	Index       int    `json:"index"`
	UID         string `json:"uid"`
	Number      string `json:"number,omitempty"`
	Modality    string `json:"modality,omitempty"`
	Description string `json:"description,omitempty"`
	Rows        int    `json:"rows"`
	Cols        int    `json:"cols"`
	Images      int    `json:"images"`
	Files       int    `json:"files"`
}

func cmdInfo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("info", flag.ContinueOnError)
	series := fs.String("series", "", "series UID or 1-based index")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("segvol info PATH [--series UID|N] [--json]", pos, 1)
	}
	path := pos[0]
	out := infoJSON{Path: path}

	st, err := study.Open(ctx, path, study.Options{Series: *series})
	if st != nil && st.Scan != nil {
		out.Notes = st.Scan.Notes
		for i, s := range st.Scan.Series {
			out.Series = append(out.Series, seriesJSON{Index: i + 1, UID: s.UID, Number: s.Number,
				Modality: s.Modality, Description: s.Description, Rows: s.Rows, Cols: s.Cols,
				Images: s.Images, Files: len(s.Files)})
		}
		if len(st.Scan.Series) > 1 && *series == "" {
			// Several series and no choice made: the list is the answer.
			return printInfo(stdout, out, *asJSON)
		}
	}
	if err != nil {
		return err
	}
	fillVolume(&out, st.Volume)
	return printInfo(stdout, out, *asJSON)
}

func fillVolume(out *infoJSON, v *volume.Volume) {
	out.Format = v.Meta.Format
	out.Selected = v.Meta.SeriesInstanceUID
	out.Dims = v.Dims
	out.Spacing = v.Geom.Spacing()
	out.DType = v.DType().String()
	out.Slope, out.Intercept = v.Slope, v.Intercept
	out.Modality = v.Meta.Modality
	out.Description = v.Meta.SeriesDescription
	out.Transfer = v.Meta.TransferSyntax
	out.Orient = v.Geom.Orientation()
	out.Direction = v.Geom.Direction()
	for a := range out.Direction {
		for c := range out.Direction[a] {
			out.Direction[a][c] += 0 // -0 prints as "-0.000000"
		}
	}
	out.Origin = v.Geom.Origin
	out.Sheared = v.Geom.Sheared()
	out.AffineRAS = v.Geom.AffineRAS()
	lo, hi := v.Range()
	out.Range = [2]float64{lo, hi}
	out.Windows = v.Meta.Windows
	out.Warnings = v.Warnings
}

func printInfo(w io.Writer, in infoJSON, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(in)
	}
	var b strings.Builder
	p := func(k, f string, a ...any) { fmt.Fprintf(&b, "%-24s"+f+"\n", append([]any{k + ":"}, a...)...) }
	p("Path", "%s", in.Path)
	if len(in.Series) > 1 {
		fmt.Fprintf(&b, "Series (%d; choose one with --series UID or N):\n", len(in.Series))
		for _, s := range in.Series {
			mark := " "
			if s.UID == in.Selected {
				mark = "*"
			}
			fmt.Fprintf(&b, " %s%3d  %-4s %4dx%-4d x%-5d #%-4s %-30q %s\n", mark, s.Index, s.Modality,
				s.Cols, s.Rows, s.Images, s.Number, s.Description, s.UID)
		}
	}
	if in.DType != "" {
		p("Format", "%s", in.Format)
		if in.Transfer != "" {
			p("Transfer syntax", "%s", in.Transfer)
		}
		p("Modality", "%s", orDash(in.Modality))
		p("Description", "%s", orDash(in.Description))
		p("Dimensions", "%d x %d x %d", in.Dims[0], in.Dims[1], in.Dims[2])
		p("Spacing (mm)", "%.4g x %.4g x %.4g", in.Spacing[0], in.Spacing[1], in.Spacing[2])
		p("Data type", "%s (rescale slope %g, intercept %g)", in.DType, in.Slope, in.Intercept)
		p("Value range", "%g .. %g", in.Range[0], in.Range[1])
		p("Orientation", "%s (index axes i, j, k point towards)", in.Orient)
		for a, name := range []string{"i (columns)", "j (rows)", "k (slices)"} {
			d := in.Direction[a]
			p("Direction "+name, "[% .6f % .6f % .6f] LPS", d[0], d[1], d[2])
		}
		p("Origin (LPS mm)", "[% .4f % .4f % .4f]", in.Origin[0], in.Origin[1], in.Origin[2])
		if in.Sheared {
			p("Sheared", "yes (the slice axis is not perpendicular to the slices)")
		}
		fmt.Fprintln(&b, "Affine (index to RAS mm, as NIfTI):")
		for _, r := range in.AffineRAS {
			fmt.Fprintf(&b, "  [% 11.5f % 11.5f % 11.5f % 11.5f]\n", r[0], r[1], r[2], r[3])
		}
		for _, win := range in.Windows {
			p("Window preset", "%s center %g width %g", orDash(win.Name), win.Center, win.Width)
		}
	}
	for _, s := range in.Warnings {
		p("Warning", "%s", s)
	}
	for _, s := range in.Notes {
		p("Note", "%s", s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
