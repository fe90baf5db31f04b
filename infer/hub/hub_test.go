package hub

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const commit = "0123456789abcdef0123456789abcdef01234567"

// fakeHub answers as the hub does for BAAI/SegVol: the API listing, the
// resolve URLs with their size and hash headers, LFS files redirected to a
// second server (the CDN) that serves bytes with Range.
type fakeHub struct {
	hub, cdn *httptest.Server
	cdnBase  string // what the hub's redirects name (the CDN's URL, or a name only a proxy knows)
	token    string // when set, the hub refuses requests without it
	files    map[string][]byte
	lfs      map[string]bool

	mu        sync.Mutex
	cdnAuth   []string // Authorization headers the CDN received
	ranges    []string // Range headers the CDN received
	hubAuth   []string // Authorization headers the hub received
	dropAfter int      // >0: the next CDN answer breaks the connection after so many bytes
	etagLie   string   // when set, X-Linked-Etag says this
	sizeLie   int64    // when set, X-Linked-Size says this
	truncate  int      // >0: the CDN always answers 200 with only this many bytes
	noRanges  bool     // the CDN ignores Range and answers 200 with it all
	stall     int      // >0: the next CDN answer sends so many bytes, then waits for the client to go
}

// segvolRepo holds real files: the sample CT stands in for the checkpoint.
func newFakeHub(t *testing.T) *fakeHub {
	t.Helper()
	ckpt, err := os.ReadFile("../../assets/sample/example_ct_sm.nii.gz")
	if err != nil {
		t.Fatal(err)
	}
	config := []byte(`{"architectures": ["SegVolModel"], "model_type": "segvol", "spatial_size": [32, 256, 256]}` + "\n")
	h := &fakeHub{
		files: map[string][]byte{"pytorch_model.bin": ckpt, "config.json": config},
		lfs:   map[string]bool{"pytorch_model.bin": true},
	}
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	h.hub = httptest.NewServer(h.hubMux())
	h.cdnBase = h.cdn.URL
	t.Cleanup(h.hub.Close)
	t.Cleanup(h.cdn.Close)
	return h
}

func (h *fakeHub) client() *Client {
	return &Client{Endpoint: h.hub.URL, Token: h.token, HTTP: &http.Client{}, retryWait: time.Millisecond, idleTimeout: time.Minute}
}

func sha256hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func blobID(b []byte) string {
	s := sha1.New()
	fmt.Fprintf(s, "blob %d\x00", len(b))
	s.Write(b)
	return hex.EncodeToString(s.Sum(nil))
}

