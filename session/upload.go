package session

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/unworkable/unworkable/peer"
	"github.com/unworkable/unworkable/piece"
)

// maxRejected is how many requests a peer may send that we reject (we
// choke it, or lack the piece) before it is dropped, counted since the
// last rechoke: a request crossing our choke is normal, a flood of them is
// not.
const maxRejected = 2 * maxUpRequests

// maxQueuedPieces is how many Piece messages one peer may have waiting in
// its send queue (256 KiB); the rest of its requests wait as small Block
// values.
const maxQueuedPieces = 16

// onRequest queues a block the peer asks for. Requests we cannot serve are
// rejected when the peer speaks BEP 6 and ignored otherwise; requests that
// do not fit the torrent, or a flood beyond maxUpRequests, drop the peer.
func (s *Session) onRequest(p *peerConn, b piece.Block) error {
	if int(b.Index) >= s.table.NumPieces() || b.Length == 0 || b.Length > peer.MaxBlockLen ||
		int64(b.Begin)+int64(b.Length) > s.table.PieceSize(int(b.Index)) {
		return fmt.Errorf("%w: request %d %d+%d out of range", errProto, b.Index, b.Begin, b.Length)
	}
	if p.amChoking || !s.table.Have().Has(int(b.Index)) {
		if p.rejected >= maxRejected {
			return fmt.Errorf("%w: more than %d requests we cannot serve", errProto, maxRejected)
		}
		s.reject(p, b)
		return nil
	}
	if len(p.upReqs) >= maxUpRequests {
		return fmt.Errorf("%w: more than %d requests queued", errProto, maxUpRequests)
	}
	p.upReqs = append(p.upReqs, b)
	s.serve(p)
	return nil
}

// reject answers a request we will not serve (BEP 6), or drops it silently.
func (s *Session) reject(p *peerConn, b piece.Block) {
	p.rejected++
	if p.fast {
		s.send(p, &peer.Msg{ID: peer.Reject, Index: b.Index, Begin: b.Begin, Length: b.Length})
	}
}

// onCancel removes a request the peer no longer wants.
func (s *Session) onCancel(p *peerConn, b piece.Block) {
	if i := slices.Index(p.upReqs, b); i >= 0 {
		p.upReqs = slices.Delete(p.upReqs, i, i+1)
	}
}

// serve moves p's pending requests into its send queue while the queue has
// room, copying each block out of the mapping first (STYLE: no writer holds
// a pointer into a mapping).
func (s *Session) serve(p *peerConn) {
	for !p.dead && len(p.upReqs) > 0 && p.queuedPieces < maxQueuedPieces {
		b := p.upReqs[0]
		p.upReqs = p.upReqs[1:]
		buf := allocBlock(int(b.Length)) // the writer frees it once written
		off := int64(b.Index)*s.info.PieceLength + int64(b.Begin)
		if err := s.store.ReadAt(buf, off); err != nil {
			s.fail(err)
			return
		}
		s.send(p, &peer.Msg{ID: peer.Piece, Index: b.Index, Begin: b.Begin, Block: buf})
	}
	if len(p.upReqs) == 0 {
		p.upReqs = nil
	}
}

// choke chokes p, rejecting its pending requests when it speaks BEP 6
// (a choke does not cancel them implicitly there).
func (s *Session) choke(p *peerConn) {
	if p.amChoking {
		return
	}
	p.amChoking = true
	s.send(p, &peer.Msg{ID: peer.Choke})
	for _, b := range p.upReqs {
		s.reject(p, b)
	}
	p.upReqs = nil
}

// unchoke lets p request blocks.
func (s *Session) unchoke(p *peerConn, now time.Time) {
	if !p.amChoking {
		return
	}
	p.amChoking = false
	p.lastUnchoked = now
	s.send(p, &peer.Msg{ID: peer.Unchoke})
}

// rechoke runs every rechokeEvery (BEP 3 choking): the uploadSlots
// interested peers with the best rate are unchoked (the rate they send us
// while we download, the rate we send them while we seed), plus one
// optimistic unchoke rotated every optimisticEvery; everyone else is choked.
func (s *Session) rechoke(now time.Time) {
	s.lastChoke = now
	for p := range s.sw.peers {
		p.chokes, p.rejected = 0, 0 // the storm and flood counters start over
		p.ext.metaAsked = 0
	}
	if !s.ready() {
		return // nothing to upload yet
	}
	var cands []*peerConn
	for p := range s.sw.peers {
		if !p.dead && p.peerInterested {
			cands = append(cands, p)
		}
	}
	s.sortByRate(cands)
	keep := map[*peerConn]bool{}
	for i := 0; i < len(cands) && i < uploadSlots; i++ {
		keep[cands[i]] = true
	}
	s.rotateOptimistic(now, cands, keep)
	if s.optimistic != nil {
		keep[s.optimistic] = true
	}
	for p := range s.sw.peers {
		if p.dead {
			continue
		}
		if keep[p] {
			s.unchoke(p, now)
		} else {
			s.choke(p)
		}
	}
}

// sortByRate orders peers best first for an unchoke: by the rate they send
// us while we download, by the rate we send them while we seed.
func (s *Session) sortByRate(ps []*peerConn) {
	seeding := s.table.Complete()
	rate := func(p *peerConn) float64 {
		if seeding {
			return p.up.rate
		}
		return p.down.rate
	}
	slices.SortFunc(ps, func(a, b *peerConn) int { return cmp.Compare(rate(b), rate(a)) })
}

// fillSlots runs every tick and when a peer becomes interested: when fewer
// than uploadSlots+1 interested peers are unchoked (one left or lost
// interest since the last rechoke, or none was there), it unchokes the
// best of the choked interested peers at once.
// Without it a swarm whose finished leechers leave waited up to
// rechokeEvery for the seeder: 8 leechers of ours finished in two waves,
// 4 at about 4 s and 4 at about 10 s.
func (s *Session) fillSlots(now time.Time) {
	if !s.ready() {
		return
	}
	used := 0
	var cands []*peerConn
	for p := range s.sw.peers {
		switch {
		case p.dead || !p.peerInterested:
		case !p.amChoking:
			used++
		default:
			cands = append(cands, p)
		}
	}
	free := uploadSlots + 1 - used
	if free <= 0 || len(cands) == 0 {
		return
	}
	s.sortByRate(cands)
	for _, p := range cands[:min(free, len(cands))] {
		s.unchoke(p, now)
	}
}

// rotateOptimistic picks a new optimistic unchoke among the interested peers
// not already kept, every optimisticEvery or when the current one is gone.
func (s *Session) rotateOptimistic(now time.Time, cands []*peerConn, keep map[*peerConn]bool) {
	cur := s.optimistic
	if cur != nil && !cur.dead && cur.peerInterested && now.Sub(s.lastOptim) < optimisticEvery {
		return
	}
	var pool []*peerConn
	for _, p := range cands {
		if !keep[p] {
			pool = append(pool, p)
		}
	}
	s.optimistic = nil
	if len(pool) > 0 {
		s.optimistic = pool[s.rng.IntN(len(pool))]
		s.lastOptim = now
	}
}
