package main

// Tests of partial data: two instances of ours completing each other, and a
// download killed with SIGKILL then resumed. Both read the trace file:
// `<RFC3339Nano> checked <i>` for a piece found good at start-up and
// `<RFC3339Nano> verified <i>` for a piece downloaded and verified.

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// trace holds the piece events of one trace file.
type trace struct {
	checked  map[int]bool
	verified map[int]bool
}

// readTrace parses the complete lines of a trace file (a missing file is an
// empty trace); a malformed line fails the test.
func readTrace(t *testing.T, path string) *trace {
	t.Helper()
	tr, err := parseTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// parseTrace is readTrace returning its error. A last line without its
// newline is still being written and is ignored.
func parseTrace(path string) (*trace, error) {
	tr := &trace{checked: map[int]bool{}, verified: map[int]bool{}}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return tr, nil
	}
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(b), "\n")
	for n, line := range lines[:len(lines)-1] {
		f := strings.Fields(line)
		if len(f) < 2 {
			return nil, &traceError{path, n + 1, line, "want <timestamp> <event> <args...>"}
		}
		if _, err := time.Parse(time.RFC3339Nano, f[0]); err != nil {
			return nil, &traceError{path, n + 1, line, "timestamp is not RFC 3339"}
		}
		if f[1] != "checked" && f[1] != "verified" {
			continue
		}
		i, err := strconv.Atoi(f[len(f)-1])
		if len(f) != 3 || err != nil || i < 0 {
			return nil, &traceError{path, n + 1, line, "want one piece index"}
		}
		if f[1] == "checked" {
			tr.checked[i] = true
		} else {
			tr.verified[i] = true
		}
	}
	return tr, nil
}

// traceError describes a malformed trace line.
type traceError struct {
	path      string
	n         int
	line, why string
}

func (e *traceError) Error() string {
	return e.path + ":" + strconv.Itoa(e.n) + ": " + e.why + ": " + strconv.Quote(e.line)
}

// pieceSet returns the pieces below n for which keep is true.
func pieceSet(n int, keep func(int) bool) map[int]bool {
	s := map[int]bool{}
	for i := range n {
		if keep(i) {
			s[i] = true
		}
	}
	return s
}

// sameSet reports whether a and b hold the same pieces.
func sameSet(a, b map[int]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !b[i] {
			return false
		}
	}
	return true
}

