package session

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/unworkable/unworkable/metainfo"
	"github.com/unworkable/unworkable/peer"
)

// The metadata exchange (BEP 9): a session started from a magnet link
// fetches the info dictionary from the peers that have it, 16 KiB at a
// time from several peers at once, and checks its SHA-1 against the info
// hash before anything else is done with it. Once it has the info, it
// serves it to peers in turn.

// MaxMetadataSize is the largest info dictionary fetched from peers. The
// buffer is allocated only for a size within it; libtorrent caps at
// 30 MiB, aria2 and transmission lower. 16 MiB holds the pieces of a
// 300 GiB torrent in 256 KiB pieces.
const MaxMetadataSize = 16 << 20

// ErrBadMetadata marks info dictionaries that hash right but are refused
// as they would be in a .torrent file; main exits as for a bad torrent.
var ErrBadMetadata = errors.New("session: bad metadata")

// Bounds of the metadata exchange.
const (
	metaRequestTimeout = 10 * time.Second // a request unanswered this long goes to another peer
	metaPerPeer        = 4                // metadata pieces requested from one peer at once
	maxMetaRejects     = 8                // rejects from a peer before it is asked no more
	maxMetaServe       = 32               // metadata pieces served to one peer per rechoke period (512 KiB/10 s); more are rejected
	maxMetaAsks        = 512              // metadata requests from one peer per rechoke period; more: dropped
)

// metaFetch is the info dictionary being fetched. Owned by the loop
// goroutine.
type metaFetch struct {
	size  int                     // the size being fetched, 0 until a peer offers one
	buf   []byte                  // size bytes
	got   []bool                  // which pieces arrived
	from  []netip.AddrPort        // who sent each piece, to blame if the hash fails
	asked map[int]metaAsk         // pieces requested and not yet answered
	bad   map[netip.AddrPort]bool // peers that sent metadata failing the hash: never asked again
	have  int                     // bytes arrived
	peers int                     // peers offering the size being fetched, as last reported
	pex   []netip.AddrPort        // PEX addresses received before the info said whether the torrent is private
}

// metaAsk is one outstanding metadata request.
type metaAsk struct {
	p  *peerConn
	at time.Time
}

// metaPieces returns how many MetadataPieceLen pieces size bytes make.
func metaPieces(size int) int {
	return (size + peer.MetadataPieceLen - 1) / peer.MetadataPieceLen
}

// offers reports whether p can be asked for metadata of any size.
func (s *Session) offers(p *peerConn) bool {
	e := &p.ext
	return !p.dead && e.ids[peer.ExtMetadata] != 0 && e.metaSize > 0 && e.metaSize <= MaxMetadataSize &&
		!e.noMeta && !s.md.bad[p.addr]
}

// fetchMetadata expires metadata requests left unanswered, picks the size
// to fetch from the first peer that offers one, and asks every peer that
// offers that size for missing pieces, metaPerPeer at a time.
func (s *Session) fetchMetadata(now time.Time) {
	md := &s.md
	for i, a := range md.asked {
		if a.p.dead || now.Sub(a.at) >= metaRequestTimeout {
			delete(md.asked, i)
			a.p.ext.metaOut--
			a.p.ext.metaLate++ // its answer may still come
		}
	}
	if md.size == 0 {
		for p := range s.sw.peers {
			if s.offers(p) {
				s.startMetadata(int(p.ext.metaSize))
				break
			}
		}
	}
	offering := 0
	next := 0
	for p := range s.sw.peers {
		if !s.offers(p) || int(p.ext.metaSize) != md.size {
			continue
		}
		offering++
		for p.ext.metaOut < metaPerPeer {
			for next < len(md.got) && (md.got[next] || md.asked[next].p != nil) {
				next++
			}
			if next == len(md.got) {
				break
			}
			md.asked[next] = metaAsk{p: p, at: now}
			p.ext.metaOut++
			s.sendMetadata(p, &peer.MetadataMsg{Type: peer.MetadataRequest, Piece: next})
		}
	}
	if offering != md.peers {
		md.peers = offering
		s.emit(EvMetadata, 0, "fetching")
	}
}

