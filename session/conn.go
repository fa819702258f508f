package session

import (
	"errors"
	"net"
	"net/netip"
	"time"

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
	incoming bool
	err      error
}

// maxFrame is the frame-length limit of every connection. A bitfield is
// longer than an extension payload (1 MiB) only beyond 8 million pieces,
// far more than any torrent within metainfo's and the metadata's size caps
// holds, so one limit serves connections made before the metadata is
// known.
var maxFrame = peer.MaxMsgLen(0)

// dial connects to a and handshakes for infoHash, reporting to r.
func (h *Host) dial(r route, a netip.AddrPort, infoHash [20]byte) {
	d := dialed{addr: a}
	err := h.checkDial(a)
	var c net.Conn
	if err == nil {
		c, err = net.DialTimeout("tcp", a.String(), dialTimeout)
	}
	if err == nil {
		d.hs, err = peer.Initiate(c, h.handshake(infoHash), handshakeTimeout)
		if err != nil {
			c.Close()
		} else {
			d.conn = peer.NewConn(c, maxFrame)
		}
	}
	d.err = err
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

// accept handshakes an incoming connection and hands it to its session.
func (h *Host) accept(c net.Conn) {
	var r route
	hs, err := peer.AcceptAny(c, func(ih [20]byte) (peer.Handshake, bool) {
		var ok bool
		r, ok = h.lookup(ih)
		return h.handshake(ih), ok
	}, handshakeTimeout)
	if err != nil {
		c.Close()
		return
	}
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	deliver(r, dialed{addr: ap, conn: peer.NewConn(c, maxFrame), hs: hs, incoming: true})
}
