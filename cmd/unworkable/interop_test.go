package main

// Interop tests: unworkable against aria2c and transmission-cli through a
// real opentracker, all on loopback. They need aria2, transmission-cli,
// opentracker and mktorrent installed (scripts/deps.sh); a missing program
// fails the test, it is never skipped.

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// interopTimeout bounds each interop test.
const interopTimeout = 90 * time.Second

// checkLayout fails the test unless the torrent really has what the
// download tests claim to cover: a zero-length file, a piece spanning
// several files and a short last piece.
func checkLayout(t *testing.T, m *meta) {
	t.Helper()
	var empty, spans bool
	var off int64
	for _, f := range m.files {
		empty = empty || f.size == 0
		if f.size > 0 && off%m.pieceLen != 0 {
			spans = true // f starts inside a piece that began in an earlier file
		}
		off += f.size
	}
	if !empty || !spans || m.total%m.pieceLen == 0 || len(m.files) < 3 {
		t.Fatalf("torrent layout lacks a case: empty file %v, piece across files %v, short last piece %v",
			empty, spans, m.total%m.pieceLen != 0)
	}
}

// leech runs unworkable on sw's torrent into a fresh directory, finding
// peers through the tracker only, and checks exit status (before ctx ends),
// data and trace.
func (h *harness) leech(ctx context.Context, sw *swarm) {
	h.t.Helper()
	dst := h.mkdir("dst")
	trace := h.path("trace")
	h.logs = append(h.logs, trace)
	start := time.Now()
	us := h.ours("unworkable", "-p", strconv.Itoa(freePort(h.t)), "-o", dst, "-t", trace, sw.torrent)
	h.expectExit(ctx, us, 0)
	h.t.Logf("downloaded %d bytes in %v", sw.meta.total, time.Since(start).Round(time.Millisecond))
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		h.t.Fatal(err)
	}
	tr := readTrace(h.t, trace)
	if got := len(tr.verified); got != sw.meta.pieces {
		h.t.Errorf("trace: %d pieces verified, want %d", got, sw.meta.pieces)
	}
}

// TestInteropDownloadFromAria2 downloads a multi-file torrent from an
// aria2c seeder that the tracker tells us about.
func TestInteropDownloadFromAria2(t *testing.T) {
	h := newHarness(t, "aria2c", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	checkLayout(t, sw.meta)
	seed := h.aria2Seed(sw.torrent, sw.src)
	h.waitSeeds(ctx, sw, 1, seed)
	h.leech(ctx, sw)
}

// TestInteropDownloadFromTransmission downloads the same layout from
// transmission-cli. It never dials 127.x peers, so we must dial it with the
// address the tracker gives us; it verifies its data before announcing.
func TestInteropDownloadFromTransmission(t *testing.T) {
	h := newHarness(t, "transmission-cli", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	checkLayout(t, sw.meta)
	seed := h.transmissionSeed(sw.torrent, sw.src)
	h.waitSeeds(ctx, sw, 1, seed)
	h.leech(ctx, sw)
}

// TestInteropSeedToAria2 seeds complete data with -s to an aria2c leecher
// that finds us through the tracker, then stops us with SIGTERM (exit 0).
func TestInteropSeedToAria2(t *testing.T) {
	h := newHarness(t, "aria2c", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	trace := h.path("trace")
	h.logs = append(h.logs, trace)
	us := h.ours("unworkable", "-s", "-p", strconv.Itoa(freePort(t)), "-o", sw.src, "-t", trace, sw.torrent)
	h.waitSeeds(ctx, sw, 1, us)
	if tr := readTrace(t, trace); len(tr.checked) != sw.meta.pieces || len(tr.verified) != 0 {
		t.Errorf("seeder trace: %d checked, %d verified; want %d checked, 0 verified",
			len(tr.checked), len(tr.verified), sw.meta.pieces)
	}
	dst := h.mkdir("dst")
	start := time.Now()
	leech := h.aria2Leech(sw.torrent, dst)
	h.expectExit(ctx, leech, 0)
	t.Logf("aria2c downloaded %d bytes from us in %v", sw.meta.total, time.Since(start).Round(time.Millisecond))
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		t.Fatal(err)
	}
	h.alive(us)
	us.signal(syscall.SIGTERM)
	h.expectExit(ctx, us, 0)
}
