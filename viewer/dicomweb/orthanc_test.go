package dicomweb

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/segvolapp/segvol/internal/orthanctest"
	"github.com/segvolapp/segvol/viewer/dicom"
	"github.com/segvolapp/segvol/viewer/dicom/seg"
	"github.com/segvolapp/segvol/viewer/study"
	"github.com/segvolapp/segvol/viewer/volume"
)

// The real series the tests load into Orthanc (their licenses are in the
// folders' README files).
var (
	ct3Dir = filepath.Join("..", "..", "testdata", "dcmqi_ct3slice_seg", "ct-3slice")
	// ct3 is a GE CT, three slices stored in descending z order.
	ct3 = seriesFacts{study: "1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1", patient: "JANCT000", id: "99000", date: "20030417", modality: "CT", images: 3}
	// tsFiles are one Siemens EPI in JPEG-LS and JPEG 2000 (dcm_qa_ts):
	// a retrieve must bring them back in those syntaxes.
	tsFiles = []string{filepath.Join("..", "..", "testdata", "dcm_qa_ts", "In", "7.dcm"), filepath.Join("..", "..", "testdata", "dcm_qa_ts", "In", "9.dcm")}
	ts      = seriesFacts{study: "1.3.12.2.1107.5.2.32.35131.30000014022817282751500000052", series: "1.3.12.2.1107.5.2.32.35131.2014031012481958900586557.0.0.0", patient: "stc_test", modality: "MR", images: 2}
	// mrDir is the 120-slice MR of ../shared/data, when there.
	mrDir = filepath.Join("..", "..", "..", "shared", "data", "niivue_vsseg_mr_dicom", "dicom")
)

type seriesFacts struct {
	study, series, patient, id, date, modality string
	images                                     int
}

func dicomFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.dcm"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no DICOM files in %s", dir)
	}
	return m
}

// servers are the three kinds of Orthanc the search, retrieve and send
// tests run against: open, HTTP basic, and taking only a bearer token.
var servers = []struct {
	name string
	opt  orthanctest.Options
}{{"open", orthanctest.Options{}}, {"basic-auth", orthanctest.Options{Auth: true}}, {"bearer", orthanctest.Options{Bearer: true}}}

// loaded starts an Orthanc holding ct3 and the transfer-syntax files.
func loaded(t *testing.T, opt orthanctest.Options) (*orthanctest.Server, *Client) {
	t.Helper()
	o := orthanctest.Start(t, opt)
	o.Upload(t, dicomFiles(t, ct3Dir)...)
	o.Upload(t, tsFiles...)
	srv := Server{URL: o.DICOMweb}
	if opt.Auth {
		srv.Auth, srv.User, srv.Secret = AuthBasic, orthanctest.User, orthanctest.Password
	}
	if opt.Bearer {
		srv.Auth, srv.Secret = AuthBearer, orthanctest.Token
	}
	c, err := New(srv, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return o, c
}

func studyUIDs(ss []Study) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.StudyInstanceUID)
	}
	sort.Strings(out)
	return out
}

