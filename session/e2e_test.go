package session

// End-to-end variants of a download: peers found through an in-test
// tracker, and a seeder that keeps choking us.

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unworkable/unworkable/metainfo"
	"github.com/unworkable/unworkable/peer"
	"github.com/unworkable/unworkable/piece"
)

// fakeTracker answers announces with a fixed compact peer list and records
// the events it was sent.
type fakeTracker struct {
	mu     sync.Mutex
	peers  []netip.AddrPort
	events []string
}

func (f *fakeTracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, r.URL.Query().Get("event"))
	var compact []byte
	for _, p := range f.peers {
		a := p.Addr().As4()
		compact = append(compact, a[:]...)
		compact = binary.BigEndian.AppendUint16(compact, p.Port())
	}
	fmt.Fprintf(w, "d8:intervali1800e5:peers%d:%se", len(compact), compact)
}

// sent returns the events announced so far, "" for a regular announce.
func (f *fakeTracker) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events)
}

func TestDownloadThroughTracker(t *testing.T) {
	ft := &fakeTracker{}
	srv := httptest.NewServer(ft)
	defer srv.Close()
	src := t.TempDir()
	m := makeTorrentOpts(t, src, []int64{200000, 50000}, metainfo.BuildOptions{
		PieceLength: 32768, Announce: [][]string{{srv.URL + "/announce"}},
	})
	ft.mu.Lock()
	ft.peers = []netip.AddrPort{startSeeder(t, m, src)}
	ft.mu.Unlock()
	dst := t.TempDir()
	tr := &traceBuf{}
	if err := download(t, m, dst, tr); err != nil { // no --peer: the tracker must deliver
		t.Fatalf("download: %v\n%s", err, tr)
	}
	sameTree(t, src, dst)
	// The seeder announced "started"; the leecher "started", then
	// "completed" and "stopped" on the way out.
	got := ft.sent()
	for _, want := range []string{"started", "completed", "stopped"} {
		if !slices.Contains(got, want) {
			t.Errorf("tracker never got event %q: %q", want, got)
		}
	}
	if i, j := slices.Index(got, "completed"), slices.Index(got, "stopped"); i > j {
		t.Errorf("completed after stopped: %q", got)
	}
}

func TestChokingSeederStillCompletes(t *testing.T) {
	src := t.TempDir()
	m := makeTorrent(t, src, []int64{300000}, 16384)
	data, err := os.ReadFile(filepath.Join(src, "payload", "a.bin"))
	if err != nil {
		t.Fatal(err)
	}
	addr, chokes := chokingSeeder(t, m, data)
	dst := t.TempDir()
	tr := &traceBuf{}
	if err := download(t, m, dst, tr, addr); err != nil {
		t.Fatalf("download: %v\n%s", err, tr)
	}
	sameTree(t, src, dst)
	// BEP 3: a choke discards the requests pending at a peer without the
	// fast extension; we must ask again at once, not wait for a timeout.
	if n := tr.count("timeout"); n > 0 {
		t.Errorf("%d requests timed out: a choke did not free them\n%s", n, tr)
	}
	if n := chokes(); n < 3 {
		t.Errorf("the seeder choked only %d times; the test proves nothing", n)
	}
}

// chokingSeeder serves data without the fast extension, choking the
// leecher after every 5 blocks it sends and unchoking it 50 ms later;
// requests pending at a choke are dropped, as BEP 3 allows. It returns its
// address and a function counting the chokes sent.
func chokingSeeder(t *testing.T, m *metainfo.MetaInfo, data []byte) (netip.AddrPort, func() int) {
	t.Helper()
	var mu sync.Mutex
	chokes := 0
	addr := fakeSeeder(t, m, data, func(pc *peer.Conn, served int) bool {
		if served%5 != 0 {
			return true
		}
		pc.WriteMsg(&peer.Msg{ID: peer.Choke})
		pc.Flush()
		mu.Lock()
		chokes++
		mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		drain(pc, 10*time.Millisecond) // requests sent before our choke arrived: dropped
		pc.WriteMsg(&peer.Msg{ID: peer.Unchoke})
		pc.Flush()
		return true
	})
	return addr, func() int {
		mu.Lock()
		defer mu.Unlock()
		return chokes
	}
}

// fakeSeeder accepts one leecher and serves every block it requests from
// data, without the fast extension, calling after each block served (the
// served'th) until after returns false; then it hangs up.
func fakeSeeder(t *testing.T, m *metainfo.MetaInfo, data []byte, after func(pc *peer.Conn, served int) bool) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		context.AfterFunc(ctx, func() { c.Close() })
		defer c.Close()
		ours := peer.Handshake{InfoHash: m.InfoHash, PeerID: peer.GenPeerID("0000")}
		if _, err := peer.Accept(c, ours, 5*time.Second); err != nil {
			return
		}
		full := piece.NewBitfield(m.Info.NumPieces())
		full.SetAll()
		pc := peer.NewConn(c, peer.MaxMsgLen(m.Info.NumPieces()))
		pc.WriteMsg(&peer.Msg{ID: peer.Bitfield, Bits: full.Bytes()})
		pc.WriteMsg(&peer.Msg{ID: peer.Unchoke})
		pc.Flush()
		for served := 0; ; {
			var msg peer.Msg
			if err := pc.ReadMsg(&msg); err != nil {
				return
			}
			if msg.KeepAlive || msg.ID != peer.Request {
				continue
			}
			off := int64(msg.Index)*m.Info.PieceLength + int64(msg.Begin)
			pc.WriteMsg(&peer.Msg{ID: peer.Piece, Index: msg.Index, Begin: msg.Begin, Block: data[off : off+int64(msg.Length)]})
			pc.Flush()
			served++
			if !after(pc, served) {
				return
			}
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// TestDroppedPeerBlocksKept has a peer hang up after sending 5 of a
// piece's 16 blocks, which wait unwritten in its run (stage.go): dropping
// the peer must write them, or the piece, completed by another seeder,
// fails its hash.
func TestDroppedPeerBlocksKept(t *testing.T) {
	src := t.TempDir()
	m := makeTorrent(t, src, []int64{4 << 20}, 256<<10)
	data, err := os.ReadFile(filepath.Join(src, "payload", "a.bin"))
	if err != nil {
		t.Fatal(err)
	}
	var quitterServed atomic.Int32
	quitter := fakeSeeder(t, m, data, func(_ *peer.Conn, served int) bool {
		quitterServed.Store(int32(served))
		return served < 5
	})
	dst := t.TempDir()
	tr := &traceBuf{}
	if err := download(t, m, dst, tr, quitter, startSeeder(t, m, src)); err != nil {
		t.Fatalf("download: %v\n%s", err, tr)
	}
	sameTree(t, src, dst)
	if n := quitterServed.Load(); n != 5 {
		t.Errorf("the quitter served %d blocks, want 5: the test proves nothing", n)
	}
	if n := tr.count("hashfail"); n > 0 {
		t.Errorf("%d pieces failed their hash: the dropped peer's blocks were lost\n%s", n, tr)
	}
}

// drain reads and discards messages until none arrives for quiet.
func drain(pc *peer.Conn, quiet time.Duration) {
	pc.SetReadTimeout(quiet)
	defer pc.SetReadTimeout(0)
	for {
		var msg peer.Msg
		if pc.ReadMsg(&msg) != nil {
			return
		}
	}
}
