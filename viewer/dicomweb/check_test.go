package dicomweb

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/segvolapp/segvol/internal/orthanctest"
)

// wantLines fails unless each of k's lines holds its expected words.
func wantLines(t *testing.T, k Check, ok bool, search, retrieve, login string) {
	t.Helper()
	for _, c := range []struct{ got, want string }{{k.Search, search}, {k.Retrieve, retrieve}, {k.Login, login},
		{k.Send, "sending is checked when you send"}} {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("%q, want it to say %q", c.got, c.want)
		}
	}
	if k.OK != ok {
		t.Errorf("OK %v, want %v:\n%s", k.OK, ok, k)
	}
}

// TestOrthancCheck: Test connection against a real Orthanc, open and with
// authentication: the right password, a wrong one, none; and an empty
// archive.
func TestOrthancCheck(t *testing.T) {
	ctx := context.Background()
	_, open := loaded(t, orthanctest.Options{})
	wantLines(t, open.Check(ctx), true, "works; 2 studies", "Retrieve (WADO-RS): works", "none asked")

	o, auth := loaded(t, orthanctest.Options{Auth: true})
	wantLines(t, auth.Check(ctx), true, "works; 2 studies", "Retrieve (WADO-RS): works", "user name or password accepted")
	for _, tc := range []struct {
		srv   Server
		login string
	}{
		{Server{URL: o.DICOMweb, Auth: AuthBasic, User: orthanctest.User, Secret: "wrong"}, "user name or password refused"},
		{Server{URL: o.DICOMweb, Auth: AuthBearer, Secret: "not-a-token"}, "token refused"},
		{Server{URL: o.DICOMweb}, "asks for a user name and password"},
	} {
		c, err := New(tc.srv, DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		k := c.Check(ctx)
		wantLines(t, k, false, "failed: PACS answered 401", "not checked, as search failed", tc.login)
		// The search's path, not its query of a dozen includefields.
		if !strings.Contains(k.Search, "/dicom-web/studies:") || strings.Contains(k.Search, "includefield") {
			t.Errorf("the failed search reads %q", k.Search)
		}
		// Without credentials nothing was refused: the server asks for a
		// login (it said "the user name, password or token was refused").
		if noLogin := tc.srv.Auth == AuthNone; noLogin != strings.Contains(k.Search, "asks for a login, and none is set") || noLogin == strings.Contains(k.Search, "refused") {
			t.Errorf("auth %v: the failed search reads %q", tc.srv.Auth, k.Search)
		}
	}

	// Orthanc's root rather than its /dicom-web: it answers its own REST
	// API's 400 and JSON, which the user is spared.
	root, _ := New(Server{URL: o.URL, Auth: AuthBasic, User: orthanctest.User, Secret: orthanctest.Password}, DefaultLimits)
	k := root.Check(ctx)
	wantLines(t, k, false, "answered (400 Bad Request), but "+o.URL+" does not look like a DICOMweb address", "not checked", "Login: not checked")
	if !strings.Contains(k.Search, "ends in /dicom-web") || strings.Contains(k.Search, "since") || strings.Contains(k.Search, "{") {
		t.Errorf("Orthanc's root: %q", k.Search)
	}

	empty := orthanctest.Start(t, orthanctest.Options{})
	c, _ := New(Server{URL: empty.DICOMweb}, DefaultLimits)
	wantLines(t, c.Check(ctx), true, "works; no studies", "no study to retrieve from", "none asked")
}

// TestHostileCheck: what Test connection says of a server that searches
// but will not retrieve, of one that forbids retrieving, of an untrusted
// certificate and of a server that is down.
func TestHostileCheck(t *testing.T) {
	ctx := context.Background()
	answer := func(retrieve int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, "/metadata"):
				w.WriteHeader(retrieve)
			case strings.HasSuffix(r.URL.Path, "/instances"):
				w.Write([]byte(`[{"00080018":{"vr":"UI","Value":["1.2.3.4"]}}]`))
			case strings.HasSuffix(r.URL.Path, "/series"):
				w.Write([]byte(`[{"0020000E":{"vr":"UI","Value":["1.2.3"]}}]`))
			default:
				w.Write([]byte(`[{"0020000D":{"vr":"UI","Value":["1.2"]}}]`))
			}
		}
	}
	wantLines(t, hostile(t, answer(500)).Check(ctx), false, "works; 1 study", "failed: PACS answered 500", "none asked")
	wantLines(t, hostile(t, answer(404)).Check(ctx), false, "works; 1 study", "failed: PACS answered 404", "none asked")
	wantLines(t, hostile(t, answer(403)).Check(ctx), false, "works; 1 study", "failed: PACS answered 403", "asks for a user name")
	wantLines(t, hostile(t, answer(200)).Check(ctx), false, "works; 1 study", "not the image's metadata", "none asked")

	tls := httptest.NewTLSServer(answer(200))
	defer tls.Close()
	c, _ := New(Server{URL: tls.URL}, testLimits)
	wantLines(t, c.Check(ctx), false, "not signed by a trusted authority; add your hospital's CA certificate", "not checked", "not checked")

	down, _ := New(Server{URL: "http://127.0.0.1:1/dicom-web"}, testLimits)
	wantLines(t, down.Check(ctx), false, "cannot reach the PACS", "not checked", "not checked")
}
