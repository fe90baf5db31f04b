package dicomweb

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/segvolapp/segvol/internal/orthanctest"
	"github.com/segvolapp/segvol/internal/testenv"
)

// BenchmarkRetrieveOpenMR120 retrieves the 120-slice MR (61 MB) from a
// local Orthanc into a fresh cache and opens it (Cache.Open: the images
// are decoded while they are written), against curl downloading the same
// WADO-RS answer plus our open of the same files from disk, in the same
// run; x_curl_open is the ratio (the issue asks at most 1.2).
//
// Each side runs once before the clock starts: on the development VM the
// first 60 MB a process writes or allocates costs 0.5 to 1 s more in the
// kernel (fresh pages; a Python loop writing 120 files showed 608 ms the
// first time, 18 ms after), which would land on whichever side ran first.
//
//	go test ./viewer/dicomweb -run XXX -bench MR120 -benchtime 10x -count 3
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
	var ours, peer, oursRun1, peerRun1 time.Duration
	spent := 0
	// Each side gives up what it wrote: 61 MB more dirty pages per run
	// kept, and the disk's writeback throttled this long-lived process
	// (not the short-lived curl) to 0.6-0.9 s a run. Ours empties its
	// files and moves their folder aside rather than deleting them: on an
	// ext4 without a journal (the development VM's) a new file skips
	// every inode deleted in the last minute, reading each from the inode
	// table, so deleting 120 files a run made the next runs' files ever
	// dearer to create (perf: 11% of all samples in __ext4_new_inode,
	// recently_deleted and find_get_block), a cost a cache that keeps its
	// series never meets.
	peerRun := func() {
		t0 := time.Now()
		out := filepath.Join(tmp, "wado.bin")
		if msg, err := exec.Command(curl, "-sS", "-f", "-o", out, "-H", "Accept: "+acceptAsStored, url).CombinedOutput(); err != nil {
			b.Fatalf("curl: %v %s", err, msg)
		}
		openDir(b, mrDir)
		peerRun1 = time.Since(t0)
		peer += peerRun1
		os.Remove(out)
	}
	oursRun := func() {
		t0 := time.Now()
		cache := &Cache{Dir: filepath.Join(tmp, "cache")}
		if _, _, err := cache.Open(ctx, c, st, se, 120, nil); err != nil {
			b.Fatal(err)
		}
		oursRun1 = time.Since(t0)
		ours += oursRun1
		spent++
		if err := empty(cache.Dir, filepath.Join(tmp, fmt.Sprint("spent", spent))); err != nil {
			b.Fatal(err)
		}
	}
	peerRun()
	oursRun()
	ours, peer = 0, 0
	var ratios []float64
	b.ResetTimer()
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
		ratios = append(ratios, float64(oursRun1)/float64(peerRun1))
	}
	b.ReportMetric(float64(ours)/float64(peer), "x_curl_open")
	// The median of the runs' ratios: one run that met a busy neighbour
	// (0.5 s more, on either side) does not decide it.
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "x_median")
	b.ReportMetric(float64(peer.Milliseconds())/float64(b.N), "ms_curl_open")
	b.ReportMetric(float64(ours.Milliseconds())/float64(b.N), "ms_ours")
}

// empty truncates the files under dir to nothing and moves dir to aside.
func empty(dir, aside string) error {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			err = os.Truncate(path, 0)
		}
		return err
	})
	if err != nil {
		return err
	}
	return os.Rename(dir, aside)
}
