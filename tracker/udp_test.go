package tracker

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeUDP is a UDP tracker (BEP 15, BEP 41) on loopback. Its settings are
// set before serveUDP or under mu; its goroutine owns the socket.
type fakeUDP struct {
	t    *testing.T
	conn *net.UDPConn
	url  string

	mu      sync.Mutex
	id      uint64                    // connection id handed out and required
	drop    int                       // datagrams still to ignore
	silent  bool                      // answer nothing
	peers   []byte                    // compact peers of every announce reply
	failure string                    // when set, announces get an error reply
	junk    func(tid uint32) [][]byte // datagrams sent before each real reply
	packets int                       // datagrams received
	conns   int                       // connect requests answered
	anns    []fakeAnnounce            // announces answered
}

// fakeAnnounce is one announce request as the fake decoded it.
type fakeAnnounce struct {
	size                       int
	infoHash, peerID           [20]byte
	downloaded, left, uploaded uint64
	event, ip, key             uint32
	numWant                    int32
	port                       uint16
	urlData                    string
	chunks                     []int // lengths of the URL data options
}

// serveUDP starts a fake tracker on network ("udp4" or "udp6") at addr and
// returns it; the URL's path is /announce.
func serveUDP(t *testing.T, network, addr string) *fakeUDP {
	t.Helper()
	conn, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeUDP{t: t, conn: conn, id: 0x1122334455667788, url: "udp://" + conn.LocalAddr().String() + "/announce"}
	done := make(chan struct{})
	go f.run(done)
	t.Cleanup(func() { conn.Close(); <-done })
	return f
}

// run answers datagrams until the socket closes.
func (f *fakeUDP) run(done chan struct{}) {
	defer close(done)
	buf := make([]byte, 65536)
	for {
		n, from, err := f.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		for _, out := range f.handle(buf[:n]) {
			f.conn.WriteToUDPAddrPort(out, from)
		}
	}
}

// handle returns the datagrams answering pkt.
func (f *fakeUDP) handle(pkt []byte) [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.packets++
	if f.drop > 0 {
		f.drop--
		return nil
	}
	if f.silent || len(pkt) < 16 {
		return nil
	}
	be := binary.BigEndian
	id, action, tid := be.Uint64(pkt), be.Uint32(pkt[8:]), be.Uint32(pkt[12:])
	var out [][]byte
	if f.junk != nil {
		out = f.junk(tid)
	}
	switch {
	case action == actionConnect && id == udpProtocolID:
		f.conns++
		return append(out, be.AppendUint64(udpHead(actionConnect, tid), f.id))
	case action == actionAnnounce && id == f.id && len(pkt) >= udpAnnounceLen:
		f.anns = append(f.anns, f.parseAnnounce(pkt))
		if f.failure != "" {
			return append(out, append(udpHead(actionError, tid), f.failure...))
		}
		r := udpHead(actionAnnounce, tid)
		r = be.AppendUint32(r, 1800)
		r = be.AppendUint32(r, 3)
		r = be.AppendUint32(r, 7)
		return append(out, append(r, f.peers...))
	}
	return nil
}

// parseAnnounce decodes an announce request and its BEP 41 options.
func (f *fakeUDP) parseAnnounce(pkt []byte) fakeAnnounce {
	be := binary.BigEndian
	a := fakeAnnounce{
		size: len(pkt), downloaded: be.Uint64(pkt[56:]), left: be.Uint64(pkt[64:]), uploaded: be.Uint64(pkt[72:]),
		event: be.Uint32(pkt[80:]), ip: be.Uint32(pkt[84:]), key: be.Uint32(pkt[88:]),
		numWant: int32(be.Uint32(pkt[92:])), port: be.Uint16(pkt[96:]),
	}
	copy(a.infoHash[:], pkt[16:])
	copy(a.peerID[:], pkt[36:])
	opts := pkt[udpAnnounceLen:]
	for len(opts) > 0 {
		switch opts[0] {
		case optEnd:
			if len(opts) != 1 {
				f.t.Errorf("%d bytes after the end of options", len(opts)-1)
			}
			return a
		case 1: // NOP
			opts = opts[1:]
		case optURLData:
			if len(opts) < 2 || len(opts) < 2+int(opts[1]) {
				f.t.Errorf("truncated URL data option %q", opts)
				return a
			}
			n := int(opts[1])
			a.urlData += string(opts[2 : 2+n])
			a.chunks = append(a.chunks, n)
			opts = opts[2+n:]
		default:
			f.t.Errorf("unknown option %d", opts[0])
			return a
		}
	}
	if len(pkt) > udpAnnounceLen {
		f.t.Errorf("options without an end of options")
	}
	return a
}

