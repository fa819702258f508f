package main

// The scripting contract against the built binary: JSON events, seed ratio,
// rate limits, --timeout and --bind.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// event is a JSON event line as a script reads it (schema v1).
type event struct {
	V          int     `json:"v"`
	Event      string  `json:"event"`
	Time       string  `json:"time"`
	Name       string  `json:"name"`
	Pieces     int     `json:"pieces"`
	Have       int     `json:"have"`
	Total      int64   `json:"total"`
	Left       int64   `json:"left"`
	Downloaded int64   `json:"downloaded"`
	Uploaded   int64   `json:"uploaded"`
	Peers      int     `json:"peers"`
	ElapsedS   float64 `json:"elapsed_s"`
	Complete   bool    `json:"complete"`
	Reason     string  `json:"reason"`

	at time.Time // Time parsed
}

// schemaKeys are the keys every event carries.
var schemaKeys = []string{"v", "event", "time", "name", "pieces", "have", "total", "left", "downloaded",
	"uploaded", "down_rate", "up_rate", "peers", "seeds", "elapsed_s", "complete"}

// parseEvent decodes one line and checks it against schema v1.
func parseEvent(line string) (event, error) {
	var e event
	var keys map[string]any
	if err := json.Unmarshal([]byte(line), &keys); err != nil {
		return e, fmt.Errorf("not JSON: %q", line)
	}
	for _, k := range schemaKeys {
		if _, ok := keys[k]; !ok {
			return e, fmt.Errorf("no %q in %s", k, line)
		}
	}
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		return e, err
	}
	if e.V != 1 {
		return e, fmt.Errorf("v=%d in %s", e.V, line)
	}
	at, err := time.Parse(time.RFC3339, e.Time)
	if err != nil {
		return e, fmt.Errorf("time %q: %v", e.Time, err)
	}
	e.at = at
	return e, nil
}

// readEvents parses every line of path (our stdout with --json, and an
// empty stderr) as an event.
func readEvents(t *testing.T, path string) []event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		e, err := parseEvent(sc.Text())
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		evs = append(evs, e)
	}
	if len(evs) == 0 {
		t.Fatalf("%s: no events", filepath.Base(path))
	}
	return evs
}

// checkStream checks the order every event stream must have: start first,
// stopped (with reason) last, progress in between, times not going back.
func checkStream(t *testing.T, evs []event, reason string) {
	t.Helper()
	if evs[0].Event != "start" {
		t.Errorf("first event %q, want start", evs[0].Event)
	}
	last := evs[len(evs)-1]
	if last.Event != "stopped" || last.Reason != reason {
		t.Errorf("last event %q reason %q, want stopped, %s", last.Event, last.Reason, reason)
	}
	progress := 0
	for i, e := range evs {
		if e.Event == "progress" {
			progress++
		}
		if i > 0 && e.at.Before(evs[i-1].at) {
			t.Errorf("event %d (%s) is older than the one before it", i, e.Event)
		}
		if e.Event == "stopped" && i != len(evs)-1 {
			t.Errorf("stopped event at %d of %d", i, len(evs))
		}
	}
	if progress < 2 {
		t.Errorf("%d progress events, want several", progress)
	}
}

// checkRate measures the rate of counter (uploaded or downloaded) from the
// progress events: from one second after it started moving to the last
// progress event before it reached total, and fails the test unless it is
// within ±10% of limit.
func checkRate(t *testing.T, evs []event, what string, counter func(event) int64, total, limit int64) {
	t.Helper()
	var prog []event
	for _, e := range evs {
		if e.Event == "progress" {
			prog = append(prog, e)
		}
	}
	first, a, b := -1, -1, -1
	for i, e := range prog {
		switch n := counter(e); {
		case n >= total:
		case first < 0 && n > 0:
			first = i
		case first >= 0 && a < 0 && e.at.Sub(prog[first].at) >= time.Second:
			a, b = i, i
		case a >= 0:
			b = i
		}
	}
	if a < 0 || prog[b].at.Sub(prog[a].at) < 4*time.Second {
		t.Fatalf("%s: fewer than 4 s of progress events to measure the rate on", what)
	}
	dt := prog[b].at.Sub(prog[a].at).Seconds()
	rate := float64(counter(prog[b])-counter(prog[a])) / dt
	t.Logf("%s: %.0f B/s over %.1f s (limit %d B/s, %+.1f%%)", what, rate, dt, limit, 100*(rate/float64(limit)-1))
	if math.Abs(rate/float64(limit)-1) > 0.10 {
		t.Errorf("%s: %.0f B/s, not within 10%% of the %d B/s limit", what, rate, limit)
	}
}

// rateLimit is the limit of the rate tests: 2 MiB/s.
const rateLimit = 2 << 20

