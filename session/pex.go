package session

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/unworkable/unworkable/peer"
)

// Peer exchange (BEP 11): about once a minute each peer that speaks
// ut_pex is told which peers joined and left since the last message, and
// what peers tell us goes into the address book. Never for a private
// torrent (BEP 27), and so not before the info says whether it is one:
// addresses received earlier wait in metaFetch.pex.

// Bounds of peer exchange.
const (
	pexEvery     = time.Minute      // BEP 11: at most one message a minute
	pexMinGap    = 20 * time.Second // messages from a peer closer together are ignored...
	maxPexFloods = 5                // ...and this many of them drop it
	maxPexAdded  = 50               // added (and dropped) entries we send in one message, as libtorrent
)

// pexState is our peer exchange with one peer. Owned by the loop
// goroutine.
type pexState struct {
	told   map[netip.AddrPort]bool // addresses it was told of and not told dropped since
	sentAt time.Time               // our last message to it
	recvAt time.Time               // its last message we took
	floods int                     // its messages that came too soon
}

// pexAllowed reports whether peer exchange is on: the info is known and
// the torrent is not private.
func (s *Session) pexAllowed() bool { return s.info != nil && !s.info.Private }

// pexDue reports whether p is owed a ut_pex message: it speaks ut_pex,
// peer exchange is allowed, and pexEvery has passed since our last one.
func (s *Session) pexDue(p *peerConn, now time.Time) bool {
	return p.ext.ids[peer.ExtPex] != 0 && s.pexAllowed() &&
		(p.pex.sentAt.IsZero() || now.Sub(p.pex.sentAt) >= pexEvery)
}

// sendPex sends p the peers of cur (pexPeers, taken once per tick for
// every peer owed a message) that joined and left since its last message,
// as soon as there are any once its extension handshake is in, then at
// most every pexEvery.
func (s *Session) sendPex(p *peerConn, now time.Time, cur map[netip.AddrPort]byte) {
	self, _ := p.listenAddr()
	if p.pex.told == nil {
		p.pex.told = map[netip.AddrPort]bool{}
	}
	var m peer.Pex
	for a, flags := range cur {
		if len(m.Added) == maxPexAdded {
			break
		}
		if a != self && !p.pex.told[a] {
			m.Added = append(m.Added, peer.PexPeer{Addr: a, Flags: flags})
			p.pex.told[a] = true
		}
	}
	for a := range p.pex.told {
		if len(m.Dropped) == maxPexAdded {
			break
		}
		if _, ok := cur[a]; !ok {
			m.Dropped = append(m.Dropped, a)
			delete(p.pex.told, a)
		}
	}
	if len(m.Added) == 0 && len(m.Dropped) == 0 {
		return // nothing to say: the next tick looks again
	}
	p.pex.sentAt = now
	s.tr.printf("pex to %s: %d added, %d dropped", p.addr, len(m.Added), len(m.Dropped))
	s.send(p, &peer.Msg{ID: peer.Extended, ExtID: p.ext.ids[peer.ExtPex], Ext: m.Encode()})
}

// pexPeers returns the connected peers whose listening address we know,
// with their BEP 11 flags.
func (s *Session) pexPeers() map[netip.AddrPort]byte {
	cur := map[netip.AddrPort]byte{}
	for q := range s.sw.peers {
		a, ok := q.listenAddr()
		if q.dead || !ok {
			continue
		}
		var flags byte
		if !q.incoming {
			flags |= peer.PexReachable
		}
		if s.ready() && q.has.Full() {
			flags |= peer.PexSeed
		}
		if q.enc != 0 {
			flags |= peer.PexEncryption // it speaks MSE
		}
		cur[a] = flags
	}
	return cur
}

// onPex takes a peer's ut_pex message: its added peers go into the
// address book (within maxKnown). Messages closer together than pexMinGap
// are ignored, and maxPexFloods of them drop the peer.
func (s *Session) onPex(p *peerConn, payload []byte) error {
	now := time.Now()
	if !p.pex.recvAt.IsZero() && now.Sub(p.pex.recvAt) < pexMinGap {
		p.pex.floods++
		if p.pex.floods >= maxPexFloods {
			return fmt.Errorf("%w: %d ut_pex messages less than %v apart", errProto, p.pex.floods, pexMinGap)
		}
		return nil
	}
	p.pex.recvAt = now
	m, err := peer.ParsePex(payload)
	if err != nil {
		return fmt.Errorf("%w: %v", errProto, err)
	}
	s.tr.printf("pex from %s: %d added, %d dropped", p.addr, len(m.Added), len(m.Dropped))
	switch {
	case s.info == nil:
		for _, a := range m.Added {
			if len(s.md.pex) < peer.MaxPexPeers {
				s.md.pex = append(s.md.pex, a.Addr)
			}
		}
	case !s.info.Private:
		for _, a := range m.Added {
			if c := s.addCandidate(a.Addr, srcPex); c != nil && a.Flags&peer.PexSeed != 0 {
				c.seed = true
			}
		}
		s.dialMore(now)
	}
	return nil
}
