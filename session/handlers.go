package session

import (
	"errors"
	"fmt"
	"time"

	"github.com/unworkable/unworkable/peer"
	"github.com/unworkable/unworkable/piece"
)

// errProto marks a peer that broke the protocol; it is dropped.
var errProto = errors.New("protocol violation")

// handle dispatches one event from a peer's goroutines.
func (s *Session) handle(ev event) {
	p := ev.p
	if p.dead {
		return
	}
	switch {
	case ev.err != nil:
		s.kill(p, ev.err)
	case ev.m == nil: // the writer wrote ev.pieces Piece messages, ev.sent bytes of blocks
		// Count uploads when written, not when queued: a seed-ratio stop
		// must not leave what it counted unsent.
		p.queuedPieces -= ev.pieces
		p.upBytes += int64(ev.sent)
		s.count.uploaded += int64(ev.sent)
		s.serve(p)
	default:
		p.lastRecv = time.Now()
		if err := s.handleMsg(p, ev.m); err != nil {
			s.kill(p, err)
		}
		if ev.m.ID == peer.Piece && !ev.m.KeepAlive {
			freeBlock(ev.m.Block) // dropped (a stored block is nil here): no one holds it now
		}
	}
}

// handleMsg calls one small handler per message ID. An error drops the peer.
func (s *Session) handleMsg(p *peerConn, m *peer.Msg) error {
	if m.KeepAlive {
		return nil
	}
	if m.ID != peer.Piece && m.ID != peer.Request && m.ID != peer.Have {
		s.tr.printf("recv %s %s", p.addr, m)
	}
	switch m.ID {
	case peer.Extended:
		return s.onExtended(p, m)
	case peer.Port:
		s.onPort(p, m)
		return nil
	}
	if !s.ready() {
		return s.handleEarly(p, m)
	}
	switch m.ID {
	case peer.Choke:
		return s.onChoke(p)
	case peer.Unchoke:
		p.peerChoking = false
		s.fillRequests(p)
	case peer.Interested:
		p.peerInterested = true
		s.fillSlots(time.Now()) // a free slot goes to it at once
	case peer.NotInterested:
		p.peerInterested = false
	case peer.Have:
		return s.onHave(p, int(m.Index))
	case peer.Bitfield:
		return s.onBitfield(p, m.Bits)
	case peer.HaveAll, peer.HaveNone:
		return s.onHaveAllNone(p, m.ID == peer.HaveAll)
	case peer.Request:
		return s.onRequest(p, piece.Block{Index: m.Index, Begin: m.Begin, Length: m.Length})
	case peer.Cancel:
		s.onCancel(p, piece.Block{Index: m.Index, Begin: m.Begin, Length: m.Length})
	case peer.Piece:
		return s.onPiece(p, m)
	case peer.Reject:
		return s.onReject(p, piece.Block{Index: m.Index, Begin: m.Begin, Length: m.Length})
	case peer.AllowedFast:
		return s.onAllowedFast(p, int(m.Index))
	case peer.Suggest, peer.Port:
		// Not used yet: BEP 6 suggestions are advisory, the DHT comes later.
	default:
		// BEP 3: unknown messages are ignored.
	}
	return nil
}

// handleEarly handles a message that arrives before the piece count is
// known and checked: what the peer has is kept for later, its requests are
// rejected, blocks are unrequested, choke and interest are recorded.
func (s *Session) handleEarly(p *peerConn, m *peer.Msg) error {
	switch m.ID {
	case peer.Choke:
		return s.onChoke(p)
	case peer.Unchoke:
		p.peerChoking = false
	case peer.Interested:
		p.peerInterested = true
	case peer.NotInterested:
		p.peerInterested = false
	case peer.Have, peer.Bitfield, peer.HaveAll, peer.HaveNone:
		return s.stashHave(p, m)
	case peer.Request:
		if p.rejected >= maxRejected {
			return fmt.Errorf("%w: more than %d requests we cannot serve", errProto, maxRejected)
		}
		s.reject(p, piece.Block{Index: m.Index, Begin: m.Begin, Length: m.Length})
	case peer.Piece:
		return s.unrequested(p, int64(len(m.Block)))
	}
	return nil
}