// waitListen waits until something accepts TCP connections on port.
func (h *harness) waitListen(ctx context.Context, p *proc, port int) {
	h.t.Helper()
	h.poll(ctx, p.name+" to listen on "+strconv.Itoa(port), func() bool {
		h.alive(p)
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// TestTwoInstancesHalves starts A with the even pieces (seeding) and B with
// the odd ones; B dials A, must exit 0 complete, and A must become complete.
func TestTwoInstancesHalves(t *testing.T) {
	h := newHarness(t, "mktorrent")
	ctx := h.deadline(interopTimeout)
	src := h.mkdir("src")
	makePayload(t, src, multiFiles)
	// No tracker: the announce fails and is retried; peers come from --peer.
	m := mktorrent(t, h.path("src", "payload"), "http://127.0.0.1:1/announce", 15, h.path("test.torrent"))
	even := func(i int) bool { return i%2 == 0 }
	odd := func(i int) bool { return i%2 == 1 }
	dirA, dirB := h.mkdir("a"), h.mkdir("b")
	writePieces(t, m, src, dirA, even)
	writePieces(t, m, src, dirB, odd)
	traceA, traceB := h.path("trace-a"), h.path("trace-b")
	h.logs = append(h.logs, traceA, traceB)

	portA := freePort(t)
	a := h.ours("a", "-s", "-p", strconv.Itoa(portA), "-o", dirA, "-t", traceA, h.path("test.torrent"))
	h.waitListen(ctx, a, portA)
	peerA := "127.0.0.1:" + strconv.Itoa(portA)
	b := h.ours("b", "--peer", peerA, "-p", strconv.Itoa(freePort(t)), "-o", dirB, "-t", traceB, h.path("test.torrent"))
	h.expectExit(ctx, b, 0)
	if err := sameData(m, src, dirB); err != nil {
		t.Fatalf("b: %v", err)
	}
	if tb := readTrace(t, traceB); !sameSet(tb.checked, pieceSet(m.pieces, odd)) {
		t.Errorf("b: checked %d pieces at start, want the %d odd ones", len(tb.checked), m.pieces/2)
	}

	// B may exit before A has every odd piece; then a seeding B dials A.
	aDone := func() bool { return complete(m, src, dirA, traceA) }
	if !within(10*time.Second, aDone) {
		t.Logf("a is not complete 10 s after b exited: starting b again with -s")
		b2 := h.ours("b2", "-s", "--peer", peerA, "-p", strconv.Itoa(freePort(t)), "-o", dirB, "-t", h.path("trace-b2"), h.path("test.torrent"))
		h.poll(ctx, "a to complete", aDone)
		b2.signal(syscall.SIGTERM)
		h.expectExit(ctx, b2, 0)
	}
	a.signal(syscall.SIGTERM)
	h.expectExit(ctx, a, 0)
	if err := sameData(m, src, dirA); err != nil {
		t.Fatalf("a: %v", err)
	}
	ta := readTrace(t, traceA)
	if !sameSet(ta.checked, pieceSet(m.pieces, even)) {
		t.Errorf("a: checked %d pieces at start, want the %d even ones", len(ta.checked), (m.pieces+1)/2)
	}
	if !sameSet(ta.verified, pieceSet(m.pieces, odd)) {
		t.Errorf("a: verified %d pieces, want the %d odd ones", len(ta.verified), m.pieces/2)
	}
}

// complete reports whether the trace at path accounts for every piece and
// the data in dst is identical to src.
func complete(m *meta, src, dst, path string) bool {
	tr, err := parseTrace(path)
	if err != nil || len(tr.checked)+len(tr.verified) < m.pieces {
		return false
	}
	return sameData(m, src, dst) == nil
}

// within polls cond every 100 ms for up to d and reports whether it held.
func within(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// resumeFiles is an ~8 MiB two-file payload (257 pieces of 32 KiB).
var resumeFiles = []file{
	{"resume/a.bin", 5<<20 + 123},
	{"resume/b.bin", 3<<20 - 77},
}

// TestKill9Resume kills a download with SIGKILL half way, restarts it on
// the same directory and checks that no piece verified before the kill is
// downloaded again.
func TestKill9Resume(t *testing.T) {
	h := newHarness(t, "aria2c", "opentracker", "mktorrent")
	ctx := h.deadline(interopTimeout)
	sw := h.newSwarm(resumeFiles)
	// 8 MiB at 384 KiB/s: about 25 s in all, so half way is easy to catch.
	seed := h.aria2Seed(sw.torrent, sw.src, "--max-overall-upload-limit=384K")
	h.waitSeeds(ctx, sw, 1, seed)
	dst := h.mkdir("dst")
	trace1, trace2 := h.path("trace1"), h.path("trace2")
	h.logs = append(h.logs, trace1, trace2)

	run1 := h.ours("run1", "-p", strconv.Itoa(freePort(t)), "-o", dst, "-t", trace1, sw.torrent)
	half := sw.meta.pieces / 2
	h.poll(ctx, "half of the pieces verified", func() bool {
		h.alive(run1)
		tr, err := parseTrace(trace1)
		return err == nil && len(tr.verified) >= half
	})
	run1.signal(syscall.SIGKILL)
	<-run1.done
	if run1.code() != -1 {
		t.Fatalf("run1 exited (status %d) before SIGKILL", run1.code())
	}
	t1 := readTrace(t, trace1)

	run2 := h.ours("run2", "-p", strconv.Itoa(freePort(t)), "-o", dst, "-t", trace2, sw.torrent)
	h.expectExit(ctx, run2, 0)
	if err := sameData(sw.meta, sw.src, dst); err != nil {
		t.Fatal(err)
	}
	t2 := readTrace(t, trace2)
	var refetched, unchecked int
	for i := range t1.verified {
		if t2.verified[i] {
			refetched++
		}
		if !t2.checked[i] {
			unchecked++
		}
	}
	t.Logf("%d pieces: run1 verified %d before kill -9; run2 checked %d, verified %d",
		sw.meta.pieces, len(t1.verified), len(t2.checked), len(t2.verified))
	if refetched > 0 || unchecked > 0 {
		t.Errorf("of the %d pieces verified before the kill, %d were downloaded again and %d not checked at start",
			len(t1.verified), refetched, unchecked)
	}
	if n := len(t2.checked) + len(t2.verified); n < sw.meta.pieces {
		t.Errorf("run2 trace accounts for %d pieces, want %d", n, sw.meta.pieces)
	}
}
