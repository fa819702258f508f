package tracker

// Hostile UDP trackers (BEP 15), issue 10: every reply sent many times,
// replies from another port, junk interleaved with the real reply,
// intervals of 0, negative and 2^31-1, and a peer list as large as a
// datagram. Each gets a dropped reply or a bounded retry: never a crash, a
// hang or more than udpMaxPackets packets a minute from us.

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// serveHostileUDP starts a fakeUDP on 127.0.0.1 whose replies go out
// through send instead of once to their sender: the test chooses how often,
// from which socket and with what changes. send runs on the fake's
// goroutine.
func serveHostileUDP(t *testing.T, send func(f *fakeUDP, reply []byte, to netip.AddrPort)) *fakeUDP {
	t.Helper()
	conn := listenUDP4(t)
	f := &fakeUDP{t: t, conn: conn, id: 0x1122334455667788, url: "udp://" + conn.LocalAddr().String() + "/announce"}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			for _, reply := range f.handle(buf[:n]) {
				send(f, reply, from)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return f
}

// listenUDP4 returns a UDP socket on 127.0.0.1 and a free port, closed at
// cleanup.
func listenUDP4(t *testing.T) *net.UDPConn {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// announceReply builds a whole announce reply datagram.
func announceReply(tid, interval, leechers, seeders uint32, peers []byte) []byte {
	be := binary.BigEndian
	b := be.AppendUint32(udpHead(actionAnnounce, tid), interval)
	b = be.AppendUint32(b, leechers)
	b = be.AppendUint32(b, seeders)
	return append(b, peers...)
}

// connectReply builds a whole connect reply datagram.
func connectReply(tid uint32, id uint64) []byte {
	return binary.BigEndian.AppendUint64(udpHead(actionConnect, tid), id)
}

// replyHead returns the action and transaction id of a reply the fake made.
func replyHead(reply []byte) (action, tid uint32) {
	return binary.BigEndian.Uint32(reply), binary.BigEndian.Uint32(reply[4:])
}

// evilPeers are the peers of every reply the client must not accept.
var evilPeers = compactOf("6.6.6.6:666")

// timedAnnounce announces with c to f under a 5 s deadline and returns how
// long it took.
func timedAnnounce(c *Client, f *fakeUDP) (*Response, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	r, err := c.Announce(ctx, f.url, testRequest())
	return r, time.Since(start), err
}

// settledPackets returns the datagrams f has received once no more have
// come for 100 ms: what was sent has arrived, and nothing follows.
func settledPackets(f *fakeUDP) int {
	last, _, _ := f.counts()
	for still := 0; still < 5; still++ {
		time.Sleep(20 * time.Millisecond)
		if p, _, _ := f.counts(); p != last {
			last, still = p, -1
		}
	}
	return last
}

// TestUDPRepliesRepeated: a tracker that sends every reply 50 times. The
// first copy is taken, the rest ignored: no resend, no duplicated peers,
// and the next announce (cached connection id) works on its one packet,
// until udpMaxPackets in the minute stop it without a packet more.
func TestUDPRepliesRepeated(t *testing.T) {
	const copies = 50
	f := serveHostileUDP(t, func(f *fakeUDP, reply []byte, to netip.AddrPort) {
		for range copies {
			f.conn.WriteToUDPAddrPort(reply, to)
		}
	})
	good := []netip.AddrPort{netip.MustParseAddrPort("1.2.3.4:6881"), netip.MustParseAddrPort("5.6.7.8:80")}
	f.set(func(f *fakeUDP) { f.peers = compactOf(good[0].String(), good[1].String()) })
	c := &Client{}
	for i := range udpMaxPackets + 2 {
		r, took, err := timedAnnounce(c, f)
		p, conns, anns := f.counts()
		if i >= udpMaxPackets-1 { // one connect and seven announces spent the minute's packets
			if err == nil || took > time.Second || p != udpMaxPackets {
				t.Errorf("announce %d: err = %v after %v, %d datagrams; want a prompt failure and still %d datagrams",
					i, err, took, p, udpMaxPackets)
			}
			continue
		}
		if err != nil {
			t.Fatalf("announce %d: %v", i, err)
		}
		if !slices.Equal(r.Peers, good) || r.Interval != 1800*time.Second {
			t.Errorf("announce %d: peers %v, interval %v; want %v once each, 30m", i, r.Peers, r.Interval, good)
		}
		if p != i+2 || conns != 1 || len(anns) != i+1 || took > time.Second {
			t.Errorf("announce %d: %d datagrams, %d connects, %d announces in %v; want %d, 1, %d at once",
				i, p, conns, len(anns), took, i+2, i+1)
		}
	}
}

// TestUDPReplyFromOtherPort: the tracker answers every request, but from
// another port. Those replies are not the tracker's and are dropped: the
// announce fails after udpMaxPackets connects, and later ones fail
// without sending.
func TestUDPReplyFromOtherPort(t *testing.T) {
	other := listenUDP4(t)
	f := serveHostileUDP(t, func(f *fakeUDP, reply []byte, to netip.AddrPort) {
		for range 5 {
			other.WriteToUDPAddrPort(reply, to)
		}
	})
	c := &Client{}
	c.udp.waits = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
	for i := range 3 {
		r, took, err := timedAnnounce(c, f)
		if err == nil || took > 2*time.Second {
			t.Fatalf("announce %d = %+v, %v after %v; want a quick failure", i, r, err, took)
		}
		t.Log(err)
		p := settledPackets(f)
		if _, conns, anns := f.counts(); p != udpMaxPackets || conns != udpMaxPackets || len(anns) != 0 {
			t.Errorf("announce %d: %d datagrams, %d connects answered, %d announces; want %d, %d, 0",
				i, p, conns, len(anns), udpMaxPackets, udpMaxPackets)
		}
	}
}

// TestUDPReplyFromOtherPortFirst: each request is answered first from
// another port with a wrong connection id or other peers and interval,
// then by the tracker. Only the tracker's reply counts.
func TestUDPReplyFromOtherPortFirst(t *testing.T) {
	other := listenUDP4(t)
	f := serveHostileUDP(t, func(f *fakeUDP, reply []byte, to netip.AddrPort) {
		action, tid := replyHead(reply)
		evil := connectReply(tid, 0xbad)
		if action == actionAnnounce {
			evil = announceReply(tid, 1, 99, 99, evilPeers)
		}
		for range 3 {
			other.WriteToUDPAddrPort(evil, to)
		}
		f.conn.WriteToUDPAddrPort(reply, to)
	})
	good := compactOf("1.2.3.4:6881")
	f.set(func(f *fakeUDP) { f.peers = good })
	c := &Client{}
	for i := range 2 {
		r, took, err := timedAnnounce(c, f)
		if err != nil {
			t.Fatalf("announce %d: %v", i, err)
		}
		if want := []netip.AddrPort{netip.MustParseAddrPort("1.2.3.4:6881")}; !slices.Equal(r.Peers, want) ||
			r.Interval != 1800*time.Second || r.Complete != 7 {
			t.Errorf("announce %d: %+v; want the tracker's reply (%v, 30m, 7 seeders)", i, r, want)
		}
		// An announce with the other port's id 0xbad is not answered, nor
		// counted in anns: the client would resend.
		if p, conns, anns := f.counts(); p != i+2 || conns != 1 || len(anns) != i+1 || took > time.Second {
			t.Errorf("announce %d: %d datagrams, %d connects, %d announces in %v; want %d, 1, %d at once",
				i, p, conns, len(anns), took, i+2, i+1)
		}
	}
}

// TestUDPOtherPortConcurrent: announces running at once from one Client to
// a tracker that answers only from another port share the bound: the
// tracker gets udpMaxPackets datagrams in all, not that many per announce.
func TestUDPOtherPortConcurrent(t *testing.T) {
	other := listenUDP4(t)
	f := serveHostileUDP(t, func(f *fakeUDP, reply []byte, to netip.AddrPort) {
		other.WriteToUDPAddrPort(reply, to)
	})
	c := &Client{}
	c.udp.waits = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
	const n = 16
	var wg sync.WaitGroup
	var ok atomic.Int32
	start := time.Now()
	for range n {
		wg.Go(func() {
			if _, _, err := timedAnnounce(c, f); err == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if p := settledPackets(f); p != udpMaxPackets || ok.Load() != 0 || took > 2*time.Second {
		t.Errorf("%d announces at once: %d datagrams, %d succeeded, in %v; want %d datagrams, none, quickly",
			n, p, ok.Load(), took, udpMaxPackets)
	}
}

// TestUDPJunkInterleaved: around every real reply, before and after it and
// three times over, the tracker sends the same action with other
// transaction ids, other actions with the right transaction id (complete
// and well formed), replays of its earlier replies, and error replies for
// other transactions. Announces succeed at once with the real content; no
// wrong connection id is ever used.
func TestUDPJunkInterleaved(t *testing.T) {
	var earlier [][]byte // replies already sent; owned by the fake's goroutine
	f := serveHostileUDP(t, func(f *fakeUDP, reply []byte, to netip.AddrPort) {
		action, tid := replyHead(reply)
		junk := [][]byte{
			append(udpHead(actionError, tid+1), "not you"...),
			append(udpHead(2, tid), 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3), // a scrape reply
		}
		if action == actionConnect {
			junk = append(junk, connectReply(tid+1, 0xbad), connectReply(tid^0x80000000, 0xbad),
				announceReply(tid, 1, 99, 99, evilPeers))
		} else {
			junk = append(junk, announceReply(tid-1, 1, 99, 99, evilPeers), announceReply(tid+1, 1, 99, 99, evilPeers),
				connectReply(tid, 0xbad))
		}
		junk = append(junk, earlier...)
		for range 3 {
			for _, j := range junk {
				f.conn.WriteToUDPAddrPort(j, to)
			}
			f.conn.WriteToUDPAddrPort(reply, to)
			for _, j := range slices.Backward(junk) {
				f.conn.WriteToUDPAddrPort(j, to)
			}
		}
		earlier = append(earlier, slices.Clone(reply))
	})
	good := compactOf("1.2.3.4:6881", "5.6.7.8:80")
	f.set(func(f *fakeUDP) { f.peers = good })
	c := &Client{}
	for i := range 3 {
		r, took, err := timedAnnounce(c, f)
		if err != nil {
			t.Fatalf("announce %d: %v", i, err)
		}
		want := []netip.AddrPort{netip.MustParseAddrPort("1.2.3.4:6881"), netip.MustParseAddrPort("5.6.7.8:80")}
		if !slices.Equal(r.Peers, want) || r.Interval != 1800*time.Second || r.Complete != 7 || r.Incomplete != 3 {
			t.Errorf("announce %d: %+v; want peers %v, 30m, 7 seeders, 3 leechers", i, r, want)
		}
		if p, conns, anns := f.counts(); p != i+2 || conns != 1 || len(anns) != i+1 || took > time.Second {
			t.Errorf("announce %d: %d datagrams, %d connects, %d announces in %v; want %d, 1, %d at once",
				i, p, conns, len(anns), took, i+2, i+1)
		}
	}
}

// TestUDPHostileInterval: interval, leechers and seeders are int32 on the
// wire (BEP 15). Zero and negative intervals are absent (Response.Interval
// 0, the default 30 min); negative counts are 0; 2^31-1 s is kept and
// clamped by NextInterval, which stays within [MinAnnounceInterval,
// MaxAnnounceInterval] whatever the tracker says.
func TestUDPHostileInterval(t *testing.T) {
	var wire atomic.Uint32
	f := serveHostileUDP(t, func(f *fakeUDP, reply []byte, to netip.AddrPort) {
		if action, _ := replyHead(reply); action == actionAnnounce {
			v := wire.Load()
			binary.BigEndian.PutUint32(reply[8:], v)
			binary.BigEndian.PutUint32(reply[12:], v)
			binary.BigEndian.PutUint32(reply[16:], v)
		}
		f.conn.WriteToUDPAddrPort(reply, to)
	})
	tests := []struct {
		name     string
		wire     uint32
		interval time.Duration
		count    int
		next     time.Duration
	}{
		{"zero", 0, 0, 0, DefaultInterval},
		{"one second", 1, time.Second, 1, MinAnnounceInterval},
		{"minus one", 0xFFFFFFFF, 0, 0, DefaultInterval},
		{"int32 min", 0x80000000, 0, 0, DefaultInterval},
		{"int32 max", math.MaxInt32, math.MaxInt32 * time.Second, math.MaxInt32, MaxAnnounceInterval},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire.Store(tt.wire)
			r, _, err := timedAnnounce(&Client{}, f)
			if err != nil {
				t.Fatal(err)
			}
			if r.Interval != tt.interval || r.Complete != tt.count || r.Incomplete != tt.count {
				t.Errorf("%#x on the wire: interval %v, %d seeders, %d leechers; want %v, %d, %d",
					tt.wire, r.Interval, r.Complete, r.Incomplete, tt.interval, tt.count, tt.count)
			}
			next := NextInterval(r)
			if next != tt.next || next < MinAnnounceInterval || next > MaxAnnounceInterval {
				t.Errorf("%#x on the wire: NextInterval = %v, want %v within [%v, %v]",
					tt.wire, next, tt.next, MinAnnounceInterval, MaxAnnounceInterval)
			}
		})
	}
}

// TestUDPHugePeerList: an announce reply as large as a UDP datagram can be
// (udpMaxDatagram bytes: 10,914 distinct peers and 3 bytes of a partial
// one) is read whole and kept up to the Client's MaxPeers (default
// DefaultMaxPeers), in order; the same peer 10,914 times is one peer.
func TestUDPHugePeerList(t *testing.T) {
	const n = (udpMaxDatagram - udpAnnReplyLen) / compactLen4
	var distinct, same []byte
	var all []netip.AddrPort
	for i := range n {
		e := []byte{10, byte(i >> 16), byte(i >> 8), byte(i), 0x1a, 0xe1} // 10.x.y.z:6881
		distinct = append(distinct, e...)
		same = append(same, 10, 0, 0, 1, 0x1a, 0xe1)
		all = append(all, netip.AddrPortFrom(netip.AddrFrom4([4]byte(e)), 6881))
	}
	distinct = append(distinct, 10, 9, 9) // pads the reply to udpMaxDatagram
	if udpAnnReplyLen+len(distinct) != udpMaxDatagram {
		t.Fatalf("reply of %d bytes, want %d", udpAnnReplyLen+len(distinct), udpMaxDatagram)
	}
	f := serveUDP(t, "udp4", "127.0.0.1:0")
	tests := []struct {
		name     string
		peers    []byte
		maxPeers int
		want     []netip.AddrPort
	}{
		{"default", distinct, 0, all[:DefaultMaxPeers]},
		{"ten", distinct, 10, all[:10]},
		{"unbounded", distinct, 1 << 20, all},
		{"the same peer", same, 0, all[1:2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.set(func(f *fakeUDP) { f.peers = tt.peers })
			r, took, err := timedAnnounce(&Client{MaxPeers: tt.maxPeers}, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Peers) != len(tt.want) || !slices.Equal(r.Peers, tt.want) || took > time.Second {
				t.Errorf("%d peers in %v, want %d (%v...) at once", len(r.Peers), took, len(tt.want), tt.want[:1])
			}
		})
	}
}
