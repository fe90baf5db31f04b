package seg

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/segvolapp/segvol/internal/testenv"
	"github.com/segvolapp/segvol/viewer/dicom"
	"github.com/segvolapp/segvol/viewer/volume"
)

// dcmqiDir holds the dcmqi SEG examples and their source CT (testdata).
var dcmqiDir = filepath.Join("..", "..", "..", "testdata", "dcmqi_ct3slice_seg")

// load scans and loads the one series of dir.
func load(t *testing.T, dir string) (*dicom.Series, *volume.Volume) {
	t.Helper()
	sc, err := dicom.Scan(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sc.Select("")
	if err != nil {
		t.Fatal(err)
	}
	v, err := dicom.Load(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// nrrd is a label map written by 3D Slicer / dcmqi.
type nrrd struct {
	dims   [3]int
	origin [3]float64
	axes   [3][3]float64
	data   []int16
}

// readNRRD reads the gzip int16 NRRD label maps of the dcmqi examples.
func readNRRD(t *testing.T, path string) *nrrd {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	n := &nrrd{}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: header: %v", path, err)
		}
		line = strings.TrimSpace(line)
		if line == "" {
			break
		}
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		switch k {
		case "type":
			if v != "short" {
				t.Fatalf("%s: type %s", path, v)
			}
		case "encoding":
			if v != "gzip" {
				t.Fatalf("%s: encoding %s", path, v)
			}
		case "sizes":
			fmt.Sscan(v, &n.dims[0], &n.dims[1], &n.dims[2])
		case "space origin":
			n.origin = vector(t, v)
		case "space directions":
			for a, s := range strings.Fields(v) {
				n.axes[a] = vector(t, s)
			}
		}
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	n.data = make([]int16, len(raw)/2)
	binary.Read(bytes.NewReader(raw), binary.LittleEndian, n.data)
	if len(n.data) != n.dims[0]*n.dims[1]*n.dims[2] {
		t.Fatalf("%s: %d voxels for %v", path, len(n.data), n.dims)
	}
	return n
}

func vector(t *testing.T, s string) [3]float64 {
	var v [3]float64
	parts := strings.Split(strings.Trim(s, "()"), ",")
	if len(parts) != 3 {
		t.Fatalf("bad NRRD vector %q", s)
	}
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			t.Fatal(err)
		}
		v[i] = f
	}
	return v
}

// sameGrid fails unless the NRRD lies on the volume's grid.
func sameGrid(t *testing.T, n *nrrd, dims [3]int, g volume.Geometry) {
	t.Helper()
	if n.dims != dims {
		t.Fatalf("NRRD %v, grid %v", n.dims, dims)
	}
	for c := 0; c < 3; c++ {
		if math.Abs(n.origin[c]-g.Origin[c]) > 1e-3 {
			t.Fatalf("NRRD origin %v, grid %v", n.origin, g.Origin)
		}
		for a := 0; a < 3; a++ {
			if math.Abs(n.axes[a][c]-g.Axes[a][c]) > 1e-3 {
				t.Fatalf("NRRD axes %v, grid %v", n.axes, g.Axes)
			}
		}
	}
}

// compareMask fails unless mask is exactly where the label map holds value.
func compareMask(t *testing.T, name string, mask []uint8, n *nrrd, value int16) {
	t.Helper()
	if mask == nil {
		t.Fatalf("%s: no mask", name)
	}
	diff, count := 0, 0
	for i, v := range n.data {
		want := v == value
		if want {
			count++
		}
		if want != (mask[i] != 0) {
			diff++
		}
	}
	if diff != 0 || count == 0 {
		t.Errorf("%s: %d of %d voxels differ from the NRRD label %d", name, diff, count, value)
	}
}

