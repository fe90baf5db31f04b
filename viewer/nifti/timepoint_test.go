package nifti

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// nibVolumeScript writes volume argv[2] of argv[1]'s stored values as
// little-endian Fortran-order bytes to stdout.
const nibVolumeScript = `
import sys
import numpy as np, nibabel as nib
raw = np.asanyarray(nib.load(sys.argv[1]).dataobj.get_unscaled())
raw = raw.reshape(raw.shape[:3] + (-1,), order='F')[..., int(sys.argv[2])]
sys.stdout.buffer.write(raw.astype(raw.dtype.newbyteorder('<')).tobytes(order='F'))
`

// TestReadTimePointMatchesNibabel reads later volumes of 4D images, plain
// and gzip, and compares their voxels with nibabel's.
func TestReadTimePointMatchesNibabel(t *testing.T) {
	py := nibabelPython(t)
	for _, c := range []struct {
		name  string
		t, of int
	}{{"functional.nii", 7, 20}, {"example4d.nii.gz", 1, 2}} {
		path := testFile(t, "nibabel_testdata", c.name)
		v, err := ReadTimePoint(path, c.t)
		if err != nil {
			t.Fatal(err)
		}
		want, err := exec.Command(py, "-c", nibVolumeScript, path, fmt.Sprint(c.t)).Output()
		if err != nil {
			t.Fatalf("nibabel: %v", err)
		}
		if !bytes.Equal(voxelBytes(v.Data), want) {
			t.Errorf("%s volume %d: voxels differ from nibabel's", c.name, c.t+1)
		}
		first, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(voxelBytes(first.Data), want) {
			t.Errorf("%s: volume %d is the first one again", c.name, c.t+1)
		}
		if v.Meta.TimePoints != c.of || v.Meta.TimePoint != c.t || first.Meta.TimePoints != c.of || first.Meta.TimePoint != 0 {
			t.Errorf("%s: time points %d/%d, first %d/%d", c.name, v.Meta.TimePoint, v.Meta.TimePoints, first.Meta.TimePoint, first.Meta.TimePoints)
		}
		if w := strings.Join(v.Warnings, "; "); !strings.Contains(w, fmt.Sprintf("showing volume %d", c.t+1)) {
			t.Errorf("%s: warnings %q", c.name, w)
		}
		if _, err := ReadTimePoint(path, c.of); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("holds %d", c.of)) {
			t.Errorf("%s: volume %d of %d: error %v", c.name, c.of+1, c.of, err)
		}
	}
}
