package main

import (
	"strconv"
	"testing"
)

// TestInteropPexFromQbittorrent gives us a magnet whose only peer is a
// qbittorrent-nox leecher (its downloads limited, so that it stays one)
// that knows the seeder, an aria2c the magnet does not name: we must learn
// of the seeder from qbittorrent's ut_pex (BEP 11), dial it and download.
func TestInteropPexFromQbittorrent(t *testing.T) {
	h := newHarness(t, "qbittorrent-nox", "aria2c", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	seedPort := freePort(t)
	seed := h.aria2Seed(sw.torrent, sw.src, "--listen-port="+strconv.Itoa(seedPort))
	h.waitSeeds(ctx, sw, 1, seed)
	mid := h.qbitLeech(sw.torrent, h.mkdir("mid"), qbitPeX(true), qbitExtra(`Session\GlobalDLSpeedLimit=16`))
	seedAddr := "127.0.0.1:" + strconv.Itoa(seedPort)
	mid.addPeer(seedAddr)
	dst := h.mkdir("dst")
	trace := h.path("trace")
	h.logs = append(h.logs, trace)
	us := h.ours("unworkable", "-p", strconv.Itoa(freePort(t)), "-o", dst, "-t", trace, magnetOf(sw, false, mid.listenAddr()))
	h.expectExit(ctx, us, 0)
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range traceLines(trace, "connect") {
		found = found || (anyContains([]string{l}, seedAddr) && anyContains([]string{l}, "source=pex"))
	}
	if !found {
		t.Errorf("no connection to the seeder %s learnt through PEX in the trace", seedAddr)
	}
}
