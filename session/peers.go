package session

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/unworkable/unworkable/mse"
	"github.com/unworkable/unworkable/peer"
	"github.com/unworkable/unworkable/piece"
)

// peerConn is one connected, handshaken peer. Owned by the loop goroutine,
// except conn (used by its reader and writer goroutines) and out (the writer
// drains it).
type peerConn struct {
	addr     netip.AddrPort
	id       [20]byte
	conn     *peer.Conn
	fast     bool
	incoming bool
	out      chan *peer.Msg
	wdone    chan struct{} // closed when the writer goroutine ends
	src      source        // where its address came from (book.go)
	portSeen bool          // its PORT message was passed to the DHT node
	enc      mse.Method    // the MSE stream method (plaintext or RC4); 0: a plain handshake
	dead     bool
	err      error

	amChoking, amInterested     bool
	peerChoking, peerInterested bool
	has                         piece.Bitfield
	allowed                     *piece.Bitfield
	reqs                        map[piece.Block]time.Time // our outstanding requests to the peer
	upReqs                      []piece.Block             // the peer's requests we have not queued yet
	queuedPieces                int                       // Piece messages in out, not yet written
	depth                       int
	run                         blockRun // received blocks not yet written (stage.go)

	lastRecv, lastSent time.Time
	downBytes, upBytes int64 // payload bytes, for the rate estimates
	unrequested        int64 // payload bytes of blocks we never asked for
	chokes             int   // Choke messages received since the last rechoke
	rejected           int   // its requests we rejected since the last rechoke
	down, up           ewma
	lastUnchoked       time.Time

	early earlyHave // its pieces as said before we knew the piece count (phase.go)
	ext   extState  // BEP 10: its extensions, listen port, metadata (ext.go)
	pex   pexState  // BEP 11 (pex.go)
}

// event is what a peer's goroutines tell the loop: a message, Piece
// messages written (pieces of them, sent bytes of blocks), or the final
// error.
type event struct {
	p      *peerConn
	m      *peer.Msg
	pieces int // Piece messages the writer has just written, in one flush
	sent   int // the bytes of their blocks
	err    error
}

// addPeer takes a dialed or accepted connection into the peer set, or closes
// it when it is unwanted (failed, banned, duplicate, over the limit).
func (s *Session) addPeer(d dialed) {
	if !d.incoming {
		s.sw.halfOpen--
	}
	// Forget dead peers first: under a connect-and-drop flood they would
	// otherwise pile up until the next tick, each holding its buffers and
	// its queued blocks.
	s.reap()
	c := s.sw.known[d.addr]
	if d.err != nil {
		s.tr.printf("connect %s failed: %v", d.addr, d.err)
		if c != nil {
			c.failed(time.Now(), errors.Is(d.err, peer.ErrSelf))
		}
		return
	}
	if reason := s.refuse(d); reason != "" {
		s.tr.printf("refuse %s: %s", d.addr, reason)
		d.conn.Close()
		return
	}
	src := srcIncoming
	if c != nil {
		c.connected()
		src = c.src
	}
	now := time.Now()
	p := &peerConn{
		addr: d.addr, id: d.hs.PeerID, conn: d.conn, incoming: d.incoming, src: src, enc: d.enc,
		fast:      d.hs.Reserved.Fast(),
		out:       make(chan *peer.Msg, sendQueue),
		wdone:     make(chan struct{}),
		amChoking: true, peerChoking: true,
		reqs: map[piece.Block]time.Time{}, depth: minDepth * 2,
		lastRecv: now, lastSent: now,
	}
	if s.ready() {
		p.has = piece.NewBitfield(s.table.NumPieces())
	}
	s.sw.peers[p] = struct{}{}
	s.sw.byAddr[p.addr] = p
	s.host.conns.Add(1)
	s.tr.printf("connect %s id=%q fast=%v ext=%v incoming=%v source=%s enc=%s", p.addr, peerIDPrefix(p.id), p.fast,
		d.hs.Reserved.Extended(), p.incoming, p.src, encName(p.enc))
	go s.readLoop(p)
	go s.writeLoop(p)
	if d.hs.Reserved.Extended() {
		s.sendExtHandshake(p)
	}
	s.sendPort(p, d.hs)
	s.sendHave(p)
	if s.ready() {
		s.updateInterest(p)
	}
}

