package main

// Local faults against the binary: a disk too small (a tmpfs), a read-only
// output directory, a file truncated or deleted under the running client,
// and a download killed with SIGKILL twenty times. The tmpfs mounts need
// root, as CI has; without it the tests fail (never skip).

import (
	"crypto/sha1"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs with the given options on a new directory
// below h.dir and unmounts it at cleanup.
func (h *harness) mountTmpfs(name, opts string) string {
	h.t.Helper()
	dir := h.mkdir(name)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		h.t.Fatalf("mount tmpfs (these tests need root, as CI has): %v\n%s", err, out)
	}
	h.t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			h.t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}

// TestFaultDiskFull downloads a 3 MiB torrent into a 1 MiB tmpfs: the
// client must exit 4 at start, naming the lack of space, before any peer.
func TestFaultDiskFull(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "mktorrent")
	_, torrent, _ := h.smallSwarm(3<<20, "http://127.0.0.1:1/announce")
	small := h.mountTmpfs("small", "size=1m")
	code, _, stderr := runOurs(t, h.dir, "-p", "0", "-o", filepath.Join(small, "out"), torrent)
	if code != exitIO || !strings.Contains(stderr, "no space left") {
		t.Errorf("exit status %d, stderr %q: want %d and a no-space error", code, stderr, exitIO)
	}
}

// TestFaultReadOnlyDir points the client at a read-only filesystem.
func TestFaultReadOnlyDir(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "mktorrent")
	_, torrent, _ := h.smallSwarm(100000, "http://127.0.0.1:1/announce")
	ro := h.mountTmpfs("ro", "ro,size=1m")
	for _, out := range []string{ro, filepath.Join(ro, "sub")} {
		code, _, stderr := runOurs(t, h.dir, "-p", "0", "-o", out, torrent)
		if code != exitIO || !strings.Contains(stderr, "read-only file system") {
			t.Errorf("-o %s: exit status %d, stderr %q: want %d and a read-only error", out, code, stderr, exitIO)
		}
	}
}

// TestFaultFileChanged truncates one file, and in a second run deletes one,
// under a running download: the client must exit 4 with an error naming
// the file (never crash, never claim the data), and a restart on the same
// directory must complete with the right bytes.
func TestFaultFileChanged(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "mktorrent")
	ctx := h.deadline(90 * time.Second)
	src, torrent, m := h.smallSwarm(3<<20, "http://127.0.0.1:1/announce")
	// About 6 s for 3 MiB: time to change a file in the middle.
	seed, _ := h.goodSeed(ctx, torrent, src, "--upload-rate", "512k")
	changes := []struct {
		name string
		do   func(path string) error
	}{
		{"truncated", func(p string) error { return os.Truncate(p, 1000) }},
		{"deleted", os.Remove},
	}
	for _, ch := range changes {
		dst, trace := h.mkdir("dst-"+ch.name), h.path("trace-"+ch.name)
		h.logs = append(h.logs, trace)
		run := h.ours(ch.name, "-p", "0", "--peer", seed, "-o", dst, "-t", trace, torrent)
		h.poll(ctx, "a few pieces verified", func() bool {
			h.alive(run)
			return len(traceLines(trace, "verified")) >= 5
		})
		victim := filepath.Join(dst, filepath.FromSlash(m.files[1].path)) // b.bin, the largest
		if err := ch.do(victim); err != nil {
			t.Fatal(err)
		}
		h.expectExit(ctx, run, exitIO)
		msg := tail(run.log, 3)
		t.Logf("%s: exit 4: %s", ch.name, strings.Join(grepLines(run.log, "unworkable: "), "; "))
		if !strings.Contains(msg, "unworkable: ") || !strings.Contains(msg, "b.bin") {
			t.Errorf("%s: want an error line naming b.bin, got:\n%s", ch.name, msg)
		}
		if strings.Contains(msg, "panic") || strings.Contains(msg, "SIGBUS") {
			t.Errorf("%s: crashed:\n%s", ch.name, msg)
		}
		restart := h.ours(ch.name+"-restart", "-p", "0", "--peer", seed, "-o", dst, "-t", trace+"-restart", torrent)
		h.expectExit(ctx, restart, 0)
		if err := sameData(m, src, dst); err != nil {
			t.Errorf("%s: after the restart: %v", ch.name, err)
		}
	}
}

// TestFaultKill9Loop kills a download with SIGKILL 20 times at random
// moments (during the start-up check too), then lets a last run complete.
// After every kill, each piece the next run reports `checked` (found good
// on disk) is hashed here from the files: none may be recorded good with
// bad bytes.
func TestFaultKill9Loop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "mktorrent")
	ctx := h.deadline(120 * time.Second)
	src, torrent, m := h.smallSwarm(4<<20, "http://127.0.0.1:1/announce")
	// 4 MiB at 256 KiB/s: 16 s, longer than the twenty runs together.
	seed, _ := h.goodSeed(ctx, torrent, src, "--upload-rate", "256k")
	dst := h.mkdir("dst")
	var checkedTotal int
	for i := 0; i <= 20; i++ {
		trace := h.path(fmt.Sprintf("trace-%02d", i))
		run := h.ours(fmt.Sprintf("run%02d", i), "-p", "0", "--peer", seed, "-o", dst, "-t", trace, torrent)
		if i == 20 {
			h.expectExit(ctx, run, 0)
		} else {
			time.Sleep(time.Duration(rand.IntN(900)) * time.Millisecond)
			run.signal(syscall.SIGKILL)
			<-run.done
		}
		checked := checkedPieces(t, trace)
		checkedTotal += len(checked)
		for _, p := range checked {
			if sum := pieceSum(t, m, dst, p); string(sum[:]) != m.hashes[20*p:20*p+20] {
				t.Fatalf("run %d reported piece %d checked, but its bytes on disk are wrong", i, p)
			}
		}
		if i < 20 && run.code() == 0 {
			t.Logf("run %d completed before its kill", i)
			break
		}
	}
	if err := sameData(m, src, dst); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d pieces checked good at start over the runs, each hashed again here", checkedTotal)
}

// checkedPieces returns the pieces a trace reports `checked`.
func checkedPieces(t *testing.T, trace string) []int {
	t.Helper()
	var out []int
	for _, l := range traceLines(trace, "checked") {
		f := strings.Fields(l)
		n, err := strconv.Atoi(f[len(f)-1])
		if err != nil {
			t.Fatalf("bad trace line %q", l)
		}
		out = append(out, n)
	}
	return out
}

// pieceSum returns the SHA-1 of piece i as found in the files below dir.
func pieceSum(t *testing.T, m *meta, dir string, i int) [20]byte {
	t.Helper()
	start, end := int64(i)*m.pieceLen, min(int64(i+1)*m.pieceLen, m.total)
	buf := make([]byte, 0, end-start)
	var off int64
	for _, f := range m.files {
		lo, hi := max(start, off), min(end, off+f.size)
		if lo < hi {
			fh, err := os.Open(filepath.Join(dir, filepath.FromSlash(f.path)))
			if err != nil {
				t.Fatal(err)
			}
			part := make([]byte, hi-lo)
			_, err = fh.ReadAt(part, lo-off)
			fh.Close()
			if err != nil {
				t.Fatalf("piece %d: %s: %v", i, f.path, err)
			}
			buf = append(buf, part...)
		}
		off += f.size
	}
	return sha1.Sum(buf)
}
