package tracker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// The loopback guard (Client.LoopbackOnly): announces go to loopback
// addresses only, and no name but localhost is resolved, so no packet, DNS
// query included, leaves the machine. session uses the same check for the
// peers it dials.

// LoopbackEnv names the environment variable that, set to 1, keeps the
// process on loopback: cmd/unworkable reads it once into
// Client.LoopbackOnly and session.HostConfig.LoopbackOnly, and the tests
// and scripts set it (issue 10's network rule: nothing leaves 127.0.0.0/8
// or ::1).
const LoopbackEnv = "UNWORKABLE_LOOPBACK_ONLY"

// LoopbackError is the refusal of an address that is not a loopback one
// while the guard is on: a tracker's here, a peer's in session.
type LoopbackError struct {
	Host string // the address or name refused
}

func (e *LoopbackError) Error() string {
	return fmt.Sprintf("refused: %s=1 and %s is not a loopback address", LoopbackEnv, e.Host)
}

// CheckLoopback returns a *LoopbackError unless host is an IP literal in
// 127.0.0.0/8 or ::1 (IPv4-mapped and zoned forms included) or the name
// localhost. It never resolves a name, so checking sends nothing.
func CheckLoopback(host string) error {
	_, err := loopbackAddrs(host)
	return err
}

// loopbackAddrs returns the addresses to use for host under the guard: an
// IP literal in 127.0.0.0/8 or ::1 (IPv4-mapped and zoned forms included)
// as it is, localhost as 127.0.0.1 and ::1 without asking any resolver;
// anything else is a *LoopbackError. It never resolves a name.
func loopbackAddrs(host string) ([]netip.Addr, error) {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Unmap().IsLoopback() {
			return []netip.Addr{a}, nil
		}
		return nil, &LoopbackError{Host: host}
	}
	if strings.EqualFold(strings.TrimSuffix(h, "."), "localhost") {
		return []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}, nil
	}
	return nil, &LoopbackError{Host: host}
}

// loopbackControl refuses, just before connect, a socket address that is
// not a loopback one: a last check below loopbackDial's.
func loopbackControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("tracker: dial %s: %w", address, err)
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return &LoopbackError{Host: ap.Addr().String()}
	}
	return nil
}

// loopbackDial dials addr (host:port) only at the loopback addresses of
// its host, trying each in turn; it is the guarded transport's DialContext.
func loopbackDial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	addrs, err := loopbackAddrs(host)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: loopbackControl}
	var first error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// guardHTTP returns a copy of hc for the guard: requests and redirects to
// a host that is not loopback are refused before anything is sent, and an
// *http.Transport (hc's, or the default one) is cloned with no proxy and
// loopbackDial as its only way out. Another RoundTripper is kept as it is
// (tests), behind the request and redirect checks.
func guardHTTP(hc *http.Client) *http.Client {
	g := *hc
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if t, ok := rt.(*http.Transport); ok {
		t = t.Clone()
		t.Proxy = nil
		t.DialContext = loopbackDial
		t.DialTLSContext = nil
		rt = t
	}
	g.Transport = rt
	redirect := hc.CheckRedirect
	g.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if _, err := loopbackAddrs(req.URL.Hostname()); err != nil {
			return err
		}
		if redirect != nil {
			return redirect(req, via)
		}
		if len(via) >= 10 { // net/http's default policy
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &g
}
