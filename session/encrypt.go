package session

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/unworkable/unworkable/mse"
	"github.com/unworkable/unworkable/peer"
)

// Encryption is how the host speaks MSE/PE (protocol encryption) with
// peers.
type Encryption int

// Encryption modes. The zero value is EncOff: a host speaks plain
// BitTorrent unless told otherwise (the command's default is EncPrefer).
const (
	// EncOff speaks plain BitTorrent only.
	EncOff Encryption = iota
	// EncPrefer dials with MSE offering plaintext and RC4, falls back to a
	// plain handshake with a peer that does not answer MSE (and remembers
	// it), and accepts both. When both sides allow it the stream stays
	// plaintext: the handshake is obfuscated and the data costs no RC4,
	// as libtorrent, aria2c and rtorrent choose.
	EncPrefer
	// EncRequire speaks MSE with RC4 only, both ways; plain peers are
	// refused.
	EncRequire
)

// maxPlainPeers bounds the addresses remembered as needing a plain
// handshake; the memory is forgotten when it is full.
const maxPlainPeers = 4096

// plainPeers are the addresses that did not answer MSE in EncPrefer, so
// that they are dialled plain from then on. Safe for concurrent use.
type plainPeers struct {
	mu sync.Mutex
	m  map[netip.AddrPort]bool
}

func (pp *plainPeers) has(a netip.AddrPort) bool {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	return pp.m[a]
}

func (pp *plainPeers) add(a netip.AddrPort) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.m == nil || len(pp.m) >= maxPlainPeers {
		pp.m = map[netip.AddrPort]bool{}
	}
	pp.m[a] = true
}

// provide is what we offer when dialling a (0: a plain handshake).
func (h *Host) provide(a netip.AddrPort) mse.Method {
	switch {
	case h.cfg.Encryption == EncRequire:
		return mse.RC4
	case h.cfg.Encryption == EncOff || h.plain.has(a):
		return 0
	}
	return mse.Plaintext | mse.RC4
}

// connect dials a and handshakes for infoHash: in MSE offering provide,
// or plain when provide is 0. mseFailed reports that the MSE handshake
// itself failed (the peer may speak only plain BitTorrent).
func (h *Host) connect(a netip.AddrPort, infoHash [20]byte, provide mse.Method) (d dialed, mseFailed bool) {
	d.addr = a
	c, err := net.DialTimeout("tcp", a.String(), dialTimeout)
	if err != nil {
		d.err = err
		return d, false
	}
	ours := h.handshake(infoHash)
	conn := c
	if provide != 0 {
		ia := ours.Bytes()
		conn, d.enc, err = mse.Initiate(c, infoHash, provide, ia[:], handshakeTimeout)
		if err != nil {
			c.Close()
			d.err = err
			return d, true
		}
		d.hs, err = peer.Reply(conn, ours, handshakeTimeout)
	} else {
		d.hs, err = peer.Initiate(c, ours, handshakeTimeout)
	}
	if err != nil {
		c.Close()
		d.err = err
		return d, false
	}
	d.conn = peer.NewConn(conn, maxFrame)
	return d, false
}

// acceptEncrypted tells a plain handshake from an MSE one on an incoming
// connection by its first 20 bytes, runs MSE if it is one, and returns the
// connection to read the BitTorrent handshake from (which replays what was
// read ahead), the connection for the rest of the stream, the method (0:
// plain) and, for MSE, the torrent it named. The mode may refuse either.
func (h *Host) acceptEncrypted(c net.Conn) (hsConn, stream net.Conn, enc mse.Method, ih [20]byte, err error) {
	var prefix [20]byte
	c.SetReadDeadline(time.Now().Add(handshakeTimeout))
	if _, err = io.ReadFull(c, prefix[:]); err != nil {
		return nil, nil, 0, ih, err
	}
	if mse.IsPlainHandshake(prefix[:]) {
		if h.cfg.Encryption == EncRequire {
			return nil, nil, 0, ih, errPlainRefused
		}
		return &replayConn{Conn: c, r: io.MultiReader(bytes.NewReader(prefix[:]), c)}, c, 0, ih, nil
	}
	if h.cfg.Encryption == EncOff {
		return nil, nil, 0, ih, peer.ErrProtocol
	}
	allow := mse.PreferPlaintext
	if h.cfg.Encryption == EncRequire {
		allow = mse.RequireRC4
	}
	stream, ih, enc, ia, err := mse.Accept(c, prefix[:], h.skey, allow, handshakeTimeout)
	if err != nil {
		return nil, nil, 0, ih, err
	}
	return &replayConn{Conn: stream, r: io.MultiReader(bytes.NewReader(ia), stream)}, stream, enc, ih, nil
}

// encName names a connection's encryption in the trace: plain (no MSE),
// or the MSE stream method (plaintext: only the handshake obfuscated).
func encName(m mse.Method) string {
	switch m {
	case 0:
		return "plain"
	case mse.RC4:
		return "rc4"
	}
	return "mse-plaintext"
}

// skey is mse.Accept's lookup: the torrent whose HASH('req2', info hash)
// an initiator named, among those the host runs.
func (h *Host) skey(x [20]byte) ([20]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ih, ok := h.req2[x]
	return ih, ok
}

// errPlainRefused is an incoming plain handshake under EncRequire.
var errPlainRefused = peerError("plain handshake refused: encryption required")

// peerError is a constant error.
type peerError string

func (e peerError) Error() string { return string(e) }

// replayConn reads what was read ahead (a handshake's first bytes, or an
// MSE initial payload) before the rest of the connection; everything
// else is the connection's.
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(b []byte) (int, error) { return c.r.Read(b) }
