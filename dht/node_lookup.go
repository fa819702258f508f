package dht

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// Lookup bounds.
const (
	MaxCandidates = 128  // contacts a lookup keeps; the farthest unasked are dropped
	MaxLookupPeer = 2000 // peers a get_peers lookup collects
)

// Candidate states in a lookup.
const (
	fresh = iota
	asked
	answered
	failed
)

// cand is a contact in a lookup. known is false for a bootstrap address
// whose id we learn only from its reply; such contacts are asked first.
// Owned by the lookup's goroutine.
type cand struct {
	NodeInfo
	known bool
	state int
	token []byte
}

// lookup is one iterative lookup (BEP 5) run on its caller's goroutine:
// Alpha queries in flight, towards the K closest contacts, until the K
// closest not failed have all answered or nothing is left to ask. It
// never touches the table: the loop inserts the nodes that answer.
type lookup struct {
	n       *Node
	target  ID
	q       string // QueryFindNode or QueryGetPeers
	cands   map[netip.AddrPort]*cand
	results chan result
	flying  int
	peers   map[netip.AddrPort]bool
}

// newLookup starts a lookup seeded with the table's closest nodes, or
// with the bootstrap addresses when the table has none.
func (n *Node) newLookup(ctx context.Context, target ID, q string) (*lookup, error) {
	l := &lookup{n: n, target: target, q: q, cands: make(map[netip.AddrPort]*cand),
		results: make(chan result, Alpha), peers: make(map[netip.AddrPort]bool)}
	var seeds []NodeInfo
	var stored []netip.AddrPort
	err := n.do(ctx, func() {
		seeds = n.table.Closest(target, K)
		if q == QueryGetPeers {
			stored = n.store.Peers(target, MaxLookupPeer)
		}
	})
	if err != nil {
		return nil, err
	}
	for _, p := range stored { // we are a node of the DHT too: what was announced to us counts
		l.peers[p] = true
	}
	for _, s := range seeds {
		l.add(s, true)
	}
	if len(seeds) == 0 {
		for _, a := range n.cfg.Bootstrap {
			l.add(NodeInfo{Addr: a}, false)
		}
	}
	return l, nil
}

// add makes ni a candidate, unless it is us, already known, unusable or
// the lookup is full.
func (l *lookup) add(ni NodeInfo, known bool) {
	a := netip.AddrPortFrom(ni.Addr.Addr().Unmap(), ni.Addr.Port())
	if known && ni.ID == l.n.id || !a.Addr().IsValid() || a.Port() == 0 || l.cands[a] != nil || len(l.cands) >= MaxCandidates {
		return
	}
	l.cands[a] = &cand{NodeInfo: NodeInfo{ID: ni.ID, Addr: a}, known: known}
}

// sorted returns the candidates not failed, unknown ids first, then
// closest to the target first.
func (l *lookup) sorted() []*cand {
	var cs []*cand
	for _, c := range l.cands {
		if c.state != failed {
			cs = append(cs, c)
		}
	}
	slices.SortFunc(cs, func(x, y *cand) int {
		if x.known != y.known {
			if !x.known {
				return -1
			}
			return 1
		}
		return l.target.Cmp(x.ID, y.ID)
	})
	return cs
}

// run drives the lookup to its end and returns the K closest candidates
// that answered, closest first.
func (l *lookup) run(ctx context.Context) ([]*cand, error) {
	for {
		top := l.sorted()
		top = top[:min(len(top), K)]
		done := true
		for _, c := range top {
			if c.state != answered {
				done = false
			}
			if c.state == fresh && l.flying < Alpha {
				if err := l.ask(ctx, c); err != nil {
					return nil, err
				}
			}
		}
		if done || l.flying == 0 {
			return l.closestAnswered(), nil
		}
		select {
		case r := <-l.results:
			l.flying--
			l.take(r)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-l.n.done:
			return nil, ErrNotRunning
		}
	}
}

// ask sends the lookup's query to c.
func (l *lookup) ask(ctx context.Context, c *cand) error {
	m := Msg{Q: l.q, Target: l.target}
	if l.q == QueryGetPeers {
		m = Msg{Q: l.q, InfoHash: l.target}
	}
	if err := l.n.ask(ctx, query{to: c.Addr, id: c.ID, msg: m, reply: l.results}); err != nil {
		return err
	}
	c.state = asked
	l.flying++
	return nil
}

