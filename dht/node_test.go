package dht

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// listen opens a UDP socket on 127.0.0.1 with a free port.
func listen(t *testing.T) net.PacketConn {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// connAddr returns c's local address.
func connAddr(c net.PacketConn) netip.AddrPort {
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// startNode runs a loopback-only node on a fresh socket until the test
// ends, and returns it with its address.
func startNode(t *testing.T, bootstrap ...netip.AddrPort) (*Node, netip.AddrPort) {
	t.Helper()
	c := listen(t)
	n := NewNode(Config{Conn: c, Bootstrap: bootstrap, LoopbackOnly: true, AddrRule: OnePerAddrPort, Timeout: time.Second})
	runNode(t, n)
	return n, connAddr(c)
}

// runNode runs n until the test ends; the cleanup cancels it and waits
// for Run to return.
func runNode(t *testing.T, n *Node) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error, 1)
	go func() { ended <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ended; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// onLoop runs f on n's loop.
func onLoop(t *testing.T, n *Node, f func()) {
	t.Helper()
	if err := n.do(context.Background(), f); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond every 10 ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// leakCheck fails the test if goroutines started during it outlive it.
func leakCheck(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		for end := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(end) {
				buf := make([]byte, 1<<16)
				t.Errorf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			}
		}
	})
}

func TestNodePing(t *testing.T) {
	a, aAddr := startNode(t)
	b, bAddr := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if id, err := a.Ping(ctx, bAddr); err != nil || id != b.ID() {
		t.Fatalf("a pings b: %v, %v; want %v", id, err, b.ID())
	}
	if id, err := b.Ping(ctx, aAddr); err != nil || id != a.ID() {
		t.Fatalf("b pings a: %v, %v; want %v", id, err, a.ID())
	}
	for _, n := range []*Node{a, b} {
		var got []NodeInfo
		onLoop(t, n, func() { got = n.table.Closest(n.ID(), K) })
		if len(got) != 1 {
			t.Errorf("table of %v: %v, want the other node", n.ID(), got)
		}
	}
	waitFor(t, time.Second, "Stats", func() bool { nodes, _ := a.Stats(); return nodes == 1 })
}

