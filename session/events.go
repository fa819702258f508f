package session

import (
	"errors"
	"time"
)

// EventType names what happened, in the words of the JSON schema (see the
// README): one object per event on stdout with --json, and on the status
// socket.
type EventType string

// Event types.
const (
	EvStart       EventType = "start"        // the session joined the swarm (after the start-up check)
	EvMetadata    EventType = "metadata"     // fetching the info dictionary from peers (state "fetching", again when the peers offering it change), or it arrived ("received")
	EvProgress    EventType = "progress"     // about once a second
	EvPieceFailed EventType = "piece_failed" // a downloaded piece failed its hash check
	EvPeers       EventType = "peers"        // the number of connected peers changed
	EvCompleted   EventType = "completed"    // the last piece was verified
	EvStopped     EventType = "stopped"      // the session ended (Stats are final)
	EvError       EventType = "error"        // a fatal local error ended the session
	EvTracker     EventType = "tracker"      // a tracker's failure reason or warning, or an unusable tracker URL (once per distinct message)
)

// Event is one thing the session reports to Config.OnEvent. Stats is a
// snapshot taken when the event happened.
type Event struct {
	Type    EventType
	Time    time.Time
	Stats   Stats
	Piece   int    // EvPieceFailed: the piece index
	Reason  string // EvStopped: "completed", "seed-ratio", "seed-time", "interrupted", "timeout", "error"; EvError: the message; EvMetadata: "fetching" or "received"; EvTracker: TrackerFailure, TrackerWarning or TrackerUnusable
	URL     string // EvTracker: the tracker's URL
	Message string // EvTracker: what it said, cleaned of control characters
}

// ErrNoProgress ends a session that made no progress (no verified piece,
// no new peer data) for Config.Timeout.
var ErrNoProgress = errors.New("session: no progress before the timeout")

// emit sends an event to Config.OnEvent, if set. OnEvent runs on the loop
// and must not block.
func (s *Session) emit(t EventType, piece int, reason string) {
	if s.cfg.OnEvent == nil {
		return
	}
	s.cfg.OnEvent(Event{Type: t, Time: time.Now(), Stats: s.stats(false), Piece: piece, Reason: reason})
}
