package session

import (
	"fmt"
	"strings"
	"testing"

	"github.com/unworkable/unworkable/tracker"
)

// TestTrackerSay reports each distinct tracker message once, cleans it for
// a terminal, reports unusable URLs, and stops reporting (but still
// traces) past maxTrackerSaid distinct messages.
func TestTrackerSay(t *testing.T) {
	var evs []Event
	tr := &traceBuf{}
	s, err := New(testHost(), Config{InfoHash: [20]byte{1}, Trace: tr,
		Trackers: [][]string{{"gopher://127.0.0.1/x", "http://127.0.0.1:1/a"}},
		OnEvent:  func(ev Event) { evs = append(evs, ev) }})
	if err != nil {
		t.Fatal(err)
	}
	s.checkTrackerURLs()
	fail := &tracker.FailureError{Reason: "torrent not registered\x1b[2J"}
	for range 3 {
		s.trackerTrouble("http://127.0.0.1:1/a", fail)
		s.trackerTrouble("http://127.0.0.1:1/a", fmt.Errorf("connection refused"))
	}
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2 (unusable URL, failure once): %+v", len(evs), evs)
	}
	if evs[0].Reason != TrackerUnusable || evs[0].URL != "gopher://127.0.0.1/x" {
		t.Errorf("first event %+v, want the gopher URL unusable", evs[0])
	}
	if evs[1].Reason != TrackerFailure || evs[1].Message != "torrent not registered\uFFFD[2J" {
		t.Errorf("second event %+v, want the failure reason, cleaned", evs[1])
	}
	for i := range 2 * maxTrackerSaid {
		s.trackerSay("http://127.0.0.1:1/a", TrackerWarning, fmt.Sprint("warning ", i))
	}
	if len(evs) != maxTrackerSaid {
		t.Errorf("%d events after a flood of warnings, want at most %d", len(evs), maxTrackerSaid)
	}
	if !strings.Contains(tr.String(), fmt.Sprint("warning ", 2*maxTrackerSaid-1)) {
		t.Errorf("the last warning is not in the trace")
	}
	if long := cleanText(strings.Repeat("é", 400), maxTrackerText); len(long) > maxTrackerText {
		t.Errorf("cleanText kept %d bytes, want at most %d", len(long), maxTrackerText)
	}
}
