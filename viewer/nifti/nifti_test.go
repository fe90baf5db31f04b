package nifti

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/segvolapp/segvol/viewer/volume"
)

func near(a, b [3]float64, tol float64) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

// TestLeftRightFlip: avg152T1_RL has no qform, an MNI sform (code 4) with
// +x columns, and scl_slope 0. Its columns run from the patient's left to
// the right, so in LPS the first index axis points to R.
func TestLeftRightFlip(t *testing.T) {
	v, err := Read(testFile(t, "niivue_niivue_demos", "avg152T1_RL_nifti.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if o := v.Geom.Orientation(); o != "RAS" {
		t.Errorf("orientation %s, want RAS", o)
	}
	// sform translation (-90, -126, -72) RAS: voxel 0 is 90 mm to the left.
	if o := v.Geom.IndexToWorld([3]float64{}); !near(o, [3]float64{90, 126, -72}, 1e-9) {
		t.Errorf("voxel (0,0,0) at LPS %v, want (90, 126, -72)", o)
	}
	if x := v.Geom.IndexToWorld([3]float64{90, 0, 0}); x[0] != -90 {
		t.Errorf("last column at LPS x=%g, want -90 (the right side)", x[0])
	}
	if v.Slope != 1 || v.Intercept != 0 {
		t.Errorf("scl_slope 0 must mean no rescale, got %g/%g", v.Slope, v.Intercept)
	}
	if v.DType() != volume.Uint8 {
		t.Errorf("dtype %v, want uint8", v.DType())
	}
}

// TestFallbackAffine: minimal.nii.gz has neither qform nor sform; nibabel
// then centres the grid and flips x.
func TestFallbackAffine(t *testing.T) {
	v, err := Read(testFile(t, "niivue_niivue_demos", "minimal.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	want := volume.FromAffineRAS(mat4{{-3, 0, 0, 94.5}, {0, 3, 0, -94.5}, {0, 0, 3, -13.5}, {0, 0, 0, 1}})
	if v.Geom != want {
		t.Errorf("geometry %+v, want %+v", v.Geom, want)
	}
}

func TestRefusesRGBAndComplex(t *testing.T) {
	for _, c := range []struct{ folder, name, want string }{
		{"niivue_niivue_demos", "ct_perfusion.nii.gz", "datatype 128 (RGB24) is not supported"},
		{"niivue_niivue_demos", "complex.nii.gz", "datatype 32 (complex64) is not supported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := testFile(t, c.folder, c.name)
			_, err := Read(path)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v, want one naming %s and %q", err, path, c.want)
			}
		})
	}
}

func TestScaledAndWindow(t *testing.T) {
	v, err := Read(testFile(t, "nibabel_testdata", "functional.nii"))
	if err != nil {
		t.Fatal(err)
	}
	if float32(v.Slope) != float32(0.07540697) || float32(v.Intercept) != float32(3100.7617) {
		t.Errorf("rescale %g/%g", v.Slope, v.Intercept)
	}
	if v.Meta.SeriesDescription != "spm - 3D normalized" {
		t.Errorf("descrip %q", v.Meta.SeriesDescription)
	}
	// cal_min 629.8262, cal_max 5571.6216 (float32) as a window preset.
	lo, hi := float64(float32(629.8262)), float64(float32(5571.6216))
	if want := []volume.Window{{Name: "cal_min/cal_max", Center: (lo + hi) / 2, Width: hi - lo}}; !reflect.DeepEqual(v.Meta.Windows, want) {
		t.Errorf("windows %+v, want %+v", v.Meta.Windows, want)
	}
}

// TestRoundTrip: Read, Write (.nii.gz and .nii), Read again gives identical
// voxels, rescale and geometry, and nibabel agrees with the written file,
// including its qform.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	read := map[string]*volume.Volume{}
	var written []string
	for _, src := range existingCases() {
		v, err := Read(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, ext := range []string{".nii.gz", ".nii"} {
			out := filepath.Join(dir, filepath.Base(src)+ext)
			if err := Write(out, v); err != nil {
				t.Fatal(err)
			}
			read[out] = v
			written = append(written, out)
		}
	}
	refs := nibabelLoad(t, written...)
	for _, out := range written {
		t.Run(filepath.Base(out), func(t *testing.T) {
			v := read[out]
			w, err := Read(out)
			if err != nil {
				t.Fatal(err)
			}
			if w.Dims != v.Dims || !bytes.Equal(voxelBytes(w.Data), voxelBytes(v.Data)) || w.DType() != v.DType() {
				t.Errorf("voxels changed")
			}
			if w.Slope != v.Slope || w.Intercept != v.Intercept || w.Geom != v.Geom {
				t.Errorf("rescale or geometry changed: %g/%g %+v, was %g/%g %+v", w.Slope, w.Intercept, w.Geom, v.Slope, v.Intercept, v.Geom)
			}
			if w.Meta.SeriesDescription != v.Meta.SeriesDescription || !reflect.DeepEqual(w.Meta.Windows, v.Meta.Windows) {
				t.Errorf("descrip %q windows %+v, was %q %+v", w.Meta.SeriesDescription, w.Meta.Windows, v.Meta.SeriesDescription, v.Meta.Windows)
			}
			compareNibabel(t, w, refs[out])
			checkQform(t, w, refs[out])
		})
	}
}

// TestWriteSheared: a sheared geometry (a tilted CT) keeps its exact sform;
// the qform is the nearest rotation, the same one nibabel's set_qform picks.
func TestWriteSheared(t *testing.T) {
	t.Run("synthetic", func(t *testing.T) {
		dir := [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0.3, math.Sqrt(1 - 0.09)}} // 17.5 degree tilt
		v, err := volume.New(volume.Int16, [3]int{4, 5, 6}, volume.NewGeometry([3]float64{-10, 20, 30}, [3]float64{0.5, 0.5, 2.5}, dir))
		if err != nil {
			t.Fatal(err)
		}
		for i, d := 0, v.Data.([]int16); i < len(d); i++ {
			d[i] = int16(i*37 - 500)
		}
		v.Intercept = -1024
		checkShearedWrite(t, v)
	})
	t.Run("shear.nii.gz", func(t *testing.T) {
		v, err := Read(testFile(t, "niivue_niivue_demos", "shear.nii.gz"))
		if err != nil {
			t.Fatal(err)
		}
		checkShearedWrite(t, v)
	})
}

