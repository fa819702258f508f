// Package session runs one torrent: it composes the leaf packages (metainfo,
// peer, piece, storage, tracker) around a single event loop that owns all
// torrent state. Peers, dialers, the tracker announcer and the hashers run in
// their own goroutines and report to the loop over channels; none of them
// touches the loop's fields, so the session has no mutex.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/unworkable/unworkable/metainfo"
	"github.com/unworkable/unworkable/peer"
	"github.com/unworkable/unworkable/piece"
	"github.com/unworkable/unworkable/storage"
)

// eventQueue is how many peer events wait for the loop. Each may hold a
// 16 KiB block, so this bounds the blocks read ahead of the loop (1 MiB):
// 256 held up to 4 MiB and added 6 MiB to peak RSS for no speed.
const eventQueue = 64

// Config is what a session needs to run one torrent.
type Config struct {
	Meta     *metainfo.MetaInfo
	Dir      string           // output directory; the torrent's name is created inside it
	Listener net.Listener     // accepts incoming peers; nil means no incoming peers
	Port     uint16           // the port announced to trackers (the listener's)
	Peers    []netip.AddrPort // peers added by hand (--peer), redialled when lost
	Seed     bool             // keep seeding after completion until ctx is done
	MaxPeers int              // connected peers at most; 0 means DefaultMaxPeers
	Trace    io.Writer        // timestamped trace lines; nil for none
	Version  string           // for the peer id and the tracker user agent
	// Progress, if set, is called by the loop about once a second and once
	// at the end with a snapshot. It must return quickly.
	Progress func(Stats)
	// OnEvent, if set, is called by the loop for every Event. It must not
	// block (queue and drop instead).
	OnEvent func(Event)

	SeedRatio    float64       // with Seed: stop once uploaded >= SeedRatio * total size (0: never)
	SeedTime     time.Duration // with Seed: stop after seeding this long (0: never)
	Timeout      time.Duration // before completion: fail with ErrNoProgress after this long without progress (0: never)
	UploadRate   int64         // bytes per second for all peers together (0: unlimited)
	DownloadRate int64         // bytes per second for all peers together (0: unlimited)
}

// DefaultMaxPeers is the peer limit when Config.MaxPeers is 0, in line with
// aria2 (55) and transmission (50 per torrent).
const DefaultMaxPeers = 50

// Timing and sizing constants of the loop.
const (
	tickEvery        = 500 * time.Millisecond
	rechokeEvery     = 10 * time.Second // BEP 3 / the original client
	optimisticEvery  = 30 * time.Second
	uploadSlots      = 3 // regular unchokes; plus one optimistic
	keepAliveEvery   = 2 * time.Minute
	peerSilence      = 3 * time.Minute // no message at all for this long: drop
	requestTimeout   = 30 * time.Second
	handshakeTimeout = 10 * time.Second
	dialTimeout      = 10 * time.Second
	maxHalfOpen      = 8
	sendQueue        = 1024 // outgoing messages queued per peer at most (Piece ones: maxQueuedPieces)
	maxUpRequests    = 2048 // requests from one peer kept at most (qBittorrent pipelines over 256; 24 KiB of Block values)
	minDepth         = 8
	maxDepth         = 250 // libtorrent's default reqq; deeper queues get dropped
	banStrikes       = 2   // failed pieces a peer may contribute to before a ban
	maxChokes        = 50  // Choke messages from one peer between two rechokes (10 s); more: dropped
)

