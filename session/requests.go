package session

import (
	"fmt"
	"time"

	"github.com/unworkable/unworkable/peer"
	"github.com/unworkable/unworkable/piece"
)

// fillRequests tops p's pipeline of requests up to its depth, which follows
// the rate the peer sends at (see retune). Partly downloaded pieces come
// first (piece.Table.Next); in endgame, blocks outstanding elsewhere are
// requested again. A pipeline still three quarters full is left alone, so
// that a fast peer gets its requests in batches: one write, and one wake-up
// of its writer, per batch rather than per block received.
func (s *Session) fillRequests(p *peerConn) {
	if p.dead || !p.amInterested || !s.ready() || s.table.Complete() {
		return
	}
	var allowed *piece.Bitfield
	if p.peerChoking {
		if p.allowed == nil {
			return
		}
		allowed = p.allowed
	}
	free := p.depth - len(p.reqs)
	if free <= 0 || (free < p.depth/4 && len(p.reqs) > 0) {
		return
	}
	var buf [maxDepth]piece.Block
	blocks := s.table.Next(&p.has, allowed, free, buf[:0])
	if len(blocks) == 0 && allowed == nil && s.table.Endgame() {
		n := min(free, 4) // endgame: a few duplicates at a time
		blocks = s.table.NextEndgame(&p.has, n, func(b piece.Block) bool {
			_, mine := p.reqs[b]
			return mine
		}, buf[:0])
	}
	now := time.Now()
	for i, b := range blocks {
		if p.dead {
			for _, b := range blocks[i:] {
				s.table.Unrequest(b)
			}
			return
		}
		p.reqs[b] = now
		s.send(p, &peer.Msg{ID: peer.Request, Index: b.Index, Begin: b.Begin, Length: b.Length})
	}
}

// dropRequests forgets every request outstanding at p.
func (s *Session) dropRequests(p *peerConn) {
	for b := range p.reqs {
		s.table.Unrequest(b)
		delete(p.reqs, b)
	}
}

// expireRequests gives up on requests p has left unanswered too long, so
// that another peer can serve them, and halves p's depth.
func (s *Session) expireRequests(p *peerConn, now time.Time) {
	expired := 0
	for b, at := range p.reqs {
		if p.dead {
			return
		}
		if now.Sub(at) < requestTimeout {
			continue
		}
		delete(p.reqs, b)
		s.table.Unrequest(b)
		s.send(p, &peer.Msg{ID: peer.Cancel, Index: b.Index, Begin: b.Begin, Length: b.Length})
		expired++
	}
	if expired > 0 {
		s.tr.printf("timeout %s: %d requests", p.addr, expired)
		p.depth = max(minDepth, p.depth/2)
	}
}

// retune sets p's pipeline depth from its download rate: enough blocks in
// flight to cover about a second of transfer, as the BitTorrent spec
// suggests, between minDepth and maxDepth, and never beyond the requests
// the peer said it queues (BEP 10 reqq).
func (p *peerConn) retune() {
	want := int(p.down.rate/piece.BlockSize) + minDepth
	top := maxDepth
	if p.ext.reqq > 0 {
		top = min(top, max(p.ext.reqq, 2))
	}
	p.depth = max(min(minDepth, top), min(top, want))
}

// maxUnrequested is how many bytes of unrequested blocks a peer may send
// before it is dropped, as long as they are at most half of what it sent:
// a cancel may cross a full pipeline (maxDepth blocks) in flight.
const maxUnrequested = 8 << 20

