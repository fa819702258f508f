package dht

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// loopAddr returns a distinct loopback address 127.x.y.z:6881 for i.
func loopAddr(i int) netip.AddrPort {
	i++ // skip 127.0.0.0
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, byte(i >> 16), byte(i >> 8), byte(i)}), 6881)
}

// idWithPrefix returns an id sharing exactly cpl leading bits with self,
// the rest taken from r.
func idWithPrefix(self ID, cpl int, r *rand.Rand) ID {
	var id ID
	for i := range id {
		id[i] = byte(r.Uint32())
	}
	for bit := range cpl {
		mask := byte(0x80 >> (bit % 8))
		id[bit/8] = id[bit/8]&^mask | self[bit/8]&mask
	}
	mask := byte(0x80 >> (cpl % 8))
	id[cpl/8] = id[cpl/8]&^mask | ^self[cpl/8]&mask
	return id
}

func TestTableSplit(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var self ID
	tb := NewTable(self, OnePerIP)
	// Eight far nodes (cpl 0) fill the only bucket; the ninth, close to
	// us, splits it.
	for i := range K {
		if !tb.Insert(NodeInfo{idWithPrefix(self, 0, r), loopAddr(i)}, t0) {
			t.Fatalf("insert %d refused", i)
		}
	}
	if tb.NumBuckets() != 1 {
		t.Fatalf("buckets = %d, want 1", tb.NumBuckets())
	}
	if !tb.Insert(NodeInfo{idWithPrefix(self, 5, r), loopAddr(100)}, t0) {
		t.Fatal("close node refused")
	}
	if tb.NumBuckets() != 2 || tb.Len() != K+1 {
		t.Fatalf("buckets = %d, len = %d; want 2, %d", tb.NumBuckets(), tb.Len(), K+1)
	}
	// A ninth far node: bucket 0 is full of good nodes and no longer ours
	// to split, so it becomes a candidate.
	if tb.Insert(NodeInfo{idWithPrefix(self, 0, r), loopAddr(200)}, t0) {
		t.Fatal("ninth far node went into a full bucket")
	}
	if tb.NumBuckets() != 2 {
		t.Fatalf("far bucket split: %d buckets", tb.NumBuckets())
	}
}

func TestTableReplacement(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var self ID
	tb := NewTable(self, OnePerIP)
	// Fill bucket 0 and make it final by splitting once.
	tb.Insert(NodeInfo{idWithPrefix(self, 3, r), loopAddr(99)}, t0)
	var far []NodeInfo
	for i := range K + 1 {
		n := NodeInfo{idWithPrefix(self, 0, r), loopAddr(i)}
		far = append(far, n)
		tb.Insert(n, t0)
	}
	first, cand := far[0], far[K]
	if has(tb, cand.ID) {
		t.Fatal("candidate in the table before any failure")
	}
	tb.Failed(first.ID)
	if !has(tb, first.ID) {
		t.Fatal("one failure removed a node")
	}
	tb.Failed(first.ID)
	if has(tb, first.ID) || !has(tb, cand.ID) {
		t.Fatal("bad node not replaced by the candidate")
	}
	// Without candidates a bad node stays until a newcomer needs its room.
	bad := far[1]
	for range MaxFails {
		tb.Failed(bad.ID)
	}
	if !has(tb, bad.ID) && tb.Len() != K+1 {
		t.Fatal("bad node dropped without a replacement")
	}
	for _, n := range tb.Closest(bad.ID, 100) {
		if n.ID == bad.ID {
			t.Fatal("Closest returned a bad node")
		}
	}
	newcomer := NodeInfo{idWithPrefix(self, 0, r), loopAddr(300)}
	if !tb.Insert(newcomer, t0) || has(tb, bad.ID) {
		t.Fatal("newcomer did not take the bad node's place")
	}
	// An answer clears the failure count.
	tb.Failed(far[2].ID)
	tb.Insert(far[2], t0.Add(time.Minute))
	tb.Failed(far[2].ID)
	if !has(tb, far[2].ID) {
		t.Fatal("failures not reset by an answer")
	}
}

func has(tb *Table, id ID) bool {
	return slices.ContainsFunc(tb.Closest(id, MaxBuckets*K), func(n NodeInfo) bool { return n.ID == id })
}

