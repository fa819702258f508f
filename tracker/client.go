package tracker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Client limits and defaults.
const (
	// DefaultMaxBody is the largest response body read when Client.MaxBody
	// is 0. Real responses are a few kilobytes; this bounds memory.
	DefaultMaxBody = 4 << 20
	// DefaultMaxPeers is the number of peers kept from one response when
	// Client.MaxPeers is 0.
	DefaultMaxPeers = 2000
	// DefaultTimeout bounds one whole announce, redirects included.
	DefaultTimeout = 30 * time.Second
	// MaxRedirects is how many redirects an announce follows.
	MaxRedirects = 5
)

// Client sends HTTP(S) and UDP (BEP 15) announces. Its fields may be set
// after NewClient and must not change while announces are in flight; then a
// Client is safe for concurrent use. A zero Client works with the defaults.
// It remembers UDP connection ids, so it must not be copied after first use.
type Client struct {
	// HTTP does the requests; nil means a client built like NewClient's.
	HTTP *http.Client
	// MaxBody is the most response bytes read (default 4 MiB); a larger
	// body is an error.
	MaxBody int64
	// MaxPeers is the most peers kept from one response (default 2000);
	// the rest are dropped, which is not an error.
	MaxPeers int
	// UserAgent is sent as the User-Agent header when non-empty.
	UserAgent string
	// LoopbackOnly refuses every tracker that is not at a loopback address
	// (an IP literal in 127.0.0.0/8 or ::1, or the name localhost, which is
	// never looked up) with a *LoopbackError, before anything is sent or
	// resolved; redirects included (UNWORKABLE_LOOPBACK_ONLY=1).
	LoopbackOnly bool

	// guarded is the HTTP client used under LoopbackOnly, made from HTTP
	// on first use.
	guarded struct {
		once sync.Once
		hc   *http.Client
	}
	// udp caches UDP trackers' connection ids and packet counts.
	udp udpCache
}

// defaultHTTP serves Clients whose HTTP field is nil.
var defaultHTTP = newHTTPClient()

// NewClient returns a Client with a 30 s overall timeout per announce and at
// most 5 redirects followed (a redirect loop is an error).
func NewClient(userAgent string) *Client {
	return &Client{
		HTTP:      newHTTPClient(),
		MaxBody:   DefaultMaxBody,
		MaxPeers:  DefaultMaxPeers,
		UserAgent: userAgent,
	}
}

func newHTTPClient() *http.Client {
	return &http.Client{Timeout: DefaultTimeout, CheckRedirect: checkRedirect}
}

// checkRedirect refuses a redirect back to a URL already visited, and stops
// after MaxRedirects.
func checkRedirect(req *http.Request, via []*http.Request) error {
	for _, v := range via {
		if v.URL.String() == req.URL.String() {
			return fmt.Errorf("tracker: redirect loop at %s", req.URL.Redacted())
		}
	}
	if len(via) > MaxRedirects {
		return fmt.Errorf("tracker: stopped after %d redirects", MaxRedirects)
	}
	return nil
}

// CheckURL returns the error Announce would give rawURL before sending
// anything: it is not a URL, or its scheme is none we speak (wrapping
// ErrUnsupported), so that a caller can tell the user at once.
func CheckURL(rawURL string) error {
	_, err := parseURL(rawURL)
	return err
}

// parseURL parses a tracker URL and checks its scheme.
func parseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("tracker: announce: %w", err)
	}
	if u.Scheme != "udp" && u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w %q", ErrUnsupported, u.Scheme)
	}
	return u, nil
}

// Announce sends one announce to the http(s) or udp URL rawURL and decodes
// the answer. Other schemes return an error wrapping ErrUnsupported. Any
// query already in the URL is kept (for udp, sent as BEP 41 URL data). A
// `failure reason` (udp: an error reply) gives a *FailureError, even on a
// non-200 status; any other non-200 status is an error.
func (c *Client) Announce(ctx context.Context, rawURL string, req Request) (*Response, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if c.LoopbackOnly {
		if _, err := loopbackAddrs(u.Hostname()); err != nil {
			return nil, fmt.Errorf("tracker: announce %s: %w", u.Host, err)
		}
	}
	if u.Scheme == "udp" {
		return c.announceUDP(ctx, u, req)
	}
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += Query(req)
	u.Fragment, u.RawFragment = "", ""
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("tracker: announce %s: %w", u.Host, err)
	}
	if c.UserAgent != "" {
		hreq.Header.Set("User-Agent", c.UserAgent)
	}
	return c.do(hreq)
}