// onPiece stores a block we asked for. Unrequested blocks are ignored (they
// may cross a cancel) up to maxUnrequested bytes; blocks that do not fit the
// torrent drop the peer.
func (s *Session) onPiece(p *peerConn, m *peer.Msg) error {
	b := piece.Block{Index: m.Index, Begin: m.Begin, Length: uint32(len(m.Block))}
	if !s.table.Valid(b) {
		return fmt.Errorf("%w: piece %d %d+%d does not fit", errProto, b.Index, b.Begin, b.Length)
	}
	n := int64(len(m.Block))
	p.downBytes += n
	if _, ok := p.reqs[b]; !ok {
		return s.unrequested(p, n)
	}
	delete(p.reqs, b)
	s.table.Unrequest(b)
	// Received first: a duplicate must never be written, since the piece
	// may be under a hasher's eyes or already verified.
	done, dup := s.table.Received(b)
	if dup {
		s.count.wasted += n
		s.fillRequests(p)
		return nil
	}
	off := int64(b.Index)*s.info.PieceLength + int64(b.Begin)
	s.invalidateResume()
	err := s.stage(p, b, m.Block, off)
	m.Block = nil // the run owns it now, or it was given back
	if err == nil && done {
		err = s.writePiece(b.Index)
	}
	if err != nil {
		s.fail(err)
		return nil
	}
	s.count.downloaded += n
	s.progressAt = time.Now()
	s.noteSender(b, p.addr)
	if s.table.Endgame() {
		s.cancelElsewhere(p, b)
	}
	if done {
		s.hashing++
		_, blocks := s.suspects[int(b.Index)]
		s.hashq <- hashJob{index: int(b.Index), blocks: blocks}
	}
	s.fillRequests(p)
	return nil
}

// unrequested counts n bytes of a block we did not ask p for: wasted, and
// beyond maxUnrequested (if over half of what it sent) a reason to drop p.
func (s *Session) unrequested(p *peerConn, n int64) error {
	s.count.wasted += n
	p.unrequested += n
	if p.unrequested > maxUnrequested && 2*p.unrequested > p.downBytes {
		return fmt.Errorf("%w: %d bytes of blocks we did not request", errProto, p.unrequested)
	}
	return nil
}

// cancelElsewhere cancels b at every other peer it is outstanding at
// (endgame duplicates).
func (s *Session) cancelElsewhere(from *peerConn, b piece.Block) {
	for q := range s.sw.peers {
		if q == from || q.dead {
			continue
		}
		if _, ok := q.reqs[b]; ok {
			delete(q.reqs, b)
			s.table.Unrequest(b)
			s.send(q, &peer.Msg{ID: peer.Cancel, Index: b.Index, Begin: b.Begin, Length: b.Length})
		}
	}
}

// pieceDone takes a hasher's verdict on a downloaded piece. A good piece is
// announced to every peer; a bad one is downloaded again, and its senders
// are judged (see judge.go).
func (s *Session) pieceDone(h hashResult) {
	s.hashing--
	i := h.index
	if h.err != nil {
		s.fail(h.err)
		return
	}
	if !h.ok {
		s.table.MarkBad(i)
		s.count.wasted += s.table.PieceSize(i)
		s.count.downloaded -= s.table.PieceSize(i)
		s.tr.printf("hashfail %d", i)
		s.emit(EvPieceFailed, i, "")
		s.judgeFailure(i, h.sums)
		return
	}
	s.table.MarkHave(i)
	s.progressAt = time.Now()
	s.tr.printf("verified %d", i)
	s.judgeSuccess(i, h.sums)
	for p := range s.sw.peers {
		if !p.dead {
			s.send(p, &peer.Msg{ID: peer.Have, Index: uint32(i)})
		}
	}
	if s.table.Complete() {
		s.completed()
	}
}

// completed runs once when the last piece is verified: sync and save the
// resume file, tell the tracker, and finish unless seeding.
func (s *Session) completed() {
	s.tr.printf("complete after %v", time.Since(s.started).Round(time.Millisecond))
	if err := s.saveResume(); err != nil {
		s.fail(err)
		return
	}
	for p := range s.sw.peers {
		if p.dead {
			continue
		}
		if p.has.Full() {
			s.kill(p, s.bothSeeding(p))
			continue
		}
		s.updateInterest(p)
	}
	s.completeAt = time.Now()
	s.emit(EvCompleted, 0, "")
	if s.count.startLeft > 0 {
		s.ann.complete()
	}
	if !s.cfg.Seed {
		s.finish("completed")
	}
}
