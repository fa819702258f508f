package dht

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// TestNodeContact: a contact (a peer's PORT message) is pinged and, as
// it answers, enters the table; Contact never blocks.
func TestNodeContact(t *testing.T) {
	a, _ := startNode(t)
	b, bAddr := startNode(t)
	a.Contact(bAddr)
	waitFor(t, 3*time.Second, "the contact in the table", func() bool {
		var in bool
		onLoop(t, a, func() { in = inTable(a.table, NodeInfo{ID: b.ID(), Addr: bAddr}) })
		return in
	})
	for range 1000 { // more than the channel holds: dropped, not blocked
		a.Contact(netip.MustParseAddrPort("127.0.0.1:9"))
	}
	nodes, err := a.GoodNodes(context.Background(), 10)
	if err != nil || len(nodes) != 1 || nodes[0].ID != b.ID() {
		t.Fatalf("GoodNodes: %v, %v; want b", nodes, err)
	}
}

// TestNodeSelf: a node that serves an info hash (Config.Local) hands out
// its own address in get_peers replies for it, at the loopback address
// for a loopback querier, and nothing for other hashes.
func TestNodeSelf(t *testing.T) {
	served := RandomID()
	c := listen(t)
	a := NewNode(Config{Conn: c, LoopbackOnly: true, AddrRule: OnePerAddrPort, Timeout: time.Second,
		Local: func(ih ID) (int, bool) { return 7777, ih == served }})
	runNode(t, a)
	b, _ := startNode(t, connAddr(c))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	peers, err := b.GetPeers(ctx, served)
	want := netip.MustParseAddrPort("127.0.0.1:7777")
	if err != nil || !slices.Contains(peers, want) {
		t.Fatalf("get_peers for the served hash: %v, %v; want %v", peers, err, want)
	}
	peers, err = b.GetPeers(ctx, RandomID())
	if err != nil || len(peers) != 0 {
		t.Fatalf("get_peers for another hash: %v, %v; want none", peers, err)
	}
}
