package nifti

import (
	"os"
	"testing"
)

// BenchmarkRead reads the file named by SEGVOL_BENCH_NII (made by
// scripts/bench-nifti.sh: a 512x512x300 int16 CT .nii.gz).
func BenchmarkRead(b *testing.B) {
	path := os.Getenv("SEGVOL_BENCH_NII")
	if path == "" {
		b.Skip("SEGVOL_BENCH_NII is not set (see scripts/bench-nifti.sh)")
	}
	benchRead(b, path)
}

// BenchmarkReadSmallCT reads the small TotalSegmentator CT of testdata.
func BenchmarkReadSmallCT(b *testing.B) {
	benchRead(b, testFile(b, "totalsegmentator", "example_ct_sm.nii.gz"))
}

func benchRead(b *testing.B, path string) {
	b.ReportAllocs()
	for b.Loop() {
		v, err := Read(path)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(v.Bytes()))
	}
}