// take records one result: the contact answered (with its id, token,
// nodes and peers) or failed.
func (l *lookup) take(r result) {
	c := l.cands[r.to]
	if c == nil {
		return
	}
	if r.err != nil {
		c.state = failed
		return
	}
	c.state, c.ID, c.known, c.token = answered, r.msg.ID, true, r.msg.Token
	if c.ID == l.n.id {
		c.state = failed // a bootstrap address that is ourselves
	}
	for _, ni := range append(r.msg.Nodes, r.msg.Nodes6...) {
		l.add(ni, true)
	}
	for _, p := range r.msg.Values {
		if len(l.peers) < MaxLookupPeer && p.Addr().IsValid() && p.Port() != 0 {
			l.peers[p] = true
		}
	}
}

// closestAnswered returns the K closest candidates that answered.
func (l *lookup) closestAnswered() []*cand {
	var out []*cand
	for _, c := range l.sorted() {
		if c.state == answered && len(out) < K {
			out = append(out, c)
		}
	}
	return out
}

// startBootstrap starts a bootstrap lookup unless one is running or
// there is nothing to bootstrap from. Called on the loop.
func (n *Node) startBootstrap() {
	if n.booting || len(n.cfg.Bootstrap) == 0 {
		return
	}
	n.booting = true
	n.wg.Add(1)
	go n.bootstrap(n.runCtx)
}

// bootstrap is the lookup for our own id (BEP 5: find the nodes close to
// us), seeded from cfg.Bootstrap when the table is empty. The nodes that
// answer enter the table. It tells the loop when it is over.
func (n *Node) bootstrap(ctx context.Context) {
	defer n.wg.Done()
	defer n.do(ctx, func() {
		n.booting = false
		n.bootGap = min(max(2*n.bootGap, MinBootGap), MaxBootGap)
		n.bootAt = n.now().Add(n.bootGap)
	})
	l, err := n.newLookup(ctx, n.id, QueryFindNode)
	if err != nil {
		return
	}
	if _, err := l.run(ctx); err != nil {
		n.trace("bootstrap: %v", err)
	}
}

// GetPeers runs a get_peers lookup for infoHash and returns the peers
// the nodes on the way handed out, at most MaxLookupPeer. Run must be
// running; GetPeers waits for it until ctx ends.
func (n *Node) GetPeers(ctx context.Context, infoHash ID) ([]netip.AddrPort, error) {
	l, err := n.newLookup(ctx, infoHash, QueryGetPeers)
	if err != nil {
		return nil, err
	}
	if _, err := l.run(ctx); err != nil {
		return nil, fmt.Errorf("dht: get_peers %v: %w", infoHash, err)
	}
	return l.found(), nil
}

// found returns the peers the lookup collected.
func (l *lookup) found() []netip.AddrPort {
	peers := make([]netip.AddrPort, 0, len(l.peers))
	for p := range l.peers {
		peers = append(peers, p)
	}
	return peers
}

// Announce runs a get_peers lookup for infoHash, then sends announce_peer
// with port (0: implied_port, the source port of our socket) and each
// node's token to the K closest nodes that answered with a token. It
// returns the peers the lookup found (as GetPeers does), and an error
// unless at least one node accepted the announce.
func (n *Node) Announce(ctx context.Context, infoHash ID, port int) ([]netip.AddrPort, error) {
	l, err := n.newLookup(ctx, infoHash, QueryGetPeers)
	if err != nil {
		return nil, err
	}
	closest, err := l.run(ctx)
	if err != nil {
		return nil, fmt.Errorf("dht: announce %v: %w", infoHash, err)
	}
	peers := l.found()
	return peers, n.announceTo(ctx, infoHash, port, closest)
}

// announceTo sends announce_peer to each of closest that gave a token and
// waits for their answers; nil when at least one accepted.
func (n *Node) announceTo(ctx context.Context, infoHash ID, port int, closest []*cand) error {
	replies := make(chan result, len(closest))
	sent := 0
	for _, c := range closest {
		if c.token == nil {
			continue
		}
		m := Msg{Q: QueryAnnouncePeer, InfoHash: infoHash, Port: port, ImpliedPort: port == 0, Token: c.token}
		if err := n.ask(ctx, query{to: c.Addr, id: c.ID, msg: m, reply: replies}); err != nil {
			return fmt.Errorf("dht: announce %v: %w", infoHash, err)
		}
		sent++
	}
	ok := 0
	var last error = errors.New("no node answered with a token")
	for range sent {
		select {
		case r := <-replies:
			if r.err == nil {
				ok++
			} else {
				last = r.err
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-n.done:
			return ErrNotRunning
		}
	}
	if ok == 0 {
		return fmt.Errorf("dht: announce %v: %w", infoHash, last)
	}
	return nil
}