// TestOrthancSearch: study searches by each field the Open from PACS form
// has, with wildcards, and the series of a study, against Orthanc with and
// without authentication.
func TestOrthancSearch(t *testing.T) {
	for _, server := range servers {
		t.Run(server.name, func(t *testing.T) {
			_, c := loaded(t, server.opt)
			ctx := context.Background()
			all, err := c.SearchStudies(ctx, StudyQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := studyUIDs(all), []string{ct3.study, ts.study}; !reflect.DeepEqual(got, want) {
				t.Fatalf("all studies: %v, want %v", got, want)
			}
			for _, q := range []StudyQuery{
				{PatientName: "JANCT*"},
				{PatientName: "janct000"}, // PN matching is case-insensitive in Orthanc and most PACS
				{PatientName: "J?NCT000"},
				{PatientID: "99000"},
				{AccessionNumber: "03086212"},
				{StudyDate: "20030101-20031231"},
				{StudyDate: "20030417"},
				{StudyDate: "-20050101"},
				{Modality: "CT"},
			} {
				got, err := c.SearchStudies(ctx, q)
				if err != nil {
					t.Fatalf("%+v: %v", q, err)
				}
				if len(got) != 1 || got[0].StudyInstanceUID != ct3.study {
					t.Fatalf("%+v: found %v, want only %s", q, studyUIDs(got), ct3.study)
				}
				s := got[0]
				if s.PatientName != ct3.patient || s.PatientID != ct3.id || s.StudyDate != ct3.date || !reflect.DeepEqual(s.Modalities, []string{"CT"}) || s.Series != 1 || s.Instances != 3 {
					t.Fatalf("%+v: study %+v", q, s)
				}
			}
			none, err := c.SearchStudies(ctx, StudyQuery{PatientName: "NOBODY*"})
			if err != nil || len(none) != 0 {
				t.Fatalf("no match: %v, %v", none, err)
			}
			series, err := c.SearchSeries(ctx, ts.study, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(series) != 1 || series[0].SeriesInstanceUID != ts.series || series[0].Modality != "MR" || series[0].Instances != 2 || series[0].StudyInstanceUID != ts.study {
				t.Fatalf("series: %+v", series)
			}
			if s, err := c.SearchSeries(ctx, ts.study, "CT"); err != nil || len(s) != 0 {
				t.Fatalf("CT series of an MR study: %+v, %v", s, err)
			}
		})
	}
}

// TestOrthancPaging: a server that caps each answer at one result
// (Orthanc's LimitFindResults) still yields every study, and a client
// page of one walks the offsets; Limit stops early.
func TestOrthancPaging(t *testing.T) {
	ctx := context.Background()
	_, c := loaded(t, orthanctest.Options{LimitFindResults: 1})
	got, err := c.SearchStudies(ctx, StudyQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ct3.study, ts.study}; !reflect.DeepEqual(studyUIDs(got), want) {
		t.Fatalf("capped server: %v, want %v", studyUIDs(got), want)
	}
	_, c = loaded(t, orthanctest.Options{})
	defer func(n int) { pageSize = n }(pageSize)
	pageSize = 1
	got, err = c.SearchStudies(ctx, StudyQuery{})
	if err != nil || len(got) != 2 {
		t.Fatalf("pages of one: %v, %v", studyUIDs(got), err)
	}
	got, err = c.SearchStudies(ctx, StudyQuery{Limit: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("limit 1: %v, %v", studyUIDs(got), err)
	}
}

// TestOrthancAuthRefused: wrong or missing credentials are told in plain
// words, not as a parse error of the server's refusal.
func TestOrthancAuthRefused(t *testing.T) {
	o := orthanctest.Start(t, orthanctest.Options{Auth: true})
	for _, srv := range []Server{
		{URL: o.DICOMweb},
		{URL: o.DICOMweb, Auth: AuthBasic, User: orthanctest.User, Secret: "wrong"},
		{URL: o.DICOMweb, Auth: AuthBearer, Secret: "not-a-token"},
	} {
		refused(t, srv, "401")
	}
	// A token server refuses with 403, as Orthanc's filters do.
	o = orthanctest.Start(t, orthanctest.Options{Bearer: true})
	for _, srv := range []Server{
		{URL: o.DICOMweb},
		{URL: o.DICOMweb, Auth: AuthBearer, Secret: orthanctest.Token + "x"},
		{URL: o.DICOMweb, Auth: AuthBasic, User: orthanctest.User, Secret: orthanctest.Password},
	} {
		refused(t, srv, "403")
	}
}

// refused fails unless a search on srv is refused with code, in words.
func refused(t *testing.T, srv Server, code string) {
	t.Helper()
	c, err := New(srv, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SearchStudies(context.Background(), StudyQuery{})
	// Without credentials a 401 asks for a login: nothing was refused.
	want := "refused"
	if srv.Auth == AuthNone && code == "401" {
		want = "asks for a login, and none is set"
	}
	if err == nil || !strings.Contains(err.Error(), code) || !strings.Contains(err.Error(), want) {
		t.Fatalf("%s auth: %v", srv.Auth, err)
	}
}

// openDir opens a folder's one series as the viewer does.
func openDir(t testing.TB, dir string) *volume.Volume {
	t.Helper()
	st, err := study.Open(context.Background(), dir, study.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st.Volume
}

// sameVolume fails unless a and b hold the same voxels at the same places.
func sameVolume(t testing.TB, a, b *volume.Volume) {
	t.Helper()
	if a.Dims != b.Dims || a.Geom != b.Geom || a.Slope != b.Slope || a.Intercept != b.Intercept {
		t.Fatalf("grid differs: %v %+v %g %g vs %v %+v %g %g", a.Dims, a.Geom, a.Slope, a.Intercept, b.Dims, b.Geom, b.Slope, b.Intercept)
	}
	if !reflect.DeepEqual(a.Data, b.Data) {
		t.Fatal("voxels differ")
	}
}

// TestOrthancRetrieveOpen: a series retrieved into the cache opens as the
// same volume, voxel for voxel and position for position, as its files on
// disk; the second open comes from the cache with the server gone.
func TestOrthancRetrieveOpen(t *testing.T) {
	for _, server := range servers {
		t.Run(server.name, func(t *testing.T) {
			ctx := context.Background()
			_, c := loaded(t, server.opt)
			series, err := c.SearchSeries(ctx, ct3.study, "")
			if err != nil || len(series) != 1 {
				t.Fatalf("%v %v", series, err)
			}
			cache := &Cache{Dir: filepath.Join(t.TempDir(), "pacs")}
			var calls []int
			dir, err := cache.Get(ctx, c, ct3.study, series[0].SeriesInstanceUID, series[0].Instances, func(done, total int) {
				if total != 3 {
					t.Errorf("progress total %d", total)
				}
				calls = append(calls, done)
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(calls, []int{1, 2, 3}) {
				t.Errorf("progress %v", calls)
			}
			sameVolume(t, openDir(t, dir), openDir(t, ct3Dir))
			opened, st, err := (&Cache{Dir: t.TempDir()}).Open(ctx, c, ct3.study, series[0].SeriesInstanceUID, 3, nil)
			if err != nil {
				t.Fatal(err)
			}
			sameStudy(t, st, opened)
			for _, d := range []string{cache.Dir, dir} {
				if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o700 {
					t.Errorf("%s: mode %v, want 0700 (%v)", d, st.Mode().Perm(), err)
				}
			}
			if ents, _ := os.ReadDir(cache.Dir); len(ents) != 1 {
				t.Errorf("cache holds %d entries, want the one study folder", len(ents))
			}
			dead, _ := New(Server{URL: "http://127.0.0.1:1/dicom-web"}, DefaultLimits)
			again, err := cache.Get(ctx, dead, ct3.study, series[0].SeriesInstanceUID, 3, nil)
			if err != nil || again != dir {
				t.Fatalf("offline open from the cache: %q %v", again, err)
			}
			again, st, err = cache.Open(ctx, dead, ct3.study, series[0].SeriesInstanceUID, 3, nil)
			if err != nil || again != dir {
				t.Fatalf("offline open from the cache: %q %v", again, err)
			}
			sameStudy(t, st, dir)
		})
	}
}

// TestOrthancAsStored: JPEG-LS and JPEG 2000 images come back in their
// own transfer syntax, byte for byte as uploaded, and decode.
func TestOrthancAsStored(t *testing.T) {
	ctx := context.Background()
	_, c := loaded(t, orthanctest.Options{})
	cache := &Cache{Dir: t.TempDir()}
	dir, err := cache.Get(ctx, c, ts.study, ts.series, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := dicomFiles(t, dir)
	if len(got) != 2 {
		t.Fatalf("%d files", len(got))
	}
	want := map[string]bool{}
	for _, f := range tsFiles {
		b, _ := os.ReadFile(f)
		want[string(b)] = true
	}
	for _, f := range got {
		b, _ := os.ReadFile(f)
		if !want[string(b)] {
			t.Errorf("%s is not byte for byte one of the uploaded files", f)
		}
		if !bytes.Contains(b[:400], []byte("1.2.840.10008.1.2.4.80")) && !bytes.Contains(b[:400], []byte("1.2.840.10008.1.2.4.90")) {
			t.Errorf("%s lost its transfer syntax", f)
		}
	}
	for _, f := range got {
		if v := openDir(t, f); v.Dims != [3]int{64, 64, 35} {
			t.Errorf("%s: dims %v", f, v.Dims)
		}
	}
}

// TestOrthancMR120: the 120-slice MR of ../shared/data retrieved and
// opened is the same volume as opened from disk.
func TestOrthancMR120(t *testing.T) {
	if _, err := os.Stat(mrDir); err != nil {
		t.Skip("../shared/data is not here")
	}
	ctx := context.Background()
	o := orthanctest.Start(t, orthanctest.Options{})
	o.Upload(t, dicomFiles(t, mrDir)...)
	c, _ := New(Server{URL: o.DICOMweb}, DefaultLimits)
	studies, err := c.SearchStudies(ctx, StudyQuery{PatientID: "VS-SEG-001"})
	if err != nil || len(studies) != 1 {
		t.Fatalf("%v %v", studies, err)
	}
	series, err := c.SearchSeries(ctx, studies[0].StudyInstanceUID, "MR")
	if err != nil || len(series) != 1 || series[0].Instances != 120 {
		t.Fatalf("%+v %v", series, err)
	}
	dir, st, err := (&Cache{Dir: t.TempDir()}).Open(ctx, c, studies[0].StudyInstanceUID, series[0].SeriesInstanceUID, 120, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameStudy(t, st, dir)
	sameVolume(t, st.Volume, openDir(t, mrDir))
}

// sameStudy fails unless st, from Cache.Open, is what study.Open of the
// cached folder dir finds: the same series and the same volume.
func sameStudy(t *testing.T, st *study.Study, dir string) {
	t.Helper()
	want, err := study.Open(context.Background(), dir, study.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st.Scan, want.Scan) {
		t.Error("Cache.Open found other series than study.Open of its folder")
	}
	if !reflect.DeepEqual(st.Volume, want.Volume) {
		t.Error("Cache.Open's volume differs from study.Open's of its folder")
	}
}

// TestOrthancStoreSEG: a DICOM SEG written by viewer/dicom/seg on the
// retrieved CT is sent with STOW-RS into its study, found there by a
// series search, and reads back with the same voxels.
func TestOrthancStoreSEG(t *testing.T) {
	for _, server := range servers {
		t.Run(server.name, func(t *testing.T) {
			ctx := context.Background()
			_, c := loaded(t, server.opt)
			series, err := c.SearchSeries(ctx, ct3.study, "")
			if err != nil || len(series) != 1 {
				t.Fatalf("%v %v", series, err)
			}
			dir, err := (&Cache{Dir: t.TempDir()}).Get(ctx, c, ct3.study, series[0].SeriesInstanceUID, 3, nil)
			if err != nil {
				t.Fatal(err)
			}
			segPath, img, lab := writeSEG(t, dir)
			res, err := c.Store(ctx, ct3.study, segPath)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Stored) != 1 || len(res.Failed) != 0 {
				t.Fatalf("store: %+v", res)
			}
			segs, err := c.SearchSeries(ctx, ct3.study, "SEG")
			if err != nil || len(segs) != 1 || segs[0].Instances != 1 {
				t.Fatalf("SEG series after store: %+v %v", segs, err)
			}
			back, err := (&Cache{Dir: t.TempDir()}).Get(ctx, c, ct3.study, segs[0].SeriesInstanceUID, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			s, err := seg.Read(dicomFiles(t, back)[0], img)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Segments) != 1 || s.Segments[0].Label != "Bone" {
				t.Fatalf("segments %+v", s.Segments)
			}
			mask := s.Masks[0]
			n := 0
			for i := range mask {
				if (mask[i] != 0) != (lab.Data.([]uint8)[i] != 0) {
					t.Fatalf("voxel %d differs after the round trip", i)
				}
				if mask[i] != 0 {
					n++
				}
			}
			if n == 0 {
				t.Fatal("empty segment")
			}
			// Into another study: refused, the SEG is not of it.
			if _, err := c.Store(ctx, ts.study, segPath); err == nil {
				t.Error("a SEG stored into another study was accepted")
			}
		})
	}
}

// writeSEG writes a one-segment SEG (bone: above 300 HU) on the series in
// dir and returns its path, the image and the label map.
func writeSEG(t testing.TB, dir string) (string, *volume.Volume, *volume.Volume) {
	t.Helper()
	sc, err := dicom.Scan(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := sc.Select("")
	img, err := dicom.Load(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	lab, _ := volume.New(volume.Uint8, img.Dims, img.Geom)
	for i := range lab.Data.([]uint8) {
		if img.Value(i) > 300 {
			lab.Data.([]uint8)[i] = 1
		}
	}
	src, err := seg.SourceOf(s)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "seg.dcm")
	if err := seg.WriteLabelMap(out, src, img, lab, []seg.Segment{{Number: 1, Label: "Bone", Algorithm: "MANUAL", Color: [3]uint8{255, 255, 0}}}); err != nil {
		t.Fatal(err)
	}
	return out, img, lab
}
