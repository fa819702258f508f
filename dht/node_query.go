package dht

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
)

// query is a request from a lookup to the loop: send msg to the node at
// to (whose id is id, zero when not yet known) and deliver one result on
// reply, a channel with room for it. reply may be nil (the tick's pings).
type query struct {
	to    netip.AddrPort
	id    ID
	msg   Msg
	reply chan<- result
}

// result is the outcome of one query: the reply (a response), or an error
// (a KRPC error message, a timeout, a refusal).
type result struct {
	to  netip.AddrPort
	msg Msg
	err error
}

// pending is a query in flight. Owned by the loop goroutine.
type pending struct {
	query
	deadline int64 // n.now().UnixNano() past which it has failed
}

// deliver hands r to the query's reply channel without blocking: the
// channel has room for every result its lookup waits for.
func (q *query) deliver(r result) {
	r.to = q.to
	if q.reply == nil {
		return
	}
	select {
	case q.reply <- r:
	default:
	}
}

// send sends a query for a lookup (or the tick) under a new transaction
// id and records it as pending. A full pending map, the guard or a write
// error ends the query at once.
func (n *Node) send(q query) {
	q.to = netip.AddrPortFrom(q.to.Addr().Unmap(), q.to.Port())
	if len(n.pending) >= MaxPending {
		q.deliver(result{err: ErrBusy})
		return
	}
	q.msg.T = n.newTx()
	q.msg.Y = TypeQuery
	q.msg.ID = n.id
	if err := n.write(q.to, q.msg.Encode()); err != nil {
		q.deliver(result{err: fmt.Errorf("dht: %s to %v: %w", q.msg.Q, q.to, err)})
		return
	}
	n.pending[string(q.msg.T)] = &pending{query: q, deadline: n.now().Add(n.timeout).UnixNano()}
}

// newTx returns a transaction id of 4 bytes not in use.
func (n *Node) newTx() []byte {
	for {
		n.nextTx++
		t := binary.BigEndian.AppendUint32(nil, n.nextTx)
		if _, used := n.pending[string(t)]; !used {
			return t
		}
	}
}

// reply matches a response or error to the query in flight with its
// transaction id, sent to the address it came from; anything else is
// dropped. A node that answers is inserted into the table (BEP 5: only
// nodes that answered us, or queried us, enter it).
func (n *Node) reply(from netip.AddrPort, m Msg) {
	p, ok := n.pending[string(m.T)]
	if !ok || p.to != from {
		n.counts.unmatched++
		return
	}
	delete(n.pending, string(m.T))
	if m.Y == TypeError {
		p.deliver(result{err: fmt.Errorf("dht: %s to %v: error %d %q", p.msg.Q, from, m.ErrCode, m.ErrMsg)})
		return
	}
	if !m.RO {
		n.table.Insert(NodeInfo{ID: m.ID, Addr: from}, n.now())
	}
	p.deliver(result{msg: m})
}

// sweep ends the queries past their deadline, bootstraps again while the
// table holds fewer than K nodes (MinBootGap after the last time,
// doubling up to MaxBootGap), and refreshes the meters Stats reads. A timeout counts against the node (Table.Failed) only if
// the table holds its id at the address we asked: a "nodes" list may pair
// a good node's id with an address that never answers.
func (n *Node) sweep() {
	now := n.now().UnixNano()
	for t, p := range n.pending {
		if now < p.deadline {
			continue
		}
		delete(n.pending, t)
		if inTable(n.table, NodeInfo{ID: p.id, Addr: p.to}) {
			n.table.Failed(p.id)
		}
		p.deliver(result{err: ErrTimeout})
	}
	if n.table.Len() < K && !n.now().Before(n.bootAt) {
		n.startBootstrap() // nodes that started with us may be known to the bootstrap nodes by now
	}
	_, peers := n.store.Len()
	n.nodes.Store(int64(n.table.Len()))
	n.stored.Store(int64(peers))
}

// inTable reports whether t has ni's id in a bucket at ni's address.
func inTable(t *Table, ni NodeInfo) bool {
	b := t.buckets[t.index(ni.ID)]
	i := find(b.nodes, ni.ID)
	return i >= 0 && b.nodes[i].Addr == ni.Addr
}

// ask sends q through the loop, giving up when ctx ends or the loop does.
func (n *Node) ask(ctx context.Context, q query) error {
	select {
	case n.queries <- q:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return ErrNotRunning
	}
}

// Ping sends a ping to addr and returns the id it answered with. A node
// that answers enters the table.
func (n *Node) Ping(ctx context.Context, addr netip.AddrPort) (ID, error) {
	reply := make(chan result, 1)
	if err := n.ask(ctx, query{to: addr, msg: Msg{Q: QueryPing}, reply: reply}); err != nil {
		return ID{}, err
	}
	select {
	case r := <-reply:
		return r.msg.ID, r.err
	case <-ctx.Done():
		return ID{}, ctx.Err()
	case <-n.done:
		return ID{}, ErrNotRunning
	}
}

// Contact pings addr without waiting for the answer, which puts the node
// in the table if it answers: for a peer's PORT message (BEP 5). It never
// blocks; when the loop is busy with many contacts, the address is dropped.
func (n *Node) Contact(addr netip.AddrPort) {
	select {
	case n.contact <- addr:
	default:
	}
}

// GoodNodes returns the nodes of the routing table, closest to our id
// first, at most max: what a restart needs to start warm.
func (n *Node) GoodNodes(ctx context.Context, max int) ([]NodeInfo, error) {
	var out []NodeInfo
	err := n.do(ctx, func() { out = n.table.Closest(n.id, max) })
	return out, err
}
