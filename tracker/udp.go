package tracker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// UDP tracker protocol constants (BEP 15) and our limits.
const (
	// udpProtocolID is the magic connection id of a connect request.
	udpProtocolID = 0x41727101980
	// udpConnIDLife is how long a connection id is reused. BEP 15: it is
	// valid for one minute; a little less leaves room for clock skew.
	udpConnIDLife = 55 * time.Second
	// udpMaxPackets bounds the packets sent to one tracker in any minute,
	// and in one announce; past it the announce fails and the caller's
	// backoff takes over.
	udpMaxPackets = 8
	// udpWindow is the span udpMaxPackets counts over.
	udpWindow = time.Minute
	// udpMaxURLData is the longest path and query sent as BEP 41 URL data;
	// a longer one is an error, not truncated.
	udpMaxURLData = 4096
	// udpMaxDatagram is the read buffer: the largest UDP payload.
	udpMaxDatagram = 65507
)

// BEP 15 actions, BEP 41 option types, and fixed BEP 15 message sizes.
const (
	actionConnect, actionAnnounce, actionError = 0, 1, 3
	optEnd, optURLData                         = 0, 2

	udpConnectLen  = 16 // connect request and reply
	udpAnnounceLen = 98 // announce request, before BEP 41 options
	udpAnnReplyLen = 20 // announce reply, before the peers
	udpErrorLen    = 8  // error reply, before the message
)

// udpWaits is the default resend schedule: the wait after the n-th send is
// udpWaits[min(n, len-1)]. BEP 15 says 15*2^n seconds, which makes one lost
// packet cost 15 s; starting at one second, it costs about one.
var udpWaits = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 15 * time.Second}

// udpCache is a Client's memory of UDP trackers: the connection id each one
// gave and when packets were sent to it, keyed by the URL's host:port. Its
// mutex guards the map; any announcing goroutine may use it.
type udpCache struct {
	mu    sync.Mutex
	m     map[string]*udpTracker
	waits []time.Duration // resend schedule; nil means udpWaits (tests shorten it)
}

// udpTracker is what the cache keeps for one tracker.
type udpTracker struct {
	id    uint64
	idAt  time.Time   // when id was received; zero when none
	sends []time.Time // send times within the last udpWindow
}

// get returns the entry for key, creating it. The caller holds mu.
func (uc *udpCache) get(key string) *udpTracker {
	if uc.m == nil {
		uc.m = make(map[string]*udpTracker)
	}
	tr := uc.m[key]
	if tr == nil {
		tr = &udpTracker{}
		uc.m[key] = tr
	}
	return tr
}

// connID returns a cached connection id for key younger than
// udpConnIDLife.
func (uc *udpCache) connID(key string, now time.Time) (uint64, bool) {
	uc.mu.Lock()
	defer uc.mu.Unlock()
	tr := uc.get(key)
	if tr.idAt.IsZero() || now.Sub(tr.idAt) >= udpConnIDLife {
		return 0, false
	}
	return tr.id, true
}

// setConnID stores (or with at zero, forgets) the connection id of key.
func (uc *udpCache) setConnID(key string, id uint64, at time.Time) {
	uc.mu.Lock()
	defer uc.mu.Unlock()
	tr := uc.get(key)
	tr.id, tr.idAt = id, at
}

// spend records one packet to key, or reports false when udpMaxPackets
// were already sent to it within udpWindow.
func (uc *udpCache) spend(key string, now time.Time) bool {
	uc.mu.Lock()
	defer uc.mu.Unlock()
	tr := uc.get(key)
	kept := tr.sends[:0]
	for _, s := range tr.sends {
		if now.Sub(s) < udpWindow {
			kept = append(kept, s)
		}
	}
	tr.sends = kept
	if len(kept) >= udpMaxPackets {
		return false
	}
	tr.sends = append(tr.sends, now)
	return true
}

// wait returns how long to wait for an answer after the n-th send (from 0).
func (uc *udpCache) wait(n int) time.Duration {
	w := uc.waits
	if len(w) == 0 {
		w = udpWaits
	}
	return w[min(n, len(w)-1)]
}

// errNoAnswer ends an exchange whose sends ran out without a reply.
var errNoAnswer = errors.New("no answer")

// udpTrip is one announce over one socket. Owned by the Announce call.
type udpTrip struct {
	c     *Client
	key   string // host:port of the URL, the cache key
	conn  *net.UDPConn
	peer  int // compact peer size: 6 for an IPv4 tracker, 18 for IPv6
	sent  int // packets sent in this announce
	buf   []byte
	cache *udpCache
}

// announceUDP announces to a udp:// tracker (BEP 15): connect (or reuse a
// connection id younger than 55 s), then announce with the path and query
// as BEP 41 URL data. Each request is resent after 1, 2, 4, 8 and then every
// 15 s; at most 8 packets go to one tracker in a minute. ctx bounds it all.
func (c *Client) announceUDP(ctx context.Context, u *url.URL, req Request) (*Response, error) {
	key := strings.ToLower(u.Host)
	fail := func(err error) (*Response, error) {
		return nil, fmt.Errorf("tracker: announce %s: %w", u.Host, err)
	}
	urlData := u.EscapedPath()
	if u.RawQuery != "" {
		urlData += "?" + u.RawQuery
	}
	if len(urlData) > udpMaxURLData {
		return fail(fmt.Errorf("path and query of %d bytes exceed %d", len(urlData), udpMaxURLData))
	}
	ap, err := resolveUDP(ctx, u, c.LoopbackOnly)
	if err != nil {
		return fail(err)
	}
	if c.LoopbackOnly && !ap.Addr().Unmap().IsLoopback() {
		return fail(&LoopbackError{Host: ap.Addr().String()})
	}
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	t := &udpTrip{c: c, key: key, conn: conn, peer: compactLen4, buf: make([]byte, udpMaxDatagram), cache: &c.udp}
	if !ap.Addr().Unmap().Is4() {
		t.peer = compactLen6
	}
	r, err := t.announce(ctx, req, urlData)
	if err != nil {
		return fail(err)
	}
	return r, nil
}

