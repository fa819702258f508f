package main

// Encrypted connections (MSE/PE) against real clients on loopback,
// byte-exact: with --encryption require we download from aria2c, from
// transmission-cli and from qbittorrent-nox, each requiring encryption,
// and aria2c and qbittorrent-nox requiring it download from our seeder;
// with the default mode we download from an aria2c seeder with its
// defaults, and fall back to a plain handshake with a peer that speaks no
// MSE. Like every interop test they fail, never skip, when a program is
// missing.

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

// aria2Crypto are the options of an aria2c that requires MSE with RC4.
var aria2Crypto = []string{"--bt-require-crypto=true", "--bt-min-crypto-level=arc4"}

// leechEnc downloads sw through its tracker with --encryption mode and
// checks the data and that every peer connection's encryption is want.
func (h *harness) leechEnc(ctx context.Context, sw *swarm, mode, want string) {
	h.t.Helper()
	dst := h.mkdir("dst")
	trace := h.path("trace-leech")
	h.logs = append(h.logs, trace)
	us := h.ours("unworkable", "--encryption", mode, "-p", strconv.Itoa(freePort(h.t)), "-o", dst, "-t", trace, sw.torrent)
	h.expectExit(ctx, us, 0)
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		h.t.Fatal(err)
	}
	checkEnc(h.t, trace, want)
}

// checkEnc fails unless the trace has connections and all of them have
// the encryption want (enc=plain, enc=rc4 or enc=mse-plaintext).
func checkEnc(t *testing.T, trace, want string) {
	t.Helper()
	conns := traceLines(trace, "connect")
	n := 0
	for _, l := range conns {
		if strings.Contains(l, "failed") {
			continue
		}
		n++
		if !strings.Contains(l, " enc="+want) {
			t.Errorf("connection not enc=%s: %s", want, l)
		}
	}
	if n == 0 {
		t.Errorf("trace: no connection")
	}
}

// TestInteropEncryptedFromAria2: aria2c requiring RC4 seeds to us.
func TestInteropEncryptedFromAria2(t *testing.T) {
	h := newHarness(t, "aria2c", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	h.waitSeeds(ctx, sw, 1, h.aria2Seed(sw.torrent, sw.src, aria2Crypto...))
	h.leechEnc(ctx, sw, "require", "rc4")
}

// TestInteropPreferFromAria2: the default mode against an aria2c seeder
// with its defaults: MSE with a plaintext stream.
func TestInteropPreferFromAria2(t *testing.T) {
	h := newHarness(t, "aria2c", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	h.waitSeeds(ctx, sw, 1, h.aria2Seed(sw.torrent, sw.src))
	h.leechEnc(ctx, sw, "prefer", "mse-plaintext")
}

// TestInteropEncryptedFromTransmission: transmission-cli requiring
// encryption (-er) seeds to us; it never dials a loopback peer, we dial it.
func TestInteropEncryptedFromTransmission(t *testing.T) {
	h := newHarness(t, "transmission-cli", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	h.waitSeeds(ctx, sw, 1, h.transmissionSeedAt(sw.torrent, sw.src, freePort(t), "-er"))
	h.leechEnc(ctx, sw, "require", "rc4")
}

// TestInteropEncryptedFromQbittorrent: qbittorrent-nox with encryption
// required seeds to us.
func TestInteropEncryptedFromQbittorrent(t *testing.T) {
	h := newHarness(t, "qbittorrent-nox", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	q := h.qbitSeed(sw.torrent, sw.src, qbitEncryption(1))
	q.waitSeeding(ctx)
	h.waitSeeds(ctx, sw, 1, q.p)
	h.leechEnc(ctx, sw, "require", "rc4")
}

// seedEnc starts our seeder of sw with --encryption mode and waits until
// the tracker lists it.
func (h *harness) seedEnc(ctx context.Context, sw *swarm, mode string) (*proc, string) {
	h.t.Helper()
	trace := h.path("trace-seed")
	h.logs = append(h.logs, trace)
	us := h.ours("unworkable", "--encryption", mode, "-s", "-p", strconv.Itoa(freePort(h.t)), "-o", sw.src, "-t", trace, sw.torrent)
	h.waitSeeds(ctx, sw, 1, us)
	return us, trace
}

// TestInteropAria2EncryptedFromUs: aria2c requiring RC4 downloads from
// our seeder requiring it too.
func TestInteropAria2EncryptedFromUs(t *testing.T) {
	h := newHarness(t, "aria2c", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	us, trace := h.seedEnc(ctx, sw, "require")
	dst := h.mkdir("dst")
	h.expectExit(ctx, h.aria2Leech(sw.torrent, dst, aria2Crypto...), 0)
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		t.Fatal(err)
	}
	h.stopSeed(ctx, us)
	checkEnc(t, trace, "rc4")
}

// TestInteropQbittorrentEncryptedFromUs: qbittorrent-nox requiring
// encryption downloads from our seeder requiring it too.
func TestInteropQbittorrentEncryptedFromUs(t *testing.T) {
	h := newHarness(t, "qbittorrent-nox", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	us, trace := h.seedEnc(ctx, sw, "require")
	dst := h.mkdir("dst")
	q := h.qbitLeech(sw.torrent, dst, qbitEncryption(1))
	q.waitComplete(ctx)
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		t.Fatal(err)
	}
	h.stopSeed(ctx, us)
	checkEnc(t, trace, "rc4")
}

// TestEncryptionFallback: in the default mode we dial a seeder of ours
// that speaks no MSE (--encryption off): the MSE handshake fails, we dial
// again with a plain one and download; a seeder requiring MSE refuses a
// leecher that speaks none (--timeout ends it).
func TestEncryptionFallback(t *testing.T) {
	h := newHarness(t, "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	seed, _ := h.seedEnc(ctx, sw, "off")
	h.leechEnc(ctx, sw, "prefer", "plain")
	h.stopSeed(ctx, seed)

	seed, _ = h.seedEnc(ctx, sw, "require")
	dst := h.mkdir("dst-off")
	us := h.ours("off", "--encryption", "off", "--timeout", "3s", "-p", strconv.Itoa(freePort(t)), "-o", dst, sw.torrent)
	h.expectExit(ctx, us, exitTimeout)
	h.stopSeed(ctx, seed)
}