// refuse says why a new connection is not taken, or "" to take it.
func (s *Session) refuse(d dialed) string {
	switch {
	case s.sw.bannedIDs[d.hs.PeerID]:
		return "banned peer id"
	case s.sw.strikes[d.addr] >= banStrikes:
		return "banned address"
	case s.sw.byAddr[d.addr] != nil:
		return "already connected"
	case s.live() >= s.cfg.MaxPeers:
		return "peer limit"
	case s.host.full():
		return "connection limit of the host"
	case s.phase == phaseCheck:
		return "checking"
	case s.ready() && s.table.Complete() && !s.cfg.Seed:
		return "done"
	}
	for p := range s.sw.peers {
		if !p.dead && p.id == d.hs.PeerID {
			return "duplicate peer id"
		}
	}
	return ""
}

// live counts peers not yet marked dead.
func (s *Session) live() int {
	n := 0
	for p := range s.sw.peers {
		if !p.dead {
			n++
		}
	}
	return n
}

// sendHave sends our pieces right after the handshake: BEP 6 HaveAll or
// HaveNone when both sides speak it, else a bitfield when we have anything.
// Before the piece count is known we have nothing: HaveNone, or nothing
// at all; peerReady sends Have messages later.
func (s *Session) sendHave(p *peerConn) {
	if !s.ready() {
		if p.fast {
			s.send(p, &peer.Msg{ID: peer.HaveNone})
		}
		return
	}
	have := s.table.Have()
	switch {
	case p.fast && have.Full():
		s.send(p, &peer.Msg{ID: peer.HaveAll})
	case p.fast && have.Count() == 0:
		s.send(p, &peer.Msg{ID: peer.HaveNone})
	case have.Count() > 0:
		s.send(p, &peer.Msg{ID: peer.Bitfield, Bits: have.Bytes()})
	}
}

