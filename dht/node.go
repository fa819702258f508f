package dht

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Node bounds and cadences.
const (
	Alpha           = 3                      // BEP 5 lookups: queries in flight at once
	DefaultTimeout  = 2 * time.Second        // a query unanswered this long has failed
	TickEvery       = 10 * time.Second       // expire peers, ping questionable nodes
	MaxPending      = 1024                   // queries of ours in flight, all lookups together
	MaxPingsPerTick = 8                      // questionable nodes pinged per tick
	MinBootGap      = time.Second            // a table of fewer than K nodes bootstraps again after this,
	MaxBootGap      = 5 * time.Minute        // doubling up to this
	sweepEvery      = 100 * time.Millisecond // how often timeouts are checked and meters updated
)

// Errors a lookup's query can end with.
var (
	ErrNotRunning = errors.New("dht: node not running")
	ErrRefused    = errors.New("dht: address refused by the loopback guard")
	ErrTimeout    = errors.New("dht: query timed out")
	ErrBusy       = errors.New("dht: too many queries in flight")
)

// Config is what a Node is built from.
type Config struct {
	Conn         net.PacketConn                   // the UDP socket; Run closes it when it returns
	ID           ID                               // our node id; zero: random
	Bootstrap    []netip.AddrPort                 // nodes asked for our own id at start
	LoopbackOnly bool                             // refuse to send to any address outside 127.0.0.0/8 and ::1
	AddrRule     AddrRule                         // OnePerIP normally; OnePerAddrPort on loopback tests
	Timeout      time.Duration                    // per query; zero: DefaultTimeout
	Now          func() time.Time                 // optional clock: tokens, peer store, rate windows, query deadlines
	Trace        func(format string, args ...any) // optional
	// Local reports the TCP port we serve infoHash on, if we do; a
	// get_peers for it then hands out our own address too (Node.self).
	// Called on the node's loop: it must be safe for concurrent use.
	Local func(infoHash ID) (port int, ok bool)
}

// Node is a BEP 5 DHT node. Run is its loop: the only goroutine that
// touches the routing table, the tokens, the peer store and the queries in
// flight. One reader goroutine parses datagrams and hands them to the
// loop; lookups (GetPeers, Announce) run on their callers' goroutines and
// ask the loop to send queries, getting the replies back over channels.
type Node struct {
	cfg     Config
	id      ID
	now     func() time.Time
	timeout time.Duration

	localIP netip.Addr          // the socket's own IP; unspecified when bound to all
	packets chan packet         // reader -> loop
	contact chan netip.AddrPort // Contact -> loop
	queries chan query          // lookups -> loop
	calls   chan func()         // a function to run on the loop (reads of loop state)
	done    chan struct{}       // closed when the loop ends
	wg      sync.WaitGroup

	nodes, stored atomic.Int64 // meters, refreshed by the loop every sweep

	// Owned by the loop goroutine.
	table   *Table
	tokens  *Tokens
	store   *PeerStore
	pending map[string]*pending // transaction id -> query in flight
	nextTx  uint32
	limits  limits
	counts  counts
	runCtx  context.Context // Run's context, for the goroutines the loop starts
	booting bool            // a bootstrap lookup is running
	bootAt  time.Time       // when the next bootstrap may start (the table being small)
	bootGap time.Duration   // the wait after the last bootstrap; doubles up to MaxBootGap
}

// counts are the loop's counters of what it dropped or refused. Owned by
// the loop goroutine.
type counts struct {
	refused   int // datagrams not sent: the guard refused the address
	limited   int // queries not answered: over a rate bound
	unmatched int // replies to no query of ours in flight
}

// packet is one parsed datagram, from the reader to the loop.
type packet struct {
	from netip.AddrPort
	msg  Msg
}

// NewNode returns a node for cfg; nothing happens until Run.
func NewNode(cfg Config) *Node {
	n := &Node{
		cfg:     cfg,
		id:      cfg.ID,
		now:     cfg.Now,
		timeout: cfg.Timeout,
		packets: make(chan packet, 64),
		contact: make(chan netip.AddrPort, 64),
		queries: make(chan query),
		calls:   make(chan func()),
		done:    make(chan struct{}),
		pending: make(map[string]*pending),
	}
	if cfg.Conn != nil {
		if a, ok := addrPort(cfg.Conn.LocalAddr()); ok {
			n.localIP = a.Addr()
		}
	}
	if n.id.IsZero() {
		n.id = RandomID()
	}
	if n.now == nil {
		n.now = time.Now
	}
	if n.timeout <= 0 {
		n.timeout = DefaultTimeout
	}
	n.table = NewTable(n.id, cfg.AddrRule)
	n.tokens = NewTokens(n.now)
	n.store = NewPeerStore(n.now)
	n.limits.perSource = make(map[netip.AddrPort]int)
	return n
}