func TestReadDcmqiLiver(t *testing.T) {
	_, ct := load(t, filepath.Join(dcmqiDir, "ct-3slice"))
	s, err := Read(filepath.Join(dcmqiDir, "liver.dcm"), ct)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Segments) != 1 || s.Segments[0].Label != "Liver" || s.Segments[0].Type.Value != "T-62000" ||
		s.Segments[0].Algorithm != "SEMIAUTOMATIC" || s.Type != "BINARY" {
		t.Fatalf("segments %+v, type %s", s.Segments, s.Type)
	}
	n := readNRRD(t, filepath.Join(dcmqiDir, "liver_seg.nrrd"))
	sameGrid(t, n, s.Dims, s.Geom)
	compareMask(t, "liver", s.Masks[0], n, 1)
	// Without a reference grid the frames span the same three slices.
	free, err := Read(filepath.Join(dcmqiDir, "liver.dcm"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sameGrid(t, n, free.Dims, free.Geom)
	compareMask(t, "liver (own grid)", free.Masks[0], n, 1)
}

func TestReadDcmqiPartialOverlaps(t *testing.T) {
	_, ct := load(t, filepath.Join(dcmqiDir, "ct-3slice"))
	s, err := Read(filepath.Join(dcmqiDir, "partial_overlaps.dcm"), ct)
	if err != nil {
		t.Fatal(err)
	}
	// dcmqi made it from three label maps (seg-example_partial_overlaps.json):
	// segments 1, 4, 5 from the first, 2 from the second, 3 from the third.
	from := map[int]string{1: "1", 4: "1", 5: "1", 2: "2", 3: "3"}
	labels := []string{"GREEN", "ORANGE", "PURPLE", "LIGHT_BLUE", "DARK_BLUE"}
	if len(s.Segments) != 5 {
		t.Fatalf("%d segments", len(s.Segments))
	}
	for i, seg := range s.Segments {
		if seg.Number != i+1 || seg.Label != labels[i] {
			t.Errorf("segment %d: %d %q", i, seg.Number, seg.Label)
		}
		n := readNRRD(t, filepath.Join(dcmqiDir, "partial_overlaps-"+from[seg.Number]+".nrrd"))
		sameGrid(t, n, s.Dims, s.Geom)
		compareMask(t, seg.Label, s.Masks[i], n, int16(seg.Number))
	}
	if !s.Overlaps {
		t.Error("overlapping segments not reported")
	}
}

func TestReadDcmqiTiny(t *testing.T) {
	for _, c := range []struct{ seg, image, nrrd, label string }{
		{"23x38x3/label.seg", "23x38x3/image", "23x38x3/nrrd/label.nrrd", "Liver"},
		{"sparse-labelmap-noppv.dcm", "24x38x3/image", "sparse_labelmap_noppv_seg.nrrd", "Liver"},
		{"sparse-labelmap-ppv5.dcm", "24x38x3/image", "sparse_labelmap_ppv5_seg.nrrd", "Liver"},
	} {
		t.Run(c.seg, func(t *testing.T) {
			_, img := load(t, filepath.Join(dcmqiDir, c.image))
			s, err := Read(filepath.Join(dcmqiDir, c.seg), img)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Segments) != 1 || s.Segments[0].Label != c.label {
				t.Fatalf("segments %+v", s.Segments)
			}
			n := readNRRD(t, filepath.Join(dcmqiDir, c.nrrd))
			sameGrid(t, n, s.Dims, s.Geom)
			compareMask(t, c.seg, s.Masks[0], n, int16(s.Segments[0].Number))
		})
	}
}

func TestColorRoundTrip(t *testing.T) {
	// dcmqi stores Slicer's liver colour (221,130,101) as 41661\41167\40792.
	if got := rgbToLab([3]uint8{221, 130, 101}); absDiff(got[0], 41661) > 80 || absDiff(got[1], 41167) > 80 || absDiff(got[2], 40792) > 80 {
		t.Errorf("liver colour as CIELab %v, dcmqi wrote 41661 41167 40792", got)
	}
	for _, c := range [][3]uint8{{0, 0, 0}, {255, 255, 255}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {221, 130, 101}, {12, 200, 77}} {
		if got := labToRGB(rgbToLab(c)); got != c {
			t.Errorf("%v -> %v", c, got)
		}
	}
}

