package main

// `unworkable create`: the same info hash as mktorrent, refusals that name
// the offending file, no silent overwrite, the progress line, and a created
// torrent downloaded by aria2c and transmission-cli from our seeder.

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCreateMatchesMktorrent checks that create and Debian's mktorrent give
// the same info hash for the same input and piece length.
func TestCreateMatchesMktorrent(t *testing.T) {
	requirePrograms(t, "mktorrent")
	tests := []struct {
		name  string
		files []file
		root  string // below the test directory
		log2  int
	}{
		{"single file", []file{{"one.bin", 100000}}, "one.bin", 15},
		{"single file exact pieces", []file{{"two.bin", 65536}}, "two.bin", 15},
		{"nested dir", []file{{"tree/a/b/c.bin", 70000}, {"tree/a/d.txt", 3}, {"tree/Z", 40000}, {"tree/a-b", 1}}, "tree", 15},
		{"empty file", []file{{"e/empty", 0}, {"e/x/data", 50000}, {"e/y-empty", 0}}, "e", 16},
		{"multi files", multiFiles, "payload", 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			makePayload(t, dir, tt.files)
			root := filepath.Join(dir, tt.root)
			const announce = "http://127.0.0.1:1/announce"
			want := mktorrent(t, root, announce, tt.log2, filepath.Join(dir, "mk.torrent"))
			out := filepath.Join(dir, "ours.torrent")
			code, stdout, stderr := runOurs(t, dir, "create", "-a", announce, "-l", strconv.Itoa(1<<tt.log2), "-o", out, root)
			if code != 0 {
				t.Fatalf("create: exit status %d\n%s%s", code, stdout, stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseTorrent(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.hash != want.hash {
				t.Errorf("info hash %x, mktorrent's %x", got.hash, want.hash)
			}
			if !strings.Contains(stdout, strconv.Itoa(want.pieces)+" pieces") || !strings.Contains(stdout, hexHash(want.hash)) {
				t.Errorf("summary lacks the piece count or the info hash: %s", stdout)
			}
		})
	}
}

// hexHash formats an info hash in lower-case hex.
func hexHash(h [20]byte) string {
	return hex.EncodeToString(h[:])
}

// TestCreateRefuses checks the inputs create cannot read faithfully (even
// as root): each fails with exit status 1, an error naming the file, and no
// torrent written.
func TestCreateRefuses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string) (path, culprit string) // what to create, the file to be named
	}{
		{"fifo", func(t *testing.T, root string) (string, string) {
			p := filepath.Join(root, "sub", "pipe")
			fatalIf(t, syscall.Mkfifo(p, 0o644))
			return root, p
		}},
		{"dangling symlink below", func(t *testing.T, root string) (string, string) {
			p := filepath.Join(root, "sub", "gone")
			fatalIf(t, os.Symlink(filepath.Join(root, "nowhere"), p))
			return root, p
		}},
		{"dangling symlink as path", func(t *testing.T, root string) (string, string) {
			p := filepath.Join(filepath.Dir(root), "link")
			fatalIf(t, os.Symlink(filepath.Join(root, "nowhere"), p))
			return p, p
		}},
		{"missing path", func(t *testing.T, root string) (string, string) {
			p := filepath.Join(root, "absent")
			return p, p
		}},
		{"only empty files", func(t *testing.T, root string) (string, string) {
			fatalIf(t, os.Truncate(filepath.Join(root, "ok"), 0))
			return root, root
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			root := filepath.Join(dir, "root")
			fatalIf(t, os.MkdirAll(filepath.Join(root, "sub"), 0o755))
			fatalIf(t, os.WriteFile(filepath.Join(root, "ok"), []byte("data"), 0o644))
			path, culprit := tt.setup(t, root)
			out := filepath.Join(dir, "out.torrent")
			code, stdout, stderr := runOurs(t, dir, "create", "-o", out, path)
			if code != 1 || !strings.HasPrefix(stderr, "unworkable: create: ") || !strings.Contains(stderr, culprit) {
				t.Errorf("exit status %d, stderr %q; want 1 and an error naming %s\nstdout: %s", code, stderr, culprit, stdout)
			}
			if _, err := os.Lstat(out); err == nil {
				t.Errorf("a torrent was written")
			}
		})
	}
}

