package labels

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/volume"
)

// The sample study ships in the repository (assets/sample, Apache-2.0):
// a 122x101x30 CT at 3 mm and TotalSegmentator's label map of it.
var (
	sampleCT  = filepath.Join("..", "..", "assets", "sample", "example_ct_sm.nii.gz")
	sampleSeg = filepath.Join("..", "..", "assets", "sample", "example_seg.nii.gz")
)

const (
	spleen = 1
	liver  = 5
)

func sampleImage(t testing.TB) *volume.Volume {
	t.Helper()
	img, err := nifti.Read(sampleCT)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// sampleMap is the sample's label map loaded onto its CT.
func sampleMap(t testing.TB) *LabelMap {
	t.Helper()
	m, err := Load(sampleSeg, sampleImage(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// python runs a script with the system Python and nibabel, skipping when
// they are missing outside CI.
func python(t *testing.T, script string, args ...string) string {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import nibabel, numpy").Run(); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("python3 with nibabel and numpy not available: %v", err)
		}
		t.Fatalf("python3 with nibabel and numpy not available in CI: %v", err)
	}
	out, err := exec.Command(py, append([]string{"-c", script}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// dice is the overlap of the voxels of value a in x and value b in y.
func dice(x []uint8, a uint8, y []uint8, b uint8) float64 {
	var both, nx, ny int
	for n := range x {
		ix, iy := x[n] == a, y[n] == b
		if ix {
			nx++
		}
		if iy {
			ny++
		}
		if ix && iy {
			both++
		}
	}
	return 2 * float64(both) / float64(nx+ny)
}

func snapshot(m *LabelMap) []uint8 {
	var out []uint8
	m.Read(func(v []uint8) { out = append([]uint8(nil), v...) })
	return out
}

func count(vox []uint8, v uint8) int {
	c := 0
	for _, x := range vox {
		if x == v {
			c++
		}
	}
	return c
}
