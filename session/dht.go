package session

import (
	"context"
	"net/netip"
	"time"

	"github.com/unworkable/unworkable/dht"
	"github.com/unworkable/unworkable/peer"
)

// DHT is what the sessions of a host ask of its DHT node (BEP 5); a
// *dht.Node is one. Its methods are safe for concurrent use.
type DHT interface {
	// Announce looks up the peers of infoHash and announces us on port.
	Announce(ctx context.Context, infoHash dht.ID, port int) ([]netip.AddrPort, error)
	// Contact pings a node a peer told us of (PORT), without blocking.
	Contact(addr netip.AddrPort)
	// Stats returns the nodes in the routing table and the peers stored.
	Stats() (nodes, stored int)
}

// DHT cadence. A lookup is repeated every dhtEvery, as libtorrent and
// aria2c announce every 15 minutes (a stored peer lives 30). While the
// torrent has no peer and is not complete (the table still filling, a
// swarm not announced yet, only our own address found), it is repeated
// sooner: dhtRetryMin, doubling up to dhtRetryMax.
const (
	dhtEvery       = 15 * time.Minute
	dhtRetryMin    = 5 * time.Second
	dhtRetryMax    = 5 * time.Minute
	dhtLookupLimit = time.Minute // one lookup and announce at most
)

// dhtState is the loop's view of the DHT for its torrent. Owned by the
// loop goroutine.
type dhtState struct {
	inFlight bool
	next     time.Time // the next regular lookup
	retry    time.Time // the next lookup while starving
	tries    int       // lookups in a row while starving
	found    int       // peers found in all
	contacts int       // PORT messages passed on to the node
	results  chan dhtResult
}

// dhtResult is one lookup's outcome, sent back to the loop.
type dhtResult struct {
	peers []netip.AddrPort
	err   error
}

// maxPortContacts bounds the PORT messages a session passes on to the
// node over its life: each costs a ping, and a peer's address is what a
// hostile swarm controls.
const maxPortContacts = 500

// dhtAllowed reports whether this torrent uses the DHT: the host runs a
// node and the torrent is not private (BEP 27). A magnet whose metadata
// is not known yet may use it, as aria2c, libtorrent and transmission do;
// the lookups stop once the metadata says private.
func (s *Session) dhtAllowed() bool {
	return s.host.cfg.DHT != nil && (s.info == nil || !s.info.Private)
}

// maybeDHT starts a lookup and announce when one is due and none is in
// flight. Like the trackers, the DHT is not asked during the start-up
// check; the metadata phase asks it, since a magnet may have no other
// source of peers.
func (s *Session) maybeDHT(now time.Time) {
	d := &s.dht
	if !s.dhtAllowed() || d.inFlight || s.phase == phaseCheck {
		return
	}
	if now.Before(d.next) && (!s.starving() || now.Before(d.retry)) {
		return
	}
	d.inFlight = true
	node, hash, port := s.host.cfg.DHT, dht.ID(s.hash), int(s.host.cfg.Port)
	s.tr.printf("dht lookup %x", s.hash)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), dhtLookupLimit)
		defer cancel()
		peers, err := node.Announce(ctx, hash, port)
		select {
		case d.results <- dhtResult{peers: peers, err: err}:
		case <-s.done:
		}
	}()
}

// handleDHT takes a lookup's peers into the address book and schedules
// the next lookups: the regular one, and the sooner one that maybeDHT
// starts only while the torrent is starving. Whether an announce was
// accepted does not change either: peers, not announces, are what a
// starving torrent lacks.
func (s *Session) handleDHT(r dhtResult) {
	d := &s.dht
	d.inFlight = false
	now := time.Now()
	d.next = now.Add(dhtEvery)
	if s.starving() {
		d.tries++
	} else {
		d.tries = 0
	}
	d.retry = now.Add(min(dhtRetryMin<<min(max(d.tries-1, 0), 10), dhtRetryMax))
	d.found += len(r.peers)
	nodes, _ := s.host.cfg.DHT.Stats()
	s.tr.printf("dht lookup done: %d peers, %d nodes, err=%v", len(r.peers), nodes, r.err)
	if !s.dhtAllowed() {
		return // the metadata arrived meanwhile and said private
	}
	for _, a := range r.peers {
		s.addCandidate(a, srcDHT)
	}
	s.dialMore(now)
}

// starving reports whether the torrent has no connected peer and still
// needs data (or the metadata): its lookups are then repeated sooner.
func (s *Session) starving() bool {
	return s.live() == 0 && !(s.ready() && s.table.Complete())
}

// sendPort tells a peer that set the DHT bit our DHT port (BEP 5).
func (s *Session) sendPort(p *peerConn, hs peer.Handshake) {
	if hs.Reserved.DHT() && s.dhtAllowed() && s.host.cfg.DHTPort != 0 {
		s.send(p, &peer.Msg{ID: peer.Port, Port: s.host.cfg.DHTPort})
	}
}

// onPort passes the DHT node a peer names in its PORT message to our node,
// which pings it (BEP 5). One per peer, and maxPortContacts per session.
func (s *Session) onPort(p *peerConn, m *peer.Msg) {
	if p.portSeen || m.Port == 0 || !s.dhtAllowed() || s.dht.contacts >= maxPortContacts {
		return
	}
	p.portSeen = true
	s.dht.contacts++
	s.host.cfg.DHT.Contact(netip.AddrPortFrom(p.addr.Addr(), m.Port))
}
