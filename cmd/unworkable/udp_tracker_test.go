package main

// The UDP tracker protocol (BEP 15, BEP 41) against a real opentracker,
// which answers UDP on the same port number as HTTP.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newUDPSwarm is newSwarm with a torrent that announces only to
// opentracker's udp:// URL.
func (h *harness) newUDPSwarm(files []file) (*swarm, string) {
	h.t.Helper()
	sw := &swarm{src: h.mkdir("src"), torrent: h.path("test.torrent"), tracker: freePort(h.t)}
	makePayload(h.t, sw.src, files)
	name, _, _ := cutPath(files[0].path)
	announce := fmt.Sprintf("udp://127.0.0.1:%d/announce", sw.tracker)
	sw.meta = mktorrent(h.t, filepath.Join(sw.src, name), announce, 15, sw.torrent)
	h.startTracker(sw.tracker, sw.meta.hash)
	return sw, announce
}

// TestInteropUDPTracker downloads from an aria2c seeder that we find
// through opentracker's UDP side only. aria2c announces over HTTP to the
// same opentracker (its torrent's udp:// URL is swapped for the http:// one)
// so that the only UDP client under test is ours.
func TestInteropUDPTracker(t *testing.T) {
	h := newHarness(t, "aria2c", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw, announce := h.newUDPSwarm(multiFiles)
	httpAnnounce := fmt.Sprintf("http://127.0.0.1:%d/announce", sw.tracker)
	seed := h.aria2Seed(sw.torrent, sw.src, "--bt-exclude-tracker=*", "--bt-tracker="+httpAnnounce)
	h.waitSeeds(ctx, sw, 1, seed)
	h.leech(ctx, sw)

	b, err := os.ReadFile(h.path("trace"))
	if err != nil {
		t.Fatal(err)
	}
	var ok int
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, " announce") {
			t.Logf("trace: %s", line)
		}
		if _, rest, found := strings.Cut(line, " announce ok "); found {
			if !strings.HasPrefix(rest, announce+":") {
				t.Errorf("trace: %q, want announces to %s only", line, announce)
			}
			ok++
		}
	}
	if ok == 0 {
		t.Errorf("trace has no \"announce ok %s\" line", announce)
	}
}