// readLoop is p's reader goroutine: every message, then the final error, go
// to the loop as events.
func (s *Session) readLoop(p *peerConn) {
	p.conn.SetReadTimeout(peerSilence)
	p.conn.SetAlloc(allocBlock)
	for {
		m := new(peer.Msg)
		err := p.conn.ReadMsg(m)
		if err != nil {
			m = nil
		} else if m.ID == peer.Piece && !m.KeepAlive && !s.host.downLimit.take(len(m.Block), s.done) {
			return
		}
		select {
		case s.events <- event{p: p, m: m, err: err}:
		case <-s.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// writeLoop is p's writer goroutine: it drains p.out into the connection,
// writing whenever the queue runs empty or writeBatch bytes wait, and tells
// the loop when a Piece has been written so that more blocks can be queued.
// It ends when out is closed or a write fails.
func (s *Session) writeLoop(p *peerConn) {
	defer close(p.wdone)
	p.conn.SetWriteTimeout(peerSilence / 2)
	w := &blockWriter{s: s, p: p}
	for m := range p.out {
		piece := m.ID == peer.Piece && !m.KeepAlive
		if piece && s.host.upLimit != nil {
			// Write what is queued before a possible wait.
			if !w.flush() {
				break
			}
			if !s.host.upLimit.take(len(m.Block), s.done) {
				return
			}
		}
		if w.err = p.conn.WriteMsg(m); w.err != nil {
			break
		}
		if piece {
			w.blocks = append(w.blocks, m.Block)
		}
		if q := p.conn.Queued(); len(p.out) == 0 || q == 0 || q >= writeBatch {
			if !w.flush() {
				break
			}
		}
	}
	if w.err != nil {
		p.conn.Close() // the reader then reports the end
	}
}

// writeBatch is how many bytes the writer lets queue in the connection
// before it writes them (when its queue does not run empty first).
const writeBatch = peer.MaxQueued / 2

// blockWriter is the writer goroutine's state: the blocks of the Piece
// messages queued in the connection, which it may free and report as sent
// only once written (Conn sends them from where they lie).
type blockWriter struct {
	s      *Session
	p      *peerConn
	blocks [][]byte
	err    error
}

// flush writes what is queued, then frees the blocks written and reports
// them to the loop in one event. It returns false when the writer must
// stop: a write failed (w.err) or the session ended.
func (w *blockWriter) flush() bool {
	if w.err = w.p.conn.Flush(); w.err != nil {
		return false
	}
	if len(w.blocks) == 0 {
		return true
	}
	ev := event{p: w.p, pieces: len(w.blocks)}
	for i, b := range w.blocks {
		ev.sent += len(b)
		freeBlock(b)
		w.blocks[i] = nil
	}
	w.blocks = w.blocks[:0]
	select {
	case w.s.events <- ev:
		return true
	case <-w.s.done:
		return false
	}
}

// send queues m for p without blocking; a peer whose queue is full is too
// slow and is dropped.
func (s *Session) send(p *peerConn, m *peer.Msg) {
	if p.dead {
		return
	}
	select {
	case p.out <- m:
		p.lastSent = time.Now()
		if m.ID == peer.Piece && !m.KeepAlive {
			p.queuedPieces++
		}
		if !m.KeepAlive && m.ID != peer.Piece && m.ID != peer.Request && m.ID != peer.Have {
			s.tr.printf("send %s %s", p.addr, m)
		}
	default:
		s.kill(p, errors.New("send queue full"))
	}
}

// kill marks p dead and closes its connection; reap removes it later. The
// requests it had outstanding become requestable again at once.
func (s *Session) kill(p *peerConn, err error) {
	if p.dead {
		return
	}
	p.dead = true
	p.err = err
	p.conn.Close()
	close(p.out)
	// Its blocks are recorded as received: they must reach the disk.
	if err := s.writeRun(&p.run); err != nil {
		s.fail(err)
	}
	for b := range p.reqs {
		s.table.Unrequest(b)
	}
	p.reqs = nil
	p.upReqs = nil
	if s.table != nil {
		s.table.RemoveAvail(&p.has)
	}
	s.forgetMetadataAsks(p)
	if s.optimistic == p {
		s.optimistic = nil
	}
	s.tr.printf("drop %s: %v", p.addr, err)
}

// reap forgets dead peers and schedules the redial of their addresses.
func (s *Session) reap() {
	now := time.Now()
	for p := range s.sw.peers {
		if !p.dead {
			continue
		}
		delete(s.sw.peers, p)
		s.host.conns.Add(-1)
		if s.sw.byAddr[p.addr] == p {
			delete(s.sw.byAddr, p.addr)
		}
		if c := s.sw.known[p.addr]; c != nil {
			c.disconnected(now)
		}
		if a, ok := p.listenAddr(); ok && a != p.addr {
			if c := s.sw.known[a]; c != nil && c.linked {
				c.disconnected(now)
			}
		}
	}
}

// ban drops p and refuses its address and peer id from now on.
func (s *Session) ban(p *peerConn, why string) {
	s.sw.strikes[p.addr] = banStrikes
	s.sw.bannedIDs[p.id] = true
	if c := s.sw.known[p.addr]; c != nil {
		c.banned = true
	}
	s.kill(p, fmt.Errorf("banned: %s", why))
}

// tick updates p's rate estimates.
func (p *peerConn) tick(now time.Time) {
	p.down.update(now, p.downBytes)
	p.up.update(now, p.upBytes)
	p.retune()
}

// peerIDPrefix returns the printable client prefix of a peer id for traces.
func peerIDPrefix(id [20]byte) string {
	n := 0
	for n < 8 && id[n] >= 0x20 && id[n] < 0x7f {
		n++
	}
	return string(id[:n])
}

// drain lets the writers send what is queued before a clean finish (a
// seed-ratio stop counts bytes as uploaded once written), for at most d.
// Events that arrive meanwhile are dropped: the loop has ended.
func (s *Session) drain(d time.Duration) {
	var waits []chan struct{}
	for p := range s.sw.peers {
		if !p.dead {
			p.dead = true
			close(p.out)
			waits = append(waits, p.wdone)
		}
	}
	timeout := time.After(d)
	for _, w := range waits {
		for done := false; !done; {
			select {
			case <-w:
				done = true
			case <-s.events:
			case <-timeout:
				return
			}
		}
	}
}