// startMetadata prepares to fetch size bytes of metadata.
func (s *Session) startMetadata(size int) {
	md := &s.md
	n := metaPieces(size)
	md.size, md.buf, md.got, md.from, md.have = size, make([]byte, size), make([]bool, n), make([]netip.AddrPort, n), 0
	md.asked = map[int]metaAsk{}
	s.tr.printf("metadata: fetching %d bytes in %d pieces", size, n)
}

// sendMetadata sends a ut_metadata message under the peer's id for it.
func (s *Session) sendMetadata(p *peerConn, m *peer.MetadataMsg) {
	s.send(p, &peer.Msg{ID: peer.Extended, ExtID: p.ext.ids[peer.ExtMetadata], Ext: m.Encode()})
}

// forgetMetadataAsks makes the metadata requests outstanding at a dropped
// peer requestable again.
func (s *Session) forgetMetadataAsks(p *peerConn) {
	for i, a := range s.md.asked {
		if a.p == p {
			delete(s.md.asked, i)
		}
	}
	p.ext.metaOut = 0
}

// onMetadata handles a ut_metadata message. BEP 9: unknown types are
// ignored.
func (s *Session) onMetadata(p *peerConn, payload []byte) error {
	m, err := peer.ParseMetadataMsg(payload)
	if err != nil {
		return fmt.Errorf("%w: %v", errProto, err)
	}
	switch m.Type {
	case peer.MetadataRequest:
		return s.serveMetadata(p, m.Piece)
	case peer.MetadataData:
		return s.metadataPiece(p, &m)
	case peer.MetadataReject:
		s.metadataReject(p, m.Piece)
	}
	return nil
}

// metadataPiece stores a piece of metadata we asked p for. A piece nobody
// asked p for, or whose sizes disagree with what is being fetched, drops
// p; late replies are ignored (lateMetadata).
func (s *Session) metadataPiece(p *peerConn, m *peer.MetadataMsg) error {
	md := &s.md
	if a, ok := md.asked[m.Piece]; s.phase != phaseMetadata || !ok || a.p != p {
		return s.lateMetadata(p, m.Piece)
	}
	if m.TotalSize != int64(md.size) || m.TotalSize != p.ext.metaSize {
		return fmt.Errorf("%w: metadata total_size %d, fetching %d", errProto, m.TotalSize, md.size)
	}
	off := m.Piece * peer.MetadataPieceLen
	if want := min(peer.MetadataPieceLen, md.size-off); len(m.Data) != want {
		return fmt.Errorf("%w: metadata piece %d of %d bytes, want %d", errProto, m.Piece, len(m.Data), want)
	}
	delete(md.asked, m.Piece)
	p.ext.metaOut--
	copy(md.buf[off:], m.Data)
	md.got[m.Piece] = true
	md.from[m.Piece] = p.addr
	md.have += len(m.Data)
	s.progressAt = time.Now()
	if md.have == md.size {
		s.metadataDone()
		return nil
	}
	s.fetchMetadata(time.Now())
	return nil
}

// lateMetadata takes a metadata piece p was not asked for now: the answer
// to a request that timed out, or one crossing the end of the fetch, is
// ignored (one per such request); any other drops p.
func (s *Session) lateMetadata(p *peerConn, piece int) error {
	switch e := &p.ext; {
	case e.metaLate > 0:
		e.metaLate--
	case s.phase != phaseMetadata && e.metaOut > 0:
		e.metaOut--
	default:
		return fmt.Errorf("%w: metadata piece %d not requested", errProto, piece)
	}
	return nil
}

// metadataReject handles a peer's refusal to send a metadata piece: the
// piece goes to another peer, and a peer that keeps refusing is asked no
// more.
func (s *Session) metadataReject(p *peerConn, i int) {
	if a, ok := s.md.asked[i]; ok && a.p == p {
		delete(s.md.asked, i)
		p.ext.metaOut--
	}
	p.ext.metaRejects++
	if p.ext.metaRejects >= maxMetaRejects && !p.ext.noMeta {
		p.ext.noMeta = true
		s.tr.printf("metadata: %s rejected %d requests, not asked again", p.addr, p.ext.metaRejects)
	}
	if s.phase == phaseMetadata {
		s.fetchMetadata(time.Now()) // the piece goes to whoever has room
	}
}

