package dicom

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/segvolapp/segvol/viewer/volume"
)

func TestCT3SliceSortsDescendingFiles(t *testing.T) {
	src := filepath.Join(testdata, "dcmqi_ct3slice_seg", "ct-3slice")
	v := loadOne(t, src)
	if v.Dims != [3]int{512, 512, 3} || v.DType() != volume.Int16 {
		t.Fatalf("dims %v %v", v.Dims, v.DType())
	}
	// The NRRD labelmaps of this series start at z=-128.69; files are stored
	// in descending order.
	if math.Abs(v.Geom.Origin[2]+128.69) > 0.01 || math.Abs(v.Geom.Axes[2][2]-1) > 0.01 {
		t.Fatalf("origin %v slice axis %v", v.Geom.Origin, v.Geom.Axes[2])
	}
	if v.Meta.Modality != "CT" || v.Intercept != -1024 || len(v.Meta.Windows) == 0 {
		t.Errorf("meta %+v rescale %g %g", v.Meta, v.Slope, v.Intercept)
	}
	compareWorld(t, v, dcm2niix(t, src), 1)
}

func TestMosaicAllTransferSyntaxesMatchRef(t *testing.T) {
	ref := readNifti(t, filepath.Join(testdata, "dcm_qa_ts", "Ref", "1.nii"))
	var first *volume.Volume
	for i := 1; i <= 9; i++ {
		name := filepath.Join(testdata, "dcm_qa_ts", "In", string(rune('0'+i))+".dcm")
		t.Run(filepath.Base(name), func(t *testing.T) {
			v := loadOne(t, name)
			if v.Dims != [3]int{64, 64, 35} {
				t.Fatalf("dims %v", v.Dims)
			}
			compareWorld(t, v, ref, 1)
			if first == nil {
				first = v
			} else if !reflect.DeepEqual(first.Data, v.Data) {
				t.Fatal("voxels differ from 1.dcm")
			}
		})
	}
}

func TestJPEG2000SubsetMatchesDcm2niix(t *testing.T) {
	src := filepath.Join(testdata, "totalsegmentator", "example_ct_dicom_subset")
	v := loadOne(t, src)
	if v.Dims != [3]int{512, 512, 5} || math.Abs(v.Geom.Spacing()[2]-2) > 1e-6 {
		t.Fatalf("dims %v spacing %v (the slice step is 2 mm, SliceThickness says 3)", v.Dims, v.Geom.Spacing())
	}
	compareWorld(t, v, dcm2niix(t, src), 3)
}

func TestTotalSegmentatorCTMatchesReference(t *testing.T) {
	src := shared(t, "totalsegmentator", "example_ct_dicom")
	v := loadOne(t, src)
	compareWorld(t, v, readNifti(t, shared(t, "totalsegmentator", "ref_dcm2niix_debian_example_ct_dicom", "0_FDG_TK_KM.nii.gz")), 7)
}

func TestVSSegMRMatchesDcm2niix(t *testing.T) {
	src := shared(t, "niivue_vsseg_mr_dicom", "dicom")
	v := loadOne(t, src)
	if v.Dims != [3]int{512, 512, 120} {
		t.Fatalf("dims %v", v.Dims)
	}
	compareWorld(t, v, dcm2niix(t, src), 101)
}

func TestEnhancedMultiframeMatchesDcm2niix(t *testing.T) {
	src := shared(t, "suyashkumar_dicom_v1.1.0", "5.dcm")
	v := loadOne(t, src)
	rle := loadOne(t, filepath.Join(testdata, "dicomParser_testImages", "testImages", "encapsulated", "multi-frame", "CT0012.not_fragmented_bot_rle.dcm"))
	if !reflect.DeepEqual(v.Data, rle.Data) || v.Geom != rle.Geom {
		t.Fatal("the RLE copy in testdata differs from the native original")
	}
	if v.Dims != [3]int{512, 512, 2} {
		t.Fatalf("dims %v", v.Dims)
	}
	compareWorld(t, v, dcm2niix(t, src), 1)
}

