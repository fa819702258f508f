package main

// Hostile trackers: one in-test HTTP tracker answers every announce-list
// tier with a different misbehaviour, and the last tier according to the
// leecher's port. Four leechers run at once beside a good seeder given
// with --peer: every announce fails for the first, the second is given its
// own address, the third 100,000 peers with a negative interval, the
// fourth a tracker that never answers. All must complete and exit 0, the
// last without waiting for the tracker.

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// hostileTracker is the in-test tracker. hits counts requests per path.
type hostileTracker struct {
	srv     *httptest.Server
	mu      sync.Mutex
	hits    map[string]int
	modes   map[string]string // leecher port -> mode of /last
	release chan struct{}     // closed at cleanup: hanging requests end
}

// hostilePaths are the tiers of the torrent, in order; every one but
// /last fails.
var hostilePaths = []string{"/garbage", "/nondict", "/huge-length", "/huge-chunked", "/loop", "/badpeers", "/status500", "/last"}

func newHostileTracker(t *testing.T) *hostileTracker {
	ht := &hostileTracker{hits: map[string]int{}, modes: map[string]string{}, release: make(chan struct{})}
	ht.srv = httptest.NewServer(http.HandlerFunc(ht.serve))
	t.Cleanup(func() {
		close(ht.release)
		ht.srv.CloseClientConnections()
		ht.srv.Close()
	})
	return ht
}

func (ht *hostileTracker) serve(w http.ResponseWriter, r *http.Request) {
	port := r.URL.Query().Get("port")
	ht.mu.Lock()
	ht.hits[r.URL.Path]++
	mode := ht.modes[port]
	ht.mu.Unlock()
	switch r.URL.Path {
	case "/garbage":
		w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
	case "/nondict":
		w.Write([]byte("l8:intervali60ee"))
	case "/huge-length": // a body over the 4 MiB cap, announced up front
		w.Header().Set("Content-Length", strconv.Itoa(64<<20))
		w.Write(make([]byte, 1<<20))
	case "/huge-chunked": // the same found while reading
		for range 8 {
			w.Write([]byte(strings.Repeat("x", 1<<20)))
		}
	case "/loop":
		http.Redirect(w, r, "/loop2?"+r.URL.RawQuery, http.StatusFound)
	case "/loop2":
		http.Redirect(w, r, "/loop?"+r.URL.RawQuery, http.StatusFound)
	case "/badpeers":
		w.Write(benc(map[string]any{"interval": 60, "peers": "12345"}))
	case "/status500":
		http.Error(w, "oops", http.StatusInternalServerError)
	case "/last":
		ht.last(w, r, mode, port)
	}
}

// last answers the final tier: "fail" fails (404), "self" lists the
// leecher itself (twice) with an interval of 0, "many" lists 100,000 peers with a
// negative interval, "hang" never answers; anyone else (the seeder) gets
// an empty list.
func (ht *hostileTracker) last(w http.ResponseWriter, r *http.Request, mode, port string) {
	switch mode {
	case "fail":
		http.NotFound(w, r)
	case "self": // the leecher itself, twice
		p, _ := strconv.Atoi(port)
		self := []byte{127, 0, 0, 1, byte(p >> 8), byte(p)}
		w.Write(benc(map[string]any{"interval": 0, "peers": append(self, self...)}))
	case "many":
		var peers []byte
		for i := 1; len(peers) < 6*100000; i++ {
			// 127.1.x.y:9, where nothing listens: refused at once.
			peers = append(peers, 127, 1, byte(i>>8), byte(i), 0, 9)
		}
		w.Write(benc(map[string]any{"interval": -5, "min interval": 0, "peers": peers}))
	case "hang":
		select {
		case <-r.Context().Done():
		case <-ht.release:
		}
	default:
		w.Write(benc(map[string]any{"interval": 1800, "peers": ""}))
	}
}

