package session

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unworkable/unworkable/metainfo"
	"github.com/unworkable/unworkable/peer"
)

// runMagnet runs a session that knows only the info hash (and what else
// cfg says) until it ends, with a deadline.
func runMagnet(t *testing.T, ih [20]byte, cfg Config) error {
	t.Helper()
	cfg.InfoHash = ih
	s, err := New(testHost(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return s.Run(ctx)
}

// TestMagnetDownload fetches the metadata from a seeder it knows only by
// address, downloads, keeps the metadata and writes --save-torrent; a
// second run of the same magnet with no peer at all finds everything on
// disk and finishes.
func TestMagnetDownload(t *testing.T) {
	leakCheck(t)
	src := t.TempDir()
	m := makeTorrent(t, src, []int64{300000, 0, 70000}, 16384)
	seed := startSeeder(t, m, src)
	dst := t.TempDir()
	saved := filepath.Join(t.TempDir(), "saved.torrent")
	tr := &traceBuf{}
	trackers := [][]string{{"http://127.0.0.1:1/announce"}}
	err := runMagnet(t, m.InfoHash, Config{Dir: dst, MagnetPeers: []netip.AddrPort{seed}, Trace: tr,
		SaveTorrent: saved, Trackers: trackers})
	if err != nil {
		t.Fatalf("magnet download: %v\n%s", err, tr)
	}
	sameTree(t, src, dst)
	if !strings.Contains(tr.String(), "metadata: ") || !strings.Contains(tr.String(), "bytes verified") {
		t.Errorf("trace shows no metadata fetch:\n%s", tr)
	}
	got, err := metainfo.Load(saved)
	if err != nil {
		t.Fatalf("--save-torrent file: %v", err)
	}
	if got.InfoHash != m.InfoHash || len(got.Trackers()) != 1 || got.Trackers()[0][0] != trackers[0][0] {
		t.Errorf("saved torrent: hash %x trackers %v", got.InfoHash, got.Trackers())
	}
	tr2 := &traceBuf{}
	if err := runMagnet(t, m.InfoHash, Config{Dir: dst, Trace: tr2}); err != nil {
		t.Fatalf("second run without peers: %v\n%s", err, tr2)
	}
	if strings.Contains(tr2.String(), "fetching metadata") || !strings.Contains(tr2.String(), "metadata: ") {
		t.Errorf("second run did not use the kept metadata:\n%s", tr2)
	}
}

// metaPeer is a fake peer for metadata tests: it accepts connections for
// one info hash, sends an extension handshake offering size bytes of
// metadata, and lets act answer what we send. requests counts the
// ut_metadata requests it received over all connections.
type metaPeer struct {
	addr     netip.AddrPort
	requests atomic.Int64
}

// metaConn is one connection of a metaPeer, as seen by act.
type metaConn struct {
	c  net.Conn
	id uint8 // our ut_metadata id, as the session's handshake gave it
}

// send writes one extended message with ext id id.
func (mc *metaConn) send(id uint8, payload []byte) error {
	return peer.WriteMsg(mc.c, &peer.Msg{ID: peer.Extended, ExtID: id, Ext: payload})
}

// startMetaPeer listens on loopback; each connection handshakes for ih,
// sends hs (encoded) and then calls act for every ut_metadata request
// (other messages are skipped). act returns false to hang up.
func startMetaPeer(t *testing.T, ih [20]byte, hs peer.ExtHandshake, act func(mc *metaConn, req peer.MetadataMsg) bool) *metaPeer {
	t.Helper()
	return startFakePeer(t, ih, hs.Encode(), nil, act)
}

// startFakePeer is startMetaPeer whose extension handshake is the payload
// first, sent as it is; with after set, it calls after instead of
// answering requests, then reads until we hang up.
func startFakePeer(t *testing.T, ih [20]byte, first []byte, after func(*metaConn),
	act func(*metaConn, peer.MetadataMsg) bool) *metaPeer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	mp := &metaPeer{addr: netip.MustParseAddrPort(ln.Addr().String())}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go mp.serve(c, ih, first, after, act)
		}
	}()
	return mp
}

