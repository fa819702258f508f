package session

import (
	"errors"
	"net/netip"
	"time"
)

// The address book: every address we may dial, whatever told us of it,
// tagged with that source. Owned by the loop goroutine.

// source is where an address came from.
type source uint8

// Sources of addresses, in the words of the trace and the JSON progress
// event's peers_by_source.
const (
	srcManual   source = iota // --peer
	srcMagnet                 // a magnet's x.pe
	srcTracker                // an announce reply
	srcPex                    // a peer's ut_pex (BEP 11)
	srcIncoming               // a peer that connected to us
	srcDHT                    // a DHT lookup (BEP 5)
	numSources
)

// sourceNames are the names of the sources, by value.
var sourceNames = [numSources]string{"manual", "magnet", "tracker", "pex", "incoming", "dht"}

// String returns the source's name.
func (src source) String() string { return sourceNames[src] }

// candidate is an address we may dial. Owned by the loop.
type candidate struct {
	src     source
	manual  bool // from --peer or x.pe: redialled forever
	linked  bool
	dialing bool
	self    bool
	seed    bool // a seed (it said so in PEX, or we met it complete): a seeder does not dial it
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

// bothSeeding marks a seed we meet while seeding, at its listen address
// (the one we dialled, or the port its extension handshake gave), so that
// it is not dialled again, and returns the reason it is dropped.
func (s *Session) bothSeeding(p *peerConn) error {
	if a, ok := p.listenAddr(); ok {
		if c := s.sw.known[a]; c != nil {
			c.seed = true
		}
	}
	return errors.New("both seeding")
}

// redialDelay is 5 s doubling per failure, at most 5 minutes.
func redialDelay(fails int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < fails && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

// maxKnown caps the address book so that no tracker or peer can grow it
// without bound.
const maxKnown = 2000

// addCandidate adds an address to dial, learnt from src. An address known
// already keeps its first source; one given by hand is redialled forever.
func (s *Session) addCandidate(a netip.AddrPort, src source) *candidate {
	if !a.IsValid() || a.Port() == 0 {
		return nil
	}
	a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	manual := src == srcManual || src == srcMagnet
	if c := s.sw.known[a]; c != nil {
		c.manual = c.manual || manual
		return c
	}
	if len(s.sw.known) >= maxKnown && !manual {
		return nil
	}
	c := &candidate{src: src, manual: manual}
	s.sw.known[a] = c
	return c
}

// dialMore starts dials while we have room for peers and half-open slots.
// A seed dials only the peers given by hand (--peer, x.pe): a leecher that
// never dials loopback peers, like transmission-cli, can then still be
// served. Nothing is dialled during the start-up check.
func (s *Session) dialMore(now time.Time) {
	if s.phase == phaseCheck {
		return
	}
	seeding := s.ready() && s.table.Complete()
	room := s.cfg.MaxPeers - s.live() - s.sw.halfOpen
	r := route{conns: s.conns, done: s.done}
	for a, c := range s.sw.known {
		if room <= 0 || s.sw.halfOpen >= maxHalfOpen || s.host.full() {
			return
		}
		if c.linked || c.dialing || c.self || c.banned || now.Before(c.nextTry) || s.sw.byAddr[a] != nil {
			continue
		}
		if seeding && c.seed {
			continue // a seeder dials leechers (as libtorrent's do), not seeds
		}
		if !c.manual && c.fails >= 5 {
			delete(s.sw.known, a)
			continue
		}
		c.dialing = true
		s.sw.halfOpen++
		room--
		go s.host.dial(r, a, s.hash)
	}
}
