package peer

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Protocol is the protocol string that opens every BEP 3 handshake, after
// its one-byte length (19).
const Protocol = "BitTorrent protocol"

// HandshakeLen is the size in bytes of a BEP 3 handshake: the length byte,
// the protocol string, 8 reserved bytes, the info hash and the peer id.
const HandshakeLen = 1 + len(Protocol) + 8 + 20 + 20

// ErrProtocol means the remote end did not open with the BitTorrent
// protocol string, so it is not a BitTorrent peer (or it speaks an
// encrypted or unknown protocol).
var ErrProtocol = errors.New("peer: not the BitTorrent protocol")

// ErrInfoHash means the remote handshake named a torrent other than ours.
var ErrInfoHash = errors.New("peer: wrong info hash")

// ErrSelf means the remote peer id equals ours: we dialed our own listener
// (for example through an address the tracker handed back to us).
var ErrSelf = errors.New("peer: connected to ourselves")

// Reserved holds the 8 reserved handshake bytes, whose bits advertise
// protocol extensions (BEP 4 lists the allocations).
type Reserved [8]byte

// Fast reports whether the Fast extension bit is set. BEP 6:
// reserved[7] |= 0x04; the extension is on only if both ends set it.
func (r Reserved) Fast() bool { return r[7]&0x04 != 0 }

// Extended reports whether the extension protocol bit is set. BEP 10:
// reserved[5] & 0x10.
func (r Reserved) Extended() bool { return r[5]&0x10 != 0 }

// DHT reports whether the DHT bit is set. BEP 5: reserved[7] |= 0x01;
// such a peer may send a Port message.
func (r Reserved) DHT() bool { return r[7]&0x01 != 0 }

// SetDHT sets the DHT bit (BEP 5): we run a DHT node and send Port.
func (r *Reserved) SetDHT() { r[7] |= 0x01 }

// SetFast sets the Fast extension bit (BEP 6) to advertise support for
// HaveAll, HaveNone, Suggest, Reject and AllowedFast.
func (r *Reserved) SetFast() { r[7] |= 0x04 }

// SetExtended sets the extension protocol bit (BEP 10) to advertise
// support for Extended messages.
func (r *Reserved) SetExtended() { r[5] |= 0x10 }

// Handshake is the content of a BEP 3 handshake, without the fixed
// protocol string.
type Handshake struct {
	Reserved Reserved
	InfoHash [20]byte
	PeerID   [20]byte
}

// Bytes returns h as sent on the wire: what WriteHandshake writes, and
// what an encrypted connection carries as its initial payload (MSE's IA).
func (h Handshake) Bytes() [HandshakeLen]byte {
	var b [HandshakeLen]byte
	b[0] = byte(len(Protocol))
	n := 1 + copy(b[1:], Protocol)
	n += copy(b[n:], h.Reserved[:])
	n += copy(b[n:], h.InfoHash[:])
	copy(b[n:], h.PeerID[:])
	return b
}

// WriteHandshake writes h as one HandshakeLen-byte Write call, so the
// handshake leaves in a single segment and a short write is an error.
func WriteHandshake(w io.Writer, h Handshake) error {
	b := h.Bytes()
	if _, err := w.Write(b[:]); err != nil {
		return fmt.Errorf("peer: write handshake: %w", err)
	}
	return nil
}

// ReadHandshake reads exactly HandshakeLen bytes and decodes them. The
// protocol prefix is read and checked first, so a non-BitTorrent peer is
// refused (with an error wrapping ErrProtocol) without waiting for the
// rest. A short read wraps io.ErrUnexpectedEOF.
func ReadHandshake(r io.Reader) (Handshake, error) {
	var h Handshake
	var b [HandshakeLen]byte
	const head = 1 + len(Protocol)
	if err := readFull(r, b[:head]); err != nil {
		return h, fmt.Errorf("peer: read handshake: %w", err)
	}
	if b[0] != byte(len(Protocol)) || !bytes.Equal(b[1:head], []byte(Protocol)) {
		return h, fmt.Errorf("peer: read handshake: prefix %q: %w", b[:head], ErrProtocol)
	}
	if err := readFull(r, b[head:]); err != nil {
		return h, fmt.Errorf("peer: read handshake: %w", err)
	}
	n := head + copy(h.Reserved[:], b[head:])
	n += copy(h.InfoHash[:], b[n:])
	copy(h.PeerID[:], b[n:])
	return h, nil
}

// Initiate performs the dialing side of the handshake on c: it sends ours,
// then reads theirs and checks its info hash (ErrInfoHash) and peer id
// (ErrSelf). The whole exchange must finish within timeout (0 = no limit);
// on success the deadline is cleared. On error the caller closes c.
func Initiate(c net.Conn, ours Handshake, timeout time.Duration) (Handshake, error) {
	if err := setDeadline(c, timeout); err != nil {
		return Handshake{}, err
	}
	if err := WriteHandshake(c, ours); err != nil {
		return Handshake{}, err
	}
	return readReply(c, ours)
}

