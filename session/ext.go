package session

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/unworkable/unworkable/peer"
)

// The extension protocol (BEP 10): one handshake each way after the BEP 3
// handshake, naming the extensions each side speaks and the message id
// under which it wants to receive each. We receive ut_metadata (BEP 9) and
// ut_pex (BEP 11) under these ids; we send each under the peer's id.
const (
	extPexID      = 1
	extMetadataID = 2
)

// extState is what a peer said in its extension handshake, and our
// ut_metadata exchange with it. Owned by the loop goroutine.
type extState struct {
	ids      map[string]uint8 // its extensions: name -> the id it receives them as
	client   string           // its "v"
	port     uint16           // its listen port ("p"), 0 if unknown
	metaSize int64            // its "metadata_size", 0 if unknown
	reqq     int              // its "reqq": our requests it queues at most, 0 if unknown

	metaOut     int  // our metadata requests outstanding at it
	metaLate    int  // our metadata requests to it that timed out: their late answers are ignored
	metaRejects int  // its rejects of our metadata requests
	metaAsked   int  // its metadata requests since the last rechoke
	noMeta      bool // it rejected too often: not asked again
}

// sendExtHandshake sends our BEP 10 handshake: the extensions we speak
// (ut_pex off for a private torrent), our client name and listen
// port, how many requests we queue, the peer's address as we see it, and
// the metadata size when we have the info.
func (s *Session) sendExtHandshake(p *peerConn) {
	hs := peer.ExtHandshake{
		M:      map[string]uint8{peer.ExtMetadata: extMetadataID},
		V:      userAgent(s.host.cfg.Version),
		P:      s.host.cfg.Port,
		Reqq:   maxUpRequests,
		YourIP: p.addr.Addr(),
	}
	hs.M[peer.ExtPex] = extPexID
	if s.info != nil && s.info.Private {
		hs.M[peer.ExtPex] = 0 // BEP 10: 0 turns it off, also after a magnet's metadata said private
	}
	if s.meta != nil {
		hs.MetadataSize = int64(len(s.meta.InfoBytes))
	}
	s.send(p, &peer.Msg{ID: peer.Extended, ExtID: peer.ExtHandshakeID, Ext: hs.Encode()})
}

// onExtended dispatches a BEP 10 message by our id for it; BEP 10: ids we
// did not hand out are ignored.
func (s *Session) onExtended(p *peerConn, m *peer.Msg) error {
	switch m.ExtID {
	case peer.ExtHandshakeID:
		return s.onExtHandshake(p, m.Ext)
	case extMetadataID:
		return s.onMetadata(p, m.Ext)
	case extPexID:
		return s.onPex(p, m.Ext)
	}
	return nil
}

// onExtHandshake takes a peer's BEP 10 handshake (a later one updates
// what it holds); its reqq bounds our pipeline to it (retune). A peer that connected to us and names its listen port becomes an
// address we may give to others and dial again.
func (s *Session) onExtHandshake(p *peerConn, payload []byte) error {
	hs, err := peer.ParseExtHandshake(payload)
	if err != nil {
		return fmt.Errorf("%w: %v", errProto, err)
	}
	e := &p.ext
	if e.ids == nil {
		e.ids = map[string]uint8{}
	}
	for name, id := range hs.M { // BEP 10: a later handshake updates the names it holds
		e.ids[name] = id
	}
	e.client, e.metaSize = hs.V, hs.MetadataSize
	if hs.P != 0 {
		e.port = hs.P
	}
	if hs.Reqq > 0 {
		e.reqq = hs.Reqq
	}
	s.tr.printf("ext %s v=%q p=%d metadata_size=%d metadata=%d pex=%d", p.addr, hs.V, hs.P,
		hs.MetadataSize, hs.M[peer.ExtMetadata], hs.M[peer.ExtPex])
	if p.incoming && hs.P != 0 {
		if c := s.addCandidate(netip.AddrPortFrom(p.addr.Addr(), hs.P), srcIncoming); c != nil {
			c.linked = true // connected already, through its other port
		}
	}
	if s.phase == phaseMetadata {
		s.fetchMetadata(time.Now())
	}
	return nil
}

// listenAddr is the address at which p accepts connections: the one we
// dialled, or for a peer that dialled us its IP with the port of its
// extension handshake. ok is false when that is unknown.
func (p *peerConn) listenAddr() (netip.AddrPort, bool) {
	if !p.incoming {
		return p.addr, true
	}
	if p.ext.port == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(p.addr.Addr(), p.ext.port), true
}
