package main

// The phases of a run against the binary: a signal during a long start-up
// check, and a magnet download killed after its metadata arrived and
// restarted with no peer reachable.

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
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

// TestMagnetJSON downloads a magnet link with --json from our seeder
// (rate-limited, so progress events come): metadata events come first,
// fetching then received with the metadata's size, then start; the
// progress events count the seeder under peers_by_source as "magnet".
func TestMagnetJSON(t *testing.T) {
	h := newHarness(t, "mktorrent")
	ctx := h.deadline(interopTimeout)
	src, torrent, m := h.smallSwarm(3<<20, "http://127.0.0.1:1/announce")
	seedAddr, _ := h.goodSeed(ctx, torrent, src, "--upload-rate", "1M")
	magnet := "magnet:?xt=urn:btih:" + hex.EncodeToString(m.hash[:]) + "&x.pe=" + seedAddr
	us := h.start("unworkable", "", binary(t), "--no-dht", "--json", "-p", strconv.Itoa(freePort(t)), "-o", h.mkdir("dst"), magnet)
	h.expectExit(ctx, us, 0)
	out, err := os.ReadFile(us.log) // stdout and stderr
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(out), "\n")
	var kinds []string
	var metaSize, bySource float64
	for _, l := range lines {
		var ev map[string]any
		if json.Unmarshal([]byte(l), &ev) != nil {
			continue // not an event (an error line would be on stderr)
		}
		kind, _ := ev["event"].(string)
		if len(kinds) == 0 || kinds[len(kinds)-1] != kind {
			kinds = append(kinds, kind)
		}
		if kind == "metadata" && ev["state"] == "received" {
			metaSize, _ = ev["metadata_size"].(float64)
		}
		if src, ok := ev["peers_by_source"].(map[string]any); ok && kind == "progress" {
			n, _ := src["magnet"].(float64)
			bySource = max(bySource, n)
		}
	}
	if len(kinds) < 3 || kinds[0] != "metadata" || kinds[1] != "start" {
		t.Errorf("event kinds in order %v: want metadata first, then start", kinds)
	}
	if metaSize <= 0 {
		t.Errorf("no metadata event with state received and a size")
	}
	if bySource != 1 {
		t.Errorf("progress events counted %v peers from the magnet, want 1", bySource)
	}
}

// TestMagnetTimeout gives a magnet link whose only peer does not exist:
// --timeout ends the wait for the metadata with status 6 and a message
// that says so.
func TestMagnetTimeout(t *testing.T) {
	dead := freePort(t)
	magnet := "magnet:?xt=urn:btih:" + strings.Repeat("ab", 20) + "&x.pe=127.0.0.1:" + strconv.Itoa(dead)
	start := time.Now()
	code, _, stderr := runOurs(t, t.TempDir(), "-p", "0", "--timeout", "2s", "-o", t.TempDir(), magnet)
	if code != exitTimeout || !strings.Contains(stderr, "no metadata") {
		t.Errorf("exit status %d, stderr %q: want %d and a message about the metadata", code, stderr, exitTimeout)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v for a 2 s timeout", d)
	}
	// With no tracker and no peer at all the user is told why nothing
	// will come.
	bare := "magnet:?xt=urn:btih:" + strings.Repeat("ab", 20)
	code, _, stderr = runOurs(t, t.TempDir(), "-p", "0", "--timeout", "1s", "-o", t.TempDir(), bare)
	if code != exitTimeout || !strings.Contains(stderr, "names no tracker (tr=) and no peer (x.pe=)") {
		t.Errorf("bare magnet: exit status %d, stderr %q: want %d and the warning", code, stderr, exitTimeout)
	}
}
