package main

// A seeder of ours dials the leechers it learns of (issue 13): a
// transmission-cli leecher, which never dials a loopback peer, finds us
// only through the tracker, and gets the data because we dial it.

import (
	"strconv"
	"testing"
	"time"
)

// TestInteropTransmissionFromUs: transmission-cli downloads from our
// seeder, whose address it has from the tracker but never dials; our
// seeder has its address from the tracker too (no --peer) and dials it.
func TestInteropTransmissionFromUs(t *testing.T) {
	h := newHarness(t, "transmission-cli", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm([]file{{"payload.bin", 3<<20 + 999}})
	trPort := freePort(t)
	trDst := h.mkdir("dst-transmission")
	tr := h.transmissionLeech(ctx, sw.torrent, trDst, trPort)
	h.poll(ctx, "transmission-cli on the tracker", func() bool { // then our first announce hands it out
		h.alive(tr)
		n, _ := sw.scrape("incomplete")
		return n >= 1
	})

	trace := h.path("trace")
	h.logs = append(h.logs, trace)
	us := h.ours("unworkable-seed", "-s", "-p", strconv.Itoa(freePort(t)), "-o", sw.src, "-t", trace, sw.torrent)
	start := time.Now()
	h.poll(ctx, "transmission-cli to download the data from us", func() bool {
		h.alive(tr)
		h.alive(us)
		return sameData(sw.meta, sw.src, trDst) == nil
	})
	t.Logf("transmission-cli downloaded %d bytes from us in %v", sw.meta.total, time.Since(start).Round(time.Millisecond))
	if !traceHas(trace, "connect 127.0.0.1:"+strconv.Itoa(trPort)) {
		t.Error("trace: our seeder never connected to transmission-cli's port")
	}
	h.stopSeed(ctx, us)
}