// resolveUDP returns the address of the URL's host; the port is required.
// With loopbackOnly, only a loopback IP literal or localhost (as 127.0.0.1,
// not looked up) is taken, and nothing is resolved.
func resolveUDP(ctx context.Context, u *url.URL, loopbackOnly bool) (netip.AddrPort, error) {
	host, port := u.Hostname(), u.Port()
	if host == "" || port == "" {
		return netip.AddrPort{}, fmt.Errorf("udp URL needs a host and a port")
	}
	p, err := net.DefaultResolver.LookupPort(ctx, "udp", port)
	if err != nil || p == 0 {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", port)
	}
	if loopbackOnly {
		addrs, err := loopbackAddrs(host)
		if err != nil {
			return netip.AddrPort{}, err
		}
		return netip.AddrPortFrom(addrs[0].Unmap(), uint16(p)), nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(a.Unmap(), uint16(p)), nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if len(addrs) == 0 {
		return netip.AddrPort{}, fmt.Errorf("no address for %s", host)
	}
	return netip.AddrPortFrom(addrs[0].Unmap(), uint16(p)), nil
}

// announce gets a connection id and sends the announce. An announce with a
// cached id gets one send: a tracker that restarted drops it silently (or
// answers with an error), so then the id is forgotten and the announce
// made again with a fresh one.
func (t *udpTrip) announce(ctx context.Context, req Request, urlData string) (*Response, error) {
	for {
		id, cached := t.cache.connID(t.key, time.Now())
		if !cached {
			var err error
			if id, err = t.connect(ctx); err != nil {
				return nil, err
			}
		}
		sends := 0 // until the packet bounds or ctx end it
		if cached {
			sends = 1
		}
		tid := rand.Uint32()
		pkt := announcePacket(id, tid, req, urlData)
		reply, err := t.exchange(ctx, pkt, tid, actionAnnounce, sends)
		var fe *FailureError
		if cached && (errors.Is(err, errNoAnswer) || errors.As(err, &fe)) {
			t.cache.setConnID(t.key, 0, time.Time{})
			continue
		}
		if err != nil {
			return nil, err
		}
		return parseUDPAnnounce(reply, t.peer, t.c.maxPeers()), nil
	}
}

// connect fetches and caches a new connection id.
func (t *udpTrip) connect(ctx context.Context) (uint64, error) {
	tid := rand.Uint32()
	pkt := make([]byte, udpConnectLen)
	binary.BigEndian.PutUint64(pkt, udpProtocolID)
	binary.BigEndian.PutUint32(pkt[8:], actionConnect)
	binary.BigEndian.PutUint32(pkt[12:], tid)
	reply, err := t.exchange(ctx, pkt, tid, actionConnect, 0)
	if err != nil {
		return 0, err
	}
	id := binary.BigEndian.Uint64(reply)
	t.cache.setConnID(t.key, id, time.Now())
	return id, nil
}

// exchange sends pkt and waits for the reply with transaction id tid and
// the wanted action, resending on the schedule; sends > 0 limits the sends
// (then errNoAnswer). Datagrams that are short, carry another transaction id
// or another action are ignored. An error reply is a *FailureError. It
// returns the reply body after action and transaction id.
func (t *udpTrip) exchange(ctx context.Context, pkt []byte, tid, action uint32, sends int) ([]byte, error) {
	for n := 0; sends == 0 || n < sends; n++ {
		if err := t.send(pkt); err != nil {
			return nil, err
		}
		body, err := t.read(ctx, time.Now().Add(t.cache.wait(n)), tid, action)
		if !errors.Is(err, errNoAnswer) {
			return body, err
		}
	}
	return nil, errNoAnswer
}

// send writes pkt unless the packet bounds are reached.
func (t *udpTrip) send(pkt []byte) error {
	if t.sent >= udpMaxPackets {
		return fmt.Errorf("no answer after %d packets", t.sent)
	}
	if !t.cache.spend(t.key, time.Now()) {
		return fmt.Errorf("%d packets sent in the last %v, not sending more", udpMaxPackets, udpWindow)
	}
	t.sent++
	_, err := t.conn.Write(pkt)
	return err
}

// read waits until deadline for a matching reply: errNoAnswer when the
// deadline passes, ctx's error when it ends.
func (t *udpTrip) read(ctx context.Context, deadline time.Time, tid, action uint32) ([]byte, error) {
	t.conn.SetReadDeadline(deadline)
	if err := ctx.Err(); err != nil {
		return nil, err // after the deadline is set: see AfterFunc above
	}
	for {
		n, err := t.conn.Read(t.buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil, errNoAnswer
			}
			return nil, err
		}
		body, ok, err := matchUDP(t.buf[:n], tid, action)
		if ok {
			return body, err
		}
	}
}
