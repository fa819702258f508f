package main

// The phases of a run against the binary: a signal during a long start-up
// check, and a magnet download killed after its metadata arrived and
// restarted with no peer reachable.

import (
	"crypto/sha1"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalDuringCheck starts a seed of an 8 GiB file of zeros (sparse,
// so it costs no disk) whose start-up check takes seconds, and sends
// SIGTERM once the first pieces are checked: the client must exit with
// status 5 at once, having checked only part of the file and written no
// resume file.
func TestSignalDuringCheck(t *testing.T) {
	h := newHarness(t)
	ctx := h.deadline(interopTimeout)
	const pieceLen, size = 4 << 20, 8 << 30
	dir := h.mkdir("data")
	f, err := os.Create(filepath.Join(dir, "zeros.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sum := sha1.Sum(make([]byte, pieceLen))
	info := map[string]any{"name": "zeros.bin", "length": int64(size), "piece length": pieceLen,
		"pieces": strings.Repeat(string(sum[:]), size/pieceLen)}
	torrent := h.path("zeros.torrent")
	if err := os.WriteFile(torrent, benc(map[string]any{"info": info}), 0o644); err != nil {
		t.Fatal(err)
	}
	trace := h.path("trace")
	h.logs = append(h.logs, trace)
	us := h.ours("unworkable", "-s", "-p", "0", "-o", dir, "-t", trace, torrent)
	h.poll(ctx, "the check to begin", func() bool { return len(traceLines(trace, "checked")) > 0 })
	us.signal(syscall.SIGTERM)
	start := time.Now()
	h.expectExit(ctx, us, exitInterrupt)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("exit took %v after SIGTERM", d)
	}
	if n := len(traceLines(trace, "checked")); n >= size/pieceLen {
		t.Errorf("all %d pieces checked before the signal took effect: the check was not interrupted", n)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".resume") {
			t.Errorf("a resume file was written by an interrupted check: %s", e.Name())
		}
	}
}

// TestMagnetRestart downloads a magnet link from our own seeder (slowed
// down), kills the download with SIGKILL once the metadata has arrived and
// some pieces are verified, stops the seeder, and restarts the same
// command: with no peer reachable it must take the metadata from the
// output directory, check the data and start (announce, accept peers)
// with the pieces it had; once the seeder is back it completes.
func TestMagnetRestart(t *testing.T) {
	h := newHarness(t, "mktorrent")
	ctx := h.deadline(interopTimeout)
	src, torrent, m := h.smallSwarm(4<<20, "http://127.0.0.1:1/announce")
	seedPort := freePort(t)
	seedAddr, seed := h.goodSeedAt(ctx, seedPort, torrent, src, "--upload-rate", "512k")
	magnet := "magnet:?xt=urn:btih:" + hex.EncodeToString(m.hash[:]) + "&dn=payload&x.pe=" + seedAddr
	dst := h.mkdir("dst")
	trace1 := h.path("trace1")
	h.logs = append(h.logs, trace1)
	first := h.ours("first", "-p", strconv.Itoa(freePort(t)), "-o", dst, "-t", trace1, magnet)
	h.poll(ctx, "metadata and 4 verified pieces", func() bool {
		return traceHas(trace1, "bytes verified") && len(traceLines(trace1, "verified")) >= 4
	})
	first.signal(syscall.SIGKILL)
	h.expectExit(ctx, first, -1)
	seed.signal(syscall.SIGTERM)
	h.expectExit(ctx, seed, 0)

	trace2 := h.path("trace2")
	h.logs = append(h.logs, trace2)
	second := h.ours("second", "-p", strconv.Itoa(freePort(t)), "-o", dst, "-t", trace2, magnet)
	h.poll(ctx, "the restart to start", func() bool { return len(traceLines(trace2, "start")) > 0 })
	if traceHas(trace2, "fetching metadata") || !traceHas(trace2, "metadata: ") {
		t.Fatalf("the restart fetched the metadata again instead of using the kept one")
	}
	checked := len(traceLines(trace2, "checked"))
	if checked < 4 {
		t.Errorf("restart checked %d pieces good, want at least the 4 verified before the kill", checked)
	}
	if traceHas(trace2, "connect "+seedAddr) {
		t.Errorf("the restart reached a peer although none was up")
	}
	_, seed = h.goodSeedAt(ctx, seedPort, torrent, src)
	h.expectExit(ctx, second, 0)
	if err := sameData(m, src, dst); err != nil {
		t.Fatal(err)
	}
}
