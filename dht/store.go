package dht

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

// Peer store bounds, libtorrent's defaults: a node stores peers for at
// most 2,000 info hashes and 500 peers per info hash, so a flood of
// announces costs at most about a million entries.
const (
	MaxStoredHashes = 2000
	MaxStoredPeers  = 500
	PeerTTL         = 30 * time.Minute // announces expire after 30 minutes, as in libtorrent
)

// swarm is the peers announced for one info hash, with when each
// announced last.
type swarm struct {
	peers map[netip.AddrPort]time.Time
	last  time.Time // the newest announce
}

// PeerStore keeps the peers announced to us (BEP 5 announce_peer) per
// info hash, for get_peers replies. It is bounded: when MaxStoredPeers
// peers are stored for an info hash, a new one evicts the peer that
// announced least recently; when MaxStoredHashes info hashes are stored,
// a new one evicts the info hash announced to least recently. Peers
// expire PeerTTL after their last announce. Owned by the node's loop
// goroutine.
type PeerStore struct {
	now    func() time.Time
	swarms map[ID]*swarm
}

// NewPeerStore returns an empty store reading the time from now
// (time.Now when nil).
func NewPeerStore(now func() time.Time) *PeerStore {
	if now == nil {
		now = time.Now
	}
	return &PeerStore{now: now, swarms: make(map[ID]*swarm)}
}

// Add records that peer announced itself for infoHash now. An announce
// from a peer already stored refreshes it. Its cost is bounded by the
// store's bounds: at worst a scan of MaxStoredHashes info hashes or of
// MaxStoredPeers peers to find what to evict.
func (s *PeerStore) Add(infoHash ID, peer netip.AddrPort) {
	now := s.now()
	sw := s.swarms[infoHash]
	if sw == nil {
		if len(s.swarms) >= MaxStoredHashes { // no Expire here: a flood of new hashes would rescan every peer each time
			s.evictHash()
		}
		sw = &swarm{peers: make(map[netip.AddrPort]time.Time)}
		s.swarms[infoHash] = sw
	}
	if _, ok := sw.peers[peer]; !ok && len(sw.peers) >= MaxStoredPeers {
		sw.expire(now)
		if len(sw.peers) >= MaxStoredPeers {
			sw.evictOldest()
		}
	}
	sw.peers[peer] = now
	sw.last = now
}

// Peers returns up to max of the live peers stored for infoHash, a random
// sample when there are more, so that every stored peer gets handed out.
func (s *PeerStore) Peers(infoHash ID, max int) []netip.AddrPort {
	sw := s.swarms[infoHash]
	if sw == nil || max <= 0 {
		return nil
	}
	if sw.expire(s.now()); len(sw.peers) == 0 {
		delete(s.swarms, infoHash)
		return nil
	}
	all := make([]netip.AddrPort, 0, len(sw.peers))
	for p := range sw.peers {
		all = append(all, p)
	}
	n := min(max, len(all))
	for i := range n { // a partial Fisher-Yates shuffle
		j := i + rand.IntN(len(all)-i)
		all[i], all[j] = all[j], all[i]
	}
	return all[:n]
}

// Len returns the number of info hashes and of peers stored, expired
// ones included until Expire or a lookup drops them.
func (s *PeerStore) Len() (hashes, peers int) {
	for _, sw := range s.swarms {
		peers += len(sw.peers)
	}
	return len(s.swarms), peers
}

// Expire drops every peer whose last announce is PeerTTL old, and the
// info hashes left without peers. The node calls it on its tick.
func (s *PeerStore) Expire() {
	now := s.now()
	for h, sw := range s.swarms {
		if sw.expire(now); len(sw.peers) == 0 {
			delete(s.swarms, h)
		}
	}
}

// evictHash drops the info hash announced to least recently.
func (s *PeerStore) evictHash() {
	var oldest ID
	var t time.Time
	first := true
	for h, sw := range s.swarms {
		if first || sw.last.Before(t) {
			oldest, t, first = h, sw.last, false
		}
	}
	delete(s.swarms, oldest)
}

// expire drops the peers of sw that announced PeerTTL or more before now.
func (sw *swarm) expire(now time.Time) {
	for p, t := range sw.peers {
		if now.Sub(t) >= PeerTTL {
			delete(sw.peers, p)
		}
	}
}

// evictOldest drops the peer of sw that announced least recently.
func (sw *swarm) evictOldest() {
	var oldest netip.AddrPort
	var t time.Time
	first := true
	for p, pt := range sw.peers {
		if first || pt.Before(t) {
			oldest, t, first = p, pt, false
		}
	}
	delete(sw.peers, oldest)
}
