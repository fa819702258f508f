package dht

import (
	"net/netip"
	"slices"
	"time"
)

// Routing table constants of BEP 5.
const (
	K          = 8                // bucket size: BEP 5's k
	MaxBuckets = IDLen * 8        // one bucket per bit of common prefix with our own id
	GoodFor    = 15 * time.Minute // BEP 5: a node is good if it answered within 15 minutes
	MaxFails   = 2                // failed queries in a row after which a node is bad
)

// AddrRule says how many nodes of the table may share an address.
type AddrRule int

// Address rules. BEP 42's spirit is one node per IP, so that one host
// cannot fill a bucket with ids of its choosing; OnePerAddrPort relaxes
// it for loopback tests, where every node is at 127.0.0.1 on its own port.
const (
	OnePerIP       AddrRule = iota // at most one node per IP address
	OnePerAddrPort                 // at most one node per IP address and port
)

// entry is a node in a bucket or a bucket's replacement list.
type entry struct {
	NodeInfo
	seen   time.Time // when it last answered us
	failed int       // queries in a row it did not answer
}

// bad reports whether e has failed MaxFails queries in a row. BEP 5:
// nodes become bad when they fail to respond to multiple queries in a row.
func (e *entry) bad() bool {
	return e.failed >= MaxFails
}

// bucket holds at most K nodes and at most K replacement candidates:
// nodes that answered us while the bucket was full of good nodes, newest
// last (as libtorrent keeps them), ready to take a bad node's place.
type bucket struct {
	nodes []entry
	repl  []entry
}

// Table is a Kademlia routing table (BEP 5). Bucket i holds the nodes
// whose ids share exactly i leading bits with ours, except the last
// bucket, which holds every node sharing at least len(buckets)-1 bits;
// only the last bucket splits, so there are at most MaxBuckets buckets,
// at most K nodes each and K replacement candidates each. Owned by the
// node's loop goroutine.
type Table struct {
	self    ID
	rule    AddrRule
	buckets []*bucket
	addrs   map[netip.AddrPort]ID // address key -> the id using it, for nodes and candidates
}

// NewTable returns an empty table for a node whose id is self.
func NewTable(self ID, rule AddrRule) *Table {
	return &Table{self: self, rule: rule, buckets: []*bucket{{}}, addrs: make(map[netip.AddrPort]ID)}
}

// Self returns the id the table is built around.
func (t *Table) Self() ID { return t.self }

// Len returns the number of nodes in the buckets, not counting
// replacement candidates: at most MaxBuckets*K.
func (t *Table) Len() int {
	n := 0
	for _, b := range t.buckets {
		n += len(b.nodes)
	}
	return n
}

// NumBuckets returns the number of buckets, 1 to MaxBuckets.
func (t *Table) NumBuckets() int { return len(t.buckets) }