// udpHead returns a reply header: action and transaction id.
func udpHead(action, tid uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, action), tid)
}

// set changes the fake under its mutex.
func (f *fakeUDP) set(fn func(f *fakeUDP)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// counts returns the datagrams, connects and announces seen so far.
func (f *fakeUDP) counts() (packets, conns int, anns []fakeAnnounce) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.packets, f.conns, slices.Clone(f.anns)
}

// compactOf encodes peers in the compact format of their address family.
func compactOf(peers ...string) []byte {
	var b []byte
	for _, p := range peers {
		ap := netip.MustParseAddrPort(p)
		b = append(b, ap.Addr().AsSlice()...)
		b = binary.BigEndian.AppendUint16(b, ap.Port())
	}
	return b
}

// announceOnce announces req to f with a fresh Client, failing the test on
// error, and returns the response and the announce the fake saw.
func announceOnce(t *testing.T, f *fakeUDP, req Request) (*Response, fakeAnnounce) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := (&Client{}).Announce(ctx, f.url, req)
	if err != nil {
		t.Fatalf("Announce: %v", err)
	}
	_, _, anns := f.counts()
	if len(anns) == 0 {
		t.Fatal("the tracker saw no announce")
	}
	return r, anns[len(anns)-1]
}

func TestUDPAnnounce(t *testing.T) {
	f := serveUDP(t, "udp4", "127.0.0.1:0")
	f.set(func(f *fakeUDP) { f.peers = compactOf("1.2.3.4:6881", "5.6.7.8:80", "1.2.3.4:6881", "9.9.9.9:0") })
	req := testRequest()
	r, a := announceOnce(t, f, req)
	want := []netip.AddrPort{netip.MustParseAddrPort("1.2.3.4:6881"), netip.MustParseAddrPort("5.6.7.8:80")}
	if !slices.Equal(r.Peers, want) || r.Interval != 1800*time.Second || r.Complete != 7 || r.Incomplete != 3 {
		t.Errorf("response %+v, want peers %v, interval 30m, 7 seeders, 3 leechers", r, want)
	}
	if a.infoHash != req.InfoHash || a.peerID != req.PeerID || a.port != req.Port || a.ip != 0 ||
		a.downloaded != 2 || a.left != 1<<40 || a.uploaded != 1 || a.key != 0xbeef || a.numWant != 50 {
		t.Errorf("tracker saw %+v for %+v", a, req)
	}
	if a.urlData != "/announce" || a.size != udpAnnounceLen+2+len("/announce")+1 {
		t.Errorf("URL data %q in %d bytes, want /announce and the end of options", a.urlData, a.size)
	}
}

func TestUDPAnnounceIPv6(t *testing.T) {
	probe, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback on this machine (%v): the IPv6 tracker case cannot run", err)
	}
	probe.Close()
	f := serveUDP(t, "udp6", "[::1]:0")
	f.set(func(f *fakeUDP) { f.peers = compactOf("[2001:db8::1]:6881", "[::ffff:1.2.3.4]:80", "[2001:db8::2]:0") })
	r, _ := announceOnce(t, f, testRequest())
	want := []netip.AddrPort{netip.MustParseAddrPort("[2001:db8::1]:6881"), netip.MustParseAddrPort("1.2.3.4:80")}
	if !slices.Equal(r.Peers, want) {
		t.Errorf("peers %v, want %v (18-byte entries from an IPv6 tracker)", r.Peers, want)
	}
}

func TestUDPAnnounceFields(t *testing.T) {
	tests := []struct {
		name    string
		event   Event
		numWant int
		wantEv  uint32
		wantNum int32
	}{
		{"none", None, 50, 0, 50},
		{"completed", Completed, 0, 1, 0},
		{"started", Started, 200, 2, 200},
		{"stopped", Stopped, -1, 3, -1},
	}
	f := serveUDP(t, "udp4", "127.0.0.1:0")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := testRequest()
			req.Event, req.NumWant, req.Key = tt.event, tt.numWant, 0xdeadbeef
			_, a := announceOnce(t, f, req)
			if a.event != tt.wantEv || a.numWant != tt.wantNum || a.key != 0xdeadbeef {
				t.Errorf("event %d, num_want %d, key %#x; want %d, %d, 0xdeadbeef", a.event, a.numWant, a.key, tt.wantEv, tt.wantNum)
			}
		})
	}
}

