package session

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/unworkable/unworkable/mse"
	"github.com/unworkable/unworkable/peer"
)

// Every connection, dialed or accepted, goes through this file: dial and
// acceptLoop are the one place where a socket becomes a handshaken
// peer.Conn, so that a transport wrapper (encryption) goes here and
// nowhere else.

// dialed is the result of one dial + handshake (or accept + handshake),
// sent back to the loop.
type dialed struct {
	addr     netip.AddrPort
	conn     *peer.Conn
	hs       peer.Handshake
	enc      mse.Method // the MSE stream method; 0 for a plain handshake
	incoming bool
	err      error
}

// maxFrame is the frame-length limit of every connection. A bitfield is
// longer than an extension payload (1 MiB) only beyond 8 million pieces,
// far more than any torrent within metainfo's and the metadata's size caps
// holds, so one limit serves connections made before the metadata is
// known.
var maxFrame = peer.MaxMsgLen(0)

// dial connects to a and handshakes for infoHash, reporting to r. In
// EncPrefer a peer whose MSE handshake fails is dialled again at once
// with a plain one, and plain from then on.
func (h *Host) dial(r route, a netip.AddrPort, infoHash [20]byte) {
	if err := h.checkDial(a); err != nil {
		deliver(r, dialed{addr: a, err: err})
		return
	}
	provide := h.provide(a)
	d, mseFailed := h.connect(a, infoHash, provide)
	if mseFailed && h.cfg.Encryption == EncPrefer {
		h.plain.add(a)
		d, _ = h.connect(a, infoHash, 0)
	}
	deliver(r, d)
}

// maxPendingAccepts bounds the incoming handshakes in progress at once (each
// holds a goroutine and a socket for up to handshakeTimeout). A connection
// beyond it is closed at once, so a flood of silent connections costs a
// bounded amount; a real peer that is refused retries later.
const maxPendingAccepts = 32

// acceptLoop accepts incoming peers until the listener is closed. Each
// handshake runs in its own goroutine, bounded by handshakeTimeout; at most
// maxPendingAccepts run at once and connections beyond are closed at once
// (counted in acceptRefused for the trace). A handshake naming a torrent
// the host does not run is refused before we say anything.
func (h *Host) acceptLoop(l net.Listener) {
	pending := make(chan struct{}, maxPendingAccepts)
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(100 * time.Millisecond) // e.g. EMFILE: back off
			continue
		}
		select {
		case pending <- struct{}{}:
		default:
			c.Close()
			h.acceptRefused.Add(1)
			continue
		}
		go func() {
			defer func() { <-pending }()
			h.accept(c)
		}()
	}
}

// accept handshakes an incoming connection, plain or MSE as the mode
// allows, and hands it to its session. An MSE handshake must name the
// same torrent as the BitTorrent handshake inside it.
func (h *Host) accept(c net.Conn) {
	var r route
	hsConn, stream, enc, mseHash, err := h.acceptEncrypted(c)
	if err == nil {
		var hs peer.Handshake
		hs, err = peer.AcceptAny(hsConn, func(ih [20]byte) (peer.Handshake, bool) {
			var ok bool
			r, ok = h.lookup(ih)
			return h.handshake(ih), ok && (enc == 0 || ih == mseHash)
		}, handshakeTimeout)
		if err == nil {
			ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
			ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
			deliver(r, dialed{addr: ap, conn: peer.NewConn(stream, maxFrame), hs: hs, enc: enc, incoming: true})
			return
		}
	}
	c.Close()
}