// addrKey returns the key under which a's owner is recorded in t.addrs.
func (t *Table) addrKey(a netip.AddrPort) netip.AddrPort {
	if t.rule == OnePerIP {
		return netip.AddrPortFrom(a.Addr().Unmap(), 0)
	}
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// index returns the bucket that holds id.
func (t *Table) index(id ID) int {
	return min(t.self.CommonPrefixLen(id), len(t.buckets)-1)
}

// Insert records that n answered one of our queries at now, adding it to
// the table if there is room. It returns whether n is then in a bucket.
// Nodes merely heard of (in a "nodes" reply) should be pinged first and
// inserted when they answer. Our own id, invalid addresses, port 0, an
// address already used by another id, and a known id at a new address
// are refused. A full bucket takes n in place of a bad node; failing
// that, the bucket with our own id splits; failing that, n becomes a
// replacement candidate. BEP 5: when a bucket is full of good nodes the
// new node is simply discarded; we keep up to K candidates instead, so
// that a node gone bad is replaced at once.
func (t *Table) Insert(n NodeInfo, now time.Time) bool {
	if n.ID == t.self || !n.Addr.Addr().IsValid() || n.Addr.Port() == 0 {
		return false
	}
	key := t.addrKey(n.Addr)
	if owner, ok := t.addrs[key]; ok && owner != n.ID {
		return false
	}
	for {
		b := t.buckets[t.index(n.ID)]
		if i := find(b.nodes, n.ID); i >= 0 {
			e := &b.nodes[i]
			if e.Addr != n.Addr {
				return false
			}
			e.seen, e.failed = now, 0
			return true
		}
		if i := find(b.repl, n.ID); i >= 0 {
			if b.repl[i].Addr != n.Addr {
				return false
			}
			b.repl = slices.Delete(b.repl, i, i+1)
		}
		e := entry{NodeInfo: n, seen: now}
		if len(b.nodes) < K {
			b.nodes = append(b.nodes, e)
			t.addrs[key] = n.ID
			return true
		}
		if i := slices.IndexFunc(b.nodes, func(e entry) bool { return e.bad() }); i >= 0 {
			delete(t.addrs, t.addrKey(b.nodes[i].Addr))
			b.nodes[i] = e
			t.addrs[key] = n.ID
			return true
		}
		if t.index(n.ID) == len(t.buckets)-1 && len(t.buckets) < MaxBuckets {
			t.split()
			continue
		}
		t.addCandidate(b, e, key)
		return false
	}
}

// addCandidate appends e to b's replacement list, dropping the oldest
// candidate when there are K already.
func (t *Table) addCandidate(b *bucket, e entry, key netip.AddrPort) {
	if len(b.repl) == K {
		delete(t.addrs, t.addrKey(b.repl[0].Addr))
		b.repl = slices.Delete(b.repl, 0, 1)
	}
	b.repl = append(b.repl, e)
	t.addrs[key] = e.ID
}

// split adds a bucket after the last one and moves into it the nodes and
// candidates of the last bucket that share more leading bits with our id
// than its index. Only the last bucket, the one whose range holds our own
// id, ever splits (BEP 5).
func (t *Table) split() {
	last := len(t.buckets) - 1
	old := t.buckets[last]
	nb := &bucket{}
	t.buckets = append(t.buckets, nb)
	keep := func(es []entry, moved *[]entry) []entry {
		return slices.DeleteFunc(es, func(e entry) bool {
			if t.self.CommonPrefixLen(e.ID) > last {
				*moved = append(*moved, e)
				return true
			}
			return false
		})
	}
	old.nodes = keep(old.nodes, &nb.nodes)
	old.repl = keep(old.repl, &nb.repl)
}

// Failed records that the node with id did not answer a query. Once it
// has failed MaxFails queries in a row it is bad: the newest replacement
// candidate of its bucket, if any, takes its place at once; otherwise it
// stays until a new node needs the room.
func (t *Table) Failed(id ID) {
	b := t.buckets[t.index(id)]
	i := find(b.nodes, id)
	if i < 0 {
		return
	}
	if b.nodes[i].failed++; !b.nodes[i].bad() || len(b.repl) == 0 {
		return
	}
	delete(t.addrs, t.addrKey(b.nodes[i].Addr))
	b.nodes[i] = b.repl[len(b.repl)-1]
	b.repl = b.repl[:len(b.repl)-1]
}

// Remove deletes the node or candidate with id, if present.
func (t *Table) Remove(id ID) {
	b := t.buckets[t.index(id)]
	for _, es := range []*[]entry{&b.nodes, &b.repl} {
		if i := find(*es, id); i >= 0 {
			delete(t.addrs, t.addrKey((*es)[i].Addr))
			*es = slices.Delete(*es, i, i+1)
		}
	}
}

// Closest returns up to n nodes of the table that are not bad, closest to
// target first: the answer to find_node and get_peers, and the start of a
// lookup. It sorts the whole table (at most MaxBuckets*K nodes).
func (t *Table) Closest(target ID, n int) []NodeInfo {
	var all []NodeInfo
	for _, b := range t.buckets {
		for _, e := range b.nodes {
			if !e.bad() {
				all = append(all, e.NodeInfo)
			}
		}
	}
	slices.SortFunc(all, func(x, y NodeInfo) int { return target.Cmp(x.ID, y.ID) })
	return all[:min(n, len(all))]
}

// Questionable returns the nodes that have not answered for GoodFor and
// are not yet bad. BEP 5: such nodes are pinged; an answer makes them good
// again (Insert), silence counts against them (Failed).
func (t *Table) Questionable(now time.Time) []NodeInfo {
	var q []NodeInfo
	for _, b := range t.buckets {
		for _, e := range b.nodes {
			if !e.bad() && now.Sub(e.seen) >= GoodFor {
				q = append(q, e.NodeInfo)
			}
		}
	}
	return q
}

// find returns the index of the entry with id in es, or -1.
func find(es []entry, id ID) int {
	return slices.IndexFunc(es, func(e entry) bool { return e.ID == id })
}
