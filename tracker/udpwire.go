package tracker

// The BEP 15 packets: building the announce request and checking and
// decoding the replies. Every length is checked before it is read.

import (
	"encoding/binary"
)

// matchUDP checks a datagram against the transaction id and action
// expected. ok is false when it is to be ignored: shorter than a header,
// another transaction id, or another action. An error reply (action 3)
// gives a *FailureError with its message.
func matchUDP(b []byte, tid, action uint32) (body []byte, ok bool, err error) {
	if len(b) < 8 || binary.BigEndian.Uint32(b[4:]) != tid {
		return nil, false, nil
	}
	got := binary.BigEndian.Uint32(b)
	switch {
	case got == actionError:
		return nil, true, &FailureError{Reason: string(b[udpErrorLen:])}
	case got != action:
		return nil, false, nil
	case action == actionConnect && len(b) < udpConnectLen,
		action == actionAnnounce && len(b) < udpAnnReplyLen:
		return nil, false, nil
	}
	return b[8:], true, nil
}

// parseUDPResponse decodes one announce reply datagram for transaction id
// tid: ok is false when it is to be ignored; peers are peerLen bytes each.
func parseUDPResponse(b []byte, tid uint32, peerLen, maxPeers int) (r *Response, ok bool, err error) {
	body, ok, err := matchUDP(b, tid, actionAnnounce)
	if !ok || err != nil {
		return nil, ok, err
	}
	return parseUDPAnnounce(body, peerLen, maxPeers), true, nil
}

// parseUDPAnnounce decodes an announce reply after its action and
// transaction id: interval, leechers, seeders, then compact peers of
// peerLen bytes (BEP 15: the tracker's address family decides). A trailing
// partial entry is ignored. The caller checked the length.
func parseUDPAnnounce(body []byte, peerLen, maxPeers int) *Response {
	be := binary.BigEndian
	// BEP 15: interval, leechers and seeders are int32; a negative one is
	// absent (0), not 2^32 less its size.
	r := &Response{
		Interval:   seconds(int64(int32(be.Uint32(body)))),
		Incomplete: count(int64(int32(be.Uint32(body[4:])))),
		Complete:   count(int64(int32(be.Uint32(body[8:])))),
	}
	peers := body[12:]
	ps := newPeerSet(maxPeers)
	ps.addCompact(peers[:len(peers)-len(peers)%peerLen], peerLen)
	r.Peers = ps.list
	return r
}

// announcePacket builds an announce request (BEP 15) with the BEP 41 URL
// data option, split into chunks of at most 255 bytes, and the end of
// options. No options are sent when urlData is empty.
func announcePacket(id uint64, tid uint32, req Request, urlData string) []byte {
	be := binary.BigEndian
	b := make([]byte, udpAnnounceLen, udpAnnounceLen+len(urlData)+2*(len(urlData)/255+1)+1)
	be.PutUint64(b, id)
	be.PutUint32(b[8:], actionAnnounce)
	be.PutUint32(b[12:], tid)
	copy(b[16:], req.InfoHash[:])
	copy(b[36:], req.PeerID[:])
	be.PutUint64(b[56:], uint64(max(req.Downloaded, 0)))
	be.PutUint64(b[64:], uint64(max(req.Left, 0)))
	be.PutUint64(b[72:], uint64(max(req.Uploaded, 0)))
	be.PutUint32(b[80:], udpEvent(req.Event))
	// b[84:88] is the IP address: 0, the tracker uses the sender's.
	be.PutUint32(b[88:], req.Key)
	numWant := int32(-1) // BEP 15: -1 is the tracker's default
	if req.NumWant >= 0 {
		numWant = int32(min(req.NumWant, 1<<31-1))
	}
	be.PutUint32(b[92:], uint32(numWant))
	be.PutUint16(b[96:], req.Port)
	if urlData == "" {
		return b
	}
	for s := urlData; len(s) > 0; {
		n := min(len(s), 255)
		b = append(b, optURLData, byte(n))
		b = append(b, s[:n]...)
		s = s[n:]
	}
	return append(b, optEnd)
}

// udpEvent maps an Event to BEP 15's numbering, which differs from the
// order of BEP 3's names: none 0, completed 1, started 2, stopped 3.
func udpEvent(e Event) uint32 {
	switch e {
	case Completed:
		return 1
	case Started:
		return 2
	case Stopped:
		return 3
	}
	return 0
}