func absDiff(a, b int) int {
	if a > b {
		return a - b
	}
	return b - a
}

func TestCodeFor(t *testing.T) {
	for name, want := range map[string]string{"liver": "10200004", "Spleen": "78961009", "kidney_right": "9846003",
		"lung_upper_lobe_left": "39607008", "Aorta": "15825003", "inferior_vena_cava": "64131007"} {
		cat, typ, ok := CodeFor(name)
		if !ok || typ.Value != want || typ.Scheme != "SCT" || cat != CategoryAnatomy {
			t.Errorf("%s: %v %v %v", name, cat, typ, ok)
		}
	}
	if cat, typ, ok := CodeFor("Segment 3"); ok || cat != CategoryTissue || typ != TypeTissue {
		t.Errorf("unknown name: %v %v %v", cat, typ, ok)
	}
}

// TestWriteReadBack writes two overlapping segments on the 3-slice CT (one
// of them on two slices only), validates the file and reads it back.
func TestWriteReadBack(t *testing.T) {
	series, ct := load(t, filepath.Join(dcmqiDir, "ct-3slice"))
	src, err := SourceOf(series)
	if err != nil {
		t.Fatal(err)
	}
	masks := [][]uint8{make([]uint8, ct.Len()), make([]uint8, ct.Len())}
	for k := 0; k < ct.Dims[2]; k++ {
		for j := 0; j < ct.Dims[1]; j++ {
			for i := 0; i < ct.Dims[0]; i++ {
				n := ct.Offset(i, j, k)
				if (i-200)*(i-200)+(j-250)*(j-250) < 60*60 {
					masks[0][n] = 1
				}
				// An odd-sized patch on slices 1-2 that overlaps segment 1.
				if k > 0 && i >= 230 && i < 297 && j >= 240 && j < 251 {
					masks[1][n] = 1
				}
			}
		}
	}
	masks[0][ct.Offset(511, 511, 2)] = 1 // the last bit of a frame
	segs := []Segment{
		{Number: 1, Label: "liver", Color: [3]uint8{221, 130, 101}, Algorithm: "SEMIAUTOMATIC", AlgorithmName: "SegVol"},
		{Number: 2, Label: "Lesion", Description: "hand drawn", Color: [3]uint8{255, 255, 0}},
	}
	out := filepath.Join(t.TempDir(), "seg.dcm")
	if err := Write(out, src, ct, masks, segs); err != nil {
		t.Fatal(err)
	}
	for _, w := range testenv.Dciodvfy(t, out) {
		t.Log(w)
	}
	got, err := Read(out, ct)
	if err != nil {
		t.Fatal(err)
	}
	for i := range masks {
		if !bytes.Equal(got.Masks[i], masks[i]) {
			t.Errorf("segment %d: mask differs after read-back", i+1)
		}
	}
	if !got.Overlaps || got.Type != "BINARY" {
		t.Errorf("overlaps %v type %s", got.Overlaps, got.Type)
	}
	liver := got.Segments[0]
	if liver.Label != "liver" || liver.Type.Value != "10200004" || liver.Category != CategoryAnatomy ||
		liver.Color != segs[0].Color || liver.Algorithm != "SEMIAUTOMATIC" || liver.AlgorithmName != "SegVol" {
		t.Errorf("segment 1 read back as %+v", liver)
	}
	lesion := got.Segments[1]
	if lesion.Label != "Lesion" || lesion.Type != TypeTissue || lesion.Description != "hand drawn" ||
		lesion.Color != segs[1].Color || lesion.Algorithm != "MANUAL" {
		t.Errorf("segment 2 read back as %+v", lesion)
	}
	if len(got.ReferencedSeriesUIDs) != 1 || got.ReferencedSeriesUIDs[0] != series.UID ||
		got.StudyInstanceUID != ct.Meta.StudyInstanceUID || got.SeriesInstanceUID == series.UID {
		t.Errorf("references: %v study %s series %s", got.ReferencedSeriesUIDs, got.StudyInstanceUID, got.SeriesInstanceUID)
	}
	// 3 frames of segment 1 and 2 of segment 2, one per slice that has voxels.
	o, err := dicom.ReadObject(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := dicom.String(o.Elements, tag.NumberOfFrames); n != "5" {
		t.Errorf("NumberOfFrames %s, want 5", n)
	}
}

func TestWriteRefusesBadInput(t *testing.T) {
	series, ct := load(t, filepath.Join(dcmqiDir, "ct-3slice"))
	src, err := SourceOf(series)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "seg.dcm")
	full := make([]uint8, ct.Len())
	full[0] = 1
	for name, c := range map[string]struct {
		masks [][]uint8
		segs  []Segment
	}{
		"empty":         {[][]uint8{make([]uint8, ct.Len())}, []Segment{{Number: 1}}},
		"short mask":    {[][]uint8{full[:10]}, []Segment{{Number: 1}}},
		"number 0":      {[][]uint8{full}, []Segment{{Number: 0}}},
		"repeated":      {[][]uint8{full, full}, []Segment{{Number: 1}, {Number: 1}}},
		"count":         {[][]uint8{full}, nil},
		"bad algorithm": {[][]uint8{full}, []Segment{{Number: 1, Algorithm: "AI"}}},
	} {
		if err := Write(out, src, ct, c.masks, c.segs); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("a failed write left a file")
	}
	// A grid the source does not lie on.
	moved := *ct
	moved.Geom.Origin[0] += 5
	if err := Write(out, src, &moved, [][]uint8{full}, []Segment{{Number: 1}}); err == nil {
		t.Error("grid off the source: no error")
	}
}

func TestReadRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(dcmqiDir, "liver.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	// Truncated pixel data, a non-SEG and a file of zeros: errors, no panic.
	cases := map[string][]byte{
		"truncated.dcm": data[:len(data)-4000],
		"zeros.dcm":     make([]byte, 4096),
	}
	for name, b := range cases {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		if _, err := Read(p, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Read(filepath.Join(dcmqiDir, "ct-3slice", "01.dcm"), nil); err == nil || !strings.Contains(err.Error(), "not a DICOM SEG") {
		t.Errorf("CT image read as SEG: %v", err)
	}
	// A SEG placed on a grid it does not match.
	_, small := load(t, filepath.Join(dcmqiDir, "24x38x3", "image"))
	if _, err := Read(filepath.Join(dcmqiDir, "liver.dcm"), small); err == nil {
		t.Error("SEG on a different grid: no error")
	}
}

// TestWriteLabelMap writes a dcmqi label map (the NRRD of the 24x38x3 case,
// with a second label added) on its image and reads it back.
func TestWriteLabelMap(t *testing.T) {
	series, img := load(t, filepath.Join(dcmqiDir, "24x38x3", "image"))
	src, err := SourceOf(series)
	if err != nil {
		t.Fatal(err)
	}
	n := readNRRD(t, filepath.Join(dcmqiDir, "24x38x3", "nrrd", "label.nrrd"))
	sameGrid(t, n, img.Dims, img.Geom)
	lab, err := volume.New(volume.Uint8, img.Dims, img.Geom)
	if err != nil {
		t.Fatal(err)
	}
	data := lab.Data.([]uint8)
	for i, v := range n.data {
		data[i] = uint8(v)
	}
	for i := 0; i < 10; i++ {
		data[lab.Offset(i, 3, 2)] = 7
	}
	segs := []Segment{{Number: 1, Label: "Liver"}, {Number: 7, Label: "kidney"}}
	out := filepath.Join(t.TempDir(), "labels.dcm")
	if err := WriteLabelMap(out, src, img, lab, segs); err != nil {
		t.Fatal(err)
	}
	testenv.Dciodvfy(t, out)
	got, err := Read(out, img)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range segs {
		for p, v := range data {
			if (v == uint8(s.Number)) != (got.Masks[i][p] != 0) {
				t.Fatalf("segment %d differs at voxel %d", s.Number, p)
			}
		}
	}
	if got.Overlaps {
		t.Error("a label map cannot overlap")
	}
}
