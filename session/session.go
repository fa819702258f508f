package session

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
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
	// InfoHash names the torrent; with Meta set it is Meta.InfoHash.
	InfoHash [20]byte
	// Meta is the parsed .torrent, or nil for a magnet link: the session
	// then finds the info dictionary in the output directory (kept by an
	// earlier run) or fetches it from peers (BEP 9).
	Meta        *metainfo.MetaInfo
	Name        string           // display name until the info is known (a magnet's dn)
	Trackers    [][]string       // tracker tiers; nil: Meta's
	WebSeeds    []string         // BEP 19 web seeds of a magnet (ws), kept in a saved .torrent
	Dir         string           // output directory; the torrent's name is created inside it
	Peers       []netip.AddrPort // peers added by hand (--peer), redialled when lost
	MagnetPeers []netip.AddrPort // a magnet's x.pe peers, redialled like --peer ones
	SaveTorrent string           // write the metainfo to this file as a .torrent once known ("" none)
	Seed        bool             // keep seeding after completion until ctx is done
	MaxPeers    int              // connected peers at most; 0 means DefaultMaxPeers
	Trace       io.Writer        // timestamped trace lines; nil for none
	// Progress, if set, is called by the loop about once a second and once
	// at the end with a snapshot. It must return quickly.
	Progress func(Stats)
	// OnEvent, if set, is called by the loop for every Event. It must not
	// block (queue and drop instead).
	OnEvent func(Event)

	SeedRatio float64       // with Seed: stop once uploaded >= SeedRatio * total size (0: never)
	SeedTime  time.Duration // with Seed: stop after seeding this long (0: never)
	Timeout   time.Duration // before completion: fail with ErrNoProgress after this long without progress (0: never)
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

// phase is the stage a session's loop is in. A session starts in
// phaseMetadata when it has no info dictionary, else in phaseCheck; every
// phase ends on a signal like any other moment of the loop.
type phase int

const (
	phaseMetadata phase = iota // no info dictionary yet: fetching it from peers (BEP 9)
	phaseCheck                 // storage open, existing data being hash-checked
	phaseTransfer              // downloading and seeding
)

// String names the phase for traces and Stats.
func (ph phase) String() string {
	return [...]string{"metadata", "checking", "transfer"}[ph]
}

// Session is one running torrent. Create it with New and drive it with Run.
type Session struct {
	cfg   Config
	host  *Host
	hash  [20]byte
	phase phase

	// The torrent, known from phaseCheck on (nil before).
	meta  *metainfo.MetaInfo
	info  *metainfo.Info
	store *storage.Store
	table *piece.Table

	// Channels into the loop.
	events    chan event
	conns     chan dialed
	announced chan announceResult
	hashed    chan hashResult
	hashq     chan hashJob
	done      chan struct{}

	sw     swarm       // the peers and the address book
	ann    announcer   // the trackers (announce.go)
	dht    dhtState    // the DHT lookups (dht.go)
	public atomic.Bool // handed out by our DHT node (Host.Local); set by the loop

	// Phase state, owned by the loop goroutine.
	md  metaFetch  // phaseMetadata: the info dictionary being fetched (metadata.go)
	chk checkState // phaseCheck: the start-up hash check (phase.go)

	// Downloading, owned by the loop goroutine.
	senders  map[int][]netip.AddrPort // who sent each block of an in-progress piece
	suspects map[int][]suspect        // block hashes of a piece that failed, by sender
	hashing  int
	staged   int // blocks waiting in peers' runs, not yet written (stage.go)

	// Uploading, owned by the loop goroutine.
	lastChoke  time.Time
	lastOptim  time.Time
	optimistic *peerConn

	// Counters and reporting, owned by the loop goroutine.
	count      counters
	rate       rates
	started    time.Time
	lastReport time.Time
	lastPeers  int
	progressAt time.Time // last verified piece or stored block (or the metadata)
	completeAt time.Time

	// The end of the run, owned by the loop goroutine.
	resumeLive bool // the resume file on disk is still valid (no write since it was read)
	finished   bool
	stopReason string
	err        error // fatal local error (storage, bad metadata): ends the run

	rng     *rand.Rand
	tr      *tracer
	hashers sync.WaitGroup
}

// New prepares a session of host h for cfg. It does no I/O: the output
// directory is opened and checked by Run, so that a signal during a long
// start-up check ends the run like a signal at any other time.
func New(h *Host, cfg Config) (*Session, error) {
	if cfg.Meta != nil {
		cfg.InfoHash = cfg.Meta.InfoHash
	}
	if cfg.InfoHash == ([20]byte{}) {
		return nil, errors.New("session: no info hash")
	}
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = DefaultMaxPeers
	}
	if cfg.Trackers == nil && cfg.Meta != nil {
		cfg.Trackers = cfg.Meta.Trackers()
	}
	s := &Session{
		cfg:       cfg,
		host:      h,
		hash:      cfg.InfoHash,
		events:    make(chan event, eventQueue),
		conns:     make(chan dialed, 16),
		announced: make(chan announceResult, 1),
		dht:       dhtState{results: make(chan dhtResult, 1)},
		hashed:    make(chan hashResult, 64),
		done:      make(chan struct{}),
		sw: swarm{
			peers:     map[*peerConn]struct{}{},
			byAddr:    map[netip.AddrPort]*peerConn{},
			known:     map[netip.AddrPort]*candidate{},
			bannedIDs: map[[20]byte]bool{},
			strikes:   map[netip.AddrPort]int{},
		},
		senders:  map[int][]netip.AddrPort{},
		suspects: map[int][]suspect{},
		rng:      rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		tr:       newTracer(cfg.Trace),
	}
	s.ann = newAnnouncer(cfg.Trackers, s.rng)
	return s, nil
}

