package dicomweb

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The hostile server plays the failures of a real PACS or of the network
// between: down, slow, failing, cut short, endless, enormous, redirecting
// elsewhere. Each must end with a clear message, within the limits, and
// with nothing left in the cache.

// testLimits are DefaultLimits shrunk so each failure shows in a second.
var testLimits = Limits{
	Connect: time.Second, Answer: 500 * time.Millisecond, Stall: time.Second, Query: 2 * time.Second,
	MaxQuery: 1 << 20, MaxInstance: 4 << 20, MaxSeries: 32 << 20,
}

const (
	hStudy  = "1.2.3"
	hSeries = "1.2.3.4"
)

// dicomPart is a fake instance of n bytes: preamble, DICM, zeros. The
// client checks the preamble and streams the rest, so it needs no more.
func dicomPart(n int) []byte {
	b := make([]byte, n)
	copy(b[128:], "DICM")
	return b
}

// multipartWriter starts a WADO-RS answer.
func multipartWriter(w http.ResponseWriter) *multipart.Writer {
	mw := multipart.NewWriter(w)
	w.Header().Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+mw.Boundary())
	return mw
}

func part(mw *multipart.Writer) func([]byte) error {
	return func(b []byte) error {
		p, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
		if err == nil {
			_, err = p.Write(b)
		}
		return err
	}
}

// cacheEmpty fails if any file is in the cache folder.
func cacheEmpty(t *testing.T, c *Cache) {
	t.Helper()
	filepath.WalkDir(c.Dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("left in the cache: %s", p)
		}
		if err == nil && d.IsDir() && strings.HasPrefix(d.Name(), partialPrefix) {
			t.Errorf("partial folder left: %s", p)
		}
		return nil
	})
	if c.Has(hStudy, hSeries) {
		t.Error("the series is in the cache")
	}
}

func hostile(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	return hostileWith(t, h, testLimits)
}

func hostileWith(t *testing.T, h http.HandlerFunc, l Limits) *Client {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	c, err := New(Server{URL: s.URL + "/dicom-web"}, l)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHostileRetrieve(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"error status", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "database is locked", 500)
		}, "PACS answered 500 Internal Server Error to GET"},
		{"slow to answer", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, "did not answer in time"},
		{"not multipart", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>Please log in</html>"))
		}, `answered the retrieve with "text/html"`},
		{"not DICOM", func(w http.ResponseWriter, r *http.Request) {
			mw := multipartWriter(w)
			part(mw)([]byte(strings.Repeat("<html>", 100)))
			mw.Close()
		}, "not a DICOM file"},
		{"truncated", func(w http.ResponseWriter, r *http.Request) {
			mw := multipartWriter(w)
			part(mw)(dicomPart(100_000))
			p, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
			p.Write(dicomPart(50_000))
			// No closing boundary: the handler returns and the server
			// ends the chunked answer where it is.
		}, "ended early"},
		{"cut connection", func(w http.ResponseWriter, r *http.Request) {
			mw := multipartWriter(w)
			w.Header().Set("Content-Length", "10000000")
			part(mw)(dicomPart(100_000))
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}, "ended early"},
		{"fewer images than the search said", func(w http.ResponseWriter, r *http.Request) {
			mw := multipartWriter(w)
			part(mw)(dicomPart(1000))
			mw.Close()
		}, "sent 1 of the series' 3 images"},
		{"stalls", func(w http.ResponseWriter, r *http.Request) {
			mw := multipartWriter(w)
			part(mw)(dicomPart(1000))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, "stopped sending"},
		{"endless image", func(w http.ResponseWriter, r *http.Request) {
			mw := multipartWriter(w)
			p, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
			p.Write(dicomPart(1000))
			zeros := make([]byte, 64<<10)
			for r.Context().Err() == nil {
				if _, err := p.Write(zeros); err != nil {
					return
				}
			}
		}, "more than 4.0 MB for one image"},
		{"endless preamble", func(w http.ResponseWriter, r *http.Request) {
			multipartWriter(w)
			junk := bytes.Repeat([]byte("not a boundary\r\n"), 4<<10)
			for r.Context().Err() == nil {
				if _, err := w.Write(junk); err != nil {
					return
				}
			}
		}, "more than 5.0 MB for one image"},
		{"endless line", func(w http.ResponseWriter, r *http.Request) {
			multipartWriter(w)
			junk := bytes.Repeat([]byte("x"), 64<<10)
			for r.Context().Err() == nil {
				if _, err := w.Write(junk); err != nil {
					return
				}
			}
		}, "not well-formed"},
		{"enormous series", func(w http.ResponseWriter, r *http.Request) {
			mw := multipartWriter(w)
			add := part(mw)
			b := dicomPart(3 << 20)
			for r.Context().Err() == nil {
				if add(b) != nil {
					return
				}
			}
		}, "more than 32.0 MB for the series"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := hostile(t, tc.handler)
			cache := &Cache{Dir: t.TempDir()}
			start := time.Now()
			// Open, as the app retrieves: Get and the images read as they
			// arrive.
			_, _, err := cache.Open(context.Background(), c, hStudy, hSeries, 3, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			t.Log(err)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			cacheEmpty(t, cache)
		})
	}
}

