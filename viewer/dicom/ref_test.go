package dicom

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/segvolapp/segvol/internal/testenv"
	"github.com/segvolapp/segvol/viewer/volume"
)

// Test data: small copies in the repo's testdata, large sets only in the
// shared data folder next to the repo.
var (
	testdata   = filepath.Join("..", "..", "testdata")
	sharedData = filepath.Join("..", "..", "..", "shared", "data")
)

// shared returns a path under the shared data folder or skips the test.
func shared(t testing.TB, parts ...string) string {
	p := filepath.Join(append([]string{sharedData}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s absent", p)
	}
	return p
}

func loadOne(t testing.TB, path string) *volume.Volume {
	t.Helper()
	res, err := Scan(context.Background(), path)
	if err != nil {
		t.Fatalf("Scan %s: %v", path, err)
	}
	s, err := res.Select("")
	if err != nil {
		t.Fatalf("Select %s: %v", path, err)
	}
	v, err := Load(context.Background(), s, nil)
	if err != nil {
		t.Fatalf("Load %s: %v", path, err)
	}
	return v
}

// refImage is a reference NIfTI read by nibabel: real (scaled) values of its
// first volume in index order, and its geometry in LPS.
type refImage struct {
	dims   [3]int
	values []float32
	geom   volume.Geometry
}

const nibabelDump = `
import sys, json, numpy as np, nibabel as nib
img = nib.load(sys.argv[1])
a = np.asarray(img.dataobj)
while a.ndim > 3: a = a[..., 0]
while a.ndim < 3: a = a[..., None]
a.astype('<f4').reshape(-1, order='F').tofile(sys.argv[2])
json.dump({'dims': list(a.shape), 'affine': img.affine.tolist()}, sys.stdout)
`

// readNifti reads a reference NIfTI with python3 nibabel.
func readNifti(t testing.TB, path string) *refImage {
	t.Helper()
	// Debian's python3-nibabel lives with the system python, which a
	// pyenv shim earlier in PATH would hide.
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		testenv.NeedTool(t, "python3")
		python = "python3"
	}
	raw := filepath.Join(t.TempDir(), "values.f32")
	out, err := exec.Command(python, "-c", nibabelDump, path, raw).Output()
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("python3 nibabel failed on %s: %v", path, err)
		}
		t.Fatalf("python3 nibabel on %s: %v", path, err)
	}
	var hdr struct {
		Dims   []int
		Affine [4][4]float64
	}
	if err := json.Unmarshal(out, &hdr); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	r := &refImage{dims: [3]int{hdr.Dims[0], hdr.Dims[1], hdr.Dims[2]}, geom: volume.FromAffineRAS(hdr.Affine)}
	r.values = make([]float32, len(b)/4)
	for i := range r.values {
		r.values[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return r
}

// dcm2niix converts src in a temp dir and reads the result.
func dcm2niix(t testing.TB, src string) *refImage {
	t.Helper()
	testenv.NeedTool(t, "dcm2niix")
	dir := t.TempDir()
	if st, err := os.Stat(src); err == nil && !st.IsDir() {
		// dcm2niix converts a file's whole folder; give it the file alone.
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		src = filepath.Join(t.TempDir(), filepath.Base(src))
		if err := os.WriteFile(src, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("dcm2niix", "-z", "n", "-o", dir, "-f", "out", src).CombinedOutput(); err != nil {
		t.Fatalf("dcm2niix %s: %v\n%s", src, err, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "out*.nii"))
	if len(files) == 0 {
		t.Fatalf("dcm2niix wrote no NIfTI for %s", src)
	}
	return readNifti(t, files[0])
}

// compareWorld checks, in world space, that every stride-th voxel of v sits
// on a voxel centre of ref (within 0.01 mm) with the same real value.
func compareWorld(t *testing.T, v *volume.Volume, ref *refImage, stride int) {
	t.Helper()
	if v.Len() != ref.dims[0]*ref.dims[1]*ref.dims[2] {
		t.Fatalf("dims %v, reference %v", v.Dims, ref.dims)
	}
	bad := 0
	for n := 0; n < v.Len(); n += stride {
		i, j, k := n%v.Dims[0], (n/v.Dims[0])%v.Dims[1], n/(v.Dims[0]*v.Dims[1])
		w := v.Geom.IndexToWorld([3]float64{float64(i), float64(j), float64(k)})
		p, err := ref.geom.WorldToIndex(w)
		if err != nil {
			t.Fatal(err)
		}
		var q [3]int
		var qf [3]float64
		for a := range p {
			q[a] = int(math.Round(p[a]))
			qf[a] = float64(q[a])
		}
		if d := norm(sub(ref.geom.IndexToWorld(qf), w)); d > 0.01 {
			t.Fatalf("voxel (%d,%d,%d) at %v is %.4f mm from the reference grid", i, j, k, w, d)
		}
		if q[0] < 0 || q[1] < 0 || q[2] < 0 || q[0] >= ref.dims[0] || q[1] >= ref.dims[1] || q[2] >= ref.dims[2] {
			t.Fatalf("voxel (%d,%d,%d) maps outside the reference: %v", i, j, k, q)
		}
		got := float32(v.Value(n))
		want := ref.values[q[0]+ref.dims[0]*(q[1]+ref.dims[1]*q[2])]
		if math.Abs(float64(got-want)) > 1e-4*math.Max(1, math.Abs(float64(want))) {
			if bad++; bad <= 5 {
				t.Errorf("voxel (%d,%d,%d): %g, reference %g", i, j, k, got, want)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d voxels differ", bad)
	}
}
