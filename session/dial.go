package session

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/unworkable/unworkable/peer"
)

// dialed is the result of one dial + handshake (or accept + handshake),
// sent back to the loop.
type dialed struct {
	addr     netip.AddrPort
	conn     *peer.Conn
	hs       peer.Handshake
	incoming bool
	err      error
}

// candidate is an address we may dial. Owned by the loop.
type candidate struct {
	manual  bool // from --peer: redialled forever
	linked  bool
	dialing bool
	self    bool
	banned  bool
	fails   int
	nextTry time.Time
}

// failed records a dial or handshake failure and backs off.
func (c *candidate) failed(now time.Time, self bool) {
	c.dialing = false
	c.self = c.self || self
	c.fails++
	c.nextTry = now.Add(redialDelay(c.fails))
}

// connected records a successful connection.
func (c *candidate) connected() {
	c.dialing = false
	c.linked = true
	c.fails = 0
}

// disconnected schedules a redial after a connection ends.
func (c *candidate) disconnected(now time.Time) {
	c.linked = false
	c.fails++
	c.nextTry = now.Add(redialDelay(c.fails))
}

// redialDelay is 5 s doubling per failure, at most 5 minutes.
func redialDelay(fails int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < fails && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

// maxKnown caps the address book so a tracker cannot grow it without bound.
const maxKnown = 2000

// addCandidate adds an address to dial.
func (s *Session) addCandidate(a netip.AddrPort, manual bool) {
	if !a.IsValid() || a.Port() == 0 {
		return
	}
	a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	if c := s.known[a]; c != nil {
		c.manual = c.manual || manual
		return
	}
	if len(s.known) >= maxKnown && !manual {
		return
	}
	s.known[a] = &candidate{manual: manual}
}

// dialMore starts dials while we have room for peers and half-open slots.
// A seed dials only the peers given by hand (--peer): a leecher that never
// dials loopback peers, like transmission-cli, can then still be served.
func (s *Session) dialMore(now time.Time) {
	seeding := s.table.Complete()
	room := s.cfg.MaxPeers - s.live() - s.halfOpen
	for a, c := range s.known {
		if room <= 0 || s.halfOpen >= maxHalfOpen {
			return
		}
		if c.linked || c.dialing || c.self || c.banned || now.Before(c.nextTry) || s.byAddr[a] != nil {
			continue
		}
		if seeding && !c.manual {
			continue // seeds wait for leechers to come, except --peer ones
		}
		if !c.manual && c.fails >= 5 {
			delete(s.known, a)
			continue
		}
		c.dialing = true
		s.halfOpen++
		room--
		go s.dial(a, s.handshake())
	}
}

// handshake returns the handshake we send: BEP 6 fast bit set; the BEP 10
// bit stays clear until the extension protocol is implemented.
func (s *Session) handshake() peer.Handshake {
	h := peer.Handshake{InfoHash: s.cfg.Meta.InfoHash, PeerID: s.id}
	h.Reserved.SetFast()
	return h
}

// dial connects to a and handshakes, reporting to the loop.
func (s *Session) dial(a netip.AddrPort, ours peer.Handshake) {
	d := dialed{addr: a}
	c, err := net.DialTimeout("tcp", a.String(), dialTimeout)
	if err == nil {
		d.hs, err = peer.Initiate(c, ours, handshakeTimeout)
		if err != nil {
			c.Close()
		} else {
			d.conn = peer.NewConn(c, peer.MaxMsgLen(s.table.NumPieces()))
		}
	}
	d.err = err
	s.report1(d)
}

// report1 hands a dial or accept result to the loop, or closes the
// connection when the loop is gone.
func (s *Session) report1(d dialed) {
	select {
	case s.conns <- d:
	case <-s.done:
		if d.conn != nil {
			d.conn.Close()
		}
	}
}

// maxPendingAccepts bounds the incoming handshakes in progress at once (each
// holds a goroutine and a socket for up to handshakeTimeout). A connection
// beyond it is closed at once, so a flood of silent connections costs a
// bounded amount; a real peer that is refused retries later.
const maxPendingAccepts = 32

// acceptLoop accepts incoming peers until the listener is closed. Each
// handshake runs in its own goroutine, bounded by handshakeTimeout; at most
// maxPendingAccepts run at once and connections beyond are closed at once
// (counted in s.acceptRefused for the trace).
func (s *Session) acceptLoop(l net.Listener) {
	ours := s.handshake()
	maxLen := peer.MaxMsgLen(s.table.NumPieces())
	pending := make(chan struct{}, maxPendingAccepts)
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-s.done:
				return
			case <-time.After(100 * time.Millisecond): // e.g. EMFILE: back off
			}
			continue
		}
		select {
		case pending <- struct{}{}:
		default:
			c.Close()
			s.acceptRefused.Add(1)
			continue
		}
		go func() {
			defer func() { <-pending }()
			hs, err := peer.Accept(c, ours, handshakeTimeout)
			if err != nil {
				c.Close()
				return
			}
			ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
			ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
			s.report1(dialed{addr: ap, conn: peer.NewConn(c, maxLen), hs: hs, incoming: true})
		}()
	}
}
