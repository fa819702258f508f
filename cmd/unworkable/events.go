package main

import (
	"encoding/json"
	"io"
	"math"
	"sync"
	"time"

	"github.com/unworkable/unworkable/session"
)

// schemaVersion is the "v" of every JSON event. Fields may be added within a
// version; renaming or removing one, or changing its meaning, bumps it.
const schemaVersion = 1

// jsonEvent is one line of --json output and of the status socket: schema v1,
// documented in the README ("JSON events, schema v1") and unworkable(1).
type jsonEvent struct {
	V          int     `json:"v"`
	Event      string  `json:"event"`
	Time       string  `json:"time"`
	Name       string  `json:"name"`
	Pieces     int     `json:"pieces"`
	Have       int     `json:"have"`
	Total      int64   `json:"total"`
	Left       int64   `json:"left"`
	Downloaded int64   `json:"downloaded"`
	Uploaded   int64   `json:"uploaded"`
	DownRate   int64   `json:"down_rate"`
	UpRate     int64   `json:"up_rate"`
	Peers      int     `json:"peers"`
	Seeds      int     `json:"seeds"`
	ElapsedS   float64 `json:"elapsed_s"`
	Complete   bool    `json:"complete"`
	Piece      *int    `json:"piece,omitempty"`   // piece_failed
	Reason     string  `json:"reason,omitempty"`  // stopped; tracker: failure, warning, unusable
	Message    string  `json:"message,omitempty"` // error; tracker: what it said
	URL        string  `json:"url,omitempty"`     // tracker

	PeersBySource map[string]int `json:"peers_by_source,omitempty"` // progress
	DHTNodes      *int           `json:"dht_nodes,omitempty"`       // progress, when the DHT is used
	DHTPeers      *int           `json:"dht_peers,omitempty"`       // progress, when the DHT is used
	State         string         `json:"state,omitempty"`           // metadata: fetching, received
	MetaPeers     *int           `json:"metadata_peers,omitempty"`  // metadata
	MetaSize      *int           `json:"metadata_size,omitempty"`   // metadata
	MetaHave      *int           `json:"metadata_have,omitempty"`   // metadata
}

// rfc3339Milli is RFC 3339 with milliseconds.
const rfc3339Milli = "2006-01-02T15:04:05.000Z07:00"

// encodeEvent renders ev as one JSON line ending in a newline.
func encodeEvent(ev session.Event) []byte {
	st := ev.Stats
	j := jsonEvent{
		V: schemaVersion, Event: string(ev.Type), Time: ev.Time.Format(rfc3339Milli),
		Name: st.Name, Pieces: st.Pieces, Have: st.Have, Total: st.Total, Left: st.Left,
		Downloaded: st.Downloaded, Uploaded: st.Uploaded,
		DownRate: int64(math.Round(st.DownRate)), UpRate: int64(math.Round(st.UpRate)),
		Peers: st.Peers, Seeds: st.Seeds, ElapsedS: math.Round(st.Elapsed.Seconds()*1000) / 1000,
		Complete: st.Complete,
	}
	switch ev.Type {
	case session.EvPieceFailed:
		j.Piece = &ev.Piece
	case session.EvStopped:
		j.Reason = ev.Reason
	case session.EvError:
		j.Message = ev.Reason
	case session.EvProgress:
		j.PeersBySource = map[string]int{}
		for i, n := range st.Sources {
			if n > 0 {
				j.PeersBySource[session.SourceName(i)] = n
			}
		}
		if st.DHT {
			j.DHTNodes, j.DHTPeers = &st.DHTNodes, &st.DHTPeers
		}
	case session.EvTracker:
		j.Reason, j.Message, j.URL = ev.Reason, ev.Message, ev.URL
	case session.EvMetadata:
		j.State = ev.Reason
		j.MetaPeers, j.MetaSize, j.MetaHave = &st.MetaPeers, &st.MetaSize, &st.MetaHave
	}
	b, err := json.Marshal(j)
	if err != nil {
		panic("encode event: " + err.Error()) // plain values only: cannot fail
	}
	return append(b, '\n')
}

// Priorities of queued lines: what a stalled reader loses first.
const (
	dropFirst = iota // progress: dropped once softLimit lines are queued
	dropLater        // other events and log lines: dropped beyond hardLimit
	neverDrop        // completed, stopped, error
)

// priority is the queueing priority of an event type.
func priority(t session.EventType) int {
	switch t {
	case session.EvProgress:
		return dropFirst
	case session.EvCompleted, session.EvStopped, session.EvError:
		return neverDrop
	}
	return dropLater
}

// lineQueue writes lines to w from a goroutine of its own, so that its
// callers (the session loop among them) never wait for a slow reader. When
// w stalls, progress lines are dropped first; the final events never are.
// It is safe for concurrent use.
type lineQueue struct {
	w         io.Writer
	softLimit int
	hardLimit int

	mu      sync.Mutex
	lines   [][]byte
	closed  bool
	dropped int
	wake    chan struct{} // one pending wake-up at most
	done    chan struct{} // closed when the writer has finished
}

// newLineQueue starts the writer goroutine for w.
func newLineQueue(w io.Writer) *lineQueue {
	q := &lineQueue{w: w, softLimit: 256, hardLimit: 16384,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	go q.run()
	return q
}

// push queues line (which the queue now owns) without blocking.
func (q *lineQueue) push(line []byte, prio int) {
	q.mu.Lock()
	n := len(q.lines)
	if q.closed || prio == dropFirst && n >= q.softLimit || prio == dropLater && n >= q.hardLimit {
		q.dropped++
		q.mu.Unlock()
		return
	}
	q.lines = append(q.lines, line)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Write queues a copy of p (a log line), so a lineQueue can stand behind a
// log handler. It never blocks and never fails.
func (q *lineQueue) Write(p []byte) (int, error) {
	q.push(append([]byte(nil), p...), dropLater)
	return len(p), nil
}

// run writes queued lines until the queue is closed and empty. Write
// errors are not reported: a line that cannot be written is lost.
func (q *lineQueue) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		batch, closed := q.lines, q.closed
		q.lines = nil
		q.mu.Unlock()
		for _, l := range batch {
			q.w.Write(l)
		}
		if len(batch) > 0 {
			continue
		}
		if closed {
			return
		}
		<-q.wake
	}
}

// close stops accepting lines and waits up to grace for the queued ones to
// be written. It reports whether they all were.
func (q *lineQueue) close(grace time.Duration) bool {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-q.done:
		return true
	case <-t.C:
		return false
	}
}
