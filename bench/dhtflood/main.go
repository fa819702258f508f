// Command dhtflood floods one DHT node on loopback with KRPC queries and
// garbage, for scripts/dht-bench.sh.
//
// For -duration it sends -rate datagrams a second to -target, spread
// round-robin over -sources UDP sockets (one source port each): BEP 5
// ping, find_node and get_peers queries with random node ids, targets,
// info hashes and transaction ids, and garbage (random bytes, truncated
// queries, bencode that is not KRPC). It counts what comes back on those
// sockets: responses, errors, and queries of the target's own (it pings
// contacts that queried it). Meanwhile a separate probe socket sends one
// ordinary ping every -probe, as a well-behaved node would, and counts
// those answered: whether the target still serves others under the flood.
// After the flood (and -linger) the probe socket sends a few find_node
// queries for random targets and counts how many of the nodes handed back
// are our own source ports: contacts that only ever queried the target,
// never answered it, and are gone once dhtflood exits.
//
//	go run ./bench/dhtflood -target 127.0.1.1:6881 -duration 10s -rate 20000
//
// It refuses any target outside loopback (127.0.0.0/8, ::1) and sends from
// loopback only. The last line of its output is key=value pairs for
// scripts.
package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/unworkable/unworkable/dht"
)

// Kinds of datagram sent, in the order of the report.
const (
	kindPing = iota
	kindFindNode
	kindGetPeers
	kindGarbage
	numKinds
)

var kindNames = [numKinds]string{"ping", "find_node", "get_peers", "garbage"}

// counters are what the flood and the probe count; the receivers add to
// them concurrently.
type counters struct {
	sent      [numKinds]atomic.Int64
	writeErrs atomic.Int64
	refused   atomic.Int64 // ECONNREFUSED: nothing listens on the target's port
	responses atomic.Int64
	errors    atomic.Int64
	queries   atomic.Int64 // queries the target sent to our source ports
	unparsed  atomic.Int64
	missed    atomic.Int64 // send slots given up because the sender fell behind

	probeSent     atomic.Int64
	probeAnswered atomic.Int64
	mu            sync.Mutex
	probeAt       map[string]time.Time // outstanding probe transaction id -> sent
	probeRTT      []time.Duration
	checks        int            // find_node queries of the table check answered
	checkNodes    []dht.NodeInfo // the nodes they returned
}

// The table check after the flood.
const (
	checkQueries = 4
	checkWait    = 300 * time.Millisecond
)

func main() {
	target := flag.String("target", "", "the node to flood, as `ip:port` (loopback only)")
	duration := flag.Duration("duration", 10*time.Second, "how long to flood")
	rate := flag.Int("rate", 20000, "datagrams per second")
	sources := flag.Int("sources", 64, "source ports (UDP sockets) to send from")
	probe := flag.Duration("probe", 100*time.Millisecond, "send one ordinary ping this often from a separate port (0: none)")
	linger := flag.Duration("linger", time.Second, "how long to wait for late replies after the flood")
	flag.Parse()
	if err := run(*target, *duration, *rate, *sources, *probe, *linger); err != nil {
		fmt.Fprintf(os.Stderr, "dhtflood: %v\n", err)
		os.Exit(1)
	}
}

// run floods target and prints the report.
func run(target string, duration time.Duration, rate, sources int, probe, linger time.Duration) error {
	to, err := netip.ParseAddrPort(target)
	switch {
	case err != nil:
		return fmt.Errorf("-target %q: want ip:port: %w", target, err)
	case !to.Addr().Unmap().IsLoopback():
		return fmt.Errorf("-target %v: not a loopback address; refusing to send", to)
	case to.Port() == 0:
		return fmt.Errorf("-target %v: port 0", to)
	case rate < 1 || sources < 1 || duration <= 0:
		return errors.New("-rate, -sources and -duration must be positive")
	}
	c := &counters{probeAt: make(map[string]time.Time)}
	conns := make([]*net.UDPConn, sources)
	var wg sync.WaitGroup
	for i := range conns {
		if conns[i], err = dial(to); err != nil {
			closeAll(conns)
			return err
		}
		wg.Add(1)
		go func() { defer wg.Done(); c.receive(conns[i], false) }()
	}
	var pc *net.UDPConn
	if probe > 0 {
		if pc, err = dial(to); err != nil {
			closeAll(conns)
			return err
		}
		wg.Add(1)
		go func() { defer wg.Done(); c.receive(pc, true) }()
	}
	start := time.Now()
	end := start.Add(duration)
	if pc != nil {
		wg.Add(1)
		go func() { defer wg.Done(); c.probe(pc, probe, end) }()
	}
	c.flood(conns, rate, start, end)
	elapsed := time.Since(start)
	time.Sleep(linger)
	if pc != nil {
		c.checkTable(pc)
	}
	closeAll(append(conns, pc))
	wg.Wait()
	c.report(to, rate, sources, probe, elapsed, localAddrs(conns))
	return nil
}