// ID returns the node's id.
func (n *Node) ID() ID { return n.id }

// Run is the node's loop. It starts the reader and a bootstrap lookup
// (find_node for our own id, from cfg.Bootstrap), serves queries, and
// returns nil when ctx ends, after closing cfg.Conn (the node owns the
// socket once Run starts; closing it is what ends the reader) and waiting
// for the goroutines it started. Call it once.
func (n *Node) Run(ctx context.Context) error {
	defer n.stop()
	n.runCtx = ctx
	n.wg.Add(1)
	go n.read()
	n.startBootstrap()
	tick := time.NewTicker(TickEvery)
	defer tick.Stop()
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	for {
		select {
		case p := <-n.packets:
			n.handle(p)
		case q := <-n.queries:
			n.send(q)
		case a := <-n.contact:
			n.send(query{to: a, msg: Msg{Q: QueryPing}})
		case f := <-n.calls:
			f()
		case <-sweep.C:
			n.sweep()
		case <-tick.C:
			n.tick()
		case <-ctx.Done():
			return nil
		}
	}
}

// stop ends the goroutines Run started: done tells lookups and the
// reader, closing the socket unblocks the reader.
func (n *Node) stop() {
	close(n.done)
	n.cfg.Conn.Close()
	n.wg.Wait()
}

// Stats returns the nodes in the routing table and the peers stored, as
// of the loop's last sweep (at most 100 ms old).
func (n *Node) Stats() (nodes int, stored int) {
	return int(n.nodes.Load()), int(n.stored.Load())
}

// read is the reader goroutine: it reads datagrams into one reused 64 KiB
// buffer, drops those that are not KRPC messages, and hands the rest to
// the loop. It ends when the socket is closed.
func (n *Node) read() {
	defer n.wg.Done()
	buf := make([]byte, MaxMsgLen)
	for {
		sz, addr, err := n.cfg.Conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select { // e.g. an ICMP error reported on the socket; do not spin
			case <-n.done:
				return
			case <-time.After(10 * time.Millisecond):
				continue
			}
		}
		from, ok := addrPort(addr)
		if !ok {
			continue
		}
		m, err := ParseMsg(buf[:sz]) // shares no memory with buf
		if err != nil {
			continue // garbage is dropped silently
		}
		select {
		case n.packets <- packet{from, m}:
		case <-n.done:
			return
		}
	}
}

// addrPort returns a's address with an IPv4-mapped address unmapped.
func addrPort(a net.Addr) (netip.AddrPort, bool) {
	u, ok := a.(*net.UDPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ap := u.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), ap.Addr().IsValid()
}

// handle dispatches one datagram.
func (n *Node) handle(p packet) {
	switch p.msg.Y {
	case TypeQuery:
		n.serve(p.from, p.msg)
	case TypeResponse, TypeError:
		n.reply(p.from, p.msg)
	}
}

// tick runs every TickEvery: expire stored peers and ping at most MaxPingsPerTick questionable nodes (BEP
// 5); their answers refresh them (reply), their silence counts against
// them (sweep).
func (n *Node) tick() {
	n.store.Expire()
	q := n.table.Questionable(n.now())
	for _, ni := range q[:min(len(q), MaxPingsPerTick)] {
		n.send(query{to: ni.Addr, id: ni.ID, msg: Msg{Y: TypeQuery, Q: QueryPing}})
	}
}

// allowed reports whether the guard lets us send to a: with LoopbackOnly
// only 127.0.0.0/8 and ::1 pass. A refusal is counted and traced.
func (n *Node) allowed(a netip.AddrPort) bool {
	if !n.cfg.LoopbackOnly || a.Addr().Unmap().IsLoopback() {
		return true
	}
	n.counts.refused++
	n.trace("refused to send to %v: not loopback", a)
	return false
}

// write sends b to a if the guard allows it.
func (n *Node) write(a netip.AddrPort, b []byte) error {
	if !n.allowed(a) {
		return ErrRefused
	}
	_, err := n.cfg.Conn.WriteTo(b, net.UDPAddrFromAddrPort(a))
	return err
}

// trace calls cfg.Trace if set.
func (n *Node) trace(format string, args ...any) {
	if n.cfg.Trace != nil {
		n.cfg.Trace(format, args...)
	}
}

// do runs f on the loop and waits until it has run.
func (n *Node) do(ctx context.Context, f func()) error {
	ran := make(chan struct{})
	select {
	case n.calls <- func() { f(); close(ran) }:
		<-ran
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return ErrNotRunning
	}
}