func (h *fakeHub) hubMux() http.Handler {
	mux := http.NewServeMux()
	auth := func(w http.ResponseWriter, r *http.Request) bool {
		h.mu.Lock()
		h.hubAuth = append(h.hubAuth, r.Header.Get("Authorization"))
		h.mu.Unlock()
		if h.token != "" && r.Header.Get("Authorization") != "Bearer "+h.token {
			w.Header().Set("X-Error-Code", "GatedRepo")
			w.Header().Set("X-Error-Message", "Access to model BAAI/SegVol is restricted.")
			w.WriteHeader(http.StatusUnauthorized)
			return false
		}
		if rev := r.PathValue("rev"); rev != "main" && rev != commit {
			w.Header().Set("X-Error-Code", "RevisionNotFound")
			w.Header().Set("X-Error-Message", "Invalid rev id: "+rev)
			w.WriteHeader(http.StatusNotFound)
			return false
		}
		return true
	}
	mux.HandleFunc("GET /api/models/BAAI/SegVol/revision/{rev}", func(w http.ResponseWriter, r *http.Request) {
		if !auth(w, r) {
			return
		}
		var siblings []map[string]any
		for _, name := range []string{"config.json", "pytorch_model.bin"} {
			b := h.files[name]
			s := map[string]any{"rfilename": name, "size": len(b), "blobId": blobID(b)}
			if h.lfs[name] {
				s["blobId"] = blobID([]byte("version https://git-lfs.github.com/spec/v1\n"))
				s["lfs"] = map[string]any{"sha256": sha256hex(b), "size": len(b), "pointerSize": 135}
			}
			siblings = append(siblings, s)
		}
		json.NewEncoder(w).Encode(map[string]any{"id": "BAAI/SegVol", "sha": commit, "siblings": siblings})
	})
	// A renamed repository: the hub answers with a relative redirect.
	mux.HandleFunc("GET /BAAI/SegVol-old/resolve/{rev}/{path...}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/BAAI/SegVol/resolve/"+r.PathValue("rev")+"/"+r.PathValue("path"))
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("GET /BAAI/SegVol/resolve/{rev}/{path...}", func(w http.ResponseWriter, r *http.Request) {
		if !auth(w, r) {
			return
		}
		name := r.PathValue("path")
		b, ok := h.files[name]
		if !ok {
			w.Header().Set("X-Error-Code", "EntryNotFound")
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("X-Repo-Commit", commit)
		if !h.lfs[name] { // kept in git: the hub serves the bytes itself
			w.Header().Set("ETag", `"`+blobID(b)+`"`)
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
			return
		}
		etag, size := sha256hex(b), int64(len(b))
		if h.etagLie != "" {
			etag = h.etagLie
		}
		if h.sizeLie != 0 {
			size = h.sizeLie
		}
		w.Header().Set("X-Linked-Etag", `"`+etag+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(size))
		w.Header().Set("ETag", `"`+blobID([]byte("pointer"))+`"`) // the pointer's, to be ignored
		http.Redirect(w, r, h.cdnBase+"/blobs/"+sha256hex(b)+"?X-Amz-Signature=abc", http.StatusFound)
	})
	return mux
}

func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.cdnAuth = append(h.cdnAuth, r.Header.Get("Authorization"))
	h.ranges = append(h.ranges, r.Header.Get("Range"))
	drop, stall := h.dropAfter, h.stall
	h.dropAfter, h.stall = 0, 0
	h.mu.Unlock()
	var b []byte
	for name, data := range h.files {
		if h.lfs[name] && r.URL.Path == "/blobs/"+sha256hex(data) {
			b = data
		}
	}
	if b == nil || r.URL.Query().Get("X-Amz-Signature") == "" {
		http.Error(w, "AccessDenied", http.StatusForbidden)
		return
	}
	switch {
	case drop > 0: // promise it all, send part of it, and cut the connection
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(b))
		buf.Write(b[:drop])
		buf.Flush()
		conn.Close()
	case stall > 0:
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.Write(b[:stall])
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	case h.truncate > 0:
		w.Write(b[:h.truncate])
	default:
		if h.noRanges {
			r.Header.Del("Range")
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
	}
}

func TestListFiles(t *testing.T) {
	h := newFakeHub(t)
	repo, err := h.client().ListFiles(context.Background(), "BAAI/SegVol", "")
	if err != nil {
		t.Fatal(err)
	}
	if repo.Commit != commit || repo.Revision != "main" || len(repo.Files) != 2 {
		t.Fatalf("repo = %+v", repo)
	}
	ck, ok := repo.File("pytorch_model.bin")
	b := h.files["pytorch_model.bin"]
	if !ok || ck.Size != int64(len(b)) || ck.SHA256 != sha256hex(b) {
		t.Errorf("checkpoint = %+v, want size %d sha256 %s", ck, len(b), sha256hex(b))
	}
	cfg, _ := repo.File("config.json")
	if cfg.SHA256 != "" || cfg.BlobID != blobID(h.files["config.json"]) || cfg.Size != int64(len(h.files["config.json"])) {
		t.Errorf("config = %+v", cfg)
	}
	_, err = h.client().ListFiles(context.Background(), "BAAI/SegVol", "v9")
	if err == nil || !strings.Contains(err.Error(), "Invalid rev id: v9") || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown revision: %v", err)
	}
	if _, err = h.client().ListFiles(context.Background(), "../etc", "main"); err == nil {
		t.Error("a path for a repository id is accepted")
	}
}