// dial returns a UDP socket on loopback connected to to, so that it reads
// only what to sends.
func dial(to netip.AddrPort) (*net.UDPConn, error) {
	from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0)
	if to.Addr().Is6() && !to.Addr().Is4In6() {
		from = netip.AddrPortFrom(netip.IPv6Loopback(), 0)
	}
	c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(from), net.UDPAddrFromAddrPort(to))
	if err != nil {
		return nil, fmt.Errorf("socket to %v: %w", to, err)
	}
	c.SetWriteBuffer(1 << 20)
	return c, nil
}

// localAddrs returns the source addresses of conns.
func localAddrs(conns []*net.UDPConn) map[netip.AddrPort]bool {
	m := make(map[netip.AddrPort]bool)
	for _, c := range conns {
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
			ap := a.AddrPort()
			m[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] = true
		}
	}
	return m
}

// closeAll closes every non-nil socket of cs.
func closeAll(cs []*net.UDPConn) {
	for _, c := range cs {
		if c != nil {
			c.Close()
		}
	}
}

// flood sends rate datagrams a second until end, round-robin over conns.
// It catches up after a late wake-up, but gives up slots more than 100 ms
// behind rather than bursting them all.
func (c *counters) flood(conns []*net.UDPConn, rate int, start, end time.Time) {
	var slot int64 // send slots used or given up
	backlog := int64(max(rate/10, 1))
	next := 0
	for now := time.Now(); now.Before(end); now = time.Now() {
		due := int64(float64(rate) * now.Sub(start).Seconds())
		if due-slot > backlog {
			c.missed.Add(due - slot - backlog)
			slot = due - backlog
		}
		for ; slot < due; slot++ {
			kind, b := datagram()
			if _, err := conns[next].Write(b); err != nil {
				if errors.Is(err, syscall.ECONNREFUSED) {
					c.refused.Add(1)
				} else {
					c.writeErrs.Add(1)
				}
			} else {
				c.sent[kind].Add(1)
			}
			next = (next + 1) % len(conns)
		}
		time.Sleep(time.Millisecond)
	}
}

// datagram returns one flood datagram and its kind: 30% ping, 25%
// find_node, 25% get_peers, 20% garbage.
func datagram() (int, []byte) {
	m := dht.Msg{T: randBytes(1 + rand.IntN(4)), Y: dht.TypeQuery, ID: randID()}
	kind := kindPing
	switch r := rand.IntN(100); {
	case r < 30:
		m.Q = dht.QueryPing
	case r < 55:
		kind, m.Q, m.Target = kindFindNode, dht.QueryFindNode, randID()
	case r < 80:
		kind, m.Q, m.InfoHash = kindGetPeers, dht.QueryGetPeers, randID()
	default:
		return kindGarbage, garbage()
	}
	return kind, m.Encode()
}

// garbage returns a datagram that is not a valid KRPC query: random
// bytes, a truncated query, or bencode of the wrong shape.
func garbage() []byte {
	switch rand.IntN(4) {
	case 0:
		return randBytes(1 + rand.IntN(512))
	case 1:
		m := dht.Msg{T: randBytes(2), Y: dht.TypeQuery, Q: dht.QueryGetPeers, ID: randID(), InfoHash: randID()}
		b := m.Encode()
		return b[:1+rand.IntN(len(b)-1)]
	case 2: // an id of the wrong length
		return fmt.Appendf(nil, "d1:ad2:id3:%se1:q4:ping1:t2:%s1:y1:qe", randBytes(3), randBytes(2))
	default: // a query without "q", a list, an integer
		return []byte([]string{"d1:t2:aa1:y1:qe", "li1ei2ee", "i42e", "d1:y1:xe"}[rand.IntN(4)])
	}
}

// randID returns a random 20-byte id.
func randID() dht.ID {
	var id dht.ID
	for i := range id {
		id[i] = byte(rand.Uint32())
	}
	return id
}

// randBytes returns n random bytes.
func randBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}