func TestEnhancedMRMatchesDcm2niix(t *testing.T) {
	src := shared(t, "niivue_niivue_demos", "enh.dcm")
	v := loadOne(t, src)
	compareWorld(t, v, dcm2niix(t, src), 1)
}

// Lossless copies of one image agree voxel for voxel across syntaxes.
func TestLosslessVariantsAgree(t *testing.T) {
	mf := filepath.Join(testdata, "dicomParser_testImages", "testImages", "encapsulated", "multi-frame")
	groups := map[string][]string{
		"MR_small": {"MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_expb.dcm",
			"MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm"},
		"CT0012": {"CT0012.not_fragmented_bot_rle.dcm", "CT0012.fragmented_no_bot_jpeg_lossless.57.dcm",
			"CT0012.fragmented_no_bot_jpeg_lossless.70.dcm", "CT0012.not_fragmented_bot_jpeg_ls.80.dcm",
			"CT0012.fragmented_no_bot_jpeg_ls.80.dcm"},
	}
	dirs := map[string]string{"MR_small": filepath.Join(testdata, "pydicom_test_files"), "CT0012": mf}
	for name, files := range groups {
		t.Run(name, func(t *testing.T) {
			var first *volume.Volume
			for _, f := range files {
				v := loadOne(t, filepath.Join(dirs[name], f))
				if first == nil {
					first = v
					continue
				}
				if !reflect.DeepEqual(first.Data, v.Data) || first.Geom != v.Geom || first.Slope != v.Slope || first.Intercept != v.Intercept {
					t.Errorf("%s differs from %s", f, files[0])
				}
			}
		})
	}
}

