package main

// The status socket (-g) and the download limit, against the built binary.

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// statusReader is a status socket client that reads every line until EOF.
type statusReader struct {
	lines []string
	err   error
	done  chan struct{}
}

// readStatus connects to the unix socket at path and reads in the
// background.
func readStatus(t *testing.T, path string) *statusReader {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &statusReader{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			r.lines = append(r.lines, sc.Text())
		}
		r.err = sc.Err()
	}()
	return r
}

// TestStatusSocket downloads from an aria2c seeder with --download-rate
// while three clients are connected to the status socket: two read every
// event to the end; the third never reads and must be dropped without
// holding up the download. It also checks the socket's mode, its removal at
// exit and the download rate.
func TestStatusSocket(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "aria2c", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm([]file{{"big/a.bin", 20 << 20}, {"big/b.bin", 12<<20 + 777}})
	seed := h.aria2Seed(sw.torrent, sw.src)
	h.waitSeeds(ctx, sw, 1, seed)

	sock := h.path("status.sock")
	logf := h.path("unworkable.log")
	h.logs = append(h.logs, logf)
	dst := h.mkdir("dst")
	us := h.ours("leecher", "--json", "-g", sock, "--log", logf, "--download-rate", "2M",
		"-p", strconv.Itoa(freePort(t)), "-o", dst, sw.torrent)
	var fi os.FileInfo
	h.poll(ctx, "the status socket", func() bool {
		h.alive(us)
		var err error
		fi, err = os.Lstat(sock)
		return err == nil
	})
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("status socket mode %v, want a socket with 0600", fi.Mode())
	}
	a, b := readStatus(t, sock), readStatus(t, sock)
	stalled, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()

	h.expectExit(ctx, us, 0)
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(sock); err == nil {
		t.Errorf("status socket %s still there after exit", filepath.Base(sock))
	}
	for i, r := range []*statusReader{a, b} {
		select {
		case <-r.done:
		case <-ctx.Done():
			t.Fatalf("client %d: no EOF after exit", i)
		}
		if r.err != nil {
			t.Errorf("client %d: %v", i, r.err)
		}
		var evs []event
		for _, l := range r.lines {
			e, err := parseEvent(l)
			if err != nil {
				t.Fatalf("client %d: %v", i, err)
			}
			evs = append(evs, e)
		}
		if len(evs) < 5 || evs[len(evs)-1].Event != "stopped" || evs[len(evs)-1].Reason != "completed" {
			t.Errorf("client %d: %d events, want several ending with stopped/completed", i, len(evs))
		}
	}

	// The stalled client was dropped while the download went on.
	log, err := os.ReadFile(logf)
	if err != nil {
		t.Fatal(err)
	}
	text := string(log)
	dropped := strings.Index(text, `msg="status client dropped"`)
	completed := strings.Index(text, "msg=completed")
	if dropped < 0 || completed < 0 || dropped > completed {
		t.Errorf("log: want a dropped status client before completion:\n%s", text)
	}
	if n := strings.Count(text, `msg="status client connected"`); n != 3 {
		t.Errorf("log: %d status clients connected, want 3", n)
	}

	evs := readEvents(t, us.log)
	checkStream(t, evs, "completed")
	checkRate(t, evs, "download", func(e event) int64 { return e.Downloaded }, sw.meta.total, rateLimit)
}

// TestStatusRefused checks the --status addresses refused at the command
// line (exit 2) and that an existing file that is not a socket is never
// replaced.
func TestStatusRefused(t *testing.T) {
	dir := t.TempDir()
	makePayload(t, dir, []file{{"x.bin", 1000}})
	tor := filepath.Join(dir, "x.torrent")
	if code, out, errs := runOurs(t, dir, "create", "-a", "http://127.0.0.1:1/announce", "-o", tor, filepath.Join(dir, "x.bin")); code != 0 {
		t.Fatalf("create: exit status %d\n%s%s", code, out, errs)
	}
	port := strconv.Itoa(freePort(t))
	plain := filepath.Join(dir, "plain.sock")
	if err := os.WriteFile(plain, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"wildcard v4", []string{"-g", "0.0.0.0:" + port}, exitUsage},
		{"wildcard v6", []string{"-g", "[::]:" + port}, exitUsage},
		{"empty host", []string{"-g", ":" + port}, exitUsage},
		{"public without --status-public", []string{"-g", "192.0.2.1:" + port}, exitUsage},
		{"host name", []string{"-g", "example.com:" + port}, exitUsage},
		{"no port", []string{"-g", "127.0.0.1"}, exitUsage},
		{"not a socket", []string{"-g", plain}, exitError},
		{"bad rate", []string{"--upload-rate", "fast"}, exitUsage},
		{"bad bind", []string{"--bind", "localhost"}, exitUsage},
		{"negative ratio", []string{"--seed-ratio", "-1"}, exitUsage},
		{"bad duration", []string{"--timeout", "5"}, exitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"-p", "0", "-o", filepath.Join(dir, "out")}, tc.args...), tor)
			code, _, stderr := runOurs(t, dir, args...)
			if code != tc.code || !hasErrorLine(stderr) {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
		})
	}
	if b, err := os.ReadFile(plain); err != nil || string(b) != "keep me" {
		t.Errorf("the plain file was touched: %q, %v", b, err)
	}
}

// TestLogReopen renames the --log file away and sends SIGHUP: new lines go
// to a new file at the same path, the old one keeps the old lines.
func TestLogReopen(t *testing.T) {
	h := newHarness(t, "mktorrent")
	ctx := h.deadline(30 * time.Second)
	src := h.mkdir("src")
	makePayload(t, src, []file{{"x.bin", 200000}})
	mktorrent(t, filepath.Join(src, "x.bin"), "http://127.0.0.1:1/announce", 15, h.path("x.torrent"))
	logf, rotated := h.path("u.log"), h.path("u.log.1")
	us := h.ours("seeder", "-s", "-q", "--log", logf, "-p", "0", "-o", src, h.path("x.torrent"))
	has := func(path, s string) bool {
		b, err := os.ReadFile(path)
		return err == nil && strings.Contains(string(b), s)
	}
	h.poll(ctx, "the start line", func() bool { h.alive(us); return has(logf, "msg=start") })
	if err := os.Rename(logf, rotated); err != nil {
		t.Fatal(err)
	}
	us.signal(syscall.SIGHUP)
	h.poll(ctx, "a new log file", func() bool { h.alive(us); return has(logf, `msg="log reopened"`) })
	us.signal(syscall.SIGTERM)
	h.expectExit(ctx, us, 0)
	if !has(logf, "msg=stopped reason=interrupted") {
		t.Errorf("new log lacks the stopped line:\n%s", tail(logf, 20))
	}
	if !has(rotated, "level=INFO msg=start") || has(rotated, "msg=stopped") || has(rotated, "reopened") {
		t.Errorf("rotated log should hold the start line only:\n%s", tail(rotated, 20))
	}
}