// probe sends one ping every every until end, transaction ids "p" and a
// counter, recording when each was sent.
func (c *counters) probe(pc *net.UDPConn, every time.Duration, end time.Time) {
	id := randID()
	t := time.NewTicker(every)
	defer t.Stop()
	for i := 0; time.Now().Before(end); i++ {
		m := dht.Msg{T: fmt.Appendf(nil, "p%d", i), Y: dht.TypeQuery, Q: dht.QueryPing, ID: id}
		c.mu.Lock()
		c.probeAt[string(m.T)] = time.Now()
		c.mu.Unlock()
		if _, err := pc.Write(m.Encode()); err == nil {
			c.probeSent.Add(1)
		}
		<-t.C
	}
}

// checkTable sends checkQueries find_node queries for random targets from
// the probe socket and waits checkWait for their replies, which receive
// keeps.
func (c *counters) checkTable(pc *net.UDPConn) {
	id := randID()
	for i := range checkQueries {
		m := dht.Msg{T: fmt.Appendf(nil, "f%d", i), Y: dht.TypeQuery, Q: dht.QueryFindNode, ID: id, Target: randID()}
		pc.Write(m.Encode())
	}
	time.Sleep(checkWait)
}

// receive counts what arrives on one socket until it is closed.
func (c *counters) receive(conn *net.UDPConn, probe bool) {
	buf := make([]byte, dht.MaxMsgLen)
	for {
		n, err := conn.Read(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			c.refused.Add(1) // ECONNREFUSED from an earlier write
			continue
		}
		arrived := time.Now()
		m, err := dht.ParseMsg(buf[:n])
		switch {
		case err != nil:
			c.unparsed.Add(1)
		case probe && m.Y == dht.TypeResponse && len(m.T) > 0 && m.T[0] == 'f':
			c.mu.Lock()
			c.checks++
			c.checkNodes = append(c.checkNodes, m.Nodes...)
			c.mu.Unlock()
		case probe && m.Y == dht.TypeResponse:
			c.mu.Lock()
			if at, ok := c.probeAt[string(m.T)]; ok {
				delete(c.probeAt, string(m.T))
				c.probeAnswered.Add(1)
				c.probeRTT = append(c.probeRTT, arrived.Sub(at))
			}
			c.mu.Unlock()
		case m.Y == dht.TypeResponse:
			c.responses.Add(1)
		case m.Y == dht.TypeError:
			c.errors.Add(1)
		case m.Y == dht.TypeQuery:
			c.queries.Add(1)
		}
	}
}

// report prints what was sent and received, then the key=value line.
func (c *counters) report(to netip.AddrPort, rate, sources int, probe, elapsed time.Duration, ours map[netip.AddrPort]bool) {
	var sent int64
	fmt.Printf("dhtflood: %v for %.1f s at %d/s from %d source ports\n", to, elapsed.Seconds(), rate, sources)
	fmt.Print("  sent")
	for k := range numKinds {
		n := c.sent[k].Load()
		sent += n
		fmt.Printf(" %s %d,", kindNames[k], n)
	}
	fmt.Printf(" in all %d (%.0f/s); %d slots missed, %d write errors, %d refused\n",
		sent, float64(sent)/elapsed.Seconds(), c.missed.Load(), c.writeErrs.Load(), c.refused.Load())
	fmt.Printf("  received %d responses, %d errors, %d queries from the target, %d unparsable\n",
		c.responses.Load(), c.errors.Load(), c.queries.Load(), c.unparsed.Load())
	rtt := "-"
	if len(c.probeRTT) > 0 {
		slices.Sort(c.probeRTT)
		rtt = c.probeRTT[len(c.probeRTT)/2].Round(time.Microsecond).String()
	}
	if probe > 0 {
		fmt.Printf("  probe: %d of %d pings (one every %v from its own port) answered, median rtt %s\n",
			c.probeAnswered.Load(), c.probeSent.Load(), probe, rtt)
	}
	flooders := 0
	for _, ni := range c.checkNodes {
		if ours[netip.AddrPortFrom(ni.Addr.Addr().Unmap(), ni.Addr.Port())] {
			flooders++
		}
	}
	if probe > 0 {
		fmt.Printf("  after: %d of %d find_node answered with %d nodes, %d of them our source ports\n",
			c.checks, checkQueries, len(c.checkNodes), flooders)
	}
	fmt.Printf("sent=%d responses=%d errors=%d target_queries=%d missed=%d probes=%d probes_answered=%d check_nodes=%d check_flooders=%d\n",
		sent, c.responses.Load(), c.errors.Load(), c.queries.Load(), c.missed.Load(),
		c.probeSent.Load(), c.probeAnswered.Load(), len(c.checkNodes), flooders)
}