// hit returns how many requests path got.
func (ht *hostileTracker) hit(path string) int {
	ht.mu.Lock()
	defer ht.mu.Unlock()
	return ht.hits[path]
}

// TestHostileTracker runs the three leechers against the hostile tracker.
func TestHostileTracker(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "mktorrent")
	ctx := h.deadline(90 * time.Second)
	ht := newHostileTracker(t)
	src := h.mkdir("src")
	files := []file{{"payload/a.bin", 700000}, {"payload/b.bin", 800001}}
	makePayload(t, src, files)
	args := []string{"-l", "15", "-o", h.path("test.torrent")}
	for _, p := range hostilePaths {
		args = append(args, "-a", ht.srv.URL+p)
	}
	if out, err := exec.Command("mktorrent", append(args, filepath.Join(src, "payload"))...).CombinedOutput(); err != nil {
		t.Fatalf("mktorrent: %v\n%s", err, out)
	}
	torrent := h.path("test.torrent")
	// 1.5 MiB to each of four leechers at 1 MiB/s: a few seconds, long
	// enough for every announce to reach the last tier first.
	seed, _ := h.goodSeed(ctx, torrent, src, "--upload-rate", "1M")

	type leecher struct {
		mode, dir, trace string
		port             int
		p                *proc
		start            time.Time
	}
	var ls []*leecher
	for _, mode := range []string{"fail", "self", "many", "hang"} {
		l := &leecher{mode: mode, dir: h.mkdir("dst-" + mode), trace: h.path("trace-" + mode), port: freePort(t)}
		h.logs = append(h.logs, l.trace)
		ht.mu.Lock()
		ht.modes[strconv.Itoa(l.port)] = mode
		ht.mu.Unlock()
		ls = append(ls, l)
	}
	for _, l := range ls {
		l.start = time.Now()
		l.p = h.ours("leech-"+l.mode, "-p", strconv.Itoa(l.port), "-o", l.dir, "-t", l.trace, "--peer", seed, torrent)
	}
	for _, l := range ls {
		h.expectExit(ctx, l.p, 0)
		took := time.Since(l.start)
		t.Logf("%s: exit 0 after %v", l.mode, took.Round(time.Millisecond))
		if l.mode == "hang" && took > 25*time.Second {
			t.Errorf("hang: took %v, as if waiting for the hanging tracker (30 s timeout)", took)
		}
		m := mustParse(t, torrent)
		if err := sameData(m, src, l.dir); err != nil {
			t.Errorf("%s: %v", l.mode, err)
		}
	}
	for _, p := range hostilePaths {
		if ht.hit(p) == 0 {
			t.Errorf("tracker path %s never asked: the tiers were not all tried", p)
		}
	}
	fail, self, many := ls[0].trace, ls[1].trace, ls[2].trace
	if !traceHas(fail, "announce failed (retry in 1") { // 15 s +-10%
		t.Errorf("fail: no announce failure retried after ~15 s in the trace")
	}
	for _, want := range []string{"redirect loop", "exceeds limit", "parse peers", "HTTP status 500", "HTTP status 404"} {
		if !traceHas(fail, want) {
			t.Errorf("fail: trace lacks %q", want)
		}
	}
	// An interval of 0 or a negative one counts as absent: the default
	// 30 min, never a tight announce loop.
	if !traceHas(self, ": 1 peers, next in 30m0s") || !traceHas(self, "connected to ourselves") {
		t.Errorf("self: want an announce with the default interval and a dial to ourselves found out; trace:\n%s",
			strings.Join(append(traceLines(self, "announce"), traceLines(self, "connect")...), "\n"))
	}
	if !traceHas(many, ": 2000 peers, next in 30m0s") {
		t.Errorf("many: want 2000 of the 100,000 peers kept and the default interval; announces:\n%s",
			strings.Join(traceLines(many, "announce"), "\n"))
	}
}

// mustParse reads a torrent with the test's own decoder.
func mustParse(t *testing.T, path string) *meta {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseTorrent(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}