// serve runs one connection of a fake peer.
func (mp *metaPeer) serve(c net.Conn, ih [20]byte, first []byte, after func(*metaConn),
	act func(*metaConn, peer.MetadataMsg) bool) {
	defer c.Close()
	ours := peer.Handshake{InfoHash: ih, PeerID: randomPeerID()}
	ours.Reserved.SetExtended()
	if _, err := peer.Accept(c, ours, 5*time.Second); err != nil {
		return
	}
	mc := &metaConn{c: c}
	if mc.send(peer.ExtHandshakeID, first) != nil {
		return
	}
	if after != nil {
		after(mc)
		drainConn(c)
		return
	}
	r := peer.NewReader(c, 0)
	for {
		var m peer.Msg
		if r.ReadMsg(&m) != nil {
			return
		}
		if m.ID != peer.Extended {
			continue
		}
		if m.ExtID == peer.ExtHandshakeID {
			theirs, err := peer.ParseExtHandshake(m.Ext)
			if err != nil {
				return
			}
			mc.id = theirs.M[peer.ExtMetadata]
			continue
		}
		req, err := peer.ParseMetadataMsg(m.Ext)
		if err != nil || req.Type != peer.MetadataRequest {
			continue
		}
		mp.requests.Add(1)
		if !act(mc, req) {
			return
		}
	}
}

// randomPeerID returns a random peer id.
func randomPeerID() [20]byte {
	var id [20]byte
	rand.Read(id[:])
	return id
}

// serveData returns an act that answers every request from data.
func serveData(data []byte) func(*metaConn, peer.MetadataMsg) bool {
	return func(mc *metaConn, req peer.MetadataMsg) bool {
		off := req.Piece * peer.MetadataPieceLen
		if off >= len(data) {
			return false
		}
		m := peer.MetadataMsg{Type: peer.MetadataData, Piece: req.Piece, TotalSize: int64(len(data)),
			Data: data[off:min(len(data), off+peer.MetadataPieceLen)]}
		return mc.send(mc.id, m.Encode()) == nil
	}
}

// offer is the extension handshake of a fake peer offering size bytes.
func offer(size int64) peer.ExtHandshake {
	return peer.ExtHandshake{M: map[string]uint8{peer.ExtMetadata: 3, peer.ExtPex: 4}, V: "fake", MetadataSize: size}
}

// TestMagnetWrongHash serves metadata that fails the info hash: the peer
// is dropped, and though it is redialled (a magnet's peers are), it is
// never asked again; with no other source the run times out.
func TestMagnetWrongHash(t *testing.T) {
	bogus := make([]byte, 40000) // 3 pieces
	rand.Read(bogus)
	var ih [20]byte
	rand.Read(ih[:])
	mp := startMetaPeer(t, ih, offer(int64(len(bogus))), serveData(bogus))
	tr := &traceBuf{}
	err := runMagnet(t, ih, Config{Dir: t.TempDir(), MagnetPeers: []netip.AddrPort{mp.addr}, Trace: tr,
		Timeout: 3 * time.Second})
	if !errors.Is(err, ErrNoProgress) {
		t.Fatalf("run: %v, want ErrNoProgress\n%s", err, tr)
	}
	if !strings.Contains(tr.String(), "fail the info hash") || !strings.Contains(tr.String(), "sent metadata that fails the info hash") {
		t.Errorf("no hash failure and drop in the trace:\n%s", tr)
	}
	if n := mp.requests.Load(); n != 3 {
		t.Errorf("the lying peer got %d requests, want 3 (one round)", n)
	}
}

