// Package hub downloads a model repository's files from the Hugging Face hub
// (or a mirror of it), for the SegVol installer: it lists the files of a
// revision with the sizes and SHA-256 the hub reports, and downloads each into
// a folder, resuming a broken connection with HTTP Range and renaming the file
// into place only once its size and hash match what the hub reported.
//
// Usage:
//
//	c := hub.NewClient() // HF_ENDPOINT, HF_TOKEN and the proxy from the environment
//	repo, err := c.ListFiles(ctx, "BAAI/SegVol", "main")
//	// ... pick the files wanted from repo.Files, then, pinned to the commit
//	// "main" resolved to so that all of them come from one commit:
//	res, err := c.Download(ctx, repo.ID, repo.Commit, "config.json", dir,
//		func(done, total int64) { /* progress bar */ })
//
// How the hub answers (as huggingface_hub relies on it): GET
// {endpoint}/api/models/{repo}/revision/{rev}?blobs=true lists the files with
// their sizes and, for LFS files, their SHA-256. A HEAD of the resolve URL
// {endpoint}/{repo}/resolve/{rev}/{path} answers with X-Repo-Commit, and for an
// LFS file X-Linked-Size, X-Linked-Etag (its SHA-256) and a redirect to another
// host (a CDN) that serves the bytes; a small file kept in git answers 200 with
// Content-Length and an ETag that is its git blob id (a SHA-1), and the same
// URL serves its bytes.
package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultEndpoint is the hub itself; HF_ENDPOINT overrides it, as in huggingface_hub.
const DefaultEndpoint = "https://huggingface.co"

// Client talks to one hub endpoint.
type Client struct {
	Endpoint string // base URL, no trailing slash
	// Token is sent as a bearer token to the endpoint's host only, never to the
	// host a redirect leads to (the CDN's URLs are signed).
	Token string
	HTTP  *http.Client

	retryWait   time.Duration // pause after a failed attempt that made no progress
	idleTimeout time.Duration // a download that receives nothing for so long is cut and resumed
}

// NewClient returns a client for HF_ENDPOINT (else the hub) with HF_TOKEN,
// through the proxy the environment names (HTTPS_PROXY, HTTP_PROXY, NO_PROXY):
// hospitals reach the internet through one.
func NewClient() *Client {
	endpoint := os.Getenv("HF_ENDPOINT")
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	token := os.Getenv("HF_TOKEN")
	if token == "" {
		token = os.Getenv("HUGGING_FACE_HUB_TOKEN") // the older name huggingface_hub still reads
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyFromEnvironment
	t.ResponseHeaderTimeout = time.Minute
	return &Client{
		Endpoint:    strings.TrimRight(endpoint, "/"),
		Token:       token,
		HTTP:        &http.Client{Transport: t},
		retryWait:   500 * time.Millisecond,
		idleTimeout: time.Minute,
	}
}

// File is one file of a repository as the hub lists it.
type File struct {
	Path   string // slash-separated path in the repository
	Size   int64  // bytes of the file itself (not of the LFS pointer)
	SHA256 string // hex, for LFS files; empty for small files kept in git
	BlobID string // git blob id: SHA-1 of "blob <size>\x00" and the bytes
}

// Repo is a repository's files at one revision.
type Repo struct {
	ID       string // owner/name
	Revision string // as asked: a branch, a tag or a commit
	Commit   string // the commit the revision resolved to
	Files    []File
}

// File returns the file at path and whether the repository has it.
func (r Repo) File(path string) (File, bool) {
	for _, f := range r.Files {
		if f.Path == path {
			return f, true
		}
	}
	return File{}, false
}

// unreachable says in plain words that a request got no answer because no
// connection could be made (no network, no name service, or a proxy needed
// and not set), the first thing a user on a hospital network meets; other
// errors, and a cancelled one, are left as they are.
func unreachable(ctx context.Context, u *url.URL, err error) error {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case ctx.Err() != nil:
		return err
	case errors.As(err, &dnsErr):
		err = dnsErr
	case errors.As(err, &opErr) && opErr.Op == "dial":
		err = opErr.Err
	default:
		return err
	}
	return fmt.Errorf("cannot reach %s (%v): is this computer on the internet, or does it need a proxy (set HTTPS_PROXY)?", u.Host, err)
}