// Run joins the swarm and drives the loop through its phases until the
// data is complete (or, when seeding, until ctx is done). It returns nil
// on a clean finish, ctx.Err() when interrupted, or a fatal local error.
func (s *Session) Run(ctx context.Context) error {
	s.started = time.Now()
	s.progressAt = s.started
	s.host.register(s.hash, route{conns: s.conns, done: s.done, public: &s.public})
	for _, a := range s.cfg.Peers {
		s.addCandidate(a, srcManual)
	}
	for _, a := range s.cfg.MagnetPeers {
		s.addCandidate(a, srcMagnet)
	}
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	s.checkTrackerURLs()
	s.begin()
	if s.err == nil && !s.finished {
		s.tick(time.Now())
	}
	for s.err == nil && !s.finished {
		select {
		case ev := <-s.events:
			s.handle(ev)
		case c := <-s.conns:
			s.addPeer(c)
		case r := <-s.announced:
			s.handleAnnounce(r)
		case r := <-s.dht.results:
			s.handleDHT(r)
		case h := <-s.hashed:
			s.hashDone(h)
		case now := <-tick.C:
			s.tick(now)
		case <-ctx.Done():
			return s.shutdown(ctx.Err())
		}
	}
	return s.shutdown(s.err)
}

// swarm is the peers of a session and the addresses it may dial. Owned by
// the loop goroutine.
type swarm struct {
	peers     map[*peerConn]struct{}
	byAddr    map[netip.AddrPort]*peerConn
	known     map[netip.AddrPort]*candidate // the address book (book.go)
	bannedIDs map[[20]byte]bool
	strikes   map[netip.AddrPort]int // failed pieces by sender (judge.go)
	halfOpen  int                    // dials in progress
}

// counters are the payload bytes of a run. Owned by the loop goroutine.
type counters struct {
	startLeft  int64 // bytes missing when the transfer began
	downloaded int64 // verified payload bytes downloaded this run
	uploaded   int64 // payload bytes written to peers this run
	wasted     int64 // duplicate, unrequested or corrupt bytes
}

// ID returns our peer id.
func (s *Session) ID() [20]byte { return s.host.id }

// ready reports whether the torrent's pieces are known and checked: only
// then are pieces requested, served and announced.
func (s *Session) ready() bool { return s.phase == phaseTransfer }

// name is the torrent's name: the info's, else the magnet's dn, else the
// info hash in hex.
func (s *Session) name() string {
	switch {
	case s.info != nil:
		return s.info.Name
	case s.cfg.Name != "":
		return s.cfg.Name
	}
	return hex.EncodeToString(s.hash[:])
}

// tick runs the loop's periodic work: reap dead peers, time out requests,
// top up requests, rechoke, exchange peers and metadata, dial and announce.
func (s *Session) tick(now time.Time) {
	s.reap()
	s.rate.update(now, s.count.downloaded, s.count.uploaded)
	var pexCur map[netip.AddrPort]byte // the peers to tell of, taken once when a peer is owed a message
	for p := range s.sw.peers {
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
		if s.pexDue(p, now) {
			if pexCur == nil {
				pexCur = s.pexPeers()
			}
			s.sendPex(p, now, pexCur)
		}
		if s.ready() {
			s.expireRequests(p, now)
			s.updateInterest(p)
			s.fillRequests(p)
		}
	}
	if s.phase == phaseMetadata {
		s.fetchMetadata(now)
	}
	if now.Sub(s.lastChoke) >= rechokeEvery {
		s.rechoke(now)
	}
	s.fillSlots(now)
	if n := s.host.acceptRefused.Swap(0); n > 0 {
		s.tr.printf("refuse incoming: %d connection(s) over %d pending handshakes", n, maxPendingAccepts)
	}
	s.dialMore(now)
	s.maybeAnnounce(now)
	s.maybeDHT(now)
	s.report(false)
	s.checkStop(now)
}

// checkStop ends the session when a stop condition holds: the seed ratio or
// seed time reached, or no progress for Config.Timeout before completion
// (the wait for the metadata included; not the start-up check, which is
// progress of its own).
func (s *Session) checkStop(now time.Time) {
	c := &s.cfg
	switch {
	case s.phase == phaseCheck:
	case !s.ready() || !s.table.Complete():
		if c.Timeout > 0 && now.Sub(s.progressAt) >= c.Timeout {
			s.stopReason = "timeout"
			s.fail(ErrNoProgress)
		}
	case c.SeedRatio > 0 && float64(s.count.uploaded) >= c.SeedRatio*float64(s.info.Length):
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
// A run stopped before its start-up check finished writes no resume file:
// the next run checks again.
func (s *Session) shutdown(cause error) error {
	s.tr.printf("shutdown %v", cause)
	s.host.unregister(s.hash)
	if cause == nil {
		s.drain(2 * time.Second)
	}
	close(s.done)
	s.host.conns.Add(-int64(len(s.sw.peers)))
	for p := range s.sw.peers {
		p.conn.Close()
		if !p.dead { // a writer waiting for its queue ends too (drain closed the queues of a clean finish)
			p.dead = true
			close(p.out)
		}
	}
	s.hashers.Wait() // they read through the mappings Close unmaps
	var err error
	if s.store != nil {
		if s.ready() {
			err = s.saveResume()
		}
		if cerr := s.store.Close(); err == nil {
			err = cerr
		}
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
