package dht

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestNodeAnswer(t *testing.T) {
	n := NewNode(Config{AddrRule: OnePerAddrPort})
	from := netip.MustParseAddrPort("127.0.0.1:7000")
	other := netip.MustParseAddrPort("127.0.0.2:7000")
	n.table.Insert(NodeInfo{ID: RandomID(), Addr: netip.MustParseAddrPort("127.0.0.9:9")}, n.now())
	hash, empty := RandomID(), RandomID()
	tok := n.tokens.Token(from.Addr())
	n.store.Add(hash, netip.MustParseAddrPort("127.0.0.5:5"))
	q := func(m Msg) Msg { m.T, m.Y, m.ID = []byte("aa"), TypeQuery, RandomID(); return m }
	for _, tc := range []struct {
		name   string
		from   netip.AddrPort
		m      Msg
		y      string
		code   int
		nodes  int
		values int
		token  bool
		stored netip.AddrPort
	}{
		{name: "ping", m: q(Msg{Q: QueryPing}), y: TypeResponse},
		{name: "find_node", m: q(Msg{Q: QueryFindNode, Target: hash}), y: TypeResponse, nodes: 1},
		{name: "get_peers values", m: q(Msg{Q: QueryGetPeers, InfoHash: hash}), y: TypeResponse, nodes: 1, values: 1, token: true},
		{name: "get_peers nodes", m: q(Msg{Q: QueryGetPeers, InfoHash: empty}), y: TypeResponse, nodes: 1, token: true},
		{name: "announce", m: q(Msg{Q: QueryAnnouncePeer, InfoHash: empty, Port: 6000, Token: tok}), y: TypeResponse,
			stored: netip.MustParseAddrPort("127.0.0.1:6000")},
		{name: "announce implied port", m: q(Msg{Q: QueryAnnouncePeer, InfoHash: empty, Port: 1, ImpliedPort: true, Token: tok}), y: TypeResponse,
			stored: from},
		{name: "announce token of another ip", from: other, m: q(Msg{Q: QueryAnnouncePeer, InfoHash: empty, Port: 6000, Token: tok}),
			y: TypeError, code: ErrProtocol},
		{name: "announce port 0", m: q(Msg{Q: QueryAnnouncePeer, InfoHash: empty, Token: tok}), y: TypeError, code: ErrProtocol},
		{name: "unknown", m: q(Msg{Q: "vote"}), y: TypeError, code: ErrMethodUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := from
			if tc.from.IsValid() {
				src = tc.from
			}
			ans := n.answer(src, tc.m)
			r, err := ParseMsg(ans.Encode())
			if err != nil {
				t.Fatal(err)
			}
			if r.Y != tc.y || r.ErrCode != tc.code || string(r.T) != "aa" {
				t.Fatalf("reply %+v, want y %q code %d t aa", r, tc.y, tc.code)
			}
			if len(r.Nodes) != tc.nodes || len(r.Values) != tc.values || (r.Token != nil) != tc.token {
				t.Errorf("reply has %d nodes, %d values, token %x; want %d, %d, %v", len(r.Nodes), len(r.Values), r.Token, tc.nodes, tc.values, tc.token)
			}
			if tc.stored.IsValid() {
				if got := n.store.Peers(empty, 100); len(got) == 0 || !containsAddr(got, tc.stored) {
					t.Errorf("stored %v, want %v among them", got, tc.stored)
				}
			}
		})
	}
}

func containsAddr(as []netip.AddrPort, a netip.AddrPort) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

func TestLimits(t *testing.T) {
	l := limits{perSource: make(map[netip.AddrPort]int)}
	a := netip.MustParseAddrPort("127.0.0.1:1")
	ok := 0
	for range 3 * MaxQueriesPerSource {
		if l.allow(a, false, t0) {
			ok++
		}
	}
	if ok != MaxQueriesPerSource {
		t.Errorf("one source: %d allowed in a second, want %d", ok, MaxQueriesPerSource)
	}
	if !l.allow(a, false, t0.Add(time.Second)) {
		t.Error("a new second refused")
	}
	ok = 0
	for i := range 3 * MaxRepliesPerSecond {
		if l.allow(netip.AddrPortFrom(a.Addr(), uint16(i+2)), false, t0.Add(2*time.Second)) {
			ok++
		}
	}
	if ok != MaxRepliesPerSecond {
		t.Errorf("many sources: %d allowed in a second, want %d", ok, MaxRepliesPerSecond)
	}
	if len(l.perSource) > MaxRateSources {
		t.Errorf("%d sources tracked, bound %d", len(l.perSource), MaxRateSources)
	}
	known := netip.MustParseAddrPort("127.0.0.2:1")
	if !l.allow(known, true, t0.Add(2*time.Second)) {
		t.Error("a node of the table refused while strangers used up the replies")
	}
	if l.allow(known, false, t0.Add(2*time.Second)) {
		t.Error("a stranger allowed past the replies of the second")
	}
}