func TestNodeSwarm(t *testing.T) {
	const size = 16
	nodes := make([]*Node, size)
	var boot netip.AddrPort
	nodes[0], boot = startNode(t)
	for i := 1; i < size; i++ {
		nodes[i], _ = startNode(t, boot)
	}
	waitFor(t, 3*time.Second, "bootstrap", func() bool {
		for _, n := range nodes {
			if c, _ := n.Stats(); c < 2 {
				return false
			}
		}
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hash := RandomID()
	start := time.Now()
	if _, err := nodes[3].Announce(ctx, hash, 6999); err != nil {
		t.Fatal(err)
	}
	t.Logf("announce took %v", time.Since(start))
	start = time.Now()
	peers, err := nodes[12].GetPeers(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("get_peers lookup took %v, found %v", time.Since(start), peers)
	want := netip.MustParseAddrPort("127.0.0.1:6999")
	if !slices.Contains(peers, want) {
		t.Errorf("GetPeers = %v, want %v among them", peers, want)
	}
	total := 0
	waitFor(t, time.Second, "stored peers", func() bool {
		total = 0
		for _, n := range nodes {
			_, stored := n.Stats()
			total += stored
		}
		return total >= 1
	})
	t.Logf("announce stored on %d of %d nodes", total, size)
}

// recordConn is a PacketConn that records where it was asked to write.
type recordConn struct {
	net.PacketConn
	mu  sync.Mutex
	dst []string
}

func (c *recordConn) WriteTo(b []byte, a net.Addr) (int, error) {
	c.mu.Lock()
	c.dst = append(c.dst, a.String())
	c.mu.Unlock()
	return c.PacketConn.WriteTo(b, a)
}

func TestNodeLoopbackOnlyRefuses(t *testing.T) {
	rc := &recordConn{PacketConn: listen(t)}
	n := NewNode(Config{Conn: rc, Bootstrap: []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:6881")},
		LoopbackOnly: true, AddrRule: OnePerAddrPort, Timeout: time.Second})
	runNode(t, n)
	waitFor(t, 2*time.Second, "a refusal", func() bool {
		var refused int
		onLoop(t, n, func() { refused = n.counts.refused })
		return refused >= 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if peers, err := n.GetPeers(ctx, RandomID()); err != nil || len(peers) != 0 {
		t.Errorf("GetPeers = %v, %v; want nothing, no error", peers, err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.dst) != 0 {
		t.Errorf("wrote to %v, want nothing", rc.dst)
	}
}

func TestNodeGuard(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:1", true},
		{"127.1.2.3:1", true},
		{"[::1]:1", true},
		{"[::ffff:127.0.0.1]:1", true},
		{"192.0.2.1:6881", false},
		{"10.0.0.1:1", false},
		{"[2001:db8::1]:1", false},
		{"[::ffff:192.0.2.1]:1", false},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			n := NewNode(Config{LoopbackOnly: true})
			if got := n.allowed(netip.MustParseAddrPort(tc.addr)); got != tc.ok {
				t.Errorf("allowed = %v, want %v", got, tc.ok)
			}
		})
	}
}

func TestNodeRunStops(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithCancel(context.Background())
	a := NewNode(Config{Conn: listen(t), LoopbackOnly: true, AddrRule: OnePerAddrPort})
	ac := connAddr(a.cfg.Conn)
	b := NewNode(Config{Conn: listen(t), Bootstrap: []netip.AddrPort{ac}, LoopbackOnly: true, AddrRule: OnePerAddrPort})
	ended := make(chan error, 2)
	go func() { ended <- a.Run(ctx) }()
	go func() { ended <- b.Run(ctx) }()
	lctx, lcancel := context.WithTimeout(ctx, 2*time.Second)
	defer lcancel()
	if _, err := b.GetPeers(lctx, RandomID()); err != nil {
		t.Fatal(err)
	}
	go b.GetPeers(context.Background(), RandomID()) // must end with the node
	start := time.Now()
	cancel()
	for range 2 {
		select {
		case err := <-ended:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(time.Second):
			t.Fatal("Run did not return within 1 s of cancel")
		}
	}
	t.Logf("Run returned %v after cancel", time.Since(start))
	if _, err := a.Ping(context.Background(), ac); err != ErrNotRunning {
		t.Errorf("Ping after Run: %v, want ErrNotRunning", err)
	}
}

// TestNodeBootstrapAgain: a bootstrap node that is silent at start makes
// the first bootstrap fail; once it runs, the tick bootstraps again.
func TestNodeBootstrapAgain(t *testing.T) {
	silent := listen(t)
	c := listen(t)
	b := NewNode(Config{Conn: c, Bootstrap: []netip.AddrPort{connAddr(silent)}, LoopbackOnly: true,
		AddrRule: OnePerAddrPort, Timeout: 200 * time.Millisecond})
	runNode(t, b)
	waitFor(t, 2*time.Second, "the first bootstrap to fail", func() bool {
		var booting bool
		onLoop(t, b, func() { booting = b.booting })
		return !booting
	})
	a := NewNode(Config{Conn: silent, LoopbackOnly: true, AddrRule: OnePerAddrPort})
	runNode(t, a)
	onLoop(t, b, b.tick)
	waitFor(t, 2*time.Second, "the second bootstrap", func() bool { nodes, _ := b.Stats(); return nodes == 1 })
}

// TestNodeReplyMatch: a reply counts only with the transaction id of a
// query in flight and from the address the query went to.
func TestNodeReplyMatch(t *testing.T) {
	n, _ := startNode(t)
	peer, other := listen(t), listen(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	pinged := make(chan error, 1)
	go func() { _, err := n.Ping(ctx, connAddr(peer)); pinged <- err }()
	buf := make([]byte, MaxMsgLen)
	peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	sz, from, err := peer.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParseMsg(buf[:sz])
	if err != nil || q.Q != QueryPing {
		t.Fatalf("got %+v, %v; want a ping", q, err)
	}
	r := Msg{T: q.T, Y: TypeResponse, ID: RandomID()}
	wrongT := Msg{T: []byte("zz"), Y: TypeResponse, ID: r.ID}
	if _, err := other.WriteTo(r.Encode(), from); err != nil { // right id, wrong address
		t.Fatal(err)
	}
	if _, err := peer.WriteTo(wrongT.Encode(), from); err != nil { // right address, wrong id
		t.Fatal(err)
	}
	waitFor(t, time.Second, "two unmatched replies", func() bool {
		var unmatched int
		onLoop(t, n, func() { unmatched = n.counts.unmatched })
		return unmatched == 2
	})
	select {
	case err := <-pinged:
		t.Fatalf("Ping ended on an unmatched reply: %v", err)
	default:
	}
	if _, err := peer.WriteTo(r.Encode(), from); err != nil {
		t.Fatal(err)
	}
	if err := <-pinged; err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
