package main

// Hostile peers: in-test peers, each misbehaving one way, that our
// downloading binary dials (--peer) beside one good seeder (our binary with
// -s, on the same IP address). Every hostile peer must be refused or
// dropped with its reason in the trace, the corrupt one banned (and only
// it: the good seeder shares its IP address), and the download must
// complete with the right bytes. A second test floods our seeder while an
// aria2c leecher downloads from it.

import (
	"bufio"
	"context"
	"crypto/rand"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// peerCtx is what a hostile behaviour knows: the torrent and the
// connection, whose handshake from our binary has been read already.
type peerCtx struct {
	c       net.Conn
	m       *meta
	hash    [20]byte
	drained chan struct{} // closed when drain's reader ends; nil without drain
}

// write sends frames, reporting whether the connection still works.
func (pc *peerCtx) write(b ...[]byte) bool {
	for _, x := range b {
		if _, err := pc.c.Write(x); err != nil {
			return false
		}
	}
	return true
}

// hello sends a good handshake and the given first messages.
func (pc *peerCtx) hello(first ...[]byte) bool {
	return pc.write(append([][]byte{handshakeBytes(pc.hash, randomID("-XX0001-"))}, first...)...)
}

// drain reads and discards what our binary sends, in the background, until
// our binary closes the connection. The behaviour's connection stays open
// until then: closing a socket with unread data sends a reset, and a reset
// discards what our binary has not read yet, so the misbehaviour would go
// unseen.
func (pc *peerCtx) drain() {
	pc.drained = make(chan struct{})
	go func() {
		defer close(pc.drained)
		readFrames(pc.c)
	}()
}

// serveRequests answers each Request from our binary with a Piece made by
// block (nil: ignore requests), until the connection fails.
func (pc *peerCtx) serveRequests(block func(index, begin, length uint32) []byte) {
	r := bufio.NewReader(pc.c)
	for {
		var head [4]byte
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return
		}
		body := make([]byte, be32(head[:]))
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		if len(body) == 13 && body[0] == 6 && block != nil {
			i, b, n := be32(body[1:]), be32(body[5:]), be32(body[9:])
			if !pc.write(msg(7, u32(i), u32(b), block(i, b, n))) {
				return
			}
		}
	}
}

// be32 decodes a big-endian uint32.
func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// hostilePeer listens on 127.0.0.1 and runs act on every connection after
// reading the dialer's handshake; it returns "127.0.0.1:port". Everything
// is closed at cleanup.
func (h *harness) hostilePeer(m *meta, act func(pc *peerCtx)) (addr string, contacted <-chan struct{}) {
	h.t.Helper()
	first := make(chan struct{})
	var once sync.Once
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	h.t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			once.Do(func() { close(first) })
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				hs := make([]byte, 68)
				if _, err := io.ReadFull(c, hs); err != nil {
					return
				}
				pc := &peerCtx{c: c, m: m, hash: m.hash}
				act(pc)
				if pc.drained != nil {
					<-pc.drained // ends when our binary drops us, or at cleanup
				}
			}()
		}
	}()
	return ln.Addr().String(), first
}