// Session is one running torrent. Create it with New and drive it with Run.
type Session struct {
	cfg   Config
	info  *metainfo.Info
	store *storage.Store
	table *piece.Table
	id    [20]byte

	// Channels into the loop.
	events    chan event
	conns     chan dialed
	announced chan announceResult
	hashed    chan hashResult
	hashq     chan hashJob
	done      chan struct{}

	// Owned by the loop goroutine.
	peers      map[*peerConn]struct{}
	byAddr     map[netip.AddrPort]*peerConn
	known      map[netip.AddrPort]*candidate
	bannedIDs  map[[20]byte]bool
	halfOpen   int
	ann        announcer
	senders    map[int][]netip.AddrPort // who sent each block of an in-progress piece
	suspects   map[int][]suspect        // block hashes of a piece that failed, by sender
	strikes    map[netip.AddrPort]int
	startLeft  int64
	downloaded int64
	uploaded   int64
	wasted     int64
	hashing    int
	staged     int // blocks waiting in peers' runs, not yet written (stage.go)
	lastChoke  time.Time
	lastOptim  time.Time
	optimistic *peerConn
	rate       rates
	resumeLive bool // the resume file on disk is still valid (no write since it was read)
	finished   bool
	started    time.Time
	rng        *rand.Rand
	tr         *tracer
	err        error // fatal local error (storage): ends the run
	hashers    sync.WaitGroup
	lastReport time.Time
	lastPeers  int
	progressAt time.Time // last verified piece or stored block
	completeAt time.Time
	stopReason string
	upLimit    *limiter
	downLimit  *limiter

	// acceptRefused counts incoming connections closed because
	// maxPendingAccepts handshakes were in progress; written by the accept
	// loop, read and reset by the loop's tick for the trace.
	acceptRefused atomic.Int64
}

// New opens the storage for cfg.Meta under cfg.Dir and prepares the session.
// Errors here are local and fatal: an unusable output directory, a disk too
// small for the files, files locked by another process.
func New(cfg Config) (*Session, error) {
	if cfg.Meta == nil {
		return nil, errors.New("session: no metainfo")
	}
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = DefaultMaxPeers
	}
	info := &cfg.Meta.Info
	s := &Session{
		cfg:       cfg,
		info:      info,
		id:        peer.GenPeerID(peerIDVersion(cfg.Version)),
		events:    make(chan event, eventQueue),
		conns:     make(chan dialed, 16),
		announced: make(chan announceResult, 1),
		hashed:    make(chan hashResult, 64),
		hashq:     make(chan hashJob, info.NumPieces()+1),
		done:      make(chan struct{}),
		peers:     map[*peerConn]struct{}{},
		byAddr:    map[netip.AddrPort]*peerConn{},
		known:     map[netip.AddrPort]*candidate{},
		bannedIDs: map[[20]byte]bool{},
		senders:   map[int][]netip.AddrPort{},
		suspects:  map[int][]suspect{},
		strikes:   map[netip.AddrPort]int{},
		rng:       rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		tr:        newTracer(cfg.Trace),
		upLimit:   newLimiter(cfg.UploadRate),
		downLimit: newLimiter(cfg.DownloadRate),
	}
	s.table = piece.NewTable(info.NumPieces(), info.PieceLength, info.Length, &piece.RarestFirst{Rand: s.rng})
	s.ann = newAnnouncer(cfg.Meta.Trackers(), s.rng)
	existed := anyFileExists(cfg.Dir, info.Files)
	st, err := storage.Open(cfg.Dir, storageFiles(info.Files), storage.Options{})
	if err != nil {
		return nil, err
	}
	s.store = st
	if err := s.restore(existed); err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

// Run joins the swarm and drives the loop until the data is complete (or,
// when seeding, until ctx is done). It returns nil on a clean finish,
// ctx.Err() when interrupted before completion, or a fatal local error.
func (s *Session) Run(ctx context.Context) error {
	s.started = time.Now()
	s.progressAt = s.started
	s.startLeft = s.table.Left()
	if s.table.Complete() {
		s.completeAt = s.started
	}
	s.startHashers()
	if s.cfg.Listener != nil {
		go s.acceptLoop(s.cfg.Listener)
	}
	for _, a := range s.cfg.Peers {
		s.addCandidate(a, true)
	}
	s.tr.printf("start %s %x pieces=%d have=%d", s.info.Name, s.cfg.Meta.InfoHash, s.table.NumPieces(), s.table.Have().Count())
	if s.table.Complete() && !s.cfg.Seed {
		s.finish("completed") // nothing to do
	}
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	s.emit(EvStart, 0, "")
	s.tick(time.Now())
	for s.err == nil && !s.finished {
		select {
		case ev := <-s.events:
			s.handle(ev)
		case c := <-s.conns:
			s.addPeer(c)
		case r := <-s.announced:
			s.handleAnnounce(r)
		case h := <-s.hashed:
			s.pieceDone(h)
		case now := <-tick.C:
			s.tick(now)
		case <-ctx.Done():
			return s.shutdown(ctx.Err())
		}
	}
	return s.shutdown(s.err)
}