func TestMetadata(t *testing.T) {
	h := newFakeHub(t)
	c := h.client()
	m, err := c.Metadata(context.Background(), "BAAI/SegVol", "main", "pytorch_model.bin")
	b := h.files["pytorch_model.bin"]
	if err != nil || m.Commit != commit || m.ETag != sha256hex(b) || m.Size != int64(len(b)) || !m.LFS() ||
		!strings.HasPrefix(m.Location, h.cdn.URL+"/blobs/") {
		t.Fatalf("LFS file: %+v, %v", m, err)
	}
	m, err = c.Metadata(context.Background(), "BAAI/SegVol", "main", "config.json")
	if err != nil || m.ETag != blobID(h.files["config.json"]) || m.LFS() || m.Location != h.hub.URL+"/BAAI/SegVol/resolve/main/config.json" {
		t.Fatalf("git file: %+v, %v", m, err)
	}
	m, err = c.Metadata(context.Background(), "BAAI/SegVol-old", "main", "pytorch_model.bin")
	if err != nil || m.ETag != sha256hex(b) || !strings.HasPrefix(m.Location, h.cdn.URL+"/blobs/") {
		t.Fatalf("through a renamed repository's relative redirect: %+v, %v", m, err)
	}
	if len(h.cdnAuth) != 0 {
		t.Errorf("a HEAD followed the redirect to the CDN")
	}
}

// The checkpoint comes from the CDN in two goes: the connection breaks
// half-way, and the download resumes with a Range request.
func TestDownloadResumesAfterABrokenConnection(t *testing.T) {
	h := newFakeHub(t)
	h.token = "hf_secret"
	b := h.files["pytorch_model.bin"]
	h.dropAfter = len(b) / 2
	dir := t.TempDir()
	var last, total int64
	res, err := h.client().Download(context.Background(), "BAAI/SegVol", "main", "pytorch_model.bin", dir,
		func(done, n int64) { last, total = done, n })
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "pytorch_model.bin"))
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("file differs from the served one (%d of %d bytes): %v", len(got), len(b), err)
	}
	if res.SHA256 != sha256hex(b) || res.Commit != commit || res.Size != int64(len(b)) {
		t.Errorf("result = %+v", res)
	}
	if last != int64(len(b)) || total != int64(len(b)) {
		t.Errorf("last progress %d/%d, want %d/%d", last, total, len(b), len(b))
	}
	if want := []string{"", fmt.Sprintf("bytes=%d-", len(b)/2)}; fmt.Sprint(h.ranges) != fmt.Sprint(want) {
		t.Errorf("CDN Range headers %q, want %q", h.ranges, want)
	}
	for _, a := range h.cdnAuth {
		if a != "" {
			t.Errorf("the token reached the CDN: %q", a)
		}
	}
	if len(h.hubAuth) == 0 || h.hubAuth[0] != "Bearer hf_secret" {
		t.Errorf("the hub got Authorization %q", h.hubAuth)
	}
	assertOnly(t, dir, "pytorch_model.bin")
}

// A server that ignores Range answers 200 to the resume: the download starts over.
func TestDownloadRestartsWhenRangeIsIgnored(t *testing.T) {
	h := newFakeHub(t)
	b := h.files["pytorch_model.bin"]
	h.dropAfter, h.noRanges = len(b)/2, true
	dir := t.TempDir()
	var back bool
	var prev int64
	_, err := h.client().Download(context.Background(), "BAAI/SegVol", "main", "pytorch_model.bin", dir,
		func(done, _ int64) { back, prev = back || done < prev, done })
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "pytorch_model.bin")); !bytes.Equal(got, b) {
		t.Fatal("file differs")
	}
	if len(h.ranges) != 2 || !back {
		t.Errorf("Range headers %q, progress went back to 0: %v", h.ranges, back)
	}
	assertOnly(t, dir, "pytorch_model.bin")
}

