package session

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// TestShutdownEndsWriters: sessions cancelled while a peer is connected
// (the leecher by its context, then the seeder at cleanup) leave no writer
// goroutine behind: shutdown closes every live peer's queue.
func TestShutdownEndsWriters(t *testing.T) {
	src := t.TempDir()
	m := makeTorrent(t, src, []int64{1 << 20}, 1<<16)
	leakCheck(t)
	seedAddr := runListening(t, Config{Meta: m, Dir: src, Seed: true})
	// A leecher throttled to a crawl stays connected while we cancel it.
	h := NewHost(HostConfig{Version: "test", LoopbackOnly: true, DownloadRate: 16 << 10})
	s, err := New(h, Config{Meta: m, Dir: t.TempDir(), Peers: []netip.AddrPort{netip.MustParseAddrPort(seedAddr)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.Run(ctx)
}
