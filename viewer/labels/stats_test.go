package labels

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// TestStatisticsMatchNumpy compares liver and spleen statistics with
// nibabel + numpy on the sample (real values, population std).
func TestStatisticsMatchNumpy(t *testing.T) {
	m := sampleMap(t)
	got := map[uint8]Stats{}
	for _, s := range m.Statistics() {
		got[s.Value] = s
	}
	out := python(t, `
import sys, nibabel as nib, numpy as np
ct = nib.load(sys.argv[1]); seg = np.asarray(nib.load(sys.argv[2]).dataobj)
x = ct.get_fdata()
ml = abs(np.linalg.det(ct.affine[:3, :3])) / 1000
for v in (1, 5):
    s = x[seg == v]
    print(v, s.size, repr(s.size * ml), repr(s.mean()), repr(s.std()), repr(s.min()), repr(s.max()))
`, sampleCT, sampleSeg)
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 7 {
			t.Fatalf("python printed %q", line)
		}
		v, _ := strconv.Atoi(f[0])
		want := make([]float64, 6)
		for i := range want {
			want[i], _ = strconv.ParseFloat(f[i+1], 64)
		}
		s := got[uint8(v)]
		have := []float64{float64(s.Voxels), s.VolumeML, s.Mean, s.Std, s.Min, s.Max}
		for i, name := range []string{"voxels", "mL", "mean", "std", "min", "max"} {
			if math.Abs(have[i]-want[i]) > 1e-9*max(1, math.Abs(want[i])) {
				t.Errorf("label %d %s: %v, numpy %v", v, name, have[i], want[i])
			}
		}
		t.Logf("label %d: %d voxels, %.2f mL, mean %.2f std %.2f HU, range %g..%g", v, s.Voxels, s.VolumeML, s.Mean, s.Std, s.Min, s.Max)
	}
}

// TestStatisticsShearedVolume checks that a tilted grid counts the true
// voxel volume, |det| of the axes.
func TestStatisticsShearedVolume(t *testing.T) {
	img := sampleImage(t)
	img.Geom.Axes[2] = [3]float64{0, 1.5, 3} // a 26.6° gantry tilt: still 27 mm³
	img.Geom.Axes[0] = [3]float64{-3, 0, 0}  // flipped: det < 0
	m, err := New(img)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := m.AddSegment("")
	mask := make([]uint8, img.Len())
	for n := range 1000 {
		mask[n] = 1
	}
	if _, err := m.Apply(mask, v, Replace); err != nil {
		t.Fatal(err)
	}
	s := m.Statistics()[0]
	if s.Voxels != 1000 || math.Abs(s.VolumeML-27) > 1e-12 {
		t.Fatalf("%d voxels, %v mL; want 1000, 27", s.Voxels, s.VolumeML)
	}
}

func BenchmarkStatistics(b *testing.B) {
	m := sampleMap(b)
	for b.Loop() {
		if len(m.Statistics()) == 0 {
			b.Fatal("no segments")
		}
	}
}
