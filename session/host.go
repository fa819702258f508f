package session

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/unworkable/unworkable/mse"
	"github.com/unworkable/unworkable/peer"
)

// HostConfig is what every torrent of one process shares.
type HostConfig struct {
	Listener     net.Listener // accepts incoming peers; nil means no incoming peers
	Port         uint16       // the port announced to trackers and peers (the listener's)
	Version      string       // for the peer id, the extension handshake and the tracker user agent
	UploadRate   int64        // bytes per second for all peers of all torrents (0: unlimited)
	DownloadRate int64        // bytes per second for all peers of all torrents (0: unlimited)
	MaxConns     int          // connected peers of all torrents at most; 0 means no limit beyond each torrent's
	LoopbackOnly bool         // dial and announce to loopback addresses only (LoopbackEnv)
	DHT          DHT          // the DHT node of the process; nil: no DHT
	DHTPort      uint16       // its UDP port, sent to peers in PORT messages
	Encryption   Encryption   // MSE/PE: EncOff (the zero value), EncPrefer or EncRequire
}

// Host owns what the torrents of one process share: the TCP listener (an
// incoming connection goes to the session whose info hash its handshake
// names), the peer id, the global rate limits and the connection count.
// A single download is a host with one session. The host never touches a
// session's state: it hands connections to a session's loop over the
// session's channel and counts connections with atomics.
type Host struct {
	cfg       HostConfig
	id        [20]byte
	upLimit   *limiter
	downLimit *limiter

	mu     sync.Mutex
	routes map[[20]byte]route    // the running sessions, by info hash
	req2   map[[20]byte][20]byte // mse.Req2 of each running session's info hash -> the hash
	plain  plainPeers            // addresses that did not answer MSE (EncPrefer)

	conns         atomic.Int64 // connected peers of all sessions
	acceptRefused atomic.Int64 // incoming connections closed over maxPendingAccepts, for the trace
	acceptDone    chan struct{}
}

// route is how the host reaches a running session: its channel of new
// connections, and its done channel (closed when its loop has ended).
type route struct {
	conns  chan<- dialed
	done   <-chan struct{}
	public *atomic.Bool // the session serves data and may be handed out by our DHT node
}

// NewHost returns a host for cfg. It does no I/O and starts nothing; Start
// starts accepting.
func NewHost(cfg HostConfig) *Host {
	return &Host{
		cfg:       cfg,
		id:        peer.GenPeerID(peerIDVersion(cfg.Version)),
		upLimit:   newLimiter(cfg.UploadRate),
		downLimit: newLimiter(cfg.DownloadRate),
		routes:    map[[20]byte]route{},
		req2:      map[[20]byte][20]byte{},
	}
}

// ID returns the peer id of every torrent of the host.
func (h *Host) ID() [20]byte { return h.id }

// Start accepts incoming peers on the listener, if any, until Close.
func (h *Host) Start() {
	if h.cfg.Listener == nil || h.acceptDone != nil {
		return
	}
	h.acceptDone = make(chan struct{})
	go func() {
		defer close(h.acceptDone)
		h.acceptLoop(h.cfg.Listener)
	}()
}

// Close stops accepting and closes the listener. Sessions still running
// keep their peers.
func (h *Host) Close() {
	if h.cfg.Listener == nil {
		return
	}
	h.cfg.Listener.Close()
	if h.acceptDone != nil {
		<-h.acceptDone
	}
}

// register makes the host hand incoming connections for infoHash to r.
func (h *Host) register(infoHash [20]byte, r route) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.routes[infoHash] = r
	h.req2[mse.Req2(infoHash)] = infoHash
}

// unregister stops routing connections for infoHash.
func (h *Host) unregister(infoHash [20]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.routes, infoHash)
	delete(h.req2, mse.Req2(infoHash))
}

// lookup returns the route of a running session, if any.
func (h *Host) lookup(infoHash [20]byte) (route, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.routes[infoHash]
	return r, ok
}

// Local reports the port we serve infoHash on, if a session of the host
// serves it and may be handed out by the DHT (not private, past the
// check): dht.Config.Local, so that our own node hands us out.
func (h *Host) Local(infoHash [20]byte) (port int, ok bool) {
	r, found := h.lookup(infoHash)
	if !found || r.public == nil || !r.public.Load() {
		return 0, false
	}
	return int(h.cfg.Port), true
}

// full reports whether the process-wide connection limit is reached.
func (h *Host) full() bool {
	return h.cfg.MaxConns > 0 && h.conns.Load() >= int64(h.cfg.MaxConns)
}

// handshake returns the handshake we send for infoHash: BEP 6 fast and
// BEP 10 extension protocol bits set.
func (h *Host) handshake(infoHash [20]byte) peer.Handshake {
	hs := peer.Handshake{InfoHash: infoHash, PeerID: h.id}
	hs.Reserved.SetFast()
	hs.Reserved.SetExtended()
	if h.cfg.DHT != nil {
		hs.Reserved.SetDHT()
	}
	return hs
}

// deliver hands a dial or accept result to a session's loop, or closes the
// connection when the loop is gone.
func deliver(r route, d dialed) {
	select {
	case r.conns <- d:
	case <-r.done:
		if d.conn != nil {
			d.conn.Close()
		}
	}
}
