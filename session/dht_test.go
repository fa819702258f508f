package session

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unworkable/unworkable/dht"
	"github.com/unworkable/unworkable/peer"
)

// fakeDHT is a DHT that hands out fixed peers and records what sessions
// ask of it.
type fakeDHT struct {
	peers []netip.AddrPort

	mu        sync.Mutex
	announces []int // the ports announced
	contacts  []netip.AddrPort
}

func (f *fakeDHT) Announce(ctx context.Context, ih dht.ID, port int) ([]netip.AddrPort, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.announces = append(f.announces, port)
	return f.peers, nil
}

func (f *fakeDHT) Contact(a netip.AddrPort) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.contacts = append(f.contacts, a)
}

func (f *fakeDHT) Stats() (int, int) { return 1, 0 }

// counts returns the announces and contacts so far.
func (f *fakeDHT) counts() (announces []int, contacts []netip.AddrPort) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.announces...), append([]netip.AddrPort(nil), f.contacts...)
}

// TestDHTFindsSeeder: a magnet session whose only source of peers is the
// DHT downloads from the seeder a lookup returns, announces its port, and
// marks the peer's source dht.
func TestDHTFindsSeeder(t *testing.T) {
	src := t.TempDir()
	m := makeTorrent(t, src, []int64{1 << 20}, 1<<16)
	seed := startSeeder(t, m, src)
	fd := &fakeDHT{peers: []netip.AddrPort{seed}}
	h := NewHost(HostConfig{Version: "test", LoopbackOnly: true, Port: 7001, DHT: fd, DHTPort: 7001})
	tr := &traceBuf{}
	s, err := New(h, Config{InfoHash: m.InfoHash, Dir: t.TempDir(), Trace: tr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatalf("run: %v\n%s", err, tr)
	}
	if !strings.Contains(tr.String(), "connect "+seed.String()) || !strings.Contains(tr.String(), "source=dht") {
		t.Errorf("the seeder was not found through the DHT:\n%s", tr)
	}
	if ann, _ := fd.counts(); len(ann) == 0 || ann[0] != 7001 {
		t.Errorf("announced ports %v, want 7001", ann)
	}
	if st := s.stats(true); !st.DHT || st.DHTPeers < 1 {
		t.Errorf("stats: DHT %v, DHTPeers %d; want true, at least 1", st.DHT, st.DHTPeers)
	}
}

// TestDHTPortMessages: a peer that sets the DHT bit gets our PORT message,
// and the first PORT it sends (not the next ones) is passed to the node
// with the peer's IP; the host's handshake sets the DHT bit.
func TestDHTPortMessages(t *testing.T) {
	m := makeTorrent(t, t.TempDir(), []int64{100000}, 16384)
	fd := &fakeDHT{}
	tr := &traceBuf{}
	addr := runListeningHost(t, HostConfig{Version: "test", DHT: fd, DHTPort: 7002}, Config{Meta: m, Dir: t.TempDir(), Trace: tr})
	ours := peer.Handshake{InfoHash: m.InfoHash, PeerID: randomPeerID()}
	ours.Reserved.SetDHT()
	nc, theirs := dialReady(t, addr, ours)
	defer nc.Close()
	if !theirs.Reserved.DHT() {
		t.Error("our handshake lacks the DHT bit")
	}
	c := peer.NewConn(nc, 0)
	for range 3 {
		if err := c.WriteMsg(&peer.Msg{ID: peer.Port, Port: 9999}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var msg peer.Msg
		if err := c.ReadMsg(&msg); err != nil {
			t.Fatalf("no PORT message from us: %v", err)
		}
		if msg.ID == peer.Port {
			if msg.Port != 7002 {
				t.Errorf("PORT %d, want 7002", msg.Port)
			}
			break
		}
	}
	want := netip.MustParseAddrPort("127.0.0.1:9999")
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, contacts := fd.counts()
		if len(contacts) > 0 {
			time.Sleep(100 * time.Millisecond) // room for a wrong second one
			if _, contacts = fd.counts(); len(contacts) != 1 || contacts[0] != want {
				t.Errorf("contacts %v, want [%v]", contacts, want)
			}
			return
		}
		if time.Now().After(end) {
			t.Fatalf("the PORT message never reached the node:\n%s", tr)
		}
	}
}
