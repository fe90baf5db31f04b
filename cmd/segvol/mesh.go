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

	"github.com/segvolapp/segvol/internal/atomicfile"
	"github.com/segvolapp/segvol/mesh"
	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/study"
)

const meshUsage = "segvol mesh --labels MASK [--image PATH] [--series UID|N] [--label N|NAME]... [--smooth F] [--decimate F] [--ras] [--format stl|obj|ply] --out FILE|DIR"

// stringList collects a repeated flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

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
		return fmt.Errorf("%w: %s", errUsage, meshUsage)
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
	o := mesh.Options{Smoothing: *smoothing, Decimation: *decimation}
	for _, s := range segs {
		o.Labels = append(o.Labels, s.Value)
	}
	var ms []mesh.Mesh
	m.Read(func(vox []uint8) {
		g := mesh.Grid{Labels: vox, Dims: m.Dims(), IndexToWorld: m.Geometry().Affine()}
		ms, err = mesh.Extract(ctx, g, o)
	})
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		return fmt.Errorf("%s: no segment asked for holds any voxels", *labelPath)
	}
	bySeg := map[uint8]labels.Segment{}
	for _, s := range segs {
		bySeg[s.Value] = s
	}
	parts := make([]mesh.Part, len(ms))
	for i := range ms {
		s := bySeg[ms[i].Label]
		parts[i] = mesh.Part{Mesh: &ms[i], Name: s.Name, Color: [3]uint8{s.Color.R, s.Color.G, s.Color.B}}
	}

	vv := mesh.Grid{IndexToWorld: m.Geometry().Affine()}.VoxelVolume()
	for _, p := range parts {
		fmt.Fprintf(stdout, "%3d %-28s %8d triangles %10.2f mL (voxels %.2f mL)\n", p.Mesh.Label, p.Name,
			len(p.Mesh.Triangles)/3, p.Mesh.Volume()/1000, float64(p.Mesh.Voxels)*vv/1000)
	}
	if !perSegment {
		if err := writeMesh(*out, f, parts, space); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: %d segments, %s, %s\n", *out, len(parts), f, space)
		return nil
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	used := map[string]bool{}
	for _, p := range parts {
		name := fileName(p.Name)
		if used[name] {
			name += "_" + strconv.Itoa(int(p.Mesh.Label))
		}
		used[name] = true
		if err := writeMesh(filepath.Join(*out, name+f.Ext()), f, []mesh.Part{p}, space); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote %d %s files in %s, %s\n", len(parts), f, *out, space)
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

// fileName makes a segment name safe as a file name on every system.
func fileName(s string) string {
	b := []byte(strings.TrimSpace(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] == '.' {
		return "segment" + string(b)
	}
	return string(b)
}

// writeMesh writes atomically: a half-written file never replaces a good one.
func writeMesh(path string, f mesh.Format, parts []mesh.Part, s mesh.Space) error {
	return atomicfile.Write(path, func(w io.Writer) error { return mesh.Write(w, f, parts, s) })
}
