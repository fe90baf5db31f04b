// Package dicomweb talks to a PACS over DICOMweb (DICOM PS3.18): QIDO-RS
// to search studies and series, WADO-RS to retrieve a series as stored,
// STOW-RS to send objects back. Retrieved series land in a Cache, a folder
// of DICOM files that viewer/study opens like any other.
//
// A PACS is trusted with patient data but not with the machine: every
// answer is bounded in time and size, certificate checks cannot be turned
// off, credentials never follow a redirect to another host, and nothing
// half-received is ever left where it would be opened.
package dicomweb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Auth is how a client proves who it is.
type Auth int

const (
	AuthNone   Auth = iota
	AuthBasic       // HTTP basic: User and Secret (the password)
	AuthBearer      // a bearer token in Secret (OAuth 2, as OHIF and Google's Healthcare API use)
)

func (a Auth) String() string {
	switch a {
	case AuthBasic:
		return "basic"
	case AuthBearer:
		return "bearer"
	}
	return "none"
}

// ParseAuth reads the names String gives.
func ParseAuth(s string) (Auth, error) {
	switch strings.ToLower(s) {
	case "", "none":
		return AuthNone, nil
	case "basic":
		return AuthBasic, nil
	case "bearer", "token":
		return AuthBearer, nil
	}
	return AuthNone, fmt.Errorf("unknown authentication %q (none, basic or bearer)", s)
}

// Server is one DICOMweb endpoint as the user configures it.
type Server struct {
	Name string
	// URL is the base of the QIDO-RS, WADO-RS and STOW-RS services
	// (".../dicom-web"); QIDO, WADO and STOW override it for servers
	// that publish them apart.
	URL              string
	QIDO, WADO, STOW string
	Auth             Auth
	User             string
	// Secret is the password (basic) or token (bearer). It is never
	// saved by this package: the app keeps it in the OS keyring, the CLI
	// takes it from the environment.
	Secret string
	// CAFile is a PEM file of extra certificate authorities (a hospital's
	// own), trusted besides the system's.
	CAFile string
}

// Limits bound what one request may cost.
type Limits struct {
	Connect time.Duration // to open the connection (TCP and TLS)
	Answer  time.Duration // from sending a request to the answer's headers
	Stall   time.Duration // with no byte received while an answer streams
	Query   time.Duration // for a whole search or store answer
	// MaxQuery is the most bytes one search page (JSON) may hold;
	// MaxInstance the most one retrieved image may; MaxSeries the most a
	// whole retrieved series may.
	MaxQuery, MaxInstance, MaxSeries int64
}

// DefaultLimits suit a hospital network: generous for a 2 GB CT series on
// a slow link, yet a dead or hostile server is given up on in a minute.
var DefaultLimits = Limits{
	Connect:     10 * time.Second,
	Answer:      60 * time.Second,
	Stall:       60 * time.Second,
	Query:       2 * time.Minute,
	MaxQuery:    64 << 20,
	MaxInstance: 2 << 30,
	MaxSeries:   32 << 30,
}

// Client is a connection to one Server; it is safe for concurrent use.
type Client struct {
	srv    Server
	limits Limits
	http   *http.Client
}