// TestMagnetHostileInfo serves metadata that hashes right but names a file
// "..": the run ends with ErrBadMetadata, and nothing is written.
func TestMagnetHostileInfo(t *testing.T) {
	info := []byte("d6:lengthi10e4:name2:..12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae")
	ih := sha1.Sum(info)
	mp := startMetaPeer(t, ih, offer(int64(len(info))), serveData(info))
	dir := t.TempDir()
	err := runMagnet(t, ih, Config{Dir: dir, MagnetPeers: []netip.AddrPort{mp.addr}})
	if !errors.Is(err, ErrBadMetadata) {
		t.Fatalf("run: %v, want ErrBadMetadata", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("output directory not empty: %v", ents)
	}
}

// TestMagnetHostilePeers lets fake peers break the metadata exchange and
// the extension protocol in turn: each is dropped, or never asked, and
// the session goes on (here until its timeout, as nobody has the data).
func TestMagnetHostilePeers(t *testing.T) {
	big := int64(1) << 40
	cases := []struct {
		name     string
		hs       peer.ExtHandshake
		raw      []byte // sent instead of hs when set
		act      func(*metaConn, peer.MetadataMsg) bool
		after    func(*metaConn) // sent after the handshake instead of answering requests
		trace    string          // expected in the trace
		requests int64           // -1: any
	}{
		{name: "handshake not a dictionary", raw: []byte("li1ee"), trace: "protocol violation", requests: 0},
		{name: "handshake of 1 MiB", raw: []byte("d1:v" + "1048500:" + strings.Repeat("x", 1048500) + "e"), trace: "v=", requests: -1},
		{name: "huge extension ids", hs: peer.ExtHandshake{M: map[string]uint8{}}, raw: []byte("d1:md11:ut_metadatai300e6:ut_pexi-1ee13:metadata_sizei100ee"), trace: "metadata=0", requests: 0},
		{name: "metadata size 0", hs: offer(0), trace: "metadata_size=0", requests: 0},
		{name: "metadata size negative", hs: offer(-5), trace: "metadata_size=-5", requests: 0},
		{name: "metadata size 2^40", hs: offer(big), trace: "metadata_size=1099511627776", requests: 0},
		{name: "piece not requested", hs: offer(40000), act: func(mc *metaConn, req peer.MetadataMsg) bool {
			m := peer.MetadataMsg{Type: peer.MetadataData, Piece: 7, TotalSize: 40000, Data: make([]byte, peer.MetadataPieceLen)}
			return mc.send(mc.id, m.Encode()) == nil
		}, trace: "not requested", requests: -1},
		{name: "piece sent twice", hs: offer(40000), act: func(mc *metaConn, req peer.MetadataMsg) bool {
			n := min(peer.MetadataPieceLen, 40000-req.Piece*peer.MetadataPieceLen)
			m := peer.MetadataMsg{Type: peer.MetadataData, Piece: req.Piece, TotalSize: 40000, Data: make([]byte, n)}
			return mc.send(mc.id, m.Encode()) == nil && mc.send(mc.id, m.Encode()) == nil
		}, trace: "not requested", requests: -1},
		{name: "sizes disagree", hs: offer(40000), act: func(mc *metaConn, req peer.MetadataMsg) bool {
			m := peer.MetadataMsg{Type: peer.MetadataData, Piece: req.Piece, TotalSize: 50000, Data: make([]byte, peer.MetadataPieceLen)}
			return mc.send(mc.id, m.Encode()) == nil
		}, trace: "total_size 50000", requests: -1},
		{name: "short piece", hs: offer(40000), act: func(mc *metaConn, req peer.MetadataMsg) bool {
			m := peer.MetadataMsg{Type: peer.MetadataData, Piece: req.Piece, TotalSize: 40000, Data: make([]byte, 100)}
			return mc.send(mc.id, m.Encode()) == nil
		}, trace: "bytes, want", requests: -1},
		{name: "oversized piece", hs: offer(40000), act: func(mc *metaConn, req peer.MetadataMsg) bool {
			raw := append([]byte("d8:msg_typei1e5:piecei0e10:total_sizei40000ee"), make([]byte, 20000)...)
			return mc.send(mc.id, raw) == nil
		}, trace: "protocol violation", requests: -1},
		{name: "reject loop", hs: offer(40000), act: func(mc *metaConn, req peer.MetadataMsg) bool {
			m := peer.MetadataMsg{Type: peer.MetadataReject, Piece: req.Piece}
			return mc.send(mc.id, m.Encode()) == nil
		}, trace: "not asked again", requests: -1},
		{name: "pex flood", hs: offer(0), after: pexFlood, trace: "ut_pex messages less than", requests: 0},
		{name: "pex of 201 peers", hs: offer(0), after: pexOf201, trace: "protocol violation", requests: 0},
		{name: "have far out of range before the metadata", hs: offer(0),
			after: sendMsgs(&peer.Msg{ID: peer.Have, Index: 1 << 30}), trace: "have 1073741824 out of range", requests: 0},
		{name: "huge bitfield before the metadata", hs: offer(0),
			after: sendMsgs(&peer.Msg{ID: peer.Bitfield, Bits: make([]byte, 1<<19)}), trace: "bitfield of 524288 bytes", requests: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var ih [20]byte
			rand.Read(ih[:])
			act := c.act
			if act == nil {
				act = func(*metaConn, peer.MetadataMsg) bool { return true }
			}
			first := c.raw
			if first == nil {
				first = c.hs.Encode()
			}
			mp := startFakePeer(t, ih, first, c.after, act)
			tr := &traceBuf{}
			err := runMagnet(t, ih, Config{Dir: t.TempDir(), MagnetPeers: []netip.AddrPort{mp.addr}, Trace: tr,
				Timeout: time.Second})
			if !errors.Is(err, ErrNoProgress) {
				t.Fatalf("run: %v, want ErrNoProgress\n%s", err, tr)
			}
			if !strings.Contains(tr.String(), c.trace) {
				t.Errorf("trace lacks %q:\n%s", c.trace, tr)
			}
			if n := mp.requests.Load(); c.requests >= 0 && n != c.requests {
				t.Errorf("%d metadata requests, want %d", n, c.requests)
			}
		})
	}
}

