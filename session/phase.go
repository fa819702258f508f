package session

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/unworkable/unworkable/metainfo"
	"github.com/unworkable/unworkable/peer"
	"github.com/unworkable/unworkable/piece"
	"github.com/unworkable/unworkable/storage"
)

// checkState is the start-up hash check in progress: how many pieces the
// hashers still have to report. Owned by the loop goroutine.
type checkState struct {
	left int
}

// begin starts the first phase. With the info known (from the .torrent, or
// kept in the output directory by an earlier run of the same magnet) it is
// the check; else the metadata fetch, for which peers are dialled and
// trackers asked as in any other phase.
func (s *Session) begin() {
	m := s.cfg.Meta
	if m == nil {
		m = s.loadMetadata()
	}
	if m != nil {
		s.enterCheck(m)
		return
	}
	s.tr.printf("start %x: fetching metadata (dn %q)", s.hash, s.cfg.Name)
	s.emit(EvMetadata, 0, "fetching")
}

// enterCheck takes the torrent's info: it builds the piece table, opens the
// storage and establishes which pieces are on disk, from the resume file
// when it matches the files exactly, else by a hash check on the hashers.
// The loop keeps running meanwhile, so a signal ends the check at once.
func (s *Session) enterCheck(m *metainfo.MetaInfo) {
	s.meta, s.info = m, &m.Info
	s.phase = phaseCheck
	n := s.info.NumPieces()
	s.table = piece.NewTable(n, s.info.PieceLength, s.info.Length, &piece.RarestFirst{Rand: s.rng})
	s.hashq = make(chan hashJob, n+1)
	if s.cfg.SaveTorrent != "" {
		if err := s.saveTorrent(s.cfg.SaveTorrent); err != nil {
			s.fail(err)
			return
		}
	}
	existed := anyFileExists(s.cfg.Dir, s.info.Files)
	st, err := storage.Open(s.cfg.Dir, storageFiles(s.info.Files), storage.Options{})
	if err != nil {
		s.fail(err)
		return
	}
	s.store = st
	s.startHashers()
	switch {
	case !existed:
		os.Remove(s.resumePath()) // stale: its files are gone
	default:
		if have, ok := s.loadResume(); ok {
			s.tr.printf("resume: %d pieces from %s", have, s.resumePath())
			s.resumeLive = true
			break
		}
		s.tr.printf("check %d pieces", n)
		s.chk.left = n
		for i := range n {
			s.hashq <- hashJob{index: i, check: true}
		}
		return
	}
	s.enterTransfer()
}

// hashDone takes a hasher's result: a piece of the start-up check, or a
// downloaded piece.
func (s *Session) hashDone(h hashResult) {
	if !h.check {
		s.pieceDone(h)
		return
	}
	s.chk.left--
	switch {
	case h.err != nil:
		s.fail(h.err)
		return
	case h.ok:
		s.table.MarkHave(h.index)
		s.tr.printf("checked %d", h.index)
	}
	if s.chk.left == 0 {
		s.enterTransfer()
	}
}

// enterTransfer starts downloading and seeding once the pieces on disk are
// known: peers that joined before learn what we have, and what they told
// us before we knew the piece count is applied.
func (s *Session) enterTransfer() {
	s.phase = phaseTransfer
	now := time.Now()
	s.progressAt = now
	s.count.startLeft = s.table.Left()
	if s.table.Complete() {
		s.completeAt = now
	}
	s.ann.next = time.Time{} // tell the trackers what is left, now known
	s.public.Store(s.dhtAllowed())
	s.tr.printf("start %s %x pieces=%d have=%d", s.info.Name, s.hash, s.table.NumPieces(), s.table.Have().Count())
	for p := range s.sw.peers {
		if !p.dead {
			s.peerReady(p)
		}
	}
	s.emit(EvStart, 0, "")
	if s.table.Complete() && !s.cfg.Seed {
		s.finish("completed") // nothing to do
	}
}

// earlyHave is what a peer said it has before we knew the piece count:
// its bitfield as sent, the indices of its Have messages as bits, or a
// BEP 6 HaveAll / HaveNone.
type earlyHave struct {
	bits  []byte
	haves []byte
	all   bool
}

// maxEarlyHave bounds what is kept of a peer's pieces before the piece
// count is known: the bitfield of the most pieces metadata within
// MaxMetadataSize can hold (about 100 KiB), so 50 peers cost 5 MiB at most.
const maxEarlyHave = MaxMetadataSize/metainfo.HashSize/8 + 1

// earlyLimit is the longest bitfield, in bytes, a peer may send now.
func (s *Session) earlyLimit() int {
	if s.table != nil {
		return (s.table.NumPieces() + 7) / 8
	}
	return maxEarlyHave
}

// stashHave records a Have, Bitfield, HaveAll or HaveNone received before
// the pieces on disk are known.
func (s *Session) stashHave(p *peerConn, m *peer.Msg) error {
	e := &p.early
	switch m.ID {
	case peer.Have:
		i := int(m.Index)
		if i/8 >= s.earlyLimit() {
			return fmt.Errorf("%w: have %d out of range", errProto, i)
		}
		if i/8 >= len(e.haves) {
			e.haves = append(e.haves, make([]byte, i/8+1-len(e.haves))...)
		}
		e.haves[i/8] |= 0x80 >> (i % 8)
	case peer.Bitfield:
		if len(m.Bits) > s.earlyLimit() {
			return fmt.Errorf("%w: bitfield of %d bytes", errProto, len(m.Bits))
		}
		*e = earlyHave{bits: m.Bits}
	case peer.HaveAll, peer.HaveNone:
		if err := needFast(p, m.ID); err != nil {
			return err
		}
		*e = earlyHave{all: m.ID == peer.HaveAll}
	}
	return nil
}

// peerReady brings a peer that joined before the transfer phase up to
// date: its pieces from what it sent early, ours as Have messages (the
// moment for a bitfield has passed). A peer that would need more Have
// messages than its send queue holds is dropped to reconnect.
func (s *Session) peerReady(p *peerConn) {
	n := s.table.NumPieces()
	bf := piece.NewBitfield(n)
	e := p.early
	p.early = earlyHave{}
	switch {
	case e.all:
		bf.SetAll()
	case e.bits != nil:
		var err error
		if bf, err = piece.FromBytes(e.bits, n); err != nil {
			s.kill(p, fmt.Errorf("%w: early %v", errProto, err))
			return
		}
	}
	for i := 0; i < len(e.haves)*8; i++ {
		if e.haves[i/8]&(0x80>>(i%8)) == 0 {
			continue
		}
		if i >= n {
			s.kill(p, fmt.Errorf("%w: early have %d out of range", errProto, i))
			return
		}
		bf.Set(i)
	}
	p.has = bf
	s.table.AddAvail(&p.has)
	have := s.table.Have()
	if have.Count() > sendQueue/2 {
		s.kill(p, errors.New("joined before the check: reconnect to see our pieces"))
		return
	}
	for i := have.NextSet(0); i >= 0; i = have.NextSet(i + 1) {
		s.send(p, &peer.Msg{ID: peer.Have, Index: uint32(i)})
	}
	if err := s.afterHaveSet(p); err != nil {
		s.kill(p, err)
	}
}