// New checks the server's settings and makes a client for it.
func New(srv Server, limits Limits) (*Client, error) {
	for _, u := range []*string{&srv.URL, &srv.QIDO, &srv.WADO, &srv.STOW} {
		*u = strings.TrimRight(strings.TrimSpace(*u), "/")
	}
	if srv.URL == "" && (srv.QIDO == "" || srv.WADO == "" || srv.STOW == "") {
		return nil, errors.New("the PACS server has no URL")
	}
	for _, u := range []*string{&srv.QIDO, &srv.WADO, &srv.STOW} {
		if *u == "" {
			*u = srv.URL
		}
		p, err := url.Parse(*u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("%q is not a DICOMweb URL (http:// or https://host/path)", *u)
		}
		if p.User != nil {
			return nil, fmt.Errorf("%s: put the user name and password in the server's authentication settings, not in the URL", p.Redacted())
		}
	}
	if srv.Auth != AuthNone && srv.Secret == "" {
		return nil, fmt.Errorf("%s authentication needs a %s", srv.Auth, map[Auth]string{AuthBasic: "password", AuthBearer: "token"}[srv.Auth])
	}
	if srv.Auth == AuthBasic && srv.User == "" {
		return nil, errors.New("basic authentication needs a user name")
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if srv.CAFile != "" {
		pem, err := os.ReadFile(srv.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read the CA certificate file: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", srv.CAFile)
		}
	}
	dialer := &net.Dialer{Timeout: limits.Connect, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    limits.Connect,
		ResponseHeaderTimeout:  limits.Answer,
		MaxResponseHeaderBytes: 1 << 20,
		ForceAttemptHTTP2:      true,
		IdleConnTimeout:        90 * time.Second,
	}
	c := &Client{srv: srv, limits: limits}
	c.http = &http.Client{Transport: tr, CheckRedirect: sameHost}
	return c, nil
}

// sameHost follows a redirect only within the host first asked: a PACS
// that sends its users elsewhere would send their credentials and queries
// (patient names) there too.
func sameHost(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if req.URL.Host != first.Host || (first.Scheme == "https" && req.URL.Scheme != "https") {
		return fmt.Errorf("the server redirected to %s://%s; a redirect to another host is refused", req.URL.Scheme, req.URL.Host)
	}
	if len(via) >= 5 {
		return errors.New("the server redirected more than 5 times")
	}
	return nil
}

// Server is the client's server as configured (with the secret).
func (c *Client) Server() Server { return c.srv }

// request sends one request and returns the answer when its status is 2xx,
// else an error that says in plain words what went wrong. The body it
// returns stops the request when no byte arrives for Limits.Stall.
func (c *Client) request(ctx context.Context, method, u, accept string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "segvol")
	switch c.srv.Auth {
	case AuthBasic:
		req.SetBasicAuth(c.srv.User, c.srv.Secret)
	case AuthBearer:
		req.Header.Set("Authorization", "Bearer "+c.srv.Secret)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.explain(ctx, req, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return nil, &StatusError{Code: resp.StatusCode, Method: method, URL: req.URL.Redacted(), Body: oneLine(string(msg)), NoLogin: c.srv.Auth == AuthNone}
	}
	return resp, nil
}

// StatusError is an answer with a status other than 2xx.
type StatusError struct {
	Code        int
	Method, URL string
	Body        string // the start of the server's explanation, if any
	// NoLogin: the request carried no credentials, so a 401 asks for a
	// login rather than refusing one.
	NoLogin bool
}

func (e *StatusError) Error() string {
	what := ""
	switch e.Code {
	case http.StatusUnauthorized:
		what = ": the user name, password or token was refused"
		if e.NoLogin {
			what = ": the server asks for a login, and none is set (choose basic or bearer authentication)"
		}
	case http.StatusForbidden:
		what = ": refused, this user or token may not do that"
	case http.StatusNotFound:
		what = ": not found (check the server's DICOMweb URL)"
	case http.StatusNotAcceptable, http.StatusUnsupportedMediaType:
		what = ": the server cannot send or take this format"
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		what = ": the server is unavailable, try again later"
	}
	// The path, not the query: a search's includefield list ran to five
	// lines of Test connection's answer before the words that mattered.
	path, _, _ := strings.Cut(e.URL, "?")
	s := fmt.Sprintf("PACS answered %d %s to %s %s%s", e.Code, http.StatusText(e.Code), e.Method, path, what)
	if e.Body != "" {
		s += " (" + e.Body + ")"
	}
	return s
}

// explain turns a transport error into a sentence a user can act on.
func (c *Client) explain(ctx context.Context, req *http.Request, err error) error {
	host := req.URL.Host
	if cause := context.Cause(ctx); cause != nil && cause != context.Canceled && cause != context.DeadlineExceeded {
		return cause
	}
	if ctx.Err() == context.Canceled {
		return fmt.Errorf("cancelled: %w", context.Canceled)
	}
	var (
		opErr   *net.OpError
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host509 x509.HostnameError
		netErr  net.Error
	)
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Errorf("cannot find the PACS host %s (%v)", host, dnsErr.Err)
	case errors.As(err, &unknown), errors.As(err, &certErr) && errors.As(certErr.Err, &unknown):
		return fmt.Errorf("the certificate of %s is not signed by a trusted authority; add your hospital's CA certificate file in the server's settings", host)
	case errors.As(err, &host509):
		return fmt.Errorf("the certificate of %s is for another host (%v)", host, host509.Error())
	case errors.As(err, &certErr):
		return fmt.Errorf("the certificate of %s cannot be trusted: %v", host, certErr.Err)
	case errors.As(err, &netErr) && netErr.Timeout():
		limit := c.limits.Connect
		if strings.Contains(err.Error(), "awaiting response headers") {
			limit = c.limits.Answer
		}
		return fmt.Errorf("the PACS at %s did not answer in time (limit %v)", host, limit)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Errorf("cannot reach the PACS at %s: %v (is the server running and the URL right?)", host, opErr.Err)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("PACS at %s: %w", host, uerr.Err)
	}
	return fmt.Errorf("PACS at %s: %w", host, err)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// stallGuard cancels a request when its body stops delivering bytes for d:
// a server that hangs mid-answer is given up on, however long the whole
// answer would rightly take.
type stallGuard struct {
	r      io.Reader
	d      time.Duration
	once   sync.Once
	timer  *time.Timer
	cancel context.CancelCauseFunc
}

var errStalled = errors.New("the PACS stopped sending")

func newStallGuard(r io.Reader, d time.Duration, cancel context.CancelCauseFunc) *stallGuard {
	g := &stallGuard{r: r, d: d, cancel: cancel}
	g.timer = time.AfterFunc(d, func() {
		cancel(fmt.Errorf("%w: no data for %v", errStalled, d))
	})
	return g
}

func (g *stallGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if n > 0 {
		g.timer.Reset(g.d)
	}
	return n, err
}

func (g *stallGuard) stop() { g.timer.Stop() }

// errTooBig is what a capped reader returns past its limit.
type errTooBig struct {
	what  string
	limit int64
}

func (e errTooBig) Error() string {
	return fmt.Sprintf("the PACS sent more than %s for %s: stopped", sizeString(e.limit), e.what)
}

// capped reads at most limit bytes of r and fails, rather than stopping
// quietly, when r has more.
type capped struct {
	r    io.Reader
	left int64
	err  errTooBig
}

func newCapped(r io.Reader, limit int64, what string) *capped {
	return &capped{r: r, left: limit, err: errTooBig{what, limit}}
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a stream that ends exactly at the limit
		// from one that goes on.
		var b [1]byte
		if n, _ := c.r.Read(b[:]); n > 0 {
			return 0, c.err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