// fatalIf fails the test on err.
func fatalIf(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCreateOverwrite checks that an existing output file is refused (left
// as it was, nothing else written) unless -f is given.
func TestCreateOverwrite(t *testing.T) {
	dir := t.TempDir()
	makePayload(t, dir, []file{{"data.bin", 50000}})
	out := filepath.Join(dir, "data.bin.torrent")
	fatalIf(t, os.WriteFile(out, []byte("precious"), 0o644))
	code, _, stderr := runOurs(t, dir, "create", "data.bin") // default output: NAME.torrent
	if code != 1 || !strings.Contains(stderr, "already exists") {
		t.Errorf("exit status %d, stderr %q; want 1, already exists", code, stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != "precious" {
		t.Fatalf("existing output changed: %q", b)
	}
	code, _, stderr = runOurs(t, dir, "create", "-f", "-l", "16k", "data.bin")
	if code != 0 {
		t.Fatalf("create -f: exit status %d: %s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := parseTorrent(b); err != nil || m.name != "data.bin" || m.total != 50000 {
		t.Fatalf("overwritten output: %v %+v", err, m)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries, want data.bin and data.bin.torrent (temporary file left?)", len(entries))
	}
	code, _, _ = runOurs(t, dir, "create", "-f", "-l", "0", "data.bin")
	if code != 2 {
		t.Errorf("-l 0: exit status %d, want 2", code)
	}
}

// TestHashLine checks the progress line of create and verify: fields, width
// and the shortened name.
func TestHashLine(t *testing.T) {
	l := hashLine("some-data", 512<<20, 1<<30, 2*time.Second, 80)
	for _, s := range []string{"some-data", " 50%", "512.0MiB of 1.0GiB", "256.0MiB/s", "00:02 ETA"} {
		if !strings.Contains(l, s) {
			t.Errorf("line %q lacks %q", l, s)
		}
	}
	if len(l) != 79 {
		t.Errorf("line is %d columns, want 79: %q", len(l), l)
	}
	long := strings.Repeat("n", 200)
	if l := hashLine(long, 1, 1, time.Second, 60); len(l) != 59 || !strings.Contains(l, "n~ ") || !strings.Contains(l, "100%") {
		t.Errorf("long name: %q (%d columns)", l, len(l))
	}
}

// TestHashMeter checks that the meter draws at most about ten times a
// second, always draws the end, and ends its line; a nil meter is silent.
func TestHashMeter(t *testing.T) {
	var b bytes.Buffer
	m := newHashMeter(&b, "x")
	for i := range int64(1000) {
		m.update(i, 1000)
	}
	m.update(1000, 1000)
	m.finish()
	out := b.String()
	if n := strings.Count(out, "\r"); n < 2 || n > 100 {
		t.Errorf("%d redraws for 1001 updates in a tight loop", n)
	}
	if !strings.HasSuffix(out, "\n") || !strings.Contains(out, "100%") {
		t.Errorf("meter output does not end with the complete line: %q", out)
	}
	var nilMeter *hashMeter
	nilMeter.update(1, 2)
	nilMeter.finish()
}

// TestCreateInterop makes a torrent with create, seeds it with our binary
// (-s) through opentracker, and checks that aria2c (which finds us through
// the tracker) and transmission-cli (which we dial with --peer, since it
// never dials loopback peers) both download the data.
func TestCreateInterop(t *testing.T) {
	h := newHarness(t, "aria2c", "transmission-cli", "opentracker")
	ctx := h.deadline(interopTimeout)
	sw := &swarm{src: h.mkdir("src"), torrent: h.path("made.torrent"), tracker: freePort(t)}
	makePayload(t, sw.src, multiFiles)
	announce := "http://127.0.0.1:" + strconv.Itoa(sw.tracker) + "/announce"
	code, stdout, stderr := runOurs(t, h.dir, "create", "-a", announce, "-l", "32k", "-o", sw.torrent, filepath.Join(sw.src, "payload"))
	if code != 0 {
		t.Fatalf("create: exit status %d\n%s%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(sw.torrent)
	if err != nil {
		t.Fatal(err)
	}
	if sw.meta, err = parseTorrent(b); err != nil {
		t.Fatal(err)
	}
	checkLayout(t, sw.meta)
	h.startTracker(sw.tracker, sw.meta.hash)

	trPort := freePort(t)
	trDst := h.mkdir("dst-transmission")
	tr := h.transmissionLeech(ctx, sw.torrent, trDst, trPort)

	trace := h.path("trace")
	h.logs = append(h.logs, trace)
	us := h.ours("unworkable-seed", "-s", "-p", strconv.Itoa(freePort(t)), "-o", sw.src, "-t", trace,
		"--peer", "127.0.0.1:"+strconv.Itoa(trPort), sw.torrent)
	h.waitSeeds(ctx, sw, 1, us)

	// transmission-cli first, with us as its only source; it creates no
	// zero-length files, so those are left out of its comparison.
	start := time.Now()
	withData := *sw.meta
	withData.files = nil
	for _, f := range sw.meta.files {
		if f.size > 0 {
			withData.files = append(withData.files, f)
		}
	}
	h.poll(ctx, "transmission-cli to download the data from us", func() bool {
		h.alive(tr)
		h.alive(us)
		return sameData(&withData, sw.src, trDst) == nil
	})
	t.Logf("transmission-cli downloaded %d bytes from us in %v", sw.meta.total, time.Since(start).Round(time.Millisecond))
	tr.stop(10 * time.Second) // announces "stopped": aria2c finds only us

	ariaDst := h.mkdir("dst-aria2")
	start = time.Now()
	leech := h.aria2Leech(sw.torrent, ariaDst)
	h.expectExit(ctx, leech, 0)
	t.Logf("aria2c downloaded %d bytes from us in %v", sw.meta.total, time.Since(start).Round(time.Millisecond))
	if err := sameData(sw.meta, sw.src, ariaDst); err != nil {
		t.Fatalf("aria2c: %v", err)
	}
	h.alive(us)
	us.signal(syscall.SIGTERM)
	h.expectExit(ctx, us, 0)
}