// A small file kept in git comes from the hub itself, checked by its git blob id.
func TestDownloadGitFile(t *testing.T) {
	h := newFakeHub(t)
	h.token = "hf_secret"
	dir := t.TempDir()
	res, err := h.client().Download(context.Background(), "BAAI/SegVol", commit, "config.json", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(res.Path)
	if !bytes.Equal(got, h.files["config.json"]) || res.SHA256 != sha256hex(got) {
		t.Fatalf("config.json = %q, result %+v", got, res)
	}
	c := h.client()
	c.Token = "hf_wrong"
	_, err = c.Download(context.Background(), "BAAI/SegVol", commit, "config.json", t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Errorf("refused token: %v", err)
	}
}

// Servers that lie: each gives an error naming the file and what differs, and
// an earlier copy of the file stays as it was.
func TestDownloadRefusesWhatDoesNotMatch(t *testing.T) {
	n := len(newFakeHub(t).files["pytorch_model.bin"])
	for _, tc := range []struct {
		name string
		lie  func(h *fakeHub)
		want []string
		part bool // a .part file stays to resume from
	}{
		{"wrong SHA-256", func(h *fakeHub) { h.etagLie = strings.Repeat("ab", 32) },
			[]string{"pytorch_model.bin", "SHA-256 mismatch", strings.Repeat("ab", 32), "the download has "}, false},
		{"larger size", func(h *fakeHub) { h.sizeLie = int64(n) + 100 },
			[]string{"pytorch_model.bin", "size mismatch", fmt.Sprint(n + 100), fmt.Sprint(n)}, false},
		{"smaller size", func(h *fakeHub) { h.sizeLie = int64(n) - 100 },
			[]string{"pytorch_model.bin", "more than the " + fmt.Sprint(n-100) + " bytes"}, false},
		{"truncated 200", func(h *fakeHub) { h.truncate = 1000 },
			[]string{"pytorch_model.bin", fmt.Sprintf("ended at 1000 of %d bytes", n)}, true},
		{"CDN refuses", func(h *fakeHub) { h.cdnBase += "/expired" },
			[]string{"pytorch_model.bin", "403 Forbidden"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHub(t)
			tc.lie(h)
			dir := t.TempDir()
			dest := filepath.Join(dir, "pytorch_model.bin")
			os.WriteFile(dest, []byte("the earlier checkpoint"), 0o644)
			_, err := h.client().Download(context.Background(), "BAAI/SegVol", "main", "pytorch_model.bin", dir, nil)
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v, want it to say %q", err, w)
				}
			}
			if got, _ := os.ReadFile(dest); string(got) != "the earlier checkpoint" {
				t.Errorf("the destination changed to %d bytes", len(got))
			}
			if parts, _ := filepath.Glob(dest + ".*.part"); (len(parts) == 1) != tc.part {
				t.Errorf(".part files %q", parts)
			}
		})
	}
}

// A connection that stalls half-way is cut after the idle time and resumed.
func TestDownloadResumesAfterAStall(t *testing.T) {
	h := newFakeHub(t)
	b := h.files["pytorch_model.bin"]
	h.stall = 1 << 17
	c := h.client()
	c.idleTimeout = 50 * time.Millisecond
	dir := t.TempDir()
	if _, err := c.Download(context.Background(), "BAAI/SegVol", "main", "pytorch_model.bin", dir, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "pytorch_model.bin")); !bytes.Equal(got, b) {
		t.Fatal("file differs")
	}
	if want := []string{"", "bytes=131072-"}; fmt.Sprint(h.ranges) != fmt.Sprint(want) {
		t.Errorf("CDN Range headers %q, want %q", h.ranges, want)
	}
}