// do runs the request and decodes the body.
func (c *Client) do(hreq *http.Request) (*Response, error) {
	resp, err := c.httpClient().Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("tracker: announce %s: %w", hreq.URL.Host, err)
	}
	defer resp.Body.Close()
	body, err := readBody(resp, c.maxBody())
	if err != nil {
		return nil, fmt.Errorf("tracker: announce %s: %w", hreq.URL.Host, err)
	}
	r, err := parseResponse(body, c.maxPeers())
	var fe *FailureError
	if resp.StatusCode != http.StatusOK && !errors.As(err, &fe) {
		return nil, fmt.Errorf("tracker: announce %s: HTTP status %s", hreq.URL.Host, resp.Status)
	}
	return r, err
}

// readBody reads at most max bytes of the body; a longer body (announced by
// Content-Length or found while reading) is an error.
func readBody(resp *http.Response, max int64) ([]byte, error) {
	if resp.ContentLength > max {
		return nil, fmt.Errorf("response body of %d bytes exceeds limit %d", resp.ContentLength, max)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("response body exceeds limit %d", max)
	}
	return body, nil
}

// httpClient returns the HTTP client of an announce: HTTP (or the default),
// or under LoopbackOnly its guarded copy.
func (c *Client) httpClient() *http.Client {
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	if !c.LoopbackOnly {
		return hc
	}
	c.guarded.once.Do(func() { c.guarded.hc = guardHTTP(hc) })
	return c.guarded.hc
}

func (c *Client) maxBody() int64 {
	if c.MaxBody > 0 {
		return c.MaxBody
	}
	return DefaultMaxBody
}

func (c *Client) maxPeers() int {
	if c.MaxPeers > 0 {
		return c.MaxPeers
	}
	return DefaultMaxPeers
}

// Query returns the announce parameters of req as a raw query string
// (without a leading '?'): info_hash, peer_id, trackerid and ip
// percent-encoded byte by byte (a space as %20: trackers such as
// opentracker read '+' literally), compact=1, and event, numwant,
// trackerid, ip, supportcrypto and requirecrypto only when set.
func Query(req Request) string {
	var b strings.Builder
	b.WriteString("info_hash=")
	escapeBytes(&b, req.InfoHash[:])
	b.WriteString("&peer_id=")
	escapeBytes(&b, req.PeerID[:])
	fmt.Fprintf(&b, "&port=%d&uploaded=%d&downloaded=%d&left=%d&compact=1&key=%08x",
		req.Port, req.Uploaded, req.Downloaded, req.Left, req.Key)
	if req.Event != None {
		b.WriteString("&event=" + req.Event.String())
	}
	if req.NumWant >= 0 {
		b.WriteString("&numwant=" + strconv.Itoa(req.NumWant))
	}
	if req.TrackerID != "" {
		b.WriteString("&trackerid=")
		escapeBytes(&b, []byte(req.TrackerID))
	}
	if req.IP != "" {
		b.WriteString("&ip=")
		escapeBytes(&b, []byte(req.IP))
	}
	if req.Crypto >= SupportCrypto {
		b.WriteString("&supportcrypto=1")
	}
	if req.Crypto == RequireCrypto {
		b.WriteString("&requirecrypto=1")
	}
	return b.String()
}

// escapeBytes percent-encodes raw bytes: RFC 3986 unreserved characters stay
// literal, every other byte becomes %XX (BEP 3: info_hash and peer_id are
// raw 20-byte strings, escaped byte by byte).
func escapeBytes(b *strings.Builder, raw []byte) {
	const hex = "0123456789ABCDEF"
	for _, c := range raw {
		if isUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

// isUnreserved reports whether c is an RFC 3986 unreserved character.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