// ID returns our peer id.
func (s *Session) ID() [20]byte { return s.id }

// tick runs the loop's periodic work: reap dead peers, time out requests,
// top up requests, rechoke, dial and announce.
func (s *Session) tick(now time.Time) {
	s.reap()
	s.rate.update(now, s.downloaded, s.uploaded)
	for p := range s.peers {
		p.tick(now)
		if p.dead {
			continue
		}
		if now.Sub(p.lastRecv) > peerSilence {
			s.kill(p, errors.New("silent too long"))
			continue
		}
		if now.Sub(p.lastSent) > keepAliveEvery {
			s.send(p, &peer.Msg{KeepAlive: true})
		}
		s.expireRequests(p, now)
		s.updateInterest(p)
		s.fillRequests(p)
	}
	if now.Sub(s.lastChoke) >= rechokeEvery {
		s.rechoke(now)
	}
	s.fillSlots(now)
	if n := s.acceptRefused.Swap(0); n > 0 {
		s.tr.printf("refuse incoming: %d connection(s) over %d pending handshakes", n, maxPendingAccepts)
	}
	s.dialMore(now)
	s.maybeAnnounce(now)
	s.report(false)
	s.checkStop(now)
}

// checkStop ends the session when a stop condition holds: the seed ratio or
// seed time reached, or no progress for Config.Timeout before completion.
func (s *Session) checkStop(now time.Time) {
	c := &s.cfg
	switch {
	case !s.table.Complete():
		if c.Timeout > 0 && now.Sub(s.progressAt) >= c.Timeout {
			s.stopReason = "timeout"
			s.fail(ErrNoProgress)
		}
	case c.SeedRatio > 0 && float64(s.uploaded) >= c.SeedRatio*float64(s.info.Length):
		s.finish("seed-ratio")
	case c.SeedTime > 0 && now.Sub(s.completeAt) >= c.SeedTime:
		s.finish("seed-time")
	}
}

// finish ends the loop cleanly after the current event.
func (s *Session) finish(reason string) {
	s.finished = true
	s.stopReason = reason
}

// fail records a fatal local error; the loop ends after the current event.
func (s *Session) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// emitStopped reports the end of the session: an error event first when a
// local error ended it, then the stopped event with the reason.
func (s *Session) emitStopped(cause error) {
	reason := s.stopReason
	switch {
	case cause == nil:
	case errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded):
		reason = "interrupted"
	case errors.Is(cause, ErrNoProgress):
		reason = "timeout"
	default:
		reason = "error"
		s.emit(EvError, 0, cause.Error())
	}
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(Event{Type: EvStopped, Time: time.Now(), Stats: s.stats(true), Reason: reason})
	}
}

// shutdown stops every goroutine, syncs the data, writes the resume file and
// sends the stopped announce. cause is what ended the run (nil when done).
func (s *Session) shutdown(cause error) error {
	s.tr.printf("shutdown %v", cause)
	if cause == nil {
		s.drain(2 * time.Second)
	}
	close(s.done)
	if s.cfg.Listener != nil {
		s.cfg.Listener.Close()
	}
	for p := range s.peers {
		p.conn.Close()
	}
	s.hashers.Wait() // they read through the mappings Close unmaps
	err := s.saveResume()
	if cerr := s.store.Close(); err == nil {
		err = cerr
	}
	s.stoppedAnnounce()
	s.report(true)
	s.emitStopped(cause)
	if cause != nil {
		return cause
	}
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	return nil
}