// Cancelling keeps a .part file that the next Download resumes from.
func TestDownloadCancelThenResume(t *testing.T) {
	h := newFakeHub(t)
	b := h.files["pytorch_model.bin"]
	const stall = 100000
	h.stall = stall
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	_, err := h.client().Download(ctx, "BAAI/SegVol", "main", "pytorch_model.bin", dir, func(done, _ int64) {
		if done == stall {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled download: %v", err)
	}
	parts, _ := filepath.Glob(filepath.Join(dir, "pytorch_model.bin.*.part"))
	if len(parts) != 1 {
		t.Fatalf("parts %v", parts)
	}
	fi, _ := os.Stat(parts[0])
	if fi.Size() != stall {
		t.Fatalf(".part has %d of %d bytes", fi.Size(), len(b))
	}
	if _, err := os.Stat(filepath.Join(dir, "pytorch_model.bin")); !os.IsNotExist(err) {
		t.Fatalf("a cancelled download left the destination: %v", err)
	}
	if _, err := h.client().Download(context.Background(), "BAAI/SegVol", "main", "pytorch_model.bin", dir, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "pytorch_model.bin")); !bytes.Equal(got, b) {
		t.Fatal("resumed file differs")
	}
	if last := h.ranges[len(h.ranges)-1]; last != fmt.Sprintf("bytes=%d-", fi.Size()) {
		t.Errorf("resumed with Range %q after %d bytes", last, fi.Size())
	}
	assertOnly(t, dir, "pytorch_model.bin")
}

func TestDownloadRejectsPathsOutsideTheFolder(t *testing.T) {
	h := newFakeHub(t)
	for _, p := range []string{"../x", "/etc/passwd", `a\..\..\x`, ""} {
		if _, err := h.client().Download(context.Background(), "BAAI/SegVol", "main", p, t.TempDir(), nil); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
}

// A proxy that alone knows the hub and the CDN (their names end in .invalid,
// which never resolve): the download works only if every request goes
// through it. The child process reads HTTP_PROXY and HF_ENDPOINT as the
// installer will, through NewClient.
func TestDownloadThroughTheProxyFromTheEnvironment(t *testing.T) {
	if os.Getenv("HUB_TEST_CHILD") != "" {
		dir := os.Getenv("HUB_TEST_DIR")
		c := NewClient()
		repo, err := c.ListFiles(context.Background(), "BAAI/SegVol", "main")
		for _, f := range repo.Files {
			if err == nil {
				_, err = c.Download(context.Background(), repo.ID, repo.Commit, f.Path, dir, nil)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	h := newFakeHub(t)
	h.token = "hf_secret"
	h.cdnBase = "http://cdn.invalid"
	names := map[string]string{"hub.invalid": h.hub.Listener.Addr().String(), "cdn.invalid": h.cdn.Listener.Addr().String()}
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Host)
		mu.Unlock()
		addr, ok := names[r.URL.Hostname()]
		if !ok {
			http.Error(w, "unknown host", http.StatusBadGateway)
			return
		}
		(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Host = addr
			pr.Out.Host = r.URL.Host
		}}).ServeHTTP(w, r)
	}))
	defer proxy.Close()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDownloadThroughTheProxyFromTheEnvironment$")
	cmd.Env = append(os.Environ(), "HUB_TEST_CHILD=1", "HUB_TEST_DIR="+dir,
		"HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "NO_PROXY=", "no_proxy=",
		"HF_ENDPOINT=http://hub.invalid/", "HF_TOKEN=hf_secret")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("download through the proxy: %v\n%s", err, out)
	}
	for name, b := range h.files {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); !bytes.Equal(got, b) {
			t.Errorf("%s differs", name)
		}
	}
	if !strings.Contains(strings.Join(seen, ","), "GET cdn.invalid") || !strings.Contains(strings.Join(seen, ","), "HEAD hub.invalid") {
		t.Errorf("the proxy saw %q", seen)
	}
	if len(h.cdnAuth) != 1 || h.cdnAuth[0] != "" {
		t.Errorf("CDN Authorization headers %q", h.cdnAuth)
	}
}

// assertOnly fails unless dir holds exactly the named files (no .part left).
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("folder holds %q, want %q", got, names)
	}
}

// A hub that cannot be reached (no network, no proxy where one is needed)
// is said so in plain words naming the host and the proxy variable, not as
// Go's "Get ...: dial tcp ...".
func TestListFilesUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c := &Client{Endpoint: "http://" + addr, HTTP: &http.Client{}}
	_, err = c.ListFiles(context.Background(), "BAAI/SegVol", "main")
	if err == nil || !strings.Contains(err.Error(), "cannot reach "+addr) || !strings.Contains(err.Error(), "HTTPS_PROXY") || strings.Contains(err.Error(), "dial tcp") {
		t.Errorf("listing from a host nothing listens on: %v", err)
	}
}
