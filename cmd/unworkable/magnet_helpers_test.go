package main

// Magnet URIs (BEP 9) for the interop tests: building one for a swarm, and
// aria2c downloading one. aria2c 1.36 reads only xt, dn and tr from a
// magnet (x.pe is ignored, see parseMagnet in its bittorrent_helper.cc), so
// without DHT it finds peers through tr= only. As a seeder of a .torrent it
// serves ut_metadata as it is (aria2Seed): nothing special is needed.

import (
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// announce returns the announce URL of the swarm's tracker, as in its
// torrent.
func (sw *swarm) announce() string {
	return fmt.Sprintf("http://127.0.0.1:%d/announce", sw.tracker)
}

// magnetOf returns a magnet URI for sw's torrent: its info hash in hex, its
// name, the tracker if tr, and each of peers (host:port) as x.pe.
func magnetOf(sw *swarm, tr bool, peers ...string) string {
	u := "magnet:?xt=urn:btih:" + hex.EncodeToString(sw.meta.hash[:]) + "&dn=" + escapeURI(sw.meta.name, "")
	if tr {
		u += "&tr=" + escapeURI(sw.announce(), "")
	}
	for _, p := range peers {
		// libtorrent 2.0 parses x.pe without percent-decoding it (magnet_uri.cpp)
		// and drops 127.0.0.1%3A6881 silently.
		u += "&x.pe=" + escapeURI(p, ":[]")
	}
	return u
}

// escapeURI percent-encodes every byte of s but the unreserved characters
// of RFC 3986 and those in keep. url.QueryEscape would turn a space into
// '+', which magnet readers need not take for a space.
func escapeURI(s, keep string) string {
	var sb strings.Builder
	for _, c := range []byte(s) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~"+keep, c) >= 0 {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "%%%02X", c)
		}
	}
	return sb.String()
}

// magnetHash returns the info hash of a magnet URI's xt=urn:btih: (40 hex
// digits or 32 base32 characters) in lower-case hex.
func magnetHash(magnet string) (string, error) {
	u, err := url.Parse(magnet)
	if err != nil || u.Scheme != "magnet" {
		return "", fmt.Errorf("not a magnet URI: %q", magnet)
	}
	for _, xt := range u.Query()["xt"] {
		h, ok := strings.CutPrefix(xt, "urn:btih:")
		if !ok {
			continue
		}
		switch len(h) {
		case 40:
			if b, err := hex.DecodeString(h); err == nil {
				return hex.EncodeToString(b), nil
			}
		case 32:
			if b, err := base32.StdEncoding.DecodeString(strings.ToUpper(h)); err == nil {
				return hex.EncodeToString(b), nil
			}
		}
		return "", fmt.Errorf("magnet: bad btih %q", h)
	}
	return "", fmt.Errorf("magnet: no xt=urn:btih: in %q", magnet)
}

// aria2Magnet starts aria2c on a magnet URI: it fetches the metadata from
// peers (ut_metadata), then the data into dir, and exits 0 once complete.
// Peers come from the magnet's tr= only (no DHT, no PEX; x.pe is ignored);
// extra are more options.
func (h *harness) aria2Magnet(magnet, dir string, extra ...string) *proc {
	h.t.Helper()
	argv := append([]string{"aria2c", "--dir=" + dir, "--listen-port=" + strconv.Itoa(freePort(h.t)),
		"--seed-time=0", "--bt-metadata-only=false", "--bt-save-metadata=false"}, aria2Common...)
	argv = append(argv, extra...)
	return h.start("aria2c-magnet", "", append(argv, magnet)...)
}

// TestMagnetOf checks the URI magnetOf builds and that magnetHash reads it.
func TestMagnetOf(t *testing.T) {
	sw := &swarm{tracker: 6969, meta: &meta{name: "a b+c"}}
	for i := range sw.meta.hash {
		sw.meta.hash[i] = byte(i)
	}
	got := magnetOf(sw, true, "127.0.0.1:6881", "[::1]:6882")
	want := "magnet:?xt=urn:btih:000102030405060708090a0b0c0d0e0f10111213&dn=a%20b%2Bc" +
		"&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce&x.pe=127.0.0.1:6881&x.pe=[::1]:6882"
	if got != want {
		t.Errorf("magnetOf =\n%s, want\n%s", got, want)
	}
	for _, m := range []string{got, "magnet:?xt=urn:btih:AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQT"} {
		if h, err := magnetHash(m); err != nil || h != "000102030405060708090a0b0c0d0e0f10111213" {
			t.Errorf("magnetHash(%s) = %s, %v", m, h, err)
		}
	}
}

// TestInteropAria2MagnetFromAria2 checks the magnet helpers without our
// client: aria2c given only a magnet gets the metadata and the data from an
// aria2c seeder. The magnet names the tracker: aria2c ignores x.pe and has
// no other way to find a peer here.
func TestInteropAria2MagnetFromAria2(t *testing.T) {
	h := newHarness(t, "aria2c", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	seed := h.aria2Seed(sw.torrent, sw.src)
	h.waitSeeds(ctx, sw, 1, seed)
	dst := h.mkdir("dst")
	start := time.Now()
	leech := h.aria2Magnet(magnetOf(sw, true), dst)
	h.expectExit(ctx, leech, 0)
	t.Logf("aria2c fetched metadata and %d bytes in %v", sw.meta.total, time.Since(start).Round(time.Millisecond))
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		t.Fatal(err)
	}
}

// TestInteropQbittorrentMagnetFromQbittorrent checks qbitLeech with a
// magnet whose only peer is an x.pe: the seeder's address.
func TestInteropQbittorrentMagnetFromQbittorrent(t *testing.T) {
	h := newHarness(t, "qbittorrent-nox", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(multiFiles)
	seed := h.qbitSeed(sw.torrent, sw.src)
	seed.waitSeeding(ctx)
	dst := h.mkdir("dst")
	start := time.Now()
	leech := h.qbitLeech(magnetOf(sw, false, seed.listenAddr()), dst)
	leech.waitComplete(ctx)
	t.Logf("qbittorrent-nox fetched metadata and %d bytes in %v (start-up included)",
		sw.meta.total, time.Since(start).Round(time.Millisecond))
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		t.Fatal(err)
	}
}