func TestUDPAnnounceFailure(t *testing.T) {
	f := serveUDP(t, "udp4", "127.0.0.1:0")
	f.set(func(f *fakeUDP) { f.failure = "torrent not registered" })
	c := &Client{}
	for i := range 2 {
		_, err := c.Announce(context.Background(), f.url, testRequest())
		var fe *FailureError
		if !errors.As(err, &fe) || fe.Reason != "torrent not registered" {
			t.Errorf("announce %d: err = %v, want a *FailureError with the tracker's message", i, err)
		}
	}
	// The second announce tried its cached id, then a fresh one: the error
	// may have been about the id.
	if _, conns, anns := f.counts(); conns != 2 || len(anns) != 3 {
		t.Errorf("%d connects, %d announces; want 2, 3", conns, len(anns))
	}
}

// TestUDPAnnounceLostPacket: the tracker ignores the first datagram; the
// connect is resent after one second, not BEP 15's fifteen.
func TestUDPAnnounceLostPacket(t *testing.T) {
	f := serveUDP(t, "udp4", "127.0.0.1:0")
	f.set(func(f *fakeUDP) { f.drop = 1 })
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := (&Client{}).Announce(ctx, f.url, testRequest()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("announce took %v after one lost packet, want about 1 s", d)
	}
	if p, _, _ := f.counts(); p != 3 {
		t.Errorf("tracker got %d datagrams, want 3 (connect twice, announce)", p)
	}
}

// TestUDPAnnounceJunk: replies with another transaction id or action, or
// shorter than their header, are ignored without a resend.
func TestUDPAnnounceJunk(t *testing.T) {
	f := serveUDP(t, "udp4", "127.0.0.1:0")
	junk := func(tid uint32) [][]byte {
		be := binary.BigEndian
		wrongTid := be.AppendUint32(be.AppendUint64(udpHead(actionConnect, tid+1), 1), 0)
		full := append(be.AppendUint32(be.AppendUint32(be.AppendUint32(udpHead(actionAnnounce, tid+1), 1), 1), 1),
			compactOf("6.6.6.6:666")...)
		return [][]byte{
			{1, 2, 3},
			udpHead(actionAnnounce, tid)[:7],
			wrongTid,
			full,
			append(udpHead(actionError, tid+1), "not you"...),
			udpHead(actionConnect, tid),      // right id, header only
			udpHead(actionAnnounce, tid),     // right id, no interval
			append(udpHead(2, tid), 0, 0, 0), // a scrape reply
		}
	}
	f.set(func(f *fakeUDP) {
		f.peers = compactOf("1.2.3.4:6881", "5.6.7.8:80")[:9] // a partial second entry is ignored
		f.junk = junk
	})
	start := time.Now()
	r, _ := announceOnce(t, f, testRequest())
	if want := []netip.AddrPort{netip.MustParseAddrPort("1.2.3.4:6881")}; !slices.Equal(r.Peers, want) {
		t.Errorf("peers %v, want %v", r.Peers, want)
	}
	if p, _, _ := f.counts(); p != 2 || time.Since(start) > time.Second {
		t.Errorf("%d datagrams sent in %v, want 2 at once", p, time.Since(start))
	}
}

func TestUDPAnnounceMaxPeers(t *testing.T) {
	f := serveUDP(t, "udp4", "127.0.0.1:0")
	f.set(func(f *fakeUDP) { f.peers = compactOf("1.1.1.1:1", "2.2.2.2:2", "3.3.3.3:3") })
	r, err := (&Client{MaxPeers: 2}).Announce(context.Background(), f.url, testRequest())
	if err != nil || len(r.Peers) != 2 {
		t.Fatalf("Announce = %+v, %v; want 2 peers", r, err)
	}
}

