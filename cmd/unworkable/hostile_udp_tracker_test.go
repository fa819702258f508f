package main

// A hostile UDP tracker (BEP 15) against the binary: the torrent's only
// tracker answers every datagram many times, each time first from another
// port with a wrong connection id or other peers; the very first connect
// it answers from the other port only. Its real announce replies carry an
// interval of 0 and a datagram full of peers (10,914) at loopback
// addresses where nothing listens. The leecher must take only the real
// replies, send no more than the tracker package's bound of packets, and
// exit with the interrupted status on SIGTERM.

import (
	be "encoding/binary"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// udpPacketBound is tracker.udpMaxPackets: the most packets the client
	// sends one UDP tracker in a minute.
	udpPacketBound = 8
	// udpCopies is how many times the hostile tracker sends each reply
	// from each of its two ports.
	udpCopies = 20
	// udpGoodID and udpBadID are the connection ids handed out from the
	// tracker's port and from the other one.
	udpGoodID, udpBadID = 0x600d600d600d600d, 0xbadbadbadbad
)

// hostileUDPTracker is the in-test tracker on 127.0.0.1: conn is its
// port, other a second socket whose replies the client must drop. Its
// goroutine owns the sockets; the counts are guarded by mu.
type hostileUDPTracker struct {
	conn, other *net.UDPConn
	url         string
	peers       []byte // compact peers of every real announce reply

	mu        sync.Mutex
	packets   int // datagrams received
	connects  int // connect requests
	announces int // announces with the good connection id
	badID     int // announces with the other port's connection id
	stopped   int // announces with event stopped
}

func newHostileUDPTracker(t *testing.T) *hostileUDPTracker {
	t.Helper()
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ht := &hostileUDPTracker{conn: listen(), other: listen()}
	ht.url = "udp://" + ht.conn.LocalAddr().String() + "/announce"
	// A full datagram of peers: 127.1.x.y:9, where nothing listens.
	for i := 1; 20+len(ht.peers)+6 <= 65507; i++ {
		ht.peers = append(ht.peers, 127, 1, byte(i>>8), byte(i), 0, 9)
	}
	done := make(chan struct{})
	go ht.serve(done)
	t.Cleanup(func() {
		ht.conn.Close()
		ht.other.Close()
		<-done
	})
	return ht
}

// serve answers every datagram udpCopies times from each port, the other
// port first, until the socket closes.
func (ht *hostileUDPTracker) serve(done chan struct{}) {
	defer close(done)
	buf := make([]byte, 65536)
	for {
		n, from, err := ht.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		good, evil := ht.answer(buf[:n])
		for range udpCopies {
			if evil != nil {
				ht.other.WriteToUDPAddrPort(evil, from)
			}
			if good != nil {
				ht.conn.WriteToUDPAddrPort(good, from)
			}
		}
	}
}

// answer counts pkt and returns the real reply (nil for none) and the one
// sent from the other port.
func (ht *hostileUDPTracker) answer(pkt []byte) (good, evil []byte) {
	ht.mu.Lock()
	defer ht.mu.Unlock()
	ht.packets++
	if len(pkt) < 16 {
		return nil, nil
	}
	b := be.BigEndian
	id, action, tid := b.Uint64(pkt), b.Uint32(pkt[8:]), b.Uint32(pkt[12:])
	head := b.AppendUint32(b.AppendUint32(nil, action), tid)
	switch {
	case action == 0 && id == 0x41727101980:
		ht.connects++
		evil = b.AppendUint64(head, udpBadID)
		if ht.connects > 1 {
			good = b.AppendUint64(head, udpGoodID)
		}
		return good, evil
	case action == 1 && len(pkt) >= 98 && id == udpGoodID:
		ht.announces++
		if b.Uint32(pkt[80:]) == 3 {
			ht.stopped++
		}
		// interval 0, 0 leechers, 0 seeders; the other port: 5 s and one peer
		good = append(append(head, make([]byte, 12)...), ht.peers...)
		evil = append(b.AppendUint32(head, 5), 0, 0, 0, 1, 0, 0, 0, 1, 127, 3, 0, 1, 0, 9)
		return good, evil
	case action == 1 && id == udpBadID:
		ht.badID++
	}
	return nil, nil
}

// counts returns what the tracker has seen so far.
func (ht *hostileUDPTracker) counts() (packets, connects, announces, badID, stopped int) {
	ht.mu.Lock()
	defer ht.mu.Unlock()
	return ht.packets, ht.connects, ht.announces, ht.badID, ht.stopped
}

// TestHostileUDPTracker runs a leecher whose only tracker is the hostile
// UDP one, watches the packets it sends for a few seconds, then stops it.
func TestHostileUDPTracker(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "mktorrent")
	binary(t) // built before the clocks start
	ctx := h.deadline(30 * time.Second)
	ht := newHostileUDPTracker(t)
	_, torrent, _ := h.smallSwarm(300000, ht.url)
	trace := h.path("trace")
	h.logs = append(h.logs, trace)
	start := time.Now()
	us := h.ours("leech", "--no-dht", "-p", strconv.Itoa(freePort(t)), "-o", h.mkdir("dst"), "-t", trace, torrent)
	h.poll(ctx, "an announce to end", func() bool {
		h.alive(us)
		_, _, _, badID, _ := ht.counts()
		return traceHas(trace, " announce ok ") || traceHas(trace, " announce failed ") || badID > 0
	})
	t.Logf("first announce ended after %v", time.Since(start).Round(time.Millisecond))
	time.Sleep(4 * time.Second) // long enough for a tight loop or a storm to show
	h.alive(us)
	packets, connects, announces, badID, _ := ht.counts()
	t.Logf("after %v: %d datagrams, %d connects, %d announces, %d with the other port's id",
		time.Since(start).Round(time.Millisecond), packets, connects, announces, badID)
	if packets > udpPacketBound || connects < 2 || announces < 1 || badID != 0 {
		t.Errorf("%d datagrams, %d connects, %d announces, %d with the other port's id; want at most %d "+
			"datagrams, a second connect (the first is answered from the other port only), an announce, none with its id",
			packets, connects, announces, badID, udpPacketBound)
	}
	// Only the real reply counts: 2000 of its peers kept (the client's
	// default), and an interval of 0 means the default 30 min. The other
	// port's reply would give 1 peer and 30 s.
	if !traceHas(trace, " announce ok ") {
		t.Errorf("no announce succeeded; announces:\n%s", strings.Join(traceLines(trace, "announce"), "\n"))
	}
	for _, l := range traceLines(trace, "announce") {
		if strings.Contains(l, " announce ok ") && !strings.HasSuffix(l, ": 2000 peers, next in 30m0s") {
			t.Errorf("trace: %q, want 2000 peers and the default interval", l)
		}
	}
	us.signal(syscall.SIGTERM)
	stop := time.Now()
	h.expectExit(ctx, us, exitInterrupt)
	t.Logf("exit %d %v after SIGTERM", exitInterrupt, time.Since(stop).Round(time.Millisecond))
	packets, _, _, badID, stopped := ht.counts()
	if packets > udpPacketBound || badID != 0 || stopped != 1 || !traceHas(trace, "announce stopped: err=<nil>") {
		t.Errorf("in all %d datagrams, %d announces with the other port's id, %d stopped; want at most %d, none, "+
			"one stopped announce answered; announces:\n%s",
			packets, badID, stopped, udpPacketBound, strings.Join(traceLines(trace, "announce"), "\n"))
	}
}
