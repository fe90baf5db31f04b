package labels

import (
	"bytes"
	"encoding/csv"
	"math"
	"slices"
	"strconv"
	"testing"
)

// TestStatisticsCSV parses the CSV of the sample's labels back and checks
// every row against sums taken here voxel by voxel.
func TestStatisticsCSV(t *testing.T) {
	img := sampleImage(t)
	m := sampleMap(t)
	m.AddSegment("empty, with a comma") // no voxels: its intensities are empty fields
	var buf bytes.Buffer
	if err := m.WriteStatisticsCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], []string{"name", "label", "voxels", "mL", "mean", "std", "min", "max"}) {
		t.Fatalf("header %q", rows[0])
	}
	// The truth: every voxel's label and real value.
	type acc struct{ n, sum, sum2, lo, hi float64 }
	truth := map[int]*acc{}
	m.mu.RLock()
	for n, l := range m.vox {
		x := img.Value(n)
		a := truth[int(l)]
		if a == nil {
			a = &acc{lo: x, hi: x}
			truth[int(l)] = a
		}
		a.n++
		a.sum += x
		a.sum2 += x * x
		a.lo, a.hi = min(a.lo, x), max(a.hi, x)
	}
	m.mu.RUnlock()
	sp := img.Geom.Spacing()
	ml := sp[0] * sp[1] * sp[2] / 1000
	segs := m.Segments()
	if len(rows) != len(segs)+1 || len(segs) < 10 {
		t.Fatalf("%d rows for %d segments", len(rows), len(segs))
	}
	for i, r := range rows[1:] {
		if r[0] != segs[i].Name || r[1] != strconv.Itoa(int(segs[i].Value)) {
			t.Errorf("row %d: %q, segment %q %d", i, r, segs[i].Name, segs[i].Value)
		}
		a := truth[int(segs[i].Value)]
		if a == nil {
			if r[2] != "0" || r[4] != "" || r[7] != "" {
				t.Errorf("empty segment's row %q", r)
			}
			continue
		}
		mean := a.sum / a.n
		want := []float64{a.n, a.n * ml, mean, math.Sqrt(a.sum2/a.n - mean*mean), a.lo, a.hi}
		// The CSV rounds mL to 4 decimals and mean and std to 3.
		tol := []float64{0, 5e-5, 5e-4, 5e-4, 0, 0}
		for c, w := range want {
			got, err := strconv.ParseFloat(r[c+2], 64)
			if err != nil || math.Abs(got-w) > tol[c]+1e-9*math.Abs(w) {
				t.Errorf("%s %s: %q, want %v (%v)", r[0], rows[0][c+2], r[c+2], w, err)
			}
		}
	}
}