// TestScriptedSeedRatio makes a torrent of a directory with `unworkable
// create`, seeds it with --seed-ratio 1 --json and an upload limit while
// aria2c downloads it through opentracker, and checks that the seeder exits
// 0 by itself, its JSON stream, and the upload rate.
func TestScriptedSeedRatio(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "aria2c", "opentracker")
	ctx := h.deadline(interopTimeout)
	files := []file{{"share/a.bin", 16 << 20}, {"share/sub/b.bin", 8<<20 + 4321}}
	sw := &swarm{src: h.mkdir("src"), torrent: h.path("share.torrent"), tracker: freePort(t)}
	makePayload(t, sw.src, files)
	announce := fmt.Sprintf("http://127.0.0.1:%d/announce", sw.tracker)
	if code, out, errs := runOurs(t, h.dir, "create", "-a", announce, "-l", "64k", "-o", sw.torrent, filepath.Join(sw.src, "share")); code != 0 {
		t.Fatalf("create: exit status %d\n%s%s", code, out, errs)
	}
	b, err := os.ReadFile(sw.torrent)
	if err != nil {
		t.Fatal(err)
	}
	if sw.meta, err = parseTorrent(b); err != nil {
		t.Fatal(err)
	}
	h.startTracker(sw.tracker, sw.meta.hash)

	us := h.ours("seeder", "-s", "--seed-ratio", "1", "--json", "--upload-rate", "2M",
		"-p", strconv.Itoa(freePort(t)), "-o", sw.src, sw.torrent)
	h.waitSeeds(ctx, sw, 1, us)
	dst := h.mkdir("dst")
	leech := h.aria2Leech(sw.torrent, dst)
	h.expectExit(ctx, us, 0)

	evs := readEvents(t, us.log)
	checkStream(t, evs, "seed-ratio")
	last := evs[len(evs)-1]
	if last.Uploaded < sw.meta.total || !last.Complete || last.Name != "share" || last.Total != sw.meta.total {
		t.Errorf("last event: uploaded %d, complete %v, name %q, total %d; want uploaded >= %d, complete, share",
			last.Uploaded, last.Complete, last.Name, last.Total, sw.meta.total)
	}
	sawPeer := false
	for _, e := range evs {
		sawPeer = sawPeer || e.Event == "peers" && e.Peers >= 1
	}
	if !sawPeer {
		t.Errorf("no peers event with a peer")
	}
	checkRate(t, evs, "upload", func(e event) int64 { return e.Uploaded }, sw.meta.total, rateLimit)

	// The seeder counts a block as uploaded once written and drains its
	// queues before it stops, so aria2c, with no other seeder, must finish.
	if !within(20*time.Second, leech.exited) || leech.code() != 0 {
		t.Fatalf("aria2c did not complete after the seeder stopped at the ratio")
	}
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		t.Fatalf("aria2c: %v", err)
	}
}

// TestTimeoutAndBind runs a download that can find no peer with --timeout:
// it must exit 6 with a stopped/timeout event. Meanwhile it listens on the
// --bind address only (127.0.0.2: Linux answers on all of 127/8).
func TestTimeoutAndBind(t *testing.T) {
	h := newHarness(t, "mktorrent")
	ctx := h.deadline(30 * time.Second)
	src := h.mkdir("src")
	makePayload(t, src, []file{{"lonely.bin", 100000}})
	mktorrent(t, filepath.Join(src, "lonely.bin"), "http://127.0.0.1:1/announce", 15, h.path("t.torrent"))
	port := strconv.Itoa(freePort(t))
	start := time.Now()
	us := h.ours("unworkable", "--timeout", "3s", "--json", "--bind", "127.0.0.2", "-p", port, "-o", h.mkdir("dst"), h.path("t.torrent"))
	h.poll(ctx, "a listener on 127.0.0.2:"+port, func() bool {
		h.alive(us)
		c, err := net.Dial("tcp", "127.0.0.2:"+port)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
		c.Close()
		t.Errorf("--bind 127.0.0.2: 127.0.0.1:%s accepts connections too", port)
	}
	h.expectExit(ctx, us, exitTimeout)
	t.Logf("exited %d after %v", exitTimeout, time.Since(start).Round(time.Millisecond))
	// The last line is on stderr: "unworkable: no progress ...".
	lines := strings.Split(strings.TrimSpace(tail(us.log, 1000)), "\n")
	if n := len(lines); n < 2 || !strings.HasPrefix(lines[n-1], "unworkable: ") {
		t.Fatalf("want JSON lines and an error line, got:\n%s", strings.Join(lines, "\n"))
	}
	var evs []event
	for _, l := range lines[:len(lines)-1] {
		e, err := parseEvent(l)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	checkStream(t, evs, "timeout")
}