// needFast refuses a BEP 6 message from a peer that did not set the bit.
func needFast(p *peerConn, m peer.ID) error {
	if !p.fast {
		return fmt.Errorf("%w: %s without the fast extension", errProto, m)
	}
	return nil
}

// onChoke handles being choked. BEP 6: with the fast extension requests stay
// pending until rejected or served; without it they are all discarded.
func (s *Session) onChoke(p *peerConn) error {
	p.chokes++
	if p.chokes > maxChokes {
		return fmt.Errorf("%w: choke storm: more than %d chokes between rechokes", errProto, maxChokes)
	}
	p.peerChoking = true
	if !p.fast {
		s.dropRequests(p)
	}
	return nil
}

// onHave records one new piece of the peer.
func (s *Session) onHave(p *peerConn, i int) error {
	if i < 0 || i >= s.table.NumPieces() {
		return fmt.Errorf("%w: have %d out of range", errProto, i)
	}
	if p.has.Has(i) {
		return nil
	}
	p.has.Set(i)
	s.table.IncAvail(i)
	if !p.amInterested && !s.table.Have().Has(i) {
		s.setInterested(p, true)
	}
	s.fillRequests(p)
	return nil
}

// onBitfield takes the peer's pieces. BEP 3 sends it only as the first
// message, but aria2 follows its BEP 6 HaveNone with a bitfield, so a late
// one replaces what we knew. Its length must be exact, with no spare bits.
func (s *Session) onBitfield(p *peerConn, bits []byte) error {
	bf, err := piece.FromBytes(bits, s.table.NumPieces())
	if err != nil {
		return fmt.Errorf("%w: %v", errProto, err)
	}
	s.replaceHave(p, bf)
	return s.afterHaveSet(p)
}

// onHaveAllNone handles BEP 6 HaveAll and HaveNone.
func (s *Session) onHaveAllNone(p *peerConn, all bool) error {
	if err := needFast(p, peer.HaveAll); err != nil {
		return err
	}
	bf := piece.NewBitfield(s.table.NumPieces())
	if all {
		bf.SetAll()
	}
	s.replaceHave(p, bf)
	return s.afterHaveSet(p)
}

// replaceHave sets p's piece set, keeping the availability counts right.
func (s *Session) replaceHave(p *peerConn, bf piece.Bitfield) {
	s.table.RemoveAvail(&p.has)
	p.has = bf
	s.table.AddAvail(&p.has)
}

// afterHaveSet updates interest once a peer's piece set is known, and drops
// a seed when we are seeding too.
func (s *Session) afterHaveSet(p *peerConn) error {
	if p.has.Full() && s.table.Complete() {
		return s.bothSeeding(p)
	}
	s.updateInterest(p)
	s.fillRequests(p)
	return nil
}

// onAllowedFast records a piece we may request while choked (BEP 6).
func (s *Session) onAllowedFast(p *peerConn, i int) error {
	if err := needFast(p, peer.AllowedFast); err != nil {
		return err
	}
	if i < 0 || i >= s.table.NumPieces() {
		return nil // BEP 6: may be ignored
	}
	if p.allowed == nil {
		bf := piece.NewBitfield(s.table.NumPieces())
		p.allowed = &bf
	}
	p.allowed.Set(i)
	s.fillRequests(p)
	return nil
}

// onReject handles a BEP 6 reject of one of our requests.
func (s *Session) onReject(p *peerConn, b piece.Block) error {
	if err := needFast(p, peer.Reject); err != nil {
		return err
	}
	if _, ok := p.reqs[b]; !ok {
		return nil // a reject crossing our cancel
	}
	delete(p.reqs, b)
	s.table.Unrequest(b)
	if p.depth > minDepth {
		p.depth--
	}
	return nil
}

// updateInterest tells p whether we want anything it has.
func (s *Session) updateInterest(p *peerConn) {
	if p.dead {
		return
	}
	want := !s.table.Complete() && s.table.Wants(&p.has)
	if want != p.amInterested {
		s.setInterested(p, want)
	}
}

// setInterested sends Interested or NotInterested.
func (s *Session) setInterested(p *peerConn, want bool) {
	p.amInterested = want
	id := peer.NotInterested
	if want {
		id = peer.Interested
	}
	s.send(p, &peer.Msg{ID: id})
}
