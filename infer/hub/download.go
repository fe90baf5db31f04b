package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Result is one downloaded file.
type Result struct {
	Path   string // the file written
	Size   int64
	SHA256 string // hex SHA-256 of the bytes written (for a manifest)
	Commit string // the commit the revision resolved to
}

// attemptsWithoutProgress is how many attempts in a row may fail without a
// byte gained before Download gives up; one that gains bytes resets the count.
const attemptsWithoutProgress = 4

// Download fetches path (slash-separated) of repo at revision ("" is main)
// into dir, keeping the path's folders. The bytes go to a .part file beside
// the destination, hashed as they stream; the destination is replaced only
// when their size and hash match what the hub reports (SHA-256 for an LFS
// file, the git blob id for a small one), so it is never left half written.
//
// A broken connection is resumed with an HTTP Range request (a server that
// answers 200 instead of 206 is read again from the start). Cancelling ctx, or
// a connection that stays down, or an HTTP error (an expired CDN link) keeps
// the .part file, and a later Download of the same file resumes from it; its
// name carries the start of the file's hash, so a changed file is never
// resumed from old bytes. A file that does not match is an error naming the
// file, the expected and the received value, and its .part file is removed.
//
// progress, if not nil, is told the bytes done and the total, from the
// calling goroutine, after each block received.
func (c *Client) Download(ctx context.Context, repo, revision, path, dir string, progress func(done, total int64)) (Result, error) {
	local := filepath.FromSlash(path)
	if !filepath.IsLocal(local) || strings.Contains(path, `\`) {
		return Result{}, fmt.Errorf("hub: %q is not a file path inside the repository", path)
	}
	dest := filepath.Join(dir, local)
	meta, err := c.Metadata(ctx, repo, revision, path)
	if err != nil {
		return Result{}, err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return Result{}, fmt.Errorf("hub: %w", err)
	}
	part := dest + "." + meta.ETag[:12] + ".part"
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return Result{}, fmt.Errorf("hub: %w", err)
	}
	s := &sink{f: f, path: path, meta: meta, progress: progress}
	keep, err := c.fill(ctx, s)
	if err == nil {
		err = s.verify()
	}
	if err == nil {
		err = f.Sync() // the bytes reach the disk before the name does
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(part, dest)
	}
	if err != nil {
		if !keep || s.n == 0 {
			os.Remove(part)
		}
		return Result{}, err
	}
	return Result{Path: dest, Size: meta.Size, SHA256: hex.EncodeToString(s.sha256.Sum(nil)), Commit: meta.Commit}, nil
}

// fill brings the .part file to the size the hub reports, resuming what an
// earlier call left in it. keep tells whether the bytes so far are worth
// resuming from after an error (the connection went away, or ctx ended).
func (c *Client) fill(ctx context.Context, s *sink) (keep bool, err error) {
	s.reset()
	// Hash what an earlier attempt left, to resume after it.
	if _, err := io.Copy(s.hashes(), s.f); err != nil {
		return false, fmt.Errorf("hub: %w", err)
	}
	if s.n, err = s.f.Seek(0, io.SeekCurrent); err != nil {
		return false, fmt.Errorf("hub: %w", err)
	}
	if s.n > s.meta.Size {
		if err := s.restart(); err != nil {
			return false, err
		}
	}
	failures := 0
	for s.n < s.meta.Size {
		before := s.n
		err := c.fetch(ctx, s)
		if ctx.Err() != nil {
			return true, fmt.Errorf("hub: %s: %w", s.path, ctx.Err())
		}
		if err == nil && s.n < s.meta.Size {
			err = fmt.Errorf("hub: %s: the connection ended at %d of %d bytes", s.path, s.n, s.meta.Size)
		}
		if err == nil {
			break
		}
		var pe *permanentErr
		if errors.As(err, &pe) {
			return !pe.discard, err
		}
		if s.n > before {
			failures = 0
		} else if failures++; failures >= attemptsWithoutProgress {
			return true, err
		}
		select {
		case <-ctx.Done():
			return true, fmt.Errorf("hub: %s: %w", s.path, ctx.Err())
		case <-time.After(time.Duration(failures) * c.retryWait):
		}
	}
	return false, nil
}

// fetch makes one GET of the file's bytes from where s stands.
func (c *Client) fetch(ctx context.Context, s *sink) error {
	req, err := c.request(ctx, http.MethodGet, s.meta.Location)
	if err != nil {
		return &permanentErr{err: err}
	}
	if s.n > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(s.n, 10)+"-")
	}
	// Go's client drops Authorization on a redirect to another domain, but
	// keeps it for a subdomain (cdn-lfs.huggingface.co): drop it off the hub.
	client := *c.HTTP
	client.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		if !c.isHub(r.URL) {
			r.Header.Del("Authorization")
		}
		return nil
	}
	// A connection that stalls (a proxy that hangs) is cut and resumed like a broken one.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wait := c.idleTimeout
	if wait == 0 {
		wait = time.Minute
	}
	idle := time.AfterFunc(wait, cancel)
	defer idle.Stop()
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("hub: %s: %w", s.path, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && s.n > 0:
		if start := rangeStart(resp.Header.Get("Content-Range")); start != s.n {
			return &permanentErr{err: fmt.Errorf("hub: %s: asked for the bytes from %d, the server sent them from %d (Content-Range %q)",
				s.path, s.n, start, resp.Header.Get("Content-Range"))}
		}
	case resp.StatusCode == http.StatusOK:
		if s.n > 0 { // the server ignored the Range: read it all again
			if err := s.restart(); err != nil {
				return err
			}
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return &permanentErr{s.sizeMismatch(s.n), true}
	default:
		err := statusError(resp, s.path)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return err
		}
		// An expired CDN link, say: the bytes so far stay, for a later Download.
		return &permanentErr{err: err}
	}
	_, err = io.CopyBuffer(s, &idleReader{resp.Body, idle, wait}, make([]byte, 256<<10))
	if err != nil && !idle.Stop() {
		err = fmt.Errorf("no data for %v: %w", wait, err)
	}
	if err != nil && !errors.As(err, new(*permanentErr)) {
		err = fmt.Errorf("hub: %s: %w", s.path, err)
	}
	return err
}

// idleReader restarts the idle timer each time bytes arrive.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	d     time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.timer.Reset(r.d)
	}
	return n, err
}

// rangeStart reads N of "bytes N-M/T", or -1.
func rangeStart(cr string) int64 {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	first, _, ok2 := strings.Cut(rest, "-")
	n, err := strconv.ParseInt(first, 10, 64)
	if !ok || !ok2 || err != nil {
		return -1
	}
	return n
}

// sink is the .part file with the hashes of what is in it.
type sink struct {
	f        *os.File
	path     string
	meta     Metadata
	progress func(done, total int64)
	n        int64
	sha256   hash.Hash
	gitSHA1  hash.Hash // the git blob id, for a file that has no SHA-256
}

func (s *sink) reset() {
	s.n = 0
	s.sha256 = sha256.New()
	s.gitSHA1 = nil
	if !s.meta.LFS() {
		s.gitSHA1 = sha1.New()
		fmt.Fprintf(s.gitSHA1, "blob %d\x00", s.meta.Size)
	}
}

func (s *sink) hashes() io.Writer {
	if s.gitSHA1 == nil {
		return s.sha256
	}
	return io.MultiWriter(s.sha256, s.gitSHA1)
}

// restart empties the file to read it again from its first byte.
func (s *sink) restart() error {
	s.reset()
	if err := s.f.Truncate(0); err != nil {
		return &permanentErr{fmt.Errorf("hub: %w", err), true}
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return &permanentErr{fmt.Errorf("hub: %w", err), true}
	}
	if s.progress != nil {
		s.progress(0, s.meta.Size)
	}
	return nil
}

func (s *sink) Write(p []byte) (int, error) {
	if s.n+int64(len(p)) > s.meta.Size {
		return 0, &permanentErr{fmt.Errorf("hub: %s: the server sends more than the %d bytes the hub reports", s.path, s.meta.Size), true}
	}
	n, err := s.f.Write(p)
	s.hashes().Write(p[:n])
	s.n += int64(n)
	if s.progress != nil {
		s.progress(s.n, s.meta.Size)
	}
	if err != nil {
		err = &permanentErr{fmt.Errorf("hub: %w", err), true} // a full disk, say
	}
	return n, err
}

func (s *sink) sizeMismatch(got int64) error {
	return fmt.Errorf("hub: %s: size mismatch: the hub reports %d bytes, the server has %d", s.path, s.meta.Size, got)
}

// verify checks the whole file against the hash the hub reported.
func (s *sink) verify() error {
	if s.n != s.meta.Size {
		return s.sizeMismatch(s.n)
	}
	kind, h := "SHA-256", s.sha256
	if s.gitSHA1 != nil {
		kind, h = "git blob id", s.gitSHA1
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != s.meta.ETag {
		return fmt.Errorf("hub: %s: %s mismatch: the hub reports %s, the download has %s", s.path, kind, s.meta.ETag, got)
	}
	return nil
}

// permanentErr is a failure that another attempt would not mend; discard
// tells that the bytes received are not worth resuming from.
type permanentErr struct {
	err     error
	discard bool
}

func (e *permanentErr) Error() string { return e.err.Error() }
func (e *permanentErr) Unwrap() error { return e.err }