// hostileBehaviours are the misbehaving peers and what the trace must say
// about each (on a line naming its address; "a|b" accepts either).
var hostileBehaviours = []struct {
	name, want string
	act        func(pc *peerCtx)
}{
	{"wrong info hash", "wrong info hash", func(pc *peerCtx) {
		pc.write(handshakeBytes(randomID("not-our-torrent"), randomID("-XX0001-")))
	}},
	{"wrong protocol", "not the BitTorrent protocol", func(pc *peerCtx) {
		pc.write([]byte("\x13BitTorrent protocoX"), make([]byte, 48))
	}},
	{"length 2^32-1", "message too long", func(pc *peerCtx) {
		pc.hello(u32(0xffffffff))
		pc.drain()
	}},
	{"oversized piece", "message too long", func(pc *peerCtx) {
		pc.hello(msg(7, u32(0), u32(0), make([]byte, 200<<10)))
		pc.drain()
	}},
	{"bitfield too long", "bitfield of", func(pc *peerCtx) {
		pc.hello(msg(5, make([]byte, (pc.m.pieces+7)/8+1)))
		pc.drain()
	}},
	{"bitfield spare bits", "spare bits set", func(pc *peerCtx) {
		bits := make([]byte, (pc.m.pieces+7)/8)
		for i := range bits {
			bits[i] = 0xff
		}
		pc.hello(msg(5, bits))
		pc.drain()
	}},
	{"have out of range", "out of range", func(pc *peerCtx) {
		pc.hello(msg(0x0f), msg(4, u32(uint32(pc.m.pieces))))
		pc.drain()
	}},
	{"request out of range", "out of range", func(pc *peerCtx) {
		pc.hello(msg(0x0f), msg(2), msg(6, u32(0), u32(uint32(pc.m.pieceLen)), u32(16384)))
		pc.drain()
	}},
	{"piece out of range", "does not fit", func(pc *peerCtx) {
		pc.hello(msg(0x0f), msg(7, u32(uint32(pc.m.pieces)+5), u32(0), make([]byte, 16384)))
		pc.drain()
	}},
	{"unrequested blocks", "did not request", func(pc *peerCtx) {
		pc.hello(msg(0x0f))
		pc.drain()
		block := msg(7, u32(0), u32(0), make([]byte, 16384))
		for i := 0; i < 1000 && pc.write(block); i++ {
		}
	}},
	// Dropped for the requests it sent (rejected, or queued beyond the
	// limit), or for the rejects piling up unsent: on one P the loop can
	// queue 1,024 of them before the writer runs, as TestHostileFloodWhileSeeding
	// accepts too.
	{"request flood", "requests|send queue full", func(pc *peerCtx) {
		pc.hello(msg(0x0f), msg(2))
		pc.drain()
		// Until dropped: a rechoke in the middle restarts the count.
		for i := 0; i < 100000; i++ {
			if !pc.write(msg(6, u32(uint32(i%(pc.m.pieces-1))), u32(0), u32(16384))) {
				return
			}
		}
	}},
	{"choke storm", "choke storm", func(pc *peerCtx) {
		pc.hello(msg(0x0e))
		pc.drain()
		for i := 0; i < 100000; i++ {
			if !pc.write(msg(1), msg(0)) {
				return
			}
		}
	}},
	{"corrupt data", "banned: sent corrupt data", func(pc *peerCtx) {
		pc.hello(msg(0x0e), msg(1))
		pc.serveRequests(func(_, _, n uint32) []byte {
			b := make([]byte, n)
			rand.Read(b)
			return b
		})
	}},
	{"one byte per second", "", func(pc *peerCtx) {
		pc.hello(msg(0x0e), msg(1))
		// The first bytes of a Piece frame, then one byte a second.
		pc.write(u32(9 + 16384)[:3])
		for range 60 {
			time.Sleep(time.Second)
			if !pc.write([]byte{0}) {
				return
			}
		}
	}},
}

// TestHostilePeers downloads from one good seeder beside every hostile
// peer of hostileBehaviours and a connect-and-close loop on our port.
func TestHostilePeers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "mktorrent")
	ctx := h.deadline(90 * time.Second)
	src, torrent, m := h.smallSwarm(1500000, "http://127.0.0.1:1/announce")
	// The good seeder starts only once the leecher has dialled every
	// hostile peer (some hold a dial slot for the 10 s handshake timeout,
	// and the download must not finish before the last one is tried), and
	// it is slowed down so that the hostile peers get their share of
	// requests (the corrupt one must be caught lying).
	seedPort := freePort(t)
	seed := "127.0.0.1:" + strconv.Itoa(seedPort)
	addrs := make([]string, len(hostileBehaviours))
	contacted := make([]<-chan struct{}, len(hostileBehaviours))
	// Plain handshakes: each hostile peer serves one connection, which an
	// MSE attempt (--encryption prefer) would use up.
	args := []string{"--encryption", "off", "--peer", seed}
	for i, b := range hostileBehaviours {
		addrs[i], contacted[i] = h.hostilePeer(m, b.act)
		args = append(args, "--peer", addrs[i])
	}
	dst, trace, port := h.mkdir("dst"), h.path("trace-leech"), freePort(t)
	h.logs = append(h.logs, trace)
	start := time.Now()
	leech := h.ours("leech", append(args, "-p", strconv.Itoa(port), "-o", dst, "-t", trace, torrent)...)
	stopLoop := connectCloseLoop(ctx, "127.0.0.1:"+strconv.Itoa(port))
	for i, c := range contacted {
		select {
		case <-c:
		case <-ctx.Done():
			t.Fatalf("%s (%s) was never dialled", hostileBehaviours[i].name, addrs[i])
		}
	}
	h.goodSeedAt(ctx, seedPort, torrent, src, "--upload-rate", "512k")
	h.expectExit(ctx, leech, 0)
	loops := stopLoop()
	t.Logf("complete after %v, with %d connect-and-close connections meanwhile", time.Since(start).Round(time.Millisecond), loops)
	if err := sameData(m, src, dst); err != nil {
		t.Fatal(err)
	}
	for i, b := range hostileBehaviours {
		if b.want == "" {
			continue
		}
		lines := append(grepLines(trace, addrs[i]+" "), grepLines(trace, addrs[i]+":")...)
		if !slices.ContainsFunc(strings.Split(b.want, "|"), func(w string) bool { return anyContains(lines, w) }) {
			t.Errorf("%s (%s): no trace line with %q; lines naming it:\n%s", b.name, addrs[i], b.want, strings.Join(lines, "\n"))
		}
	}
	for _, l := range grepLines(trace, seed+":") {
		if strings.Contains(l, "ban") {
			t.Errorf("the good seeder (same IP address as the liar) was banned: %s", l)
		}
	}
}

