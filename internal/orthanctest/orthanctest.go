// Package orthanctest starts a real Orthanc PACS (Debian's orthanc and
// orthanc-dicomweb, which `make test` installs) for the DICOMweb tests: on
// 127.0.0.1, a free port, a temporary storage folder and a generated
// configuration, open, with HTTP basic authentication, or taking only a
// bearer token. It stops with the test.
package orthanctest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/segvolapp/segvol/internal/testenv"
)

// Where Debian's orthanc-dicomweb and orthanc-python install their plugins.
const (
	plugin       = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
	pythonPlugin = "/usr/share/orthanc/plugins/libOrthancPython.so"
)

// User and Password are the one account of a server started with
// authentication.
const (
	User     = "segvol"
	Password = "s3cret pass"
)

// Token is the one bearer token a server started with Options.Bearer takes.
const Token = "eyJhbGciOiJub25lIn0.c2Vndm9sLXRlc3Q.dG9rZW4"

// tokenFilter is the Python script that makes Orthanc take only requests
// bearing Token, as a hospital's token-checking plugin or proxy does
// (Orthanc itself knows HTTP basic only); Orthanc answers the others 403.
const tokenFilter = `import orthanc

def accept(uri, **request):
    return request.get("headers", {}).get("authorization") == "Bearer %s"

orthanc.RegisterIncomingHttpRequestFilter(accept)
`

// Server is a running Orthanc.
type Server struct {
	URL      string // REST API root, http://127.0.0.1:PORT
	DICOMweb string // the DICOMweb services' base
	Auth     bool   // whether User and Password are required
	Bearer   bool   // whether Token is required
}

// Options tune the server a test starts.
type Options struct {
	Auth   bool // HTTP basic: User and Password
	Bearer bool // a bearer token: Token
	// LimitFindResults caps each search answer (Orthanc's own option), so
	// a test can prove the client pages.
	LimitFindResults int
}

// Start runs an Orthanc for the test; it is stopped and its storage
// removed when the test ends.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	// Debian installs it in /usr/sbin, which a user's PATH often lacks.
	bin := "/usr/sbin/Orthanc"
	if _, err := os.Stat(bin); err != nil {
		bin = testenv.NeedTool(t, "Orthanc")
	}
	if _, err := os.Stat(plugin); err != nil {
		testenv.Missing(t, "orthanc-dicomweb is not installed (%s)", plugin)
	}
	if _, err := os.Stat(pythonPlugin); err != nil && opt.Bearer {
		testenv.Missing(t, "orthanc-python is not installed (%s)", pythonPlugin)
	}
	// The free port may be taken between our look and Orthanc's bind (by
	// another package's Orthanc, as go test runs packages side by side):
	// then it exits, and another port is tried.
	var log string
	for range 3 {
		s, out := start(t, bin, opt)
		if s != nil {
			return s
		}
		log = out
	}
	t.Fatalf("Orthanc did not start:\n%s", log)
	return nil
}

// start makes one attempt, returning nil and Orthanc's log when it fails.
func start(t testing.TB, bin string, opt Options) (*Server, string) {
	dir := t.TempDir()
	port := freePort(t)
	// A name of its own tells this Orthanc from one that holds the port.
	name := fmt.Sprintf("segvol-test-%d-%d", os.Getpid(), port)
	cfg := map[string]any{
		"Name":                  name,
		"StorageDirectory":      filepath.Join(dir, "db"),
		"IndexDirectory":        filepath.Join(dir, "db"),
		"HttpPort":              port,
		"DicomServerEnabled":    false,
		"RemoteAccessAllowed":   false,
		"AuthenticationEnabled": opt.Auth,
		"SaveJobs":              false,
		"LimitFindResults":      opt.LimitFindResults,
		"Plugins":               []string{plugin},
		"DicomWeb":              map[string]any{"Enable": true, "Root": "/dicom-web/"},
	}
	if opt.Auth {
		cfg["RegisteredUsers"] = map[string]string{User: Password}
	}
	if opt.Bearer {
		script := filepath.Join(dir, "token.py")
		if err := os.WriteFile(script, fmt.Appendf(nil, tokenFilter, Token), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg["Plugins"] = []string{plugin, pythonPlugin}
		cfg["PythonScript"] = script
	}
	js, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(dir, "orthanc.json")
	if err := os.WriteFile(cfgPath, js, 0o600); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd := exec.Command(bin, cfgPath)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Killed, not interrupted: its storage is thrown away with the test,
	// and a clean shutdown takes Orthanc two seconds.
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Auth: opt.Auth, Bearer: opt.Bearer}
	s.DICOMweb = s.URL + "/dicom-web"
	for deadline := time.Now().Add(30 * time.Second); ; {
		select {
		case err := <-done:
			return nil, fmt.Sprintf("exit %v\n%s", err, log.String())
		default:
		}
		if s.named(name) {
			return s, ""
		}
		if time.Now().After(deadline) {
			t.Fatalf("Orthanc did not answer in 30 s:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// named reports whether the server answers as the Orthanc called name.
func (s *Server) named(name string) bool {
	resp, err := s.get("/system")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var sys struct{ Name string }
	return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&sys) == nil && sys.Name == name
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) do(method, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if s.Auth {
		req.SetBasicAuth(User, Password)
	}
	if s.Bearer {
		req.Header.Set("Authorization", "Bearer "+Token)
	}
	return http.DefaultClient.Do(req)
}

func (s *Server) get(path string) (*http.Response, error) { return s.do("GET", path, nil) }

// Upload stores DICOM files through Orthanc's REST API (POST /instances),
// as a modality or another PACS would have.
func (s *Server) Upload(t testing.TB, files ...string) {
	t.Helper()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.do("POST", "/instances", b)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("Orthanc refused %s: %s", f, resp.Status)
		}
	}
}