// pexFlood sends 20 ut_pex messages at once, under our id for it.
func pexFlood(mc *metaConn) {
	one := peer.Pex{Added: []peer.PexPeer{{Addr: netip.MustParseAddrPort("127.0.0.1:9")}}}
	for range 20 {
		if mc.send(extPexID, one.Encode()) != nil {
			return
		}
	}
}

// pexOf201 sends one ut_pex message listing 201 peers, one too many.
func pexOf201(mc *metaConn) {
	list := make([]byte, 0, 201*6)
	for i := range 201 {
		list = append(list, 127, 0, 1, byte(i), 0x1a, 0xe1)
	}
	mc.send(extPexID, []byte("d5:added"+strconv.Itoa(len(list))+":"+string(list)+"e"))
}

// sendMsgs returns an after hook that sends ms.
func sendMsgs(ms ...*peer.Msg) func(*metaConn) {
	return func(mc *metaConn) {
		for _, m := range ms {
			if peer.WriteMsg(mc.c, m) != nil {
				return
			}
		}
	}
}

// drainConn reads c until it fails.
func drainConn(c net.Conn) {
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

// TestPexFindsSeeder gives a leecher one peer only, another leecher (its
// downloads limited, so it stays one) that is connected to the seeder: the
// leecher learns of the seeder from that peer's ut_pex and downloads from
// it.
func TestPexFindsSeeder(t *testing.T) {
	src := t.TempDir()
	m := makeTorrent(t, src, []int64{4 << 20}, 1<<16)
	seed := startSeeder(t, m, src)
	mid := netip.MustParseAddrPort(runListeningHost(t, HostConfig{Version: "test", DownloadRate: 64 << 10},
		Config{Meta: m, Dir: t.TempDir(), Peers: []netip.AddrPort{seed}, Seed: true}))
	dst := t.TempDir()
	tr := &traceBuf{}
	if err := download(t, m, dst, tr, mid); err != nil {
		t.Fatalf("download: %v\n%s", err, tr)
	}
	sameTree(t, src, dst)
	if want := "connect " + seed.String(); !strings.Contains(tr.String(), want) ||
		!strings.Contains(tr.String(), "source=pex") {
		t.Errorf("the seeder was not found through PEX (want %q with source=pex):\n%s", want, tr)
	}
}

// TestPexPrivate connects a session of a private torrent (BEP 27) to a
// fake peer that speaks ut_pex: our extension handshake must not offer
// ut_pex, and the addresses of the peer's ut_pex message must never be
// dialled.
func TestPexPrivate(t *testing.T) {
	m := makeTorrentOpts(t, t.TempDir(), []int64{100000}, metainfo.BuildOptions{PieceLength: 16384, Private: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	offered := make(chan bool, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		ours := peer.Handshake{InfoHash: m.InfoHash, PeerID: randomPeerID()}
		ours.Reserved.SetExtended()
		if _, err := peer.Accept(c, ours, 5*time.Second); err != nil {
			return
		}
		mc := &metaConn{c: c}
		hs := offer(0)
		mc.send(peer.ExtHandshakeID, hs.Encode())
		r := peer.NewReader(c, 0)
		for {
			var msg peer.Msg
			if r.ReadMsg(&msg) != nil {
				return
			}
			if msg.ID == peer.Extended && msg.ExtID == peer.ExtHandshakeID {
				hs, err := peer.ParseExtHandshake(msg.Ext)
				offered <- err != nil || hs.M[peer.ExtPex] != 0
				break
			}
		}
		pexFlood(mc) // the first of them names 127.0.0.1:9
		drainConn(c)
	}()
	tr := &traceBuf{}
	s, err := New(testHost(), Config{Meta: m, Dir: t.TempDir(), Trace: tr,
		Peers: []netip.AddrPort{netip.MustParseAddrPort(ln.Addr().String())}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); !errors.Is(err, ErrNoProgress) {
		t.Fatalf("run: %v, want ErrNoProgress\n%s", err, tr)
	}
	select {
	case bad := <-offered:
		if bad {
			t.Errorf("our extension handshake offered ut_pex for a private torrent")
		}
	default:
		t.Fatalf("the fake peer never saw our extension handshake\n%s", tr)
	}
	if strings.Contains(tr.String(), "127.0.0.1:9 ") || strings.Contains(tr.String(), "127.0.0.1:9:") {
		t.Errorf("an address from ut_pex was dialled for a private torrent:\n%s", tr)
	}
}