// TestUDPConnectionID: a connection id is reused within its minute, a new
// one is fetched after 55 s, and a stale id (a restarted tracker ignores
// it) is replaced at once.
func TestUDPConnectionID(t *testing.T) {
	f := serveUDP(t, "udp4", "127.0.0.1:0")
	c := &Client{}
	announce := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := c.Announce(ctx, f.url, testRequest()); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		announce()
	}
	if _, conns, anns := f.counts(); conns != 1 || len(anns) != 3 {
		t.Errorf("%d connects for %d announces, want 1 for 3", conns, len(anns))
	}
	key := strings.TrimSuffix(strings.TrimPrefix(f.url, "udp://"), "/announce")
	c.udp.mu.Lock()
	c.udp.m[key].idAt = time.Now().Add(-udpConnIDLife)
	c.udp.mu.Unlock()
	announce()
	if _, conns, _ := f.counts(); conns != 2 {
		t.Errorf("%d connects after the id expired, want 2", conns)
	}
	f.set(func(f *fakeUDP) { f.id++ })
	c.udp.mu.Lock()
	c.udp.m[key].sends = nil // six packets so far; three more would pass the bound of 8
	c.udp.waits = []time.Duration{50 * time.Millisecond}
	c.udp.mu.Unlock()
	announce()
	if p, conns, anns := f.counts(); conns != 3 || len(anns) != 5 || p != 9 {
		t.Errorf("after a restart: %d datagrams, %d connects, %d announces; want 9, 3, 5", p, conns, len(anns))
	}
}

// TestUDPURLData: the path and query go as BEP 41 URL data, split into
// options of at most 255 bytes and never truncated; no path, no options.
func TestUDPURLData(t *testing.T) {
	f := serveUDP(t, "udp4", "127.0.0.1:0")
	base := strings.TrimSuffix(f.url, "/announce")
	long := "/a/b?passkey=" + strings.Repeat("x", 600) + "&z=%20"
	tests := []struct {
		path   string
		chunks []int
	}{
		{"", nil},
		{"/announce", []int{9}},
		{"/?k=v", []int{5}},
		{long, []int{255, 255, len(long) - 510}},
		{"/" + strings.Repeat("y", 509), []int{255, 255}},
	}
	for _, tt := range tests {
		t.Run(tt.path[:min(len(tt.path), 12)], func(t *testing.T) {
			f.url = base + tt.path
			_, a := announceOnce(t, f, testRequest())
			if a.urlData != tt.path || !slices.Equal(a.chunks, tt.chunks) {
				t.Errorf("URL data %q in chunks %v, want %q in %v", a.urlData, a.chunks, tt.path, tt.chunks)
			}
			if tt.path == "" && a.size != udpAnnounceLen {
				t.Errorf("%d bytes without a path, want %d", a.size, udpAnnounceLen)
			}
		})
	}
	_, err := (&Client{}).Announce(context.Background(), base+"/"+strings.Repeat("q", udpMaxURLData), testRequest())
	if err == nil {
		t.Error("a path longer than the URL data limit was sent")
	}
}

// TestUDPSilentTracker: a tracker that never answers gets at most 8
// packets a minute, then Announce fails without sending.
func TestUDPSilentTracker(t *testing.T) {
	f := serveUDP(t, "udp4", "127.0.0.1:0")
	f.set(func(f *fakeUDP) { f.silent = true })
	c := &Client{}
	c.udp.waits = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 2 {
		start := time.Now()
		_, err := c.Announce(ctx, f.url, testRequest())
		if err == nil || ctx.Err() != nil || time.Since(start) > 2*time.Second {
			t.Fatalf("announce %d: err = %v after %v, want a quick failure", i, err, time.Since(start))
		}
		t.Log(err)
		if p, _, _ := f.counts(); p != udpMaxPackets {
			t.Errorf("announce %d: tracker got %d datagrams, want %d", i, p, udpMaxPackets)
		}
	}
}

// TestUDPContext: Announce returns when its context ends, whatever the
// resend schedule.
func TestUDPContext(t *testing.T) {
	f := serveUDP(t, "udp4", "127.0.0.1:0")
	f.set(func(f *fakeUDP) { f.silent = true })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := (&Client{}).Announce(ctx, f.url, testRequest())
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("err = %v after %v, want the deadline at 300ms", err, time.Since(start))
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	_, err = (&Client{}).Announce(ctx, f.url, testRequest())
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Errorf("err = %v after %v, want the cancel at 100ms", err, time.Since(start))
	}
}

