package dht

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

// clock is a fake clock for Tokens and PeerStore.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestTokens(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	other := netip.MustParseAddr("127.0.0.2")
	tests := []struct {
		name  string
		after time.Duration
		ip    netip.Addr
		valid bool
	}{
		{"at once", 0, ip, true},
		{"other ip", 0, other, false},
		{"4 minutes", 4 * time.Minute, ip, true},
		{"6 minutes", 6 * time.Minute, ip, true},
		{"9 minutes", 9*time.Minute + 59*time.Second, ip, true},
		{"10 minutes", 10 * time.Minute, ip, false},
		{"an hour", time.Hour, ip, false},
		{"ipv4-mapped", 0, netip.MustParseAddr("::ffff:127.0.0.1"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t0}
			tk := NewTokens(c.now)
			tok := tk.Token(ip)
			c.advance(tt.after)
			if got := tk.ValidToken(tok, tt.ip); got != tt.valid {
				t.Errorf("ValidToken after %v = %v, want %v", tt.after, got, tt.valid)
			}
		})
	}
	c := &clock{t0}
	tk := NewTokens(c.now)
	for _, bad := range [][]byte{nil, {}, []byte("x"), make([]byte, 20)} {
		if tk.ValidToken(bad, ip) {
			t.Errorf("ValidToken(%q) = true", bad)
		}
	}
	if len(tk.Token(ip)) > MaxTokenLen {
		t.Error("token longer than MaxTokenLen")
	}
	if string(NewTokens(nil).Token(ip)) == string(tk.Token(ip)) {
		t.Error("two token sources share a secret")
	}
}

func TestPeerStore(t *testing.T) {
	c := &clock{t0}
	s := NewPeerStore(c.now)
	h := ID{1}
	a := netip.MustParseAddrPort("127.0.0.1:1")
	b := netip.MustParseAddrPort("127.0.0.2:2")
	s.Add(h, a)
	c.advance(20 * time.Minute)
	s.Add(h, b)
	if got := s.Peers(h, 10); len(got) != 2 {
		t.Fatalf("Peers = %v", got)
	}
	c.advance(15 * time.Minute) // a is 35 minutes old, b 15
	if got := s.Peers(h, 10); !slices.Equal(got, []netip.AddrPort{b}) {
		t.Fatalf("after expiry Peers = %v, want [%v]", got, b)
	}
	s.Add(h, b) // refresh
	c.advance(29 * time.Minute)
	if got := s.Peers(h, 10); len(got) != 1 {
		t.Fatalf("refreshed peer expired: %v", got)
	}
	c.advance(time.Minute)
	s.Expire()
	if hs, ps := s.Len(); hs != 0 || ps != 0 {
		t.Fatalf("after Expire: %d hashes, %d peers", hs, ps)
	}
	if s.Peers(ID{9}, 10) != nil || s.Peers(h, 0) != nil {
		t.Fatal("Peers of an unknown hash")
	}
}

func TestPeerStoreBounds(t *testing.T) {
	c := &clock{t0}
	s := NewPeerStore(c.now)
	h := ID{1}
	for i := range MaxStoredPeers + 50 {
		s.Add(h, loopAddr(i))
		c.advance(time.Millisecond)
	}
	if _, ps := s.Len(); ps != MaxStoredPeers {
		t.Fatalf("%d peers stored, want %d", ps, MaxStoredPeers)
	}
	got := s.Peers(h, MaxStoredPeers)
	if slices.Contains(got, loopAddr(0)) || !slices.Contains(got, loopAddr(MaxStoredPeers+49)) {
		t.Error("eviction did not drop the oldest peers")
	}
	for i := range MaxStoredHashes + 10 {
		s.Add(ID{byte(i), byte(i >> 8), 0xff}, loopAddr(i))
		c.advance(time.Millisecond)
	}
	if hs, _ := s.Len(); hs != MaxStoredHashes {
		t.Fatalf("%d hashes stored, want %d", hs, MaxStoredHashes)
	}
	if s.Peers(h, 1) != nil {
		t.Error("the oldest info hash was not evicted")
	}
}

func TestPeerStoreSample(t *testing.T) {
	s := NewPeerStore(nil)
	h := ID{2}
	for i := range 100 {
		s.Add(h, loopAddr(i))
	}
	seen := make(map[netip.AddrPort]bool)
	for range 50 {
		got := s.Peers(h, 8)
		if len(got) != 8 {
			t.Fatalf("Peers(8) = %d peers", len(got))
		}
		slices.SortFunc(got, func(x, y netip.AddrPort) int { return x.Compare(y) })
		if len(slices.Compact(got)) != 8 {
			t.Fatal("duplicate peers in a sample")
		}
		for _, p := range got {
			seen[p] = true
		}
	}
	if len(seen) < 80 { // 400 draws from 100: missing 20 is vanishingly unlikely
		t.Errorf("samples covered only %d of 100 peers", len(seen))
	}
}
