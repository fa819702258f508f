package main

// The DHT against aria2c on loopback, with no tracker: we find an aria2c
// seeder through aria2c's own DHT node, and aria2c finds our seeder
// through our node. transmission drops every 127/8 node as martian, so it
// cannot take part on loopback; qbittorrent-nox keeps one node per /24
// and is left to the bench. Like every interop test they fail, never
// skip, when a program is missing.

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"testing"
)

// newDHTSwarm writes files under a fresh source directory and makes a
// torrent of them whose only tracker is dead (127.0.0.1:1): its peers can
// only be found through the DHT.
func (h *harness) newDHTSwarm(files []file) *swarm {
	h.t.Helper()
	sw := &swarm{src: h.mkdir("src"), torrent: h.path("test.torrent")}
	makePayload(h.t, sw.src, files)
	name, _, _ := cutPath(files[0].path)
	sw.meta = mktorrent(h.t, filepath.Join(sw.src, name), "http://127.0.0.1:1/announce", 15, sw.torrent)
	return sw
}

// dhtMagnet is sw's magnet with neither tracker nor peer.
func dhtMagnet(sw *swarm) string {
	return "magnet:?xt=urn:btih:" + hex.EncodeToString(sw.meta.hash[:])
}

// aria2DHT are the aria2c options of a run with its DHT on, on dhtPort,
// with its routing table kept in the test directory.
func (h *harness) aria2DHT(dhtPort int, entry string) []string {
	argv := []string{"--enable-dht=true", "--dht-listen-port=" + strconv.Itoa(dhtPort),
		"--dht-file-path=" + h.path("aria2-dht-"+strconv.Itoa(dhtPort)+".dat")}
	if entry != "" {
		argv = append(argv, "--dht-entry-point="+entry)
	}
	return argv
}

// leechDHT runs our binary on sw's bare magnet, bootstrapping from the
// node at boot, and checks the data and that its peer came from the DHT.
func (h *harness) leechDHT(ctx context.Context, sw *swarm, boot string) {
	h.t.Helper()
	dst := h.mkdir("dst")
	trace := h.path("trace-leech")
	h.logs = append(h.logs, trace)
	us := h.ours("unworkable", "-p", strconv.Itoa(freePort(h.t)), "--dht-bootstrap", boot, "-o", dst, "-t", trace, dhtMagnet(sw))
	h.expectExit(ctx, us, 0)
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		h.t.Fatal(err)
	}
	if !traceHas(trace, "source=dht") {
		h.t.Error("trace: no peer connected with source=dht")
	}
}

// TestInteropDHTFromAria2: an aria2c seeder with its DHT on, no tracker;
// we bootstrap from aria2c's DHT node, which learns of us, announces its
// torrent to our node, and our lookup finds it there.
func TestInteropDHTFromAria2(t *testing.T) {
	h := newHarness(t, "aria2c", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newDHTSwarm(multiFiles)
	dhtPort := freePort(t)
	h.aria2Seed(sw.torrent, sw.src, h.aria2DHT(dhtPort, "")...)
	h.leechDHT(ctx, sw, "127.0.0.1:"+strconv.Itoa(dhtPort))
}

// TestInteropAria2DHTFromUs: our seeder with its DHT node, no tracker;
// aria2c, given a bare magnet and our node as its only DHT entry point,
// finds us through it (our node hands out our own address for the torrents
// we serve) and fetches the metadata and the data.
func TestInteropAria2DHTFromUs(t *testing.T) {
	h := newHarness(t, "aria2c", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newDHTSwarm(multiFiles)
	port, aria2Port := freePort(t), freePort(t)
	trace := h.path("trace-seed")
	h.logs = append(h.logs, trace)
	us := h.ours("unworkable", "-s", "-p", strconv.Itoa(port), "--dht-bootstrap", "127.0.0.1:"+strconv.Itoa(aria2Port),
		"-o", sw.src, "-t", trace, sw.torrent)
	h.waitListen(ctx, us, port)
	dst := h.mkdir("dst")
	leech := h.aria2Magnet(dhtMagnet(sw), dst, h.aria2DHT(aria2Port, "127.0.0.1:"+strconv.Itoa(port))...)
	h.expectExit(ctx, leech, 0)
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		t.Fatal(err)
	}
	h.stopSeed(ctx, us)
}
