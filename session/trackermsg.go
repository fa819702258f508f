package session

import (
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/unworkable/unworkable/tracker"
)

// What trackers say to the user: a failure reason (HTTP "failure reason",
// a UDP error action), a warning message, or a tracker URL that cannot be
// used at all. Each distinct message is reported once, as an EvTracker
// event (main prints it on stderr or in the meter); retries that get the
// same answer stay silent. Owned by the loop goroutine.

// Kinds of tracker messages, the Reason of an EvTracker event.
const (
	TrackerFailure  = "failure"  // the tracker refused the announce, with its reason
	TrackerWarning  = "warning"  // the tracker answered, with a warning
	TrackerUnusable = "unusable" // the URL's scheme is none we speak
)

// Bounds of tracker messages.
const (
	maxTrackerSaid = 64  // distinct messages reported per session; more are only traced
	maxTrackerText = 300 // bytes of a message reported
)

// checkTrackerURLs reports every tracker URL that no announce can use.
func (s *Session) checkTrackerURLs() {
	for _, tier := range s.cfg.Trackers {
		for _, u := range tier {
			if err := tracker.CheckURL(u); err != nil {
				s.trackerSay(u, TrackerUnusable, strings.TrimPrefix(err.Error(), "tracker: "))
			}
		}
	}
}

// trackerTrouble reports an announce's error when it carries the
// tracker's own words (a failure reason); transport errors are retried
// with backoff and only traced.
func (s *Session) trackerTrouble(u string, err error) {
	var fe *tracker.FailureError
	if errors.As(err, &fe) {
		s.trackerSay(u, TrackerFailure, fe.Reason)
	}
}

// trackerSay reports one tracker message unless it was reported before.
func (s *Session) trackerSay(u, kind, msg string) {
	msg = cleanText(msg, maxTrackerText)
	u = cleanText(u, maxTrackerText)
	key := kind + "\x00" + u + "\x00" + msg
	if s.ann.said[key] {
		return
	}
	s.tr.printf("tracker %s %s: %s", kind, u, msg)
	if len(s.ann.said) >= maxTrackerSaid {
		return
	}
	if s.ann.said == nil {
		s.ann.said = map[string]bool{}
	}
	s.ann.said[key] = true
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(Event{Type: EvTracker, Time: time.Now(), Stats: s.stats(false),
			Reason: kind, URL: u, Message: msg})
	}
}

// cleanText makes remote text safe for a terminal and a log line: control
// characters and invalid UTF-8 become U+FFFD, and it is cut to max bytes.
func cleanText(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			r = unicode.ReplacementChar
		}
		if b.Len()+len(string(r)) > max {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