// TestHostileMemory: a large series is received with memory bounded by a
// few images (one being received, one being written), not the series.
func TestHostileMemory(t *testing.T) {
	const parts, size = 40, 2 << 20
	l := testLimits
	l.MaxSeries = 2 * parts * size
	c := hostileWith(t, func(w http.ResponseWriter, r *http.Request) {
		mw := multipartWriter(w)
		add := part(mw)
		b := dicomPart(size)
		for range parts {
			add(b)
		}
		mw.Close()
	}, l)
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	var peak uint64
	cache := &Cache{Dir: t.TempDir()}
	dir, err := cache.Get(context.Background(), c, hStudy, hSeries, parts, func(done, total int) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapInuse)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := dirBytes(dir); n != parts*size {
		t.Fatalf("cached %d bytes, want %d", n, parts*size)
	}
	// Two image buffers (each up to twice an image, as they grow by
	// doubling), the read-ahead and the test server's own image: a few
	// images, a tenth of the series.
	if grew := int64(peak) - int64(base.HeapInuse); grew > 8*size {
		t.Errorf("heap grew by %d MB receiving a %d MB series", grew>>20, parts*size>>20)
	}
}

func TestHostileDown(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	url := s.URL
	s.Close()
	c, _ := New(Server{URL: url}, testLimits)
	cache := &Cache{Dir: t.TempDir()}
	_, err := cache.Get(context.Background(), c, hStudy, hSeries, 0, nil)
	if err == nil || !strings.Contains(err.Error(), "cannot reach the PACS") {
		t.Fatalf("%v", err)
	}
	_, err = c.SearchStudies(context.Background(), StudyQuery{})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the PACS") {
		t.Fatalf("%v", err)
	}
	cacheEmpty(t, cache)
}

// TestHostileRedirect: a redirect to another host is refused before any
// request (with the credentials) reaches it; one within the host is
// followed.
func TestHostileRedirect(t *testing.T) {
	var reached atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.Write([]byte("[]"))
	}))
	defer other.Close()
	var sawAuth atomic.Bool
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved/studies" {
			sawAuth.Store(r.Header.Get("Authorization") == "Bearer tok")
			w.Header().Set("Content-Type", "application/dicom+json")
			w.Write([]byte(`[{"0020000D":{"vr":"UI","Value":["1.2.3"]},"00100010":{"vr":"PN","Value":[{"Alphabetic":"DOE^JANE"}]}}]`))
			return
		}
		if strings.HasPrefix(r.URL.Path, "/same") {
			http.Redirect(w, r, "/moved/studies", http.StatusFound)
			return
		}
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer s.Close()
	c, _ := New(Server{URL: s.URL + "/elsewhere", Auth: AuthBearer, Secret: "tok"}, testLimits)
	_, err := c.SearchStudies(context.Background(), StudyQuery{PatientName: "DOE*"})
	if err == nil || !strings.Contains(err.Error(), "redirect to another host is refused") {
		t.Fatalf("%v", err)
	}
	cache := &Cache{Dir: t.TempDir()}
	if _, err := cache.Get(context.Background(), c, hStudy, hSeries, 0, nil); err == nil || !strings.Contains(err.Error(), "another host") {
		t.Fatalf("%v", err)
	}
	cacheEmpty(t, cache)
	if n := reached.Load(); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
	c, _ = New(Server{URL: s.URL + "/same", Auth: AuthBearer, Secret: "tok"}, testLimits)
	got, err := c.SearchStudies(context.Background(), StudyQuery{})
	if err != nil || len(got) != 1 || got[0].PatientName != "DOE^JANE" || !sawAuth.Load() {
		t.Fatalf("same-host redirect: %+v %v (auth kept: %v)", got, err, sawAuth.Load())
	}
}