// TestNodeHostile floods a node with garbage, replies to queries it never
// sent and 1,000 queries from one source: it answers within the rate
// bound, keeps its state bounded, and still answers a polite node.
func TestNodeHostile(t *testing.T) {
	n, addr := startNode(t)
	evil := listen(t)
	dst := net.UDPAddrFromAddrPort(addr)
	send := func(b []byte) {
		if _, err := evil.WriteTo(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 200 { // replies to queries never sent
		r := Msg{T: []byte{byte(i), 1, 2, 3}, Y: TypeResponse, ID: RandomID(), Nodes: []NodeInfo{{ID: RandomID(), Addr: netip.MustParseAddrPort("127.0.0.7:7")}}}
		send(r.Encode())
	}
	waitFor(t, time.Second, "the unsolicited replies", func() bool {
		var unmatched int
		onLoop(t, n, func() { unmatched = n.counts.unmatched })
		return unmatched >= 100 // the kernel may drop some
	})
	garbage := [][]byte{nil, []byte("d"), []byte("de"), []byte("i1e"), []byte("d1:t2:aa1:y1:qe"),
		[]byte("d1:ad2:id20:xxxxxxxxxxxxxxxxxxxxe1:q4:ping1:t2:aa1:y1:qee")}
	send(make([]byte, 60000))
	for range 30 {
		for _, g := range garbage {
			send(g)
		}
	}
	replies := make(chan int)
	go func() {
		buf := make([]byte, MaxMsgLen)
		got := 0
		for {
			evil.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if _, _, err := evil.ReadFrom(buf); err != nil {
				replies <- got
				return
			}
			got++
		}
	}()
	start := time.Now()
	for i := range 1000 {
		m := Msg{T: []byte{byte(i >> 8), byte(i)}, Y: TypeQuery, ID: RandomID(), Q: []string{QueryPing, QueryFindNode, QueryGetPeers, QueryAnnouncePeer}[i%4],
			Target: RandomID(), InfoHash: RandomID(), Port: 1, Token: []byte("forged")}
		send(m.Encode())
	}
	got := <-replies
	t.Logf("1,000 queries in %v: %d answered", time.Since(start), got)
	if got == 0 || got > 2*MaxQueriesPerSource {
		t.Errorf("%d queries answered, want 1 to %d", got, 2*MaxQueriesPerSource)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	polite, _ := startNode(t)
	if _, err := polite.Ping(ctx, addr); err != nil {
		t.Fatalf("the node stopped answering: %v", err)
	}
	onLoop(t, n, func() {
		hashes, peers := n.store.Len()
		t.Logf("after the flood: %d nodes, %d pending, %d sources, %d hashes, %d peers, counts %+v",
			n.table.Len(), len(n.pending), len(n.limits.perSource), hashes, peers, n.counts)
		if n.table.Len() > 2 || len(n.pending) > MaxVerifyPerSecond || len(n.limits.perSource) > MaxRateSources || peers != 0 {
			t.Error("state not bounded")
		}
		// The kernel may drop part of the flood before the reader sees it.
		if n.counts.unmatched == 0 || n.counts.limited == 0 {
			t.Errorf("counts %+v: want unmatched replies and the flood limited", n.counts)
		}
	})
}

// TestNodeTimeoutBlame: a timeout counts against a table node only when
// the query went to the address the table has for it.
func TestNodeTimeoutBlame(t *testing.T) {
	for _, tc := range []struct {
		name   string
		to     string
		failed int
	}{
		{"table address", "127.0.0.1:7000", 1},
		{"address from a nodes list", "127.0.0.2:7000", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := NewNode(Config{AddrRule: OnePerAddrPort})
			id := RandomID()
			n.table.Insert(NodeInfo{ID: id, Addr: netip.MustParseAddrPort("127.0.0.1:7000")}, n.now())
			n.pending["t"] = &pending{query: query{to: netip.MustParseAddrPort(tc.to), id: id}}
			n.sweep()
			b := n.table.buckets[n.table.index(id)]
			if got := b.nodes[find(b.nodes, id)].failed; got != tc.failed || len(n.pending) != 0 {
				t.Errorf("failed = %d, %d pending; want %d, 0", got, len(n.pending), tc.failed)
			}
		})
	}
}
