package nifti

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/segvolapp/segvol/viewer/volume"
)

// testFile finds a real file: the repository's testdata copy first (the
// TotalSegmentator sample lives in assets/sample, the study the viewer
// ships), then the shared data folder, which only exists on the team's
// machine.
func testFile(t testing.TB, folder, name string) string {
	t.Helper()
	p, ok := findTestFile(folder, name)
	if !ok {
		t.Skipf("%s/%s is not in testdata and ../shared/data is absent", folder, name)
	}
	return p
}

func findTestFile(folder, name string) (string, bool) {
	for _, p := range []string{
		filepath.Join("../../testdata", folder, name),
		filepath.Join("../../assets/sample", name),
		filepath.Join("../../../shared/data", folder, name),
	} {
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

var (
	pythonOnce sync.Once
	pythonPath string
)

// nibabelPython is a python3 that can import nibabel (Debian's, not a
// pyenv shim without it).
func nibabelPython(t testing.TB) string {
	t.Helper()
	pythonOnce.Do(func() {
		for _, py := range []string{"/usr/bin/python3", "python3"} {
			if exec.Command(py, "-c", "import nibabel, numpy").Run() == nil {
				pythonPath = py
				return
			}
		}
	})
	if pythonPath == "" {
		if os.Getenv("CI") == "" {
			t.Skip("python3 with nibabel is not installed (Debian: python3-nibabel)")
		}
		t.Fatal("python3 with nibabel is not installed (Debian: python3-nibabel)")
	}
	return pythonPath
}

// nibScript loads each file of argv[2:] with nibabel, writes the first 3D
// volume's stored (unscaled) values to argv[1]/<n> as little-endian
// Fortran-order bytes, and prints a JSON line per file: the affine, the
// qform, nibabel's own qform for the sform, the rescale, shape and dtype.
const nibScript = `
import json, os, sys
import numpy as np, nibabel as nib
for n, path in enumerate(sys.argv[2:]):
    img = nib.load(path)
    hdr = img.header
    raw = np.asanyarray(img.dataobj.get_unscaled())
    if raw.ndim > 3:
        raw = raw.reshape(raw.shape[:3] + (-1,), order='F')[..., 0]
    with open(os.path.join(sys.argv[1], str(n)), 'wb') as f:
        f.write(raw.astype(raw.dtype.newbyteorder('<')).tobytes(order='F'))
    slope, inter = img.dataobj.slope, img.dataobj.inter  # load moves scaling off the header
    out = {"affine": img.affine.tolist(), "shape": [int(s) for s in img.shape],
           "dtype": raw.dtype.name, "slope": float(slope), "inter": float(inter)}
    # nibabel refuses a quaternion whose b,c,d exceed unit length by rounding.
    try:
        if int(hdr['qform_code']) > 0:
            out["qform"] = hdr.get_qform().tolist()
    except ValueError:
        pass
    try:
        if int(hdr['sform_code']) > 0:
            h2 = hdr.copy()
            h2.set_qform(hdr.get_sform())
            out["qform_of_sform"] = h2.get_qform().tolist()
    except ValueError:
        pass
    print(json.dumps(out))
`

type nibRef struct {
	Affine       mat4
	Qform        *mat4 `json:"qform"`
	QformOfSform *mat4 `json:"qform_of_sform"`
	Shape        []int
	DType        string
	Slope, Inter float64
	raw          []byte
}

// nibabelLoad loads every path with nibabel in one python process (the
// import of nibabel costs more than loading a small file).
func nibabelLoad(t *testing.T, paths ...string) map[string]nibRef {
	t.Helper()
	py := nibabelPython(t)
	dir := t.TempDir()
	out, err := exec.Command(py, append([]string{"-c", nibScript, dir}, paths...)...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("nibabel cannot load %v: %v\n%s", paths, err, msg)
	}
	refs := make(map[string]nibRef, len(paths))
	dec := json.NewDecoder(bytes.NewReader(out))
	for n, p := range paths {
		var ref nibRef
		if err := dec.Decode(&ref); err != nil {
			t.Fatalf("nibabel output for %s: %v", p, err)
		}
		if ref.raw, err = os.ReadFile(filepath.Join(dir, strconv.Itoa(n))); err != nil {
			t.Fatal(err)
		}
		refs[p] = ref
	}
	return refs
}

// cornerError is the largest distance in mm between where g and the RAS
// affine m place a voxel. The difference of two affine maps is affine, so
// its largest length over the grid is reached at a corner: checking the
// eight corners checks every voxel.
func cornerError(g volume.Geometry, m mat4, dims [3]int) float64 {
	worst := 0.0
	for c := 0; c < 8; c++ {
		var p [3]float64
		for a := 0; a < 3; a++ {
			if c&(1<<a) != 0 {
				p[a] = float64(dims[a] - 1)
			}
		}
		w := g.IndexToWorld(p)
		var ras [3]float64
		for r := 0; r < 3; r++ {
			ras[r] = m[r][0]*p[0] + m[r][1]*p[1] + m[r][2]*p[2] + m[r][3]
		}
		lps := [3]float64{-ras[0], -ras[1], ras[2]}
		worst = math.Max(worst, math.Hypot(math.Hypot(w[0]-lps[0], w[1]-lps[1]), w[2]-lps[2]))
	}
	return worst
}

// compareNibabel checks v against nibabel's reading of the same file:
// identical stored voxels and type, the same rescale, every voxel's world
// position within 0.01 mm.
func compareNibabel(t *testing.T, v *volume.Volume, ref nibRef) {
	t.Helper()
	for a := 0; a < 3; a++ {
		want := 1
		if a < len(ref.Shape) {
			want = ref.Shape[a]
		}
		if v.Dims[a] != want {
			t.Fatalf("dims %v, nibabel shape %v", v.Dims, ref.Shape)
		}
	}
	if v.DType().String() != ref.DType {
		t.Errorf("dtype %v, nibabel %s", v.DType(), ref.DType)
	}
	if !bytes.Equal(voxelBytes(v.Data), ref.raw) {
		t.Errorf("stored voxels differ from nibabel's dataobj")
	}
	if v.Slope != ref.Slope || v.Intercept != ref.Inter {
		t.Errorf("rescale %g/%g, nibabel %g/%g", v.Slope, v.Intercept, ref.Slope, ref.Inter)
	}
	if e := cornerError(v.Geom, ref.Affine, v.Dims); e > 0.01 {
		t.Errorf("world positions differ from nibabel's affine by up to %.4f mm", e)
	}
}

// niftiCase is a real file and what is known about it beyond nibabel.
type niftiCase struct {
	folder, name string
	format       string
	warning      string
}

var niftiCases = []niftiCase{
	{"nibabel_testdata", "anatomical.nii", "NIfTI-1", ""}, // big endian
	{"nibabel_testdata", "functional.nii", "NIfTI-1", "4D image: 20 volumes, showing the first"},
	{"nibabel_testdata", "example4d.nii.gz", "NIfTI-1", "4D image: 2 volumes, showing the first"}, // oblique
	{"nibabel_testdata", "example_nifti2.nii.gz", "NIfTI-2", "4D image: 2 volumes, showing the first"},
	{"nibabel_testdata", "standard.nii.gz", "NIfTI-1", ""},
	{"nibabel_testdata", "reoriented_anat_moved.nii", "NIfTI-1", ""}, // big-endian float32
	{"niivue_niivue_demos", "avg152T1_RL_nifti.nii.gz", "NIfTI-1", ""},
	{"niivue_niivue_demos", "minimal.nii.gz", "NIfTI-1", ""},
	{"niivue_niivue_demos", "shear.nii.gz", "NIfTI-1", ""}, // shared data only
	{"totalsegmentator", "example_ct_sm.nii.gz", "NIfTI-1", ""},
	{"totalsegmentator", "example_seg.nii.gz", "NIfTI-1", ""},
}

// existingCases are the paths of niftiCases found here.
func existingCases() (paths []string) {
	for _, c := range niftiCases {
		if p, ok := findTestFile(c.folder, c.name); ok {
			paths = append(paths, p)
		}
	}
	return paths
}

func TestAgainstNibabel(t *testing.T) {
	refs := nibabelLoad(t, existingCases()...)
	for _, c := range niftiCases {
		t.Run(c.name, func(t *testing.T) {
			path := testFile(t, c.folder, c.name)
			v, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			ref := refs[path]
			compareNibabel(t, v, ref)
			if v.Meta.Format != c.format || v.Meta.Source != path {
				t.Errorf("meta %+v, want format %s source %s", v.Meta, c.format, path)
			}
			var warning string
			if len(v.Warnings) > 0 {
				warning = v.Warnings[0]
			}
			if warning != c.warning || len(v.Warnings) > 1 {
				t.Errorf("warnings %q, want %q", v.Warnings, c.warning)
			}
			// The quaternion code on its own: most files' best affine is the sform.
			if ref.Qform != nil {
				h := readHeader(t, path)
				if e := cornerError(volume.FromAffineRAS(h.qform()), *ref.Qform, v.Dims); e > 0.01 {
					t.Errorf("qform differs from nibabel's by up to %.4f mm", e)
				}
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			d, err := Decode(path, data)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(voxelBytes(d.Data), voxelBytes(v.Data)) || d.Geom != v.Geom {
				t.Error("Decode and Read disagree")
			}
		})
	}
}

func readHeader(t *testing.T, path string) *header {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if isGzip(data) {
		if data, err = gunzipHead(data); err != nil {
			t.Fatal(err)
		}
	}
	h, err := parseHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestAllSharedNIfTI reads every NIfTI file of the shared data folder and
// compares each with nibabel; only RGB and complex images may be refused.
func TestAllSharedNIfTI(t *testing.T) {
	root := "../../../shared/data"
	if _, err := os.Stat(root); err != nil {
		t.Skip("../shared/data is absent")
	}
	var paths []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (filepath.Ext(p) == ".nii" || filepath.Ext(p) == ".gz" && filepath.Ext(p[:len(p)-3]) == ".nii") {
			paths = append(paths, p)
		}
		return nil
	})
	if len(paths) < 30 {
		t.Fatalf("found only %d NIfTI files under %s", len(paths), root)
	}
	read := map[string]*volume.Volume{}
	var ok []string
	for _, p := range paths {
		v, err := Read(p)
		if err != nil {
			if !strings.Contains(err.Error(), "is not supported") {
				t.Errorf("%s: %v", p, err)
			}
			continue
		}
		read[p] = v
		ok = append(ok, p)
	}
	refs := nibabelLoad(t, ok...)
	for _, p := range ok {
		t.Run(filepath.Base(p), func(t *testing.T) { compareNibabel(t, read[p], refs[p]) })
	}
}