// TestHostileQuery: search answers that are endless, slow or not JSON.
func TestHostileQuery(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"endless JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("["))
			item := []byte(`{"0020000D":{"vr":"UI","Value":["1.2.3"]}},`)
			for r.Context().Err() == nil {
				if _, err := w.Write(bytes.Repeat(item, 1000)); err != nil {
					return
				}
			}
		}, "more than 1.0 MB for one page of search results"},
		{"trickle", func(w http.ResponseWriter, r *http.Request) {
			// A byte every 100 ms never stalls, but the search has 2 s.
			for r.Context().Err() == nil {
				w.Write([]byte(" "))
				w.(http.Flusher).Flush()
				time.Sleep(100 * time.Millisecond)
			}
		}, "search took longer than 2s"},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<html>"))
		}, "not DICOM JSON"},
		{"unauthorised", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(401)
		}, "asks for a login, and none is set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := hostile(t, tc.handler)
			start := time.Now()
			_, err := c.SearchStudies(context.Background(), StudyQuery{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestNewRefuses: settings that would leak or cannot work are refused
// before any request.
func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		srv  Server
		want string
	}{
		{Server{}, "no URL"},
		{Server{URL: "ftp://pacs/dicom-web"}, "not a DICOMweb URL"},
		{Server{URL: "https://me:pw@pacs/dicom-web"}, "not in the URL"},
		{Server{URL: "https://pacs", Auth: AuthBasic, User: "me"}, "needs a password"},
		{Server{URL: "https://pacs", Auth: AuthBearer}, "needs a token"},
		{Server{URL: "https://pacs", Auth: AuthBasic, Secret: "x"}, "needs a user name"},
		{Server{URL: "https://pacs", CAFile: "/nonexistent.pem"}, "cannot read the CA certificate"},
	} {
		if _, err := New(tc.srv, testLimits); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.srv, err, tc.want)
		}
	}
	if _, err := (&Cache{Dir: t.TempDir()}).SeriesDir("1.2", "../../etc"); err == nil {
		t.Error("a series UID with ../ was taken")
	}
}

// TestTranscodedFallback: a server that cannot send the stored syntax
// (406 to transfer-syntax=*) is asked again for its own choice, and that
// answer is taken.
func TestTranscodedFallback(t *testing.T) {
	var accepts []string
	c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		accepts = append(accepts, r.Header.Get("Accept"))
		if strings.Contains(r.Header.Get("Accept"), "transfer-syntax") {
			http.Error(w, "transcoding required", http.StatusNotAcceptable)
			return
		}
		mw := multipartWriter(w)
		part(mw)(dicomPart(2000))
		mw.Close()
	})
	cache := &Cache{Dir: t.TempDir()}
	if _, err := cache.Get(context.Background(), c, hStudy, hSeries, 1, nil); err != nil {
		t.Fatal(err)
	}
	if len(accepts) != 2 || accepts[0] != acceptAsStored || accepts[1] != acceptTranscoded {
		t.Fatalf("asked with %q", accepts)
	}
}

// TestCAFile: a server whose certificate a private authority signed is
// refused with a message naming the fix, and trusted once that
// authority's certificate is given; never without.
func TestCAFile(t *testing.T) {
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("[]"))
	}))
	defer s.Close()
	c, _ := New(Server{URL: s.URL}, testLimits)
	if _, err := c.SearchStudies(context.Background(), StudyQuery{}); err == nil || !strings.Contains(err.Error(), "add your hospital's CA certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New(Server{URL: s.URL, CAFile: ca}, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SearchStudies(context.Background(), StudyQuery{}); err != nil {
		t.Fatalf("with the CA file: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	if _, err := New(Server{URL: s.URL, CAFile: notPEM}, testLimits); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("not PEM: %v", err)
	}
}

// TestCancel: Cancel during a retrieve stops it at once and leaves
// nothing in the cache.
func TestCancel(t *testing.T) {
	c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		mw := multipartWriter(w)
		part(mw)(dicomPart(1000))
		// The next boundary ends the first image; then the server hangs.
		mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	cache := &Cache{Dir: t.TempDir()}
	start := time.Now()
	_, err := cache.Get(ctx, c, hStudy, hSeries, 3, func(done, total int) { cancel() })
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("%v", err)
	}
	if d := time.Since(start); d > testLimits.Stall/2 {
		t.Errorf("cancel took %v", d)
	}
	cacheEmpty(t, cache)
}

// TestHostileStore: a store answer that trickles on is given up on at
// Limits.Query, and a refusal is reported with its status.
func TestHostileStore(t *testing.T) {
	f := filepath.Join(t.TempDir(), "x.dcm")
	os.WriteFile(f, dicomPart(1000), 0o600)
	c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dicom-web/studies/1.2" {
			http.Error(w, "study mismatch", http.StatusConflict)
			return
		}
		for r.Context().Err() == nil {
			w.Write([]byte(" "))
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	})
	start := time.Now()
	if _, err := c.Store(context.Background(), "", f); err == nil || !strings.Contains(err.Error(), "answer to the store took longer than 2s") {
		t.Fatalf("trickling answer: %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("took %v", d)
	}
	if _, err := c.Store(context.Background(), "1.2", f); err == nil || !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), "study mismatch") {
		t.Fatalf("refused: %v", err)
	}
}