// metadataDone checks the fetched metadata. Wrong SHA-1: every peer that
// sent a piece of it is dropped and never asked again, and the fetch
// starts over. Right SHA-1: it is parsed exactly as the info dictionary
// of a .torrent file (a hostile one ends the run with ErrBadMetadata), kept
// in the output directory, and the session moves on to the check.
func (s *Session) metadataDone() {
	md := &s.md
	if sha1.Sum(md.buf) != s.hash {
		if md.bad == nil {
			md.bad = map[netip.AddrPort]bool{}
		}
		for _, a := range md.from {
			md.bad[a] = true
			if p := s.sw.byAddr[a]; p != nil {
				s.kill(p, errors.New("sent metadata that fails the info hash"))
			}
		}
		s.tr.printf("metadata: %d bytes fail the info hash; fetching again", md.size)
		md.size, md.buf, md.got, md.from, md.asked, md.have = 0, nil, nil, nil, nil, 0
		s.fetchMetadata(time.Now())
		return
	}
	info, err := metainfo.ParseInfo(md.buf)
	if err != nil {
		s.fail(fmt.Errorf("%w: %v", ErrBadMetadata, err))
		return
	}
	m := &metainfo.MetaInfo{Info: *info, InfoHash: s.hash, InfoBytes: md.buf, AnnounceList: s.cfg.Trackers, URLList: s.cfg.WebSeeds}
	if len(s.cfg.Trackers) > 0 && len(s.cfg.Trackers[0]) > 0 {
		m.Announce = s.cfg.Trackers[0][0]
	}
	pex := md.pex
	s.md = metaFetch{}
	s.tr.printf("metadata: %d bytes verified", len(m.InfoBytes))
	s.enterCheckFromPeers(m, pex)
}

// enterCheckFromPeers moves on with metadata that came from peers: the
// peers learn our metadata size, PEX addresses that waited for the private
// flag are taken (BEP 27: never for a private torrent), and the check
// starts.
func (s *Session) enterCheckFromPeers(m *metainfo.MetaInfo, pex []netip.AddrPort) {
	s.meta, s.info = m, &m.Info
	if err := s.saveTorrent(s.metadataPath()); err != nil {
		// Not fatal: the next run fetches it again.
		s.tr.printf("metadata: not kept: %v", err)
	}
	s.emit(EvMetadata, 0, "received")
	if !m.Info.Private {
		for _, a := range pex {
			s.addCandidate(a, srcPex)
		}
	}
	for p := range s.sw.peers {
		if !p.dead && p.ext.ids != nil {
			s.sendExtHandshake(p)
		}
	}
	s.enterCheck(m)
}

// serveMetadata answers a peer's request for a piece of our metadata:
// the piece, or a reject when we do not have the metadata yet, the piece
// does not exist or the peer asked for more than maxMetaServe pieces since
// the last rechoke. Far more requests than that drop it.
func (s *Session) serveMetadata(p *peerConn, i int) error {
	e := &p.ext
	e.metaAsked++
	if e.metaAsked > maxMetaAsks {
		return fmt.Errorf("%w: more than %d metadata requests in %v", errProto, maxMetaAsks, rechokeEvery)
	}
	if e.ids[peer.ExtMetadata] == 0 {
		return nil // it cannot receive an answer
	}
	if s.meta == nil || i*peer.MetadataPieceLen >= len(s.meta.InfoBytes) || e.metaAsked > maxMetaServe {
		s.sendMetadata(p, &peer.MetadataMsg{Type: peer.MetadataReject, Piece: i})
		return nil
	}
	info := s.meta.InfoBytes
	off := i * peer.MetadataPieceLen
	data := info[off:min(len(info), off+peer.MetadataPieceLen)]
	s.sendMetadata(p, &peer.MetadataMsg{Type: peer.MetadataData, Piece: i, TotalSize: int64(len(info)), Data: data})
	return nil
}
