package dicomweb

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/segvolapp/segvol/internal/orthanctest"
	"github.com/segvolapp/segvol/internal/testenv"
)

// BenchmarkRetrieveOpenMR120 retrieves the 120-slice MR (61 MB) from a
// local Orthanc into a fresh cache and opens it, against curl downloading
// the same WADO-RS answer plus our open of the same files from disk, in
// the same run; x_curl_open is the ratio (the issue asks at most 1.2).
// On the 2 shared cores of the development machine (load 2 to 13) 13 runs
// gave 0.68 to 1.36, median 1.02: the machine's noise is larger than the
// difference. Split apart, our retrieve took 195-259 ms where curl took
// 240-347 ms, our open of the cache 83-102 ms, of the original files
// 100-152 ms.
//
//	go test ./viewer/dicomweb -run XXX -bench MR120 -benchtime 5x
func BenchmarkRetrieveOpenMR120(b *testing.B) {
	if _, err := os.Stat(mrDir); err != nil {
		b.Skip("../shared/data is not here")
	}
	curl := testenv.NeedTool(b, "curl")
	ctx := context.Background()
	o := orthanctest.Start(b, orthanctest.Options{})
	o.Upload(b, dicomFiles(b, mrDir)...)
	c, _ := New(Server{URL: o.DICOMweb}, DefaultLimits)
	studies, err := c.SearchStudies(ctx, StudyQuery{PatientID: "VS-SEG-001"})
	if err != nil || len(studies) != 1 {
		b.Fatalf("%v %v", studies, err)
	}
	series, err := c.SearchSeries(ctx, studies[0].StudyInstanceUID, "")
	if err != nil || len(series) != 1 {
		b.Fatalf("%v %v", series, err)
	}
	st, se := studies[0].StudyInstanceUID, series[0].SeriesInstanceUID
	url := o.DICOMweb + "/studies/" + st + "/series/" + se
	tmp := b.TempDir()
	var ours, peer time.Duration
	b.ResetTimer()
	peerRun := func() {
		t0 := time.Now()
		out := filepath.Join(tmp, "wado.bin")
		if msg, err := exec.Command(curl, "-sS", "-f", "-o", out, "-H", "Accept: "+acceptAsStored, url).CombinedOutput(); err != nil {
			b.Fatalf("curl: %v %s", err, msg)
		}
		openDir(b, mrDir)
		peer += time.Since(t0)
		os.Remove(out)
	}
	oursRun := func() {
		t0 := time.Now()
		cache := &Cache{Dir: filepath.Join(tmp, "cache")}
		dir, err := cache.Get(ctx, c, st, se, 120, nil)
		if err != nil {
			b.Fatal(err)
		}
		openDir(b, dir)
		ours += time.Since(t0)
		os.RemoveAll(cache.Dir)
	}
	for i := range b.N {
		// Alternate which goes first, so neither always meets a machine
		// the other has just warmed or loaded.
		if i%2 == 0 {
			peerRun()
			oursRun()
		} else {
			oursRun()
			peerRun()
		}
	}
	b.ReportMetric(float64(ours)/float64(peer), "x_curl_open")
	b.ReportMetric(float64(peer.Milliseconds())/float64(b.N), "ms_curl_open")
	b.ReportMetric(float64(ours.Milliseconds())/float64(b.N), "ms_ours")
}