var repoID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ListFiles lists the files of repo (owner/name) at revision ("" is main).
func (c *Client) ListFiles(ctx context.Context, repo, revision string) (Repo, error) {
	if revision == "" {
		revision = "main"
	}
	if !repoID.MatchString(repo) || strings.Contains(repo, "..") {
		return Repo{}, fmt.Errorf("hub: %q is not a repository id (owner/name)", repo)
	}
	u := c.Endpoint + "/api/models/" + repo + "/revision/" + url.PathEscape(revision) + "?blobs=true"
	req, err := c.request(ctx, http.MethodGet, u)
	if err != nil {
		return Repo{}, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Repo{}, fmt.Errorf("hub: listing %s at %s: %w", repo, revision, unreachable(ctx, req.URL, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Repo{}, statusError(resp, "listing "+repo+" at "+revision)
	}
	var info struct {
		SHA      string `json:"sha"`
		Siblings []struct {
			Path   string `json:"rfilename"`
			Size   *int64 `json:"size"`
			BlobID string `json:"blobId"`
			LFS    *struct {
				SHA256 string `json:"sha256"`
				Size   int64  `json:"size"`
			} `json:"lfs"`
		} `json:"siblings"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&info); err != nil {
		return Repo{}, fmt.Errorf("hub: listing %s at %s: unreadable answer: %w", repo, revision, err)
	}
	if !isHex(info.SHA, 40) {
		return Repo{}, fmt.Errorf("hub: listing %s at %s: the answer names no commit", repo, revision)
	}
	r := Repo{ID: repo, Revision: revision, Commit: info.SHA}
	for _, s := range info.Siblings {
		f := File{Path: s.Path, BlobID: s.BlobID}
		switch {
		case s.LFS != nil:
			f.Size, f.SHA256 = s.LFS.Size, s.LFS.SHA256
		case s.Size != nil:
			f.Size = *s.Size
		default:
			return Repo{}, fmt.Errorf("hub: listing %s at %s: no size for %s", repo, revision, s.Path)
		}
		r.Files = append(r.Files, f)
	}
	return r, nil
}

// Metadata is what a HEAD of a file's resolve URL tells.
type Metadata struct {
	Commit string // X-Repo-Commit: the commit the revision resolved to
	// ETag is X-Linked-Etag, else ETag, unquoted: the SHA-256 of an LFS file,
	// the git blob id (SHA-1) of a file kept in git.
	ETag     string
	Size     int64  // X-Linked-Size, else Content-Length
	Location string // where the bytes are: the redirect's target, else the resolve URL
}

// LFS tells whether the file is stored in LFS, so that ETag is its SHA-256.
func (m Metadata) LFS() bool { return len(m.ETag) == 64 }

// Metadata asks the hub about one file without downloading it. Redirects to
// another host (the CDN) are not followed, as their headers are the CDN's;
// relative ones (a renamed repository) are.
func (c *Client) Metadata(ctx context.Context, repo, revision, path string) (Metadata, error) {
	if revision == "" {
		revision = "main"
	}
	if !repoID.MatchString(repo) || strings.Contains(repo, "..") {
		return Metadata{}, fmt.Errorf("hub: %q is not a repository id (owner/name)", repo)
	}
	u := c.Endpoint + "/" + repo + "/resolve/" + url.PathEscape(revision) + "/" + escapePath(path)
	noFollow := *c.HTTP
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for range 10 {
		req, err := c.request(ctx, http.MethodHead, u)
		if err != nil {
			return Metadata{}, err
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			return Metadata{}, fmt.Errorf("hub: %s: %w", path, err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
			rel, err := url.Parse(loc)
			if err != nil {
				return Metadata{}, fmt.Errorf("hub: %s: bad redirect %q", path, loc)
			}
			target := req.URL.ResolveReference(rel).String()
			if rel.Host == "" { // relative, as huggingface_hub follows: same host
				u = target
				continue
			}
			return metadata(resp, path, target)
		}
		if resp.StatusCode != http.StatusOK {
			return Metadata{}, statusError(resp, path)
		}
		return metadata(resp, path, u)
	}
	return Metadata{}, fmt.Errorf("hub: %s: too many redirects", path)
}

func metadata(resp *http.Response, path, location string) (Metadata, error) {
	h := resp.Header
	m := Metadata{Commit: h.Get("X-Repo-Commit"), Location: location}
	if m.Commit == "" {
		// As huggingface_hub says: something between us and the hub answered.
		return m, fmt.Errorf("hub: %s: the answer has no X-Repo-Commit: it does not come from a Hugging Face hub (check the proxy and HF_ENDPOINT)", path)
	}
	etag := h.Get("X-Linked-Etag")
	if etag == "" {
		etag = h.Get("ETag")
	}
	m.ETag = strings.ToLower(strings.Trim(strings.TrimPrefix(etag, "W/"), `"`))
	if !isHex(m.ETag, 64) && !isHex(m.ETag, 40) {
		return m, fmt.Errorf("hub: %s: the hub reports no SHA-256 or git blob id to check the file against (ETag %q)", path, etag)
	}
	size := h.Get("X-Linked-Size")
	if size == "" {
		size = h.Get("Content-Length")
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || n < 0 {
		return m, fmt.Errorf("hub: %s: the hub reports no size (%q)", path, size)
	}
	m.Size = n
	return m, nil
}

// request makes a request with the token when it goes to the endpoint's host.
func (c *Client) request(ctx context.Context, method, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	// The true size, not a compressed one, and bytes that hash as the hub says.
	req.Header.Set("Accept-Encoding", "identity")
	if c.Token != "" && c.isHub(req.URL) {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

func (c *Client) isHub(u *url.URL) bool {
	e, err := url.Parse(c.Endpoint)
	return err == nil && strings.EqualFold(e.Host, u.Host) && e.Scheme == u.Scheme
}

// statusError says what a non-success answer means, with the hub's own message.
func statusError(resp *http.Response, what string) error {
	msg := resp.Header.Get("X-Error-Message")
	if msg == "" {
		var body struct {
			Error string `json:"error"`
		}
		if json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body) == nil {
			msg = body.Error
		}
	}
	if msg != "" {
		msg = ": " + msg
	}
	hint := ""
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		hint = " (a gated or private repository needs its terms accepted on the hub and HF_TOKEN set)"
	case http.StatusNotFound:
		hint = " (check the repository, the revision and the file name)"
	}
	return &statusErr{code: resp.StatusCode, msg: fmt.Sprintf("hub: %s: %s%s%s", what, resp.Status, msg, hint)}
}

type statusErr struct {
	code int
	msg  string
}

func (e *statusErr) Error() string { return e.msg }

// escapePath escapes each segment of a repository path, keeping its slashes.
func escapePath(p string) string {
	seg := strings.Split(p, "/")
	for i, s := range seg {
		seg[i] = url.PathEscape(s)
	}
	return strings.Join(seg, "/")
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
