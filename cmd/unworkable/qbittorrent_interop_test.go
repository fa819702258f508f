package main

// Interop tests against qbittorrent-nox through a real opentracker: we
// download from it and seed to it (the helpers are in qbittorrent_test.go).

import (
	"strings"
	"testing"
	"time"
)

// TestInteropDownloadFromQbittorrent downloads the multi-file layout from a
// qbittorrent-nox seeder that the tracker tells us about.
func TestInteropDownloadFromQbittorrent(t *testing.T) {
	h := newHarness(t, "qbittorrent-nox", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	checkLayout(t, sw.meta)
	seed := h.qbitSeed(sw.torrent, sw.src)
	seed.waitSeeding(ctx)
	h.waitSeeds(ctx, sw, 1, seed.p)
	h.leech(ctx, sw)
}

// TestInteropSeedToQbittorrent seeds complete data with -s to a
// qbittorrent-nox leecher that finds us through the tracker, then stops us
// with SIGTERM (exit 0).
func TestInteropSeedToQbittorrent(t *testing.T) {
	h := newHarness(t, "qbittorrent-nox", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	us, _ := h.seedUs(ctx, sw)
	dst := h.mkdir("dst")
	start := time.Now()
	leech := h.qbitLeech(sw.torrent, dst)
	leech.waitComplete(ctx)
	t.Logf("qbittorrent-nox downloaded %d bytes from us in %v (start-up included)",
		sw.meta.total, time.Since(start).Round(time.Millisecond))
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		t.Fatal(err)
	}
	h.stopSeed(ctx, us)
}

// TestQbitConfig checks the lines that keep qbittorrent-nox headless and on
// loopback, with PeX switched on and the defaults otherwise.
func TestQbitConfig(t *testing.T) {
	c := qbitConf{protocol: "TCP"}
	qbitPeX(true)(&c)
	got := qbitConfig(c, 6881, 8080)
	for _, want := range []string{
		"[LegalNotice]\nAccepted=true\n",
		"[BitTorrent]\nSession\\Port=6881\n",
		"Session\\InterfaceAddress=127.0.0.1\n",
		"Session\\MultiConnectionsPerIp=true\n",
		"Session\\QueueingSystemEnabled=false\n",
		"Session\\DHTEnabled=false\n",
		"Session\\LSDEnabled=false\n",
		"Session\\PeXEnabled=true\n",
		"Session\\Encryption=0\n",
		"Session\\BTProtocol=TCP\n",
		"[Network]\nPortForwardingEnabled=false\n",
		"WebUI\\Address=127.0.0.1\nWebUI\\Port=8080\nWebUI\\LocalHostAuth=false\n",
		"Connection\\ResolvePeerCountries=false\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
}
