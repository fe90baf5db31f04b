package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/segvolapp/segvol/internal/atomicfile"
	"github.com/segvolapp/segvol/render"
	"github.com/segvolapp/segvol/render/cpu"
	"github.com/segvolapp/segvol/viewer"
	"github.com/segvolapp/segvol/viewer/labels"
	"github.com/segvolapp/segvol/viewer/mpr"
	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/study"
	"github.com/segvolapp/segvol/viewer/volume"
)

func cmdRender(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	series := fs.String("series", "", "series UID or 1-based index")
	view := fs.String("view", "axial", "axial, sagittal, coronal or 3d")
	slice := fs.Int("slice", -1, "slice number (0-based; default the middle)")
	win := fs.String("window", "", "window as CENTER,WIDTH in real values (HU for CT)")
	labelPath := fs.String("labels", "", "label map (NIfTI) in the image's grid")
	size := fs.Int("size", 512, "output width and height in pixels")
	interp := fs.String("interp", "linear", "nearest or linear")
	out := fs.String("out", "", "output PNG")
	from := fs.String("from", "A", "3d: the side the camera looks from (A, P, L, R, S or I)")
	azimuth := fs.Float64("azimuth", 0, "3d: degrees to turn the camera about the view's up (positive from A towards L)")
	elevation := fs.Float64("elevation", 0, "3d: degrees to raise the camera (positive from A towards S)")
	preset := fs.String("volume", "none", "3d: volume rendering preset: none, ct-bone, ct-soft-tissue, ct-angio, mr-default or mip")
	planes := fs.Bool("planes", false, "3d: draw the axial, coronal and sagittal planes through the centre")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *out == "" {
		return usageError("segvol render PATH [--series UID|N] --view axial|sagittal|coronal --slice N [--window C,W] [--labels MASK.nii.gz] --out FILE.png\n"+
			"       segvol render PATH --view 3d [--labels MASK.nii.gz] [--from A|P|L|R|S|I] [--azimuth A --elevation E] [--volume PRESET] [--planes] --out FILE.png", pos, 1)
	}
	if *size < 16 || *size > 8192 {
		return fmt.Errorf("%w: --size %d is outside 16..8192", errUsage, *size)
	}
	var view3d struct {
		dir    render.Direction
		preset render.Preset
	}
	if *view == "3d" {
		if view3d.dir, err = render.ParseDirection(*from); err != nil {
			return fmt.Errorf("%w: --from: %v", errUsage, err)
		}
		if view3d.preset, err = render.ParsePreset(*preset); err != nil {
			return fmt.Errorf("%w: --volume: %v", errUsage, err)
		}
	}
	o, err := mpr.ParseOrientation(*view)
	if err != nil && *view != "3d" {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	opt := render.Options{Interp: render.Linear}
	switch *interp {
	case "nearest":
		opt.Interp = render.Nearest
	case "linear":
	default:
		return fmt.Errorf("%w: --interp %q (want nearest or linear)", errUsage, *interp)
	}
	st, err := study.Open(ctx, pos[0], study.Options{Series: *series})
	if err != nil {
		return err
	}
	v := st.Volume
	if *win != "" {
		if opt.Center, opt.Width, err = parseWindow(*win); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	} else {
		w := viewer.DefaultWindow(v)
		opt.Center, opt.Width = w.Center, w.Width
	}
	var lab *render.Labels
	if *labelPath != "" {
		data, err := readLabels(*labelPath, v)
		if err != nil {
			return err
		}
		lab = &render.Labels{Data: data, Colors: labels.Palette(110), Fill: true, Outline: true}
	}
	if *view == "3d" {
		return render3D(v, lab, view3d.dir, *azimuth, *elevation, view3d.preset, *planes, opt, *size, *out, stdout)
	}

	f := mpr.Frame{Geom: v.Geom, Dims: v.Dims}
	mv := mpr.View{Orient: o, Width: *size, Height: *size, Zoom: 1}
	count := mv.Planes(f)
	n := *slice
	if n < 0 {
		n = count / 2
	}
	if n >= count {
		return fmt.Errorf("%w: --slice %d: the %s view has slices 0..%d", errUsage, n, o, count-1)
	}
	cursor := mv.Goto(f, f.Snap(f.Clamp(f.Centre())), n)
	rv, err := v.ForRender()
	if err != nil {
		return err
	}
	img := image.NewRGBA(image.Rect(0, 0, *size, *size))
	if err := cpu.New().Render(img, mv.Plane(f, cursor), rv, lab, opt); err != nil {
		return err
	}
	if err := writePNG(*out, img); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s slice %d of %d, window %g/%g\n", *out, o, n, count, opt.Center, opt.Width)
	return nil
}

// render3D draws the study's segments as surfaces (and the image as a
// volume rendering with preset) from direction dir turned by azimuth and
// elevation, as the 3D view shows them.
func render3D(v *volume.Volume, lab *render.Labels, dir render.Direction, azimuth, elevation float64, preset render.Preset, planes bool, opt render.Options, size int, out string, stdout io.Writer) error {
	rv, err := v.ForRender()
	if err != nil {
		return err
	}
	s := &render.Scene{Volume: rv, Preset: preset, Window: opt, Labels: lab, Planes: planes}
	if lab != nil {
		s.Surfaces = viewer.AllSurfaces(lab.Data, v.Dims, v.Geom)
		viewer.ColorSurfaces(s.Surfaces, labels.Palette(255))
	}
	f := mpr.Frame{Geom: v.Geom, Dims: v.Dims}
	s.Cursor = f.Centre()
	cam, err := render.View(dir, [3]float64{}, 1).Orbit(azimuth, elevation).Fit(rv, 1)
	if err != nil {
		return err
	}
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	if err := cpu.New().RenderScene(img, s, cam); err != nil {
		return err
	}
	if err := writePNG(out, img); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: 3D view from %v, azimuth %g, elevation %g, %d surfaces, volume %v\n", out, dir, azimuth, elevation, len(s.Surfaces), preset)
	return nil
}

func parseWindow(s string) (c, w float64, err error) {
	parts := strings.Split(s, ",")
	if len(parts) == 2 {
		c, err1 := strconv.ParseFloat(strings.TrimSpace(parts[0]), 64)
		w, err2 := strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
		if err1 == nil && err2 == nil && w > 0 {
			return c, w, nil
		}
	}
	return 0, 0, fmt.Errorf("--window %q: want CENTER,WIDTH with a positive width", s)
}

// readLabels loads a label map on the image's voxels (in any storage order).
func readLabels(path string, img *volume.Volume) ([]uint8, error) {
	lv, err := nifti.Read(path)
	if err != nil {
		return nil, err
	}
	if lv, err = lv.OnGrid(img.Dims, img.Geom); err != nil {
		return nil, fmt.Errorf("label map %s: %w", path, err)
	}
	if d, ok := lv.Data.([]uint8); ok && lv.Slope == 1 && lv.Intercept == 0 {
		return d, nil
	}
	out := make([]uint8, lv.Len())
	for i := range out {
		x := lv.Value(i)
		if x < 0 || x > 255 || x != math.Trunc(x) {
			return nil, fmt.Errorf("label map %s holds %g: labels must be whole numbers 0..255", path, x)
		}
		out[i] = uint8(x)
	}
	return out, nil
}

// writePNG writes atomically: a half-written picture never replaces a good one.
func writePNG(path string, img image.Image) error {
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
}
