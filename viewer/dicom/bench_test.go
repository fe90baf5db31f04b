package dicom

import (
	"context"
	"runtime"
	"runtime/metrics"
	"testing"
)

// BenchmarkLoadVSSeg is Scan+Load of the 120-slice MR series into memory,
// the job scripts/bench-dicom.sh compares with dcm2niix -z n.
func BenchmarkLoadVSSeg(b *testing.B) {
	src := shared(b, "niivue_vsseg_mr_dicom", "dicom")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		res, err := Scan(context.Background(), src)
		if err != nil {
			b.Fatal(err)
		}
		s, err := res.Select("")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Load(context.Background(), s, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLoadPeakMemory measures the peak heap while loading the 120-slice
// series: it must stay within 1.5x the voxel bytes + 100 MB.
func TestLoadPeakMemory(t *testing.T) {
	src := shared(t, "niivue_vsseg_mr_dicom", "dicom")
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-stop:
				return
			default:
				runtime.Gosched()
			}
		}
	}()
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	v := loadOne(t, src)
	close(stop)
	<-done
	limit := uint64(1.5*float64(v.Bytes())) + 100<<20
	t.Logf("peak heap while loading %d MB above %d MB before (voxels %d MB, limit %d MB)",
		(peak-base)>>20, base>>20, v.Bytes()>>20, limit>>20)
	if peak-base > limit {
		t.Errorf("peak heap %d MB over the limit of %d MB", (peak-base)>>20, limit>>20)
	}
}