func TestMixedFolderScan(t *testing.T) {
	dir := t.TempDir()
	copyFiles(t, dir, filepath.Join(testdata, "dcmqi_ct3slice_seg", "ct-3slice"), "01.dcm", "02.dcm", "03.dcm")
	copyFiles(t, filepath.Join(dir, "sub"), filepath.Join(testdata, "pydicom_test_files"), "MR_small.dcm", "test-SR.dcm", "rtstruct.dcm")
	write(t, filepath.Join(dir, "notes.txt"), []byte("not a DICOM file\n"))
	b, _ := os.ReadFile(filepath.Join(testdata, "pydicom_test_files", "CT_small.dcm"))
	write(t, filepath.Join(dir, "corrupt"), b[:len(b)/3])
	res, err := Scan(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 2 {
		t.Fatalf("%d series:\n%s", len(res.Series), res.List())
	}
	if len(res.Notes) != 4 {
		t.Fatalf("notes %q", res.Notes)
	}
	for _, want := range []string{"test-SR.dcm: skipped: SR", "rtstruct.dcm: skipped: RTSTRUCT", "notes.txt: skipped", "corrupt: skipped"} {
		if !strings.Contains(strings.Join(res.Notes, "\n"), want) {
			t.Errorf("no note %q in %q", want, res.Notes)
		}
	}
	if _, err := res.Select(""); err == nil || !strings.Contains(err.Error(), "2 series") {
		t.Errorf("Select(\"\") = %v", err)
	}
	s, err := res.Select("2")
	if err != nil {
		t.Fatal(err)
	}
	if byUID, err := res.Select(s.UID); err != nil || byUID != s {
		t.Errorf("Select by UID: %v", err)
	}
}

// TINY_ALPHA's DICOMDIR references 50 files whose pixel data pydicom
// stripped: Scan must follow the references and then say why nothing loads.
func TestScanDICOMDIR(t *testing.T) {
	_, err := Scan(context.Background(), filepath.Join(testdata, "pydicom_test_files", "TINY_ALPHA", "DICOMDIR"))
	if err == nil || !strings.Contains(err.Error(), "in 50 file(s)") || !strings.Contains(err.Error(), "no pixel data") {
		t.Fatalf("Scan(DICOMDIR) = %v", err)
	}
}

func TestScanNothingToLoad(t *testing.T) {
	empty := t.TempDir()
	if _, err := Scan(context.Background(), empty); err == nil || !strings.Contains(err.Error(), "empty folder") {
		t.Errorf("empty folder: %v", err)
	}
	unrelated := t.TempDir()
	write(t, filepath.Join(unrelated, "a.txt"), []byte("hello"))
	write(t, filepath.Join(unrelated, "b.bin"), bytes.Repeat([]byte{0xFF}, 4096))
	if _, err := Scan(context.Background(), unrelated); err == nil || !strings.Contains(err.Error(), "no DICOM image series") {
		t.Errorf("unrelated files: %v", err)
	}
}

func TestMissingSliceIsResampled(t *testing.T) {
	src := filepath.Join(testdata, "totalsegmentator", "example_ct_dicom_subset")
	full := loadOne(t, src)
	names := dirNames(t, src)
	dir := t.TempDir()
	// Leave out the middle file: a 4 mm gap in a 2 mm series.
	copyFiles(t, dir, src, names[0], names[1], names[3], names[4])
	v := loadOne(t, dir)
	if v.Dims != full.Dims || v.Geom != full.Geom {
		t.Fatalf("resampled %v %+v, full %v %+v", v.Dims, v.Geom, full.Dims, full.Geom)
	}
	if len(v.Warnings) == 0 || !strings.Contains(v.Warnings[0], "irregular") {
		t.Fatalf("warnings %q", v.Warnings)
	}
	// The kept slices are unchanged; the missing one is the mean of its
	// neighbours.
	plane := v.Dims[0] * v.Dims[1]
	a, b := v.Data.([]uint16), full.Data.([]uint16)
	for _, k := range []int{0, 1, 3, 4} {
		if !reflect.DeepEqual(a[k*plane:(k+1)*plane], b[k*plane:(k+1)*plane]) {
			t.Fatalf("slice %d changed", k)
		}
	}
	for i := 0; i < plane; i += 97 {
		want := math.Round((float64(b[plane+i]) + float64(b[3*plane+i])) / 2)
		if float64(a[2*plane+i]) != want {
			t.Fatalf("interpolated voxel %d = %d, want %g", i, a[2*plane+i], want)
		}
	}
}

func TestGantryTiltKeepsShear(t *testing.T) {
	src := filepath.Join(testdata, "dcmqi_ct3slice_seg", "ct-3slice")
	dir := t.TempDir()
	// Shift each slice 1 mm along y per mm of z (45 degrees), rewriting the
	// y of ImagePositionPatient in place (same length, implicit VR).
	const y = `\-226.800003\`
	for _, f := range []struct {
		name, newY string
	}{{"01.dcm", `\-224.800003\`}, {"02.dcm", `\-225.800003\`}, {"03.dcm", `\-226.800003\`}} {
		b, err := os.ReadFile(filepath.Join(src, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(b, []byte(y)) != 1 {
			t.Fatalf("%s: IPP not found", f.name)
		}
		write(t, filepath.Join(dir, f.name), bytes.Replace(b, []byte(y), []byte(f.newY), 1))
	}
	v := loadOne(t, dir)
	if !v.Geom.Sheared() || len(v.Warnings) == 0 || !strings.Contains(v.Warnings[0], "tilt") {
		t.Fatalf("geometry %+v warnings %q", v.Geom, v.Warnings)
	}
	if d := norm(sub(v.Geom.Axes[2], [3]float64{0, 1, 1})); d > 0.01 {
		t.Fatalf("slice axis %v, want (0,1,1)", v.Geom.Axes[2])
	}
	// Every slice origin is where its file says.
	if w := v.Geom.IndexToWorld([3]float64{0, 0, 2}); math.Abs(w[1]+224.800003) > 0.01 {
		t.Fatalf("last slice at %v", w)
	}
}

func TestFourDKeepsFirstVolume(t *testing.T) {
	src := filepath.Join(testdata, "dcmqi_ct3slice_seg", "ct-3slice")
	dir := t.TempDir()
	copyFiles(t, filepath.Join(dir, "a"), src, "01.dcm", "02.dcm", "03.dcm")
	copyFiles(t, filepath.Join(dir, "b"), src, "01.dcm", "02.dcm", "03.dcm")
	v := loadOne(t, dir)
	if v.Dims[2] != 3 || len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "4D") {
		t.Fatalf("dims %v warnings %q", v.Dims, v.Warnings)
	}
}

func TestSingleSliceSpacing(t *testing.T) {
	v := loadOne(t, filepath.Join(testdata, "pydicom_test_files", "CT_small.dcm"))
	if v.Dims[2] != 1 || v.DType() != volume.Int16 || v.Geom.Spacing()[2] <= 0 {
		t.Fatalf("dims %v %v spacing %v", v.Dims, v.DType(), v.Geom.Spacing())
	}
}

func TestColourRefused(t *testing.T) {
	p := filepath.Join(testdata, "pydicom_test_files", "SC_rgb_jpeg_dcmtk.dcm")
	res, err := Scan(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(context.Background(), res.Series[0], nil); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("RGB: %v", err)
	}
}

func copyFiles(t *testing.T, dst, src string, names ...string) {
	t.Helper()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dst, n), b)
	}
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".md") {
			out = append(out, e.Name())
		}
	}
	return out
}

// MONOCHROME1 is inverted within BitsStored so high is bright; its windows
// follow, and loading twice gives the same result.
func TestMonochrome1Inverted(t *testing.T) {
	src := shared(t, "suyashkumar_dicom_v1.1.0", "4.dcm")
	res, err := Scan(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Load(context.Background(), res.Series[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(context.Background(), res.Series[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Meta.Windows, b.Meta.Windows) || !strings.Contains(strings.Join(a.Warnings, ";"), "MONOCHROME1") {
		t.Fatalf("windows %v then %v, warnings %q", a.Meta.Windows, b.Meta.Windows, a.Warnings)
	}
	raw, err := readRaw(src)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.release()
	stored := int(binary.LittleEndian.Uint16(raw.data[raw.pixValue:])) & (1<<res.Series[0].pix.bitsStored - 1)
	if got := int(a.Data.([]uint16)[0]); got != 1<<res.Series[0].pix.bitsStored-1-stored {
		t.Fatalf("first voxel %d, stored %d", got, stored)
	}
}

// TestFourDTimePoints: a series stored twice over (the second copy with its
// last pixel of each slice changed) has 2 time points; LoadTimePoint
// reads either, and a third is refused.
func TestFourDTimePoints(t *testing.T) {
	src := filepath.Join(testdata, "dcmqi_ct3slice_seg", "ct-3slice")
	dir := t.TempDir()
	names := []string{"01.dcm", "02.dcm", "03.dcm"}
	copyFiles(t, filepath.Join(dir, "a"), src, names...)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)-2] ^= 0x55 // the last pixel of the native pixel data
		write(t, filepath.Join(dir, "b", n), b)
	}
	res, err := Scan(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := res.Select("")
	if err != nil {
		t.Fatal(err)
	}
	var vols [2]*volume.Volume
	for i := range vols {
		if vols[i], err = LoadTimePoint(context.Background(), s, i, nil); err != nil {
			t.Fatal(err)
		}
		if m := vols[i].Meta; m.TimePoints != 2 || m.TimePoint != i {
			t.Fatalf("time point %d: meta says %d of %d", i+1, m.TimePoint+1, m.TimePoints)
		}
	}
	slice := vols[0].Dims[0] * vols[0].Dims[1]
	for k := 0; k < vols[0].Dims[2]; k++ {
		last := (k+1)*slice - 1
		if vols[0].Value(last) == vols[1].Value(last) || vols[0].Value(last-1) != vols[1].Value(last-1) {
			t.Errorf("slice %d: the time points' last pixels %v and %v, the ones before %v and %v", k,
				vols[0].Value(last), vols[1].Value(last), vols[0].Value(last-1), vols[1].Value(last-1))
		}
	}
	if !strings.Contains(strings.Join(vols[1].Warnings, ";"), "showing volume 2") {
		t.Errorf("warnings %q", vols[1].Warnings)
	}
	if _, err := LoadTimePoint(context.Background(), s, 2, nil); err == nil || !strings.Contains(err.Error(), "no time point 3") {
		t.Errorf("time point 3 of 2: %v", err)
	}
}
