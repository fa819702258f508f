package session

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/unworkable/unworkable/tracker"
)

// announcer is the loop's view of the tracker: when to announce next, and
// which event is due. The tracker.Tiers value is handed to the announcing
// goroutine while a request is in flight (at most one is) and comes back in
// the result, so only one goroutine uses it at a time.
type announcer struct {
	tiers     *tracker.Tiers
	client    *tracker.Client
	inFlight  bool
	next      time.Time
	fails     int
	started   bool // a "started" announce was answered
	completed bool // "completed" is due
	trackerID string
	key       uint32
	said      map[string]bool // tracker messages reported (trackermsg.go)
}

// announceResult is one announce's outcome, sent back to the loop.
type announceResult struct {
	tiers *tracker.Tiers
	ev    tracker.Event
	url   string
	resp  *tracker.Response
	err   error
}

// newAnnouncer prepares the announcer for the torrent's tracker tiers.
func newAnnouncer(lists [][]string, rng *rand.Rand) announcer {
	a := announcer{key: rng.Uint32()}
	if len(lists) > 0 {
		a.tiers = tracker.NewTiers(lists, rng)
	}
	return a
}

// complete makes the next announce a "completed" one, sent at once.
func (a *announcer) complete() {
	a.completed = true
	a.next = time.Time{}
}

// request builds the announce request for the current counters.
// Before the info is known, left is unknown: like libtorrent we say one
// block, so that trackers do not count us as a seed.
func (s *Session) request(ev tracker.Event) tracker.Request {
	left := int64(16 << 10)
	if s.table != nil {
		left = s.table.Left()
	}
	return tracker.Request{
		InfoHash: s.hash, PeerID: s.host.id, Port: s.host.cfg.Port,
		Uploaded: s.count.uploaded, Downloaded: s.count.downloaded, Left: left,
		Event: ev, NumWant: 50, Key: s.ann.key, TrackerID: s.ann.trackerID,
		Crypto: [...]tracker.Crypto{EncOff: tracker.NoCrypto, EncPrefer: tracker.SupportCrypto,
			EncRequire: tracker.RequireCrypto}[s.host.cfg.Encryption],
	}
}

// maybeAnnounce starts an announce when one is due and none is in flight.
// Nothing is announced during the start-up check, whose left is not known
// yet; the transfer phase announces at once.
func (s *Session) maybeAnnounce(now time.Time) {
	a := &s.ann
	if a.tiers == nil || a.inFlight || now.Before(a.next) || s.phase == phaseCheck {
		return
	}
	ev := tracker.None
	switch {
	case !a.started:
		ev = tracker.Started
	case a.completed:
		ev = tracker.Completed
	}
	if a.client == nil {
		a.client = tracker.NewClient(userAgent(s.host.cfg.Version))
		a.client.LoopbackOnly = s.host.cfg.LoopbackOnly
	}
	a.inFlight = true
	req := s.request(ev)
	tiers, client := a.tiers, a.client
	a.tiers = nil
	s.tr.printf("announce %s left=%d", ev, req.Left)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		resp, url, err := tiers.Announce(ctx, client, req)
		select {
		case s.announced <- announceResult{tiers: tiers, ev: ev, url: url, resp: resp, err: err}:
		case <-s.done:
		}
	}()
}

// handleAnnounce takes a tracker's answer: new peers to dial, the next
// interval; a failure is retried with backoff and is never fatal.
func (s *Session) handleAnnounce(r announceResult) {
	a := &s.ann
	a.inFlight = false
	a.tiers = r.tiers
	now := time.Now()
	if r.err != nil {
		s.trackerTrouble(r.url, r.err)
		a.fails++
		a.next = now.Add(tracker.Backoff(a.fails))
		s.tr.printf("announce failed (retry in %v): %v", a.next.Sub(now).Round(time.Second), r.err)
		return
	}
	a.fails = 0
	switch r.ev {
	case tracker.Started:
		a.started = true
	case tracker.Completed:
		a.completed = false
	}
	if r.resp.TrackerID != "" {
		a.trackerID = r.resp.TrackerID
	}
	a.next = now.Add(tracker.NextInterval(r.resp))
	s.tr.printf("announce ok %s: %d peers, next in %v", r.url, len(r.resp.Peers), a.next.Sub(now).Round(time.Second))
	if r.resp.Warning != "" {
		s.trackerSay(r.url, TrackerWarning, r.resp.Warning)
	}
	for _, p := range r.resp.Peers {
		s.addCandidate(p, srcTracker)
	}
	s.dialMore(now)
}

// stoppedAnnounce tells the tracker we leave ("completed" first when the
// download finished and that was not announced yet), waiting a few seconds
// at most. It runs after the loop has ended, so it may use the tiers.
func (s *Session) stoppedAnnounce() {
	a := &s.ann
	if !a.started || a.tiers == nil || a.client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if a.completed {
		_, _, err := a.tiers.Announce(ctx, a.client, s.request(tracker.Completed))
		s.tr.printf("announce completed: err=%v", err)
	}
	_, _, err := a.tiers.Announce(ctx, a.client, s.request(tracker.Stopped))
	s.tr.printf("announce stopped: err=%v", err)
}

// userAgent is the HTTP User-Agent sent to trackers.
func userAgent(version string) string { return "unworkable/" + version }
