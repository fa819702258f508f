package session

// Regression tests for the hardening of the loop against hostile peers: a
// cap on incoming handshakes in progress, and a limit on unrequested blocks.

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unworkable/unworkable/metainfo"
	"github.com/unworkable/unworkable/peer"
	"github.com/unworkable/unworkable/piece"
)

// runListening runs a session with a listener on 127.0.0.1 in the
// background until the test ends, and returns its address.
func runListening(t testing.TB, cfg Config) string {
	t.Helper()
	return runListeningHost(t, HostConfig{Version: "test"}, cfg)
}

// runListeningHost is runListening on a host of hc (its listener and port
// filled in).
func runListeningHost(t testing.TB, hc HostConfig, cfg Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hc.Listener, hc.Port = ln, uint16(ln.Addr().(*net.TCPAddr).Port)
	hc.LoopbackOnly = true // as every test run: no address a peer names but loopback is dialled
	h := NewHost(hc)
	h.Start()
	s, err := New(h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && err != context.Canceled {
			t.Errorf("session on %s: %v", ln.Addr(), err)
		}
		h.Close()
	})
	return ln.Addr().String()
}

// testHost returns a host without a listener under the loopback guard:
// no test session dials or announces beyond loopback, whatever a fake
// peer or tracker hands out.
func testHost() *Host {
	return NewHost(HostConfig{Version: "test", LoopbackOnly: true})
}

// waitTrace polls tr until it holds want, failing after a generous while.
func waitTrace(t *testing.T, tr *traceBuf, want string) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if strings.Contains(tr.String(), want) {
			return
		}
	}
	t.Fatalf("trace never showed %q:\n%s", want, tr)
}

// TestAcceptCap opens four times maxPendingAccepts silent connections to a
// seed: the ones beyond the cap are closed at once (no goroutine each), and
// once the silent ones are gone a real leecher still downloads.
func TestAcceptCap(t *testing.T) {
	src := t.TempDir()
	m := makeTorrent(t, src, []int64{100000}, 16384)
	tr := &traceBuf{}
	before := runtime.NumGoroutine()
	addr := runListening(t, Config{Meta: m, Dir: src, Seed: true, Trace: tr})
	var conns []net.Conn
	for range 4 * maxPendingAccepts {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	waitTrace(t, tr, "refuse incoming: ")
	// The session's own goroutines: the loop, the accept loop and one hasher
	// per core; plus the pending handshakes.
	if n, most := runtime.NumGoroutine()-before, maxPendingAccepts+runtime.NumCPU()+8; n > most {
		t.Errorf("%d goroutines with %d silent connections, want at most %d", n, len(conns), most)
	}
	for _, c := range conns {
		c.Close()
	}
	dst := t.TempDir()
	dtr := &traceBuf{}
	if err := download(t, m, dst, dtr, netip.MustParseAddrPort(addr)); err != nil {
		t.Fatalf("download after the flood: %v\n%s", err, dtr)
	}
	sameTree(t, src, dst)
}

// TestUnrequestedFlood sends a leecher blocks it never asked for (it is not
// even interested): the peer is dropped once maxUnrequested bytes arrived.
func TestUnrequestedFlood(t *testing.T) {
	src := t.TempDir()
	m := makeTorrent(t, src, []int64{400000}, 16384)
	tr := &traceBuf{}
	addr := runListening(t, Config{Meta: m, Dir: t.TempDir(), Trace: tr})
	c := handshakeWith(t, addr, m)
	defer c.Close()
	block := make([]byte, piece.BlockSize)
	sent := 0
	for ; sent < 2*maxUnrequested/len(block); sent++ {
		if err := c.WriteMsg(&peer.Msg{ID: peer.Piece, Index: uint32(sent % (m.Info.NumPieces() - 1)), Block: block}); err != nil {
			break // dropped: the connection is closed
		}
		if err := c.Flush(); err != nil {
			break
		}
	}
	waitTrace(t, tr, "bytes of blocks we did not request")
	if sent*len(block) < maxUnrequested {
		t.Errorf("dropped after %d bytes, before the limit %d", sent*len(block), maxUnrequested)
	}
}

// handshakeWith dials addr and handshakes for m as a stranger.
func handshakeWith(t *testing.T, addr string, m *metainfo.MetaInfo) *peer.Conn {
	t.Helper()
	nc, _ := dialReady(t, addr, peer.Handshake{InfoHash: m.InfoHash, PeerID: peer.GenPeerID("test")})
	return peer.NewConn(nc, 0)
}

// dialReady dials addr and handshakes with ours until the session there
// answers: it refuses connections until its start-up check is over, which
// a test that dials at once may meet. It fails the test after 10 s.
func dialReady(t *testing.T, addr string, ours peer.Handshake) (net.Conn, peer.Handshake) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := peer.Initiate(nc, ours, 5*time.Second)
		if err == nil {
			return nc, theirs
		}
		nc.Close()
		if time.Now().After(end) {
			t.Fatal(err)
		}
	}
}

// TestResumeFileNotFollowed plants a symlink to a FIFO where the resume
// file goes (a link to /dev/zero would be as bad: read forever): New must
// not follow it, nor block on it, and falls back to a hash check.
func TestResumeFileNotFollowed(t *testing.T) {
	src := t.TempDir()
	m := makeTorrent(t, src, []int64{100000}, 16384)
	tr := &traceBuf{}
	s := &Session{cfg: Config{Meta: m, Dir: src}, hash: m.InfoHash}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(fifo, s.resumePath()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		s, err := openSession(t, Config{Meta: m, Dir: src, Trace: tr})
		if err == nil {
			s.close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("New still reading the resume file after 60 s")
	}
	if n := tr.count("checked"); n != m.Info.NumPieces() || strings.Contains(tr.String(), "resume: ") {
		t.Errorf("checked %d of %d pieces; trace:\n%s", n, m.Info.NumPieces(), tr)
	}
}

// TestPeerFloodsDropped sends a leecher a flood of one harmless message
// each: the peer must be dropped for it, with the reason in the trace.
func TestPeerFloodsDropped(t *testing.T) {
	src := t.TempDir()
	m := makeTorrent(t, src, []int64{400000}, 16384)
	tests := []struct {
		name string
		m    peer.Msg
		n    int
		want string
	}{
		{"choke storm", peer.Msg{ID: peer.Choke}, 10 * maxChokes, "choke storm"},
		{"unchoke storm", peer.Msg{ID: peer.Unchoke}, 10 * maxChokes, ""},
		{"requests we cannot serve", peer.Msg{ID: peer.Request, Length: piece.BlockSize}, 10 * maxRejected, "requests we cannot serve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &traceBuf{}
			addr := runListening(t, Config{Meta: m, Dir: t.TempDir(), Trace: tr})
			c := handshakeWith(t, addr, m)
			defer c.Close()
			go func() { // read what the session sends, until it closes
				var in peer.Msg
				for c.ReadMsg(&in) == nil {
				}
			}()
			for range tt.n {
				if c.WriteMsg(&tt.m) != nil {
					break
				}
			}
			c.Flush()
			if tt.want == "" {
				// Unchoke alone is harmless: still connected, the
				// session alive; a keep-alive still goes through.
				time.Sleep(200 * time.Millisecond)
				if err := c.WriteMsg(&peer.Msg{KeepAlive: true}); err != nil || c.Flush() != nil {
					t.Fatalf("dropped after %d unchokes", tt.n)
				}
				if strings.Contains(tr.String(), "drop ") {
					t.Fatalf("dropped:\n%s", tr)
				}
				return
			}
			waitTrace(t, tr, tt.want)
		})
	}
}
