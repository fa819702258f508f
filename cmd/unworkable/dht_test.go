package main

// The DHT of our binary without other clients: two of ours find each
// other through their nodes alone, the state file, the loopback guard on
// the DHT's bootstrap and on the nodes a hostile node names, and BEP 27
// (no lookup for a private torrent).

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/unworkable/unworkable/dht"
)

// fakeNode is a KRPC responder on 127.0.0.1 for tests: it records every
// query and answers each with what reply returns (nothing when nil).
type fakeNode struct {
	conn    net.PacketConn
	mu      sync.Mutex
	queries []dht.Msg
}

// startFakeNode starts a fake node until the test ends.
func startFakeNode(t *testing.T, reply func(q dht.Msg) *dht.Msg) *fakeNode {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	f := &fakeNode{conn: c}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			m, err := dht.ParseMsg(buf[:n])
			if err != nil || m.Y != dht.TypeQuery {
				continue
			}
			f.mu.Lock()
			f.queries = append(f.queries, m)
			f.mu.Unlock()
			if r := reply(m); r != nil {
				r.T, r.Y = m.T, dht.TypeResponse
				c.WriteTo(r.Encode(), from)
			}
		}
	}()
	return f
}

// addr is the fake node's host:port.
func (f *fakeNode) addr() string { return f.conn.LocalAddr().String() }

// got returns the queries received so far.
func (f *fakeNode) got() []dht.Msg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]dht.Msg(nil), f.queries...)
}

// TestDHTBetweenOurs: a bare magnet (no tracker, no peer) downloads from
// our seeder found through the DHT alone; each process leaves a state file
// whose id the next run on the same port keeps.
func TestDHTBetweenOurs(t *testing.T) {
	h := newHarness(t, "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newDHTSwarm(multiFiles)
	seedPort, leechPort := freePort(t), freePort(t)
	seed := h.ours("seed", "-s", "-p", strconv.Itoa(seedPort), "--dht-bootstrap", "127.0.0.1:"+strconv.Itoa(leechPort),
		"-o", sw.src, sw.torrent)
	h.waitListen(ctx, seed, seedPort)
	leech := func() {
		dst := h.mkdir("dst-" + strconv.Itoa(h.seq))
		trace := h.path("trace-" + strconv.Itoa(h.seq))
		h.logs = append(h.logs, trace)
		us := h.ours("leech", "-p", strconv.Itoa(leechPort), "--dht-bootstrap", "127.0.0.1:"+strconv.Itoa(seedPort),
			"-o", dst, "-t", trace, dhtMagnet(sw))
		h.expectExit(ctx, us, 0)
		if err := sameData(sw.meta, sw.src, dst); err != nil {
			t.Fatal(err)
		}
		if !traceHas(trace, "source=dht") {
			t.Error("trace: no peer connected with source=dht")
		}
	}
	leech()
	first := loadState(t, leechPort)
	leech()
	if again := loadState(t, leechPort); again.ID != first.ID {
		t.Errorf("second run's node id %v, want the saved %v", again.ID, first.ID)
	}
	if len(first.Nodes) == 0 {
		t.Error("state file holds no node: the seeder's node answered")
	}
	h.stopSeed(ctx, seed)
	if st := loadState(t, seedPort); st.ID == first.ID {
		t.Errorf("two ports share one node id %v", st.ID)
	}
}

// loadState reads the DHT state file of our process on port.
func loadState(t *testing.T, port int) dht.State {
	t.Helper()
	path := filepath.Join(os.Getenv("XDG_CACHE_HOME"), "unworkable", "dht-"+strconv.Itoa(port)+".state")
	st, err := dht.LoadState(path)
	if err != nil {
		t.Fatalf("state file: %v", err)
	}
	return st
}

// TestDHTGuard: under the loopback guard a public --dht-bootstrap is exit
// 2 before anything is sent, the public routers are not used (a warning
// says so), and the nodes and peers a hostile loopback node names at
// public addresses are never sent to or dialled.
func TestDHTGuard(t *testing.T) {
	dir := t.TempDir()
	magnet := "magnet:?xt=urn:btih:" + strings.Repeat("cd", 20)
	base := []string{"-p", "0", "--bind", "127.0.0.1", "-o", t.TempDir(), "--timeout", "2s"}
	for _, hp := range []string{"192.0.2.1:6881", "[2001:db8::1]:6881", "router.bittorrent.com:6881"} {
		host, _, _ := net.SplitHostPort(hp)
		r := runGuarded(t, dir, nil, append(base, "--dht-bootstrap", hp, magnet)...)
		want := "--dht-bootstrap " + hp + ": " + refusal(host)
		if r.code != exitUsage || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", hp, r.code, r.stderr, exitUsage, want)
		}
		checkLoopbackOnly(t, r)
	}

	r := runGuarded(t, dir, nil, append(base, magnet)...)
	if r.code != exitTimeout || !strings.Contains(r.stderr, "the public DHT routers are not used") {
		t.Errorf("no bootstrap: exit %d, stderr %q; want exit %d and the routers' warning", r.code, r.stderr, exitTimeout)
	}
	checkLoopbackOnly(t, r)

	public := []dht.NodeInfo{{ID: dht.RandomID(), Addr: netip.MustParseAddrPort("192.0.2.7:6881")}}
	peers := []netip.AddrPort{netip.MustParseAddrPort("192.0.2.8:6881")}
	node := startFakeNode(t, func(q dht.Msg) *dht.Msg {
		return &dht.Msg{ID: dht.RandomID(), Nodes: public, Values: peers, Token: []byte("tok")}
	})
	trace := filepath.Join(dir, "hostile.trace")
	r = runGuarded(t, dir, nil, append(base, "-t", trace, "--dht-bootstrap", node.addr(), magnet)...)
	if r.code != exitTimeout {
		t.Errorf("hostile node: exit %d, want %d; stderr %q", r.code, exitTimeout, r.stderr)
	}
	if len(node.got()) == 0 {
		t.Error("the loopback node got no query")
	}
	if !traceHas(trace, "refused to send to 192.0.2.7:6881") {
		t.Error("trace lacks the refusal of the public node")
	}
	if !traceHas(trace, refusal("192.0.2.8")) {
		t.Error("trace lacks the refusal of the public peer")
	}
	checkLoopbackOnly(t, r)
}

// TestDHTPrivate: a private torrent is never looked up or announced in
// the DHT (BEP 27), and its handshake gets no PORT message; the node
// itself still bootstraps.
func TestDHTPrivate(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data.bin"), bytes.Repeat([]byte("private"), 10000), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runOurs(t, dir, "create", "--private", "-a", "http://127.0.0.1:1/announce", "-o", "p.torrent", "data.bin"); code != 0 {
		t.Fatalf("create: exit %d: %s", code, stderr)
	}
	node := startFakeNode(t, func(q dht.Msg) *dht.Msg { return &dht.Msg{ID: dht.RandomID(), Token: []byte("tok")} })
	code, _, stderr := runOurs(t, dir, "-p", "0", "--bind", "127.0.0.1", "-o", dir, "--seed-time", "3s",
		"--dht-bootstrap", node.addr(), "p.torrent")
	if code != 0 {
		t.Fatalf("seed: exit %d: %s", code, stderr)
	}
	got := node.got()
	if len(got) == 0 {
		t.Fatal("the node got no query: the DHT did not run at all")
	}
	for _, q := range got {
		if q.Q == dht.QueryGetPeers || q.Q == dht.QueryAnnouncePeer {
			t.Errorf("the private torrent went to the DHT: %s", q.Q)
		}
	}
}