func TestUDPBadURL(t *testing.T) {
	closed, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	refused := "udp://" + closed.LocalAddr().String() + "/announce"
	closed.Close()
	for _, u := range []string{"udp://127.0.0.1/announce", "udp://127.0.0.1:0/announce", "udp://:80/x", refused} {
		t.Run(u, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_, err := (&Client{}).Announce(ctx, u, testRequest())
			if err == nil || ctx.Err() != nil || !strings.HasPrefix(err.Error(), "tracker: ") {
				t.Errorf("err = %v, want a prompt tracker error", err)
			}
			t.Log(err)
		})
	}
}

func TestParseUDPResponse(t *testing.T) {
	be := binary.BigEndian
	ok := append(be.AppendUint32(be.AppendUint32(be.AppendUint32(udpHead(actionAnnounce, 7), 60), 1), 2),
		compactOf("1.2.3.4:5")...)
	tests := []struct {
		name   string
		b      []byte
		ok     bool
		fail   bool
		npeers int
	}{
		{"empty", nil, false, false, 0},
		{"short header", ok[:7], false, false, 0},
		{"wrong tid", append(udpHead(actionAnnounce, 8), ok[8:]...), false, false, 0},
		{"connect reply", append(udpHead(actionConnect, 7), ok[8:]...), false, false, 0},
		{"no counts", ok[:19], false, false, 0},
		{"no peers", ok[:20], true, false, 0},
		{"partial peer", ok[:25], true, false, 0},
		{"one peer", ok, true, false, 1},
		{"error", append(udpHead(actionError, 7), "no"...), true, true, 0},
		{"empty error", udpHead(actionError, 7), true, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, gotOK, err := parseUDPResponse(tt.b, 7, compactLen4, 0)
			if gotOK != tt.ok || (err != nil) != tt.fail || (r != nil && len(r.Peers) != tt.npeers) {
				t.Errorf("= %+v, %v, %v; want ok %v, error %v, %d peers", r, gotOK, err, tt.ok, tt.fail, tt.npeers)
			}
		})
	}
}

// FuzzParseUDPResponse checks that the UDP reply decoder never panics and
// returns only usable, distinct peers, no more than asked for.
func FuzzParseUDPResponse(f *testing.F) {
	be := binary.BigEndian
	head := be.AppendUint32(be.AppendUint32(be.AppendUint32(udpHead(actionAnnounce, 7), 1800), 3), 4)
	f.Add([]byte{})
	f.Add(udpHead(actionError, 7))
	f.Add(append(udpHead(actionError, 7), "go away"...))
	f.Add(append(slices.Clone(head), compactOf("1.2.3.4:6881", "1.2.3.4:6881", "5.6.7.8:0")...))
	f.Add(append(slices.Clone(head), compactOf("[2001:db8::1]:1", "[::ffff:1.2.3.4]:2")...))
	f.Add(head[:19])
	f.Fuzz(func(t *testing.T, b []byte) {
		var tid uint32
		if len(b) >= 8 {
			tid = be.Uint32(b[4:])
		}
		for _, n := range []int{compactLen4, compactLen6} {
			r, ok, err := parseUDPResponse(b, tid, n, 5)
			if !ok || err != nil {
				if r != nil {
					t.Fatalf("response %+v with ok %v, err %v", r, ok, err)
				}
				continue
			}
			seen := map[netip.AddrPort]bool{}
			for _, p := range r.Peers {
				if p.Port() == 0 || !p.Addr().IsValid() || seen[p] {
					t.Fatalf("peer %v from %x", p, b)
				}
				seen[p] = true
			}
			if len(r.Peers) > 5 || r.Interval < 0 || r.Complete < 0 || r.Incomplete < 0 {
				t.Fatalf("response %+v from %x", r, b)
			}
		}
	})
}

// TestUDPInTiers: udp and http URLs mix in tiers; a refused UDP tracker
// moves the walk on.
func TestUDPInTiers(t *testing.T) {
	f := serveUDP(t, "udp4", "127.0.0.1:0")
	closed, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	refused := "udp://" + closed.LocalAddr().String()
	closed.Close()
	tr := &Tiers{tiers: [][]string{{refused, dead(t)}, {f.url}}}
	_, u, err := tr.Announce(context.Background(), &Client{}, testRequest())
	if err != nil || u != f.url {
		t.Errorf("Announce = %q, %v; want an answer from %s", u, err, f.url)
	}
}