func TestTableAddrRules(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var self ID
	a := netip.MustParseAddrPort("127.0.0.1:7000")
	b := netip.MustParseAddrPort("127.0.0.1:7001")
	tests := []struct {
		rule   AddrRule
		second bool // whether a second id at the same IP, another port, is taken
	}{
		{OnePerIP, false},
		{OnePerAddrPort, true},
	}
	for _, tt := range tests {
		tb := NewTable(self, tt.rule)
		n1 := NodeInfo{idWithPrefix(self, 0, r), a}
		if !tb.Insert(n1, t0) {
			t.Fatal("first node refused")
		}
		if got := tb.Insert(NodeInfo{idWithPrefix(self, 0, r), b}, t0); got != tt.second {
			t.Errorf("rule %d: same IP, other port: %v, want %v", tt.rule, got, tt.second)
		}
		if tb.Insert(NodeInfo{idWithPrefix(self, 0, r), a}, t0) {
			t.Errorf("rule %d: second id at the same ip:port taken", tt.rule)
		}
		if tb.Insert(NodeInfo{n1.ID, netip.MustParseAddrPort("127.0.0.9:7000")}, t0) {
			t.Errorf("rule %d: known id moved to a new address", tt.rule)
		}
	}
	tb := NewTable(self, OnePerIP)
	for _, n := range []NodeInfo{{self, a}, {idWithPrefix(self, 0, r), netip.AddrPort{}}, {idWithPrefix(self, 0, r), netip.MustParseAddrPort("127.0.0.1:0")}} {
		if tb.Insert(n, t0) {
			t.Errorf("Insert(%v) accepted", n)
		}
	}
}

func TestTableClosest(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	tb := NewTable(RandomID(), OnePerAddrPort)
	var all []NodeInfo
	for i := range 500 {
		n := NodeInfo{idWithPrefix(tb.Self(), r.IntN(12), r), loopAddr(i)}
		if tb.Insert(n, t0) {
			all = append(all, n)
		}
	}
	target := RandomID()
	slices.SortFunc(all, func(x, y NodeInfo) int { return target.Cmp(x.ID, y.ID) })
	got := tb.Closest(target, K)
	if len(got) != K || !slices.Equal(got, all[:K]) {
		t.Errorf("Closest =\n%v\nwant\n%v", got, all[:K])
	}
	if len(tb.Closest(target, 100000)) != tb.Len() {
		t.Error("Closest(all) is not the whole table")
	}
	if len(NewTable(RandomID(), OnePerIP).Closest(target, K)) != 0 {
		t.Error("empty table returned nodes")
	}
}

func TestTableCapacity(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	tb := NewTable(RandomID(), OnePerIP)
	for i := range 100000 {
		var ip [4]byte
		binary.BigEndian.PutUint32(ip[:], r.Uint32())
		var id ID
		for j := range id {
			id[j] = byte(r.Uint32())
		}
		tb.Insert(NodeInfo{id, netip.AddrPortFrom(netip.AddrFrom4(ip), uint16(i%60000+1))}, t0)
	}
	if tb.Len() > MaxBuckets*K || tb.NumBuckets() > MaxBuckets {
		t.Fatalf("len %d, buckets %d", tb.Len(), tb.NumBuckets())
	}
	t.Logf("100000 random nodes: %d kept in %d buckets", tb.Len(), tb.NumBuckets())

	// Adversarial: K ids at every prefix length forces every split.
	tb = NewTable(RandomID(), OnePerAddrPort)
	i := 0
	for cpl := range MaxBuckets {
		for range 2 * K {
			tb.Insert(NodeInfo{idWithPrefix(tb.Self(), cpl, r), loopAddr(i)}, t0)
			i++
		}
	}
	// The last three prefix lengths hold only 4+2+1 ids, too few to fill
	// bucket 157, so 158 buckets is as far as splitting can go.
	if tb.NumBuckets() != MaxBuckets-2 || tb.Len() > MaxBuckets*K {
		t.Fatalf("len %d, buckets %d", tb.Len(), tb.NumBuckets())
	}
	for _, b := range tb.buckets {
		if len(b.nodes) > K || len(b.repl) > K {
			t.Fatalf("bucket of %d nodes, %d candidates", len(b.nodes), len(b.repl))
		}
	}
	if got, want := len(tb.addrs), countEntries(tb); got != want {
		t.Fatalf("address index has %d entries, table %d", got, want)
	}
}

func countEntries(tb *Table) int {
	n := 0
	for _, b := range tb.buckets {
		n += len(b.nodes) + len(b.repl)
	}
	return n
}

func TestTableQuestionable(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	tb := NewTable(RandomID(), OnePerIP)
	old := NodeInfo{idWithPrefix(tb.Self(), 0, r), loopAddr(1)}
	fresh := NodeInfo{idWithPrefix(tb.Self(), 1, r), loopAddr(2)}
	tb.Insert(old, t0)
	tb.Insert(fresh, t0.Add(10*time.Minute))
	q := tb.Questionable(t0.Add(GoodFor))
	if len(q) != 1 || q[0] != old {
		t.Errorf("Questionable = %v, want [%v]", q, old)
	}
	tb.Remove(old.ID)
	if tb.Len() != 1 || len(tb.addrs) != 1 {
		t.Errorf("Remove: len %d, addrs %d", tb.Len(), len(tb.addrs))
	}
}