func checkShearedWrite(t *testing.T, v *volume.Volume) {
	if !v.Geom.Sheared() {
		t.Fatal("test geometry is not sheared")
	}
	out := filepath.Join(t.TempDir(), "sheared.nii.gz")
	if err := Write(out, v); err != nil {
		t.Fatal(err)
	}
	ref := nibabelLoad(t, out)[out]
	compareNibabel(t, v, ref)
	if e := cornerError(volume.FromAffineRAS(*ref.Qform), *ref.QformOfSform, v.Dims); e > 0.001 {
		t.Errorf("qform differs from nibabel's nearest rotation by up to %.5f mm", e)
	}
}

// checkQform: the qform written for w's (unsheared) sform places every voxel
// as well as the qform nibabel's set_qform makes of it. Float32 b, c, d
// limit both near a 180-degree rotation (example4d: 0.017 mm at the corners).
func checkQform(t *testing.T, w *volume.Volume, ref nibRef) {
	t.Helper()
	if w.Geom.Sheared() {
		return // checkShearedWrite covers it
	}
	ours := cornerError(w.Geom, *ref.Qform, w.Dims)
	limit := 0.01
	if ref.QformOfSform != nil {
		limit = cornerError(w.Geom, *ref.QformOfSform, w.Dims) + 0.001
	}
	if ours > limit {
		t.Errorf("written qform is off the sform by up to %.4f mm (nibabel's would be %.4f)", ours, limit-0.001)
	}
}

func TestQuaternionRoundTrip(t *testing.T) {
	for _, q := range [][4]float64{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}, {0.5, 0.5, 0.5, 0.5}, {0.1, -0.7, 0.3, math.Sqrt(1 - 0.01 - 0.49 - 0.09)}} {
		a, b, c, d := matToQuat(quatToMat(q[0], q[1], q[2], q[3]))
		if !near([3]float64{a, b, c}, [3]float64{q[0], q[1], q[2]}, 1e-12) || math.Abs(d-q[3]) > 1e-12 {
			t.Errorf("quaternion %v came back as %v %v %v %v", q, a, b, c, d)
		}
	}
}

func TestWriteRefuses(t *testing.T) {
	v, err := volume.New(volume.Uint8, [3]int{40000, 1, 1}, volume.Identity())
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(t.TempDir(), "x.nii"), v); err == nil || !strings.Contains(err.Error(), "does not fit NIfTI-1") {
		t.Errorf("error %v, want a refusal of 40000 columns", err)
	}
	dir := t.TempDir()
	if err := Write(filepath.Join(dir, "missing", "x.nii"), v); err == nil {
		t.Error("writing into a missing folder succeeded")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a failed write left %v behind", left)
	}
}
