package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/segvolapp/segvol/mesh"
	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/study"
)

const meshUsage = "segvol mesh --labels MASK [--image PATH] [--series UID|N] [--label N|NAME]... [--smooth F] [--decimate F] [--ras] [--format stl|obj|ply] --out FILE|DIR"

func cmdMesh(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mesh", flag.ContinueOnError)
	labelPath := fs.String("labels", "", "label map: NIfTI (names from the ITK-SNAP .txt beside it) or DICOM SEG (needs --image)")
	image := fs.String("image", "", "the study the labels belong to (NIfTI, DICOM file or folder)")
	series := fs.String("series", "", "series UID or 1-based index")
	var chosen stringList
	fs.Var(&chosen, "label", "segment value or name to export (repeatable; default every segment)")
	smoothing := fs.Float64("smooth", mesh.DefaultSmoothing, "smoothing factor 0..1 (3D Slicer's; 0 keeps the voxel staircase)")
	decimation := fs.Float64("decimate", 0, "fraction of triangles to remove, 0..0.99 (quadric edge collapse)")
	ras := fs.Bool("ras", false, "write RAS coordinates instead of LPS")
	format := fs.String("format", "stl", "file format for one file per segment (DIR): stl, obj or ply")
	out := fs.String("out", "", "one file for every segment (its extension picks the format), or a folder for one file each")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *labelPath == "" || *out == "" {
		return usageError(meshUsage, pos, 0)
	}
	if *smoothing < 0 || *smoothing > 1 {
		return fmt.Errorf("%w: --smooth %g is outside 0..1", errUsage, *smoothing)
	}
	if *decimation < 0 || *decimation > 0.99 {
		return fmt.Errorf("%w: --decimate %g is outside 0..0.99", errUsage, *decimation)
	}
	space := mesh.LPS
	if *ras {
		space = mesh.RAS
	}
	perSegment := strings.HasSuffix(*out, string(os.PathSeparator)) || strings.HasSuffix(*out, "/")
	if st, err := os.Stat(*out); err == nil && st.IsDir() {
		perSegment = true
	}
	f, err := mesh.ParseFormat(*format)
	if err != nil {
		return fmt.Errorf("%w: --format: %v", errUsage, err)
	}
	if !perSegment {
		if f, err = mesh.ParseFormat(filepath.Ext(*out)); err != nil {
			return fmt.Errorf("%w: --out %s: %v (or name a folder for one file per segment)", errUsage, *out, err)
		}
	}

	m, note, err := loadLabelMap(ctx, *labelPath, *image, *series)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintf(stderr, "segvol: warning: %s\n", note)
	}
	segs, err := pickSegments(m, chosen)
	if err != nil {
		return err
	}
	var values []uint8
	for _, s := range segs {
		values = append(values, s.Value)
	}
	parts, err := m.Surfaces(ctx, values, mesh.Options{Smoothing: *smoothing, Decimation: *decimation})
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return fmt.Errorf("%s: no segment asked for holds any voxels", *labelPath)
	}
	vv := mesh.Grid{IndexToWorld: m.Geometry().Affine()}.VoxelVolume()
	for _, p := range parts {
		fmt.Fprintf(stdout, "%3d %-28s %8d triangles %10.2f mL (voxels %.2f mL)\n", p.Mesh.Label, p.Name,
			len(p.Mesh.Triangles)/3, p.Mesh.Volume()/1000, float64(p.Mesh.Voxels)*vv/1000)
	}
	if !perSegment {
		if err := mesh.WriteFile(*out, parts, space); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: %d segments, %s, %s\n", *out, len(parts), f, space)
		return nil
	}
	paths, err := mesh.WriteFiles(*out, f, parts, space)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d %s files in %s, %s\n", len(paths), f, *out, space)
	return nil
}

// loadLabelMap reads a segmentation with its segment names and colours as
// the viewer does: a NIfTI with its ITK-SNAP label file, or a DICOM SEG of
// the study given. Without a study, a NIfTI label map is its own grid.
func loadLabelMap(ctx context.Context, path, image, series string) (*labels.LabelMap, string, error) {
	if image == "" {
		if !study.IsNIfTI(path) {
			return nil, "", fmt.Errorf("%w: %s is not NIfTI: a DICOM SEG needs --image, the series it references", errUsage, path)
		}
		lv, err := nifti.Read(path)
		if err != nil {
			return nil, "", err
		}
		m, err := labels.Load(path, lv)
		return m, "", err
	}
	st, err := study.Open(ctx, image, study.Options{Series: series})
	if err != nil {
		return nil, "", err
	}
	s, err := viewer.NewSession(st.Volume, st.Scan)
	if err != nil {
		return nil, "", err
	}
	return s.LoadLabelFile(path)
}

// pickSegments resolves --label values and names (any case) to segments;
// none given picks every segment.
func pickSegments(m *labels.LabelMap, chosen []string) ([]labels.Segment, error) {
	all := m.Segments()
	if len(chosen) == 0 {
		return all, nil
	}
	var out []labels.Segment
	for _, c := range chosen {
		found := false
		n, numErr := strconv.Atoi(c)
		for _, s := range all {
			if (numErr == nil && n == int(s.Value)) || strings.EqualFold(c, s.Name) {
				out = append(out, s)
				found = true
				break
			}
		}
		if !found {
			names := make([]string, len(all))
			for i, s := range all {
				names[i] = fmt.Sprintf("%d %s", s.Value, s.Name)
			}
			return nil, fmt.Errorf("%w: --label %q: no such segment (there are: %s)", errUsage, c, strings.Join(names, ", "))
		}
	}
	return out, nil
}
