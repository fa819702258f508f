package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrackerMessages shows what trackers say to the user: a tracker URL
// of a scheme we cannot speak, a warning message (with a terminal escape
// in it) and a failure reason are each printed once on stderr off a
// terminal, and come as tracker events with --json.
func TestTrackerMessages(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/warn":
			w.Write(benc(map[string]any{"interval": 1800, "peers": "", "warning message": "slow down\x1b[2J"}))
		case "/refuse":
			w.Write(benc(map[string]any{"failure reason": "torrent not registered"}))
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	src := filepath.Join(dir, "payload")
	if err := os.WriteFile(src, []byte(strings.Repeat("x", 50000)), 0o644); err != nil {
		t.Fatal(err)
	}
	torrent := func(name string, urls ...string) string {
		out := filepath.Join(dir, name)
		args := []string{"create", "-o", out}
		for _, u := range urls {
			args = append(args, "-a", u)
		}
		if code, _, stderr := runOurs(t, dir, append(args, src)...); code != 0 {
			t.Fatalf("create: %d %s", code, stderr)
		}
		return out
	}
	warn := torrent("warn.torrent", "gopher://127.0.0.1/x", srv.URL+"/warn")
	refuse := torrent("refuse.torrent", srv.URL+"/refuse")

	_, _, stderr := runOurs(t, dir, "-p", "0", "--timeout", "2s", "-o", t.TempDir(), warn)
	for _, want := range []string{
		`unworkable: tracker gopher://127.0.0.1/x: unsupported URL scheme "gopher"`,
		"unworkable: tracker " + srv.URL + "/warn warning: slow down\uFFFD[2J",
	} {
		if n := strings.Count(stderr, want); n != 1 {
			t.Errorf("stderr has %q %d times, want once:\n%s", want, n, stderr)
		}
	}
	if strings.Contains(stderr, "\x1b") {
		t.Errorf("stderr carries the tracker's escape character:\n%q", stderr)
	}

	_, stdout, _ := runOurs(t, dir, "-p", "0", "--json", "--timeout", "2s", "-o", t.TempDir(), refuse)
	found := false
	for _, l := range strings.Split(stdout, "\n") {
		var ev map[string]any
		if json.Unmarshal([]byte(l), &ev) != nil || ev["event"] != "tracker" {
			continue
		}
		found = ev["reason"] == "failure" && ev["message"] == "torrent not registered" && ev["url"] == srv.URL+"/refuse"
	}
	if !found {
		t.Errorf("no tracker event with the failure reason in the JSON output:\n%s", stdout)
	}
}