// Reply reads and checks the handshake that answers ours, which was sent
// already (as an encrypted connection's initial payload): Initiate without
// the write.
func Reply(c net.Conn, ours Handshake, timeout time.Duration) (Handshake, error) {
	if err := setDeadline(c, timeout); err != nil {
		return Handshake{}, err
	}
	return readReply(c, ours)
}

// readReply is the end of Initiate and Reply, under their deadline.
func readReply(c net.Conn, ours Handshake) (Handshake, error) {
	theirs, err := ReadHandshake(c)
	if err != nil {
		return theirs, err
	}
	if err := check(ours, theirs); err != nil {
		return theirs, err
	}
	return theirs, clearDeadline(c)
}

// Accept performs the accepting side of the handshake on c for one
// torrent, the one named in ours: see AcceptAny.
func Accept(c net.Conn, ours Handshake, timeout time.Duration) (Handshake, error) {
	return AcceptAny(c, func(ih [20]byte) (Handshake, bool) { return ours, ih == ours.InfoHash }, timeout)
}

// AcceptAny performs the accepting side of the handshake on c for a host
// that may serve several torrents: it reads theirs first and checks the
// protocol, asks ours for the handshake to answer with for their info hash
// (false: a torrent we do not serve, ErrInfoHash), checks their peer id
// (ErrSelf) and only then sends ours, so a stranger learns nothing. When
// the peer is ourselves, ours is still sent before returning ErrSelf, so
// that our dialing side learns it too. The exchange must finish within
// timeout (0 = no limit); on success the deadline is cleared. On error the
// caller closes c.
func AcceptAny(c net.Conn, ours func(infoHash [20]byte) (Handshake, bool), timeout time.Duration) (Handshake, error) {
	if err := setDeadline(c, timeout); err != nil {
		return Handshake{}, err
	}
	theirs, err := ReadHandshake(c)
	if err != nil {
		return theirs, err
	}
	hs, ok := ours(theirs.InfoHash)
	if !ok {
		return theirs, fmt.Errorf("peer: handshake: info hash %x: %w", theirs.InfoHash, ErrInfoHash)
	}
	if err := check(hs, theirs); err != nil {
		if errors.Is(err, ErrSelf) {
			// Our own dial (a tracker listed our address): answer it, so
			// that the dialing side sees its own peer id too, knows the
			// address is ours and never dials it again.
			WriteHandshake(c, hs)
		}
		return theirs, err
	}
	if err := WriteHandshake(c, hs); err != nil {
		return theirs, err
	}
	return theirs, clearDeadline(c)
}

// check refuses a remote handshake for another torrent or from ourselves.
func check(ours, theirs Handshake) error {
	if theirs.InfoHash != ours.InfoHash {
		return fmt.Errorf("peer: handshake: info hash %x: %w", theirs.InfoHash, ErrInfoHash)
	}
	if theirs.PeerID == ours.PeerID {
		return fmt.Errorf("peer: handshake: peer id %q: %w", theirs.PeerID[:], ErrSelf)
	}
	return nil
}

// setDeadline bounds the handshake on c by timeout; 0 means no bound.
func setDeadline(c net.Conn, timeout time.Duration) error {
	var t time.Time
	if timeout > 0 {
		t = time.Now().Add(timeout)
	}
	if err := c.SetDeadline(t); err != nil {
		return fmt.Errorf("peer: handshake: set deadline: %w", err)
	}
	return nil
}

// clearDeadline removes the handshake deadline so the Conn starts clean.
func clearDeadline(c net.Conn) error {
	if err := c.SetDeadline(time.Time{}); err != nil {
		return fmt.Errorf("peer: handshake: clear deadline: %w", err)
	}
	return nil
}

// readFull is io.ReadFull, except that running out of input after zero
// bytes is io.ErrUnexpectedEOF too: callers use it only where more bytes
// are owed.
func readFull(r io.Reader, b []byte) error {
	_, err := io.ReadFull(r, b)
	return noEOF(err)
}

// GenPeerID returns a fresh peer id in Azureus style: "-UW" + version + "-"
// (version is four characters, e.g. "0100") followed by random letters and
// digits up to 20 bytes. The random part keeps ids unique per run; keeping
// it printable makes ids readable in logs and trace files. A version of
// another length is used as given and the random part shrinks or grows to
// fill 20 bytes.
func GenPeerID(version string) [20]byte {
	var id [20]byte
	n := copy(id[:], "-UW"+version+"-")
	// rand.Text gives 26 characters from A-Z and 2-7: enough for the 17
	// bytes left after the shortest prefix "-UW-".
	copy(id[n:], rand.Text())
	return id
}