// connectCloseLoop connects to addr and closes at once, over and over
// (half of the time after a partial handshake), at most one connection a
// millisecond, until stop is called; stop returns how many connections were
// made. The pace keeps the loopback's ephemeral ports (about 28,000, each
// held a while after a close) from running out for the tests beside it.
func connectCloseLoop(ctx context.Context, addr string) (stop func() int) {
	var n atomic.Int64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			default:
			}
			c, err := net.Dial("tcp", addr)
			if err != nil {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if i%2 == 0 {
				c.Write([]byte("\x13BitTorrent"))
			}
			abort(c)
			n.Add(1)
			time.Sleep(time.Millisecond)
		}
	}()
	return func() int {
		close(done)
		<-finished
		return int(n.Load())
	}
}

// abort closes c with a reset instead of a FIN: tens of thousands of
// closes would otherwise leave as many TIME_WAIT sockets and exhaust the
// loopback's ephemeral ports, failing the other tests running meanwhile.
func abort(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// anyContains reports whether some line contains s.
func anyContains(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// grepLines returns the lines of a file that contain s.
func grepLines(path, s string) []string {
	var out []string
	b, _ := os.ReadFile(path)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// TestHostileFloodWhileSeeding floods our seeder with connect-and-close
// loops and a peer that requests blocks as fast as it can, while aria2c
// downloads from it through opentracker: aria2c must complete.
func TestHostileFloodWhileSeeding(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "aria2c", "opentracker", "mktorrent")
	ctx := h.deadline(90 * time.Second)
	sw := h.newSwarm([]file{{"payload/a.bin", 1 << 20}, {"payload/b.bin", 1<<20 + 5}})
	trace, port := h.path("trace-seed"), freePort(t)
	h.logs = append(h.logs, trace)
	us := h.ours("seed", "-s", "-p", strconv.Itoa(port), "-o", sw.src, "-t", trace, sw.torrent)
	h.waitSeeds(ctx, sw, 1, us)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	var flooded atomic.Int64
	// The flooders get in first: once the connect-and-close loops run, a
	// new peer may find every handshake slot taken, which is the point of
	// the cap but would keep the flooders out.
	ready := make(chan bool, 2)
	for range 2 {
		go func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				ready <- false
				return
			}
			defer c.Close()
			context.AfterFunc(ctx, func() { c.Close() })
			pc := &peerCtx{c: c, m: sw.meta, hash: sw.meta.hash}
			ok := pc.hello(msg(0x0f), msg(2))
			ready <- ok
			if !ok {
				return
			}
			go func() { flooded.Add(int64(readFrames(c))) }()
			for i := 0; ; i++ {
				if !pc.write(msg(6, u32(uint32(i%(sw.meta.pieces-1))), u32(0), u32(16384))) {
					return
				}
			}
		}()
	}
	for range 2 {
		if !<-ready {
			t.Fatal("a request flooder could not handshake with the seeder")
		}
	}
	stops := []func() int{connectCloseLoop(ctx, addr), connectCloseLoop(ctx, addr)}
	dst := h.mkdir("dst")
	start := time.Now()
	leech := h.aria2Leech(sw.torrent, dst)
	h.expectExit(ctx, leech, 0)
	var loops int
	for _, stop := range stops {
		loops += stop()
	}
	t.Logf("aria2c complete after %v; meanwhile %d connect-and-close connections", time.Since(start).Round(time.Millisecond), loops)
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		t.Fatal(err)
	}
	h.alive(us)
	drops := traceLines(trace, "drop")
	if !anyContains(drops, "requests") && !anyContains(drops, "send queue full") {
		t.Errorf("the request flooders were never dropped; drops:\n%s", strings.Join(drops, "\n"))
	}
	us.signal(syscall.SIGTERM)
	h.expectExit(ctx, us, 0)
}
