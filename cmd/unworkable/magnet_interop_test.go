package main

// Magnet links against real clients on loopback: we fetch the metadata
// and the data from aria2c, transmission-cli and qbittorrent-nox seeders,
// given a magnet with the tracker (tr=) or with only the seeder's address
// (x.pe=); aria2c and qbittorrent-nox fetch them from us given only a
// magnet. Like every interop test they fail, never skip, when a program is
// missing.

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// leechMagnet runs our binary on magnet into a fresh directory and checks
// the exit status, the data and that the metadata came from peers.
func (h *harness) leechMagnet(ctx context.Context, sw *swarm, magnet string) {
	h.t.Helper()
	dst := h.mkdir("dst")
	trace := h.path("trace")
	h.logs = append(h.logs, trace)
	start := time.Now()
	us := h.ours("unworkable", "-p", strconv.Itoa(freePort(h.t)), "-o", dst, "-t", trace, magnet)
	h.expectExit(ctx, us, 0)
	h.t.Logf("metadata and %d bytes in %v", sw.meta.total, time.Since(start).Round(time.Millisecond))

	if err := sameData(sw.meta, sw.src, dst); err != nil {
		h.t.Fatal(err)
	}
	if !traceHas(trace, "fetching metadata") || !traceHas(trace, "bytes verified") {
		h.t.Errorf("trace shows no metadata fetched from peers")
	}
	if got := len(traceLines(trace, "verified")); got != sw.meta.pieces {
		h.t.Errorf("trace: %d pieces verified, want %d", got, sw.meta.pieces)
	}
}

// magnetModes are the two ways a magnet names where to find peers.
var magnetModes = []string{"tr", "x.pe"}

// magnetFor is sw's magnet in mode: the tracker, or only the address.
func magnetFor(sw *swarm, mode, addr string) string {
	if mode == "tr" {
		return magnetOf(sw, true)
	}
	return magnetOf(sw, false, addr)
}

// testMagnetFrom fetches sw's magnet, in each mode, from a seeder that seed
// starts on the data (prog is the program it runs) and that the tracker
// lists; seed returns the process and its address.
func testMagnetFrom(t *testing.T, prog string, seed func(ctx context.Context, h *harness, sw *swarm) (*proc, string)) {
	for _, mode := range magnetModes {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, prog, "opentracker", "mktorrent")
			ctx := h.deadline(interopTimeout)
			sw := h.newSwarm(multiFiles)
			p, addr := seed(ctx, h, sw)
			h.waitSeeds(ctx, sw, 1, p)
			h.leechMagnet(ctx, sw, magnetFor(sw, mode, addr))
		})
	}
}

// TestInteropMagnetFromAria2 fetches a magnet from an aria2c seeder.
func TestInteropMagnetFromAria2(t *testing.T) {
	testMagnetFrom(t, "aria2c", func(ctx context.Context, h *harness, sw *swarm) (*proc, string) {
		port := freePort(h.t)
		return h.aria2Seed(sw.torrent, sw.src, "--listen-port="+strconv.Itoa(port)), "127.0.0.1:" + strconv.Itoa(port)
	})
}

// TestInteropMagnetFromTransmission fetches a magnet from a
// transmission-cli seeder, which never dials a loopback peer: we dial it.
func TestInteropMagnetFromTransmission(t *testing.T) {
	testMagnetFrom(t, "transmission-cli", func(ctx context.Context, h *harness, sw *swarm) (*proc, string) {
		port := freePort(h.t)
		return h.transmissionSeedAt(sw.torrent, sw.src, port), "127.0.0.1:" + strconv.Itoa(port)
	})
}

// TestInteropMagnetFromQbittorrent fetches a magnet from a qbittorrent-nox
// seeder.
func TestInteropMagnetFromQbittorrent(t *testing.T) {
	testMagnetFrom(t, "qbittorrent-nox", func(ctx context.Context, h *harness, sw *swarm) (*proc, string) {
		q := h.qbitSeed(sw.torrent, sw.src)
		q.waitSeeding(ctx)
		return q.p, q.listenAddr()
	})
}

// seedUs starts our binary seeding sw (found through the tracker) and
// waits until the tracker lists it; it returns the process and address.
func (h *harness) seedUs(ctx context.Context, sw *swarm) (*proc, string) {
	h.t.Helper()
	trace := h.path("trace-us")
	h.logs = append(h.logs, trace)
	port := freePort(h.t)
	us := h.ours("unworkable", "-s", "-p", strconv.Itoa(port), "-o", sw.src, "-t", trace, sw.torrent)
	h.waitSeeds(ctx, sw, 1, us)
	return us, "127.0.0.1:" + strconv.Itoa(port)
}

// stopSeed checks that our seeder is still up, then stops it with SIGTERM:
// it must exit 0.
func (h *harness) stopSeed(ctx context.Context, us *proc) {
	h.t.Helper()
	h.alive(us)
	us.signal(syscall.SIGTERM)
	h.expectExit(ctx, us, 0)
}

// TestInteropAria2MagnetFromUs: aria2c, given only a magnet (with the
// tracker: aria2c ignores x.pe), fetches the metadata and data from us.
func TestInteropAria2MagnetFromUs(t *testing.T) {
	h := newHarness(t, "aria2c", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	us, _ := h.seedUs(ctx, sw)
	dst := h.mkdir("dst")
	leech := h.aria2Magnet(magnetOf(sw, true), dst)
	h.expectExit(ctx, leech, 0)
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		t.Fatal(err)
	}
	h.stopSeed(ctx, us)
}

// TestInteropQbittorrentMagnetFromUs: qbittorrent-nox, given only a magnet
// with our address, fetches the metadata and data from us.
func TestInteropQbittorrentMagnetFromUs(t *testing.T) {
	h := newHarness(t, "qbittorrent-nox", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	us, addr := h.seedUs(ctx, sw)
	dst := h.mkdir("dst")
	leech := h.qbitLeech(magnetOf(sw, false, addr), dst)
	leech.waitComplete(ctx)
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		t.Fatal(err)
	}
	h.stopSeed(ctx, us)
}
