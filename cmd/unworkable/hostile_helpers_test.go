package main

// Helpers of the hostile-input suite (hostile_*_test.go, faults_test.go,
// memory_test.go): a bencode encoder for hand-made torrents and tracker
// replies, a "jail" that proves nothing was created outside the output
// directory, a good seeder (our own binary with -s), trace queries, and
// in-test peers that speak just enough of the wire protocol.

import (
	"bytes"
	"context"
	"crypto/rand"
	be "encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// rawBenc is bencode inserted as is: for duplicate or unsorted keys.
type rawBenc string

// benc encodes v: string, []byte, int, int64, []any, map[string]any (keys
// sorted, as BEP 3 wants) or rawBenc.
func benc(v any) []byte {
	var b bytes.Buffer
	bencTo(&b, v)
	return b.Bytes()
}

func bencTo(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case rawBenc:
		b.WriteString(string(x))
	case string:
		fmt.Fprintf(b, "%d:%s", len(x), x)
	case []byte:
		fmt.Fprintf(b, "%d:%s", len(x), x)
	case int:
		fmt.Fprintf(b, "i%de", x)
	case int64:
		fmt.Fprintf(b, "i%de", x)
	case []any:
		b.WriteByte('l')
		for _, e := range x {
			bencTo(b, e)
		}
		b.WriteByte('e')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('d')
		for _, k := range keys {
			bencTo(b, k)
			bencTo(b, x[k])
		}
		b.WriteByte('e')
	default:
		panic(fmt.Sprintf("benc: %T", v))
	}
}

// jail is a directory holding only the output directory out; after a run,
// check proves nothing appeared beside out (a path that escaped the output
// directory by one level or more lands there, or further up in h.dir,
// which check also watches).
type jail struct {
	parent, out string
	before      []string // h.dir's entries before the run
	h           *harness
}

// newJail makes h.dir/name/ with out = h.dir/name/out (not yet created).
func (h *harness) newJail(name string) *jail {
	h.t.Helper()
	j := &jail{parent: h.mkdir(name), h: h}
	j.out = filepath.Join(j.parent, "out")
	j.before = dirNames(h.t, h.dir)
	return j
}

// check fails the test if anything but out exists in the jail, or if h.dir
// gained entries other than logs and traces.
func (j *jail) check() {
	t := j.h.t
	t.Helper()
	for _, n := range dirNames(t, j.parent) {
		if n != "out" {
			t.Errorf("%s appeared outside the output directory", filepath.Join(j.parent, n))
		}
	}
	for _, n := range dirNames(t, j.h.dir) {
		if !slices.Contains(j.before, n) && !strings.HasSuffix(n, ".log") && !strings.HasPrefix(n, "trace") {
			t.Errorf("%s appeared in the test directory", filepath.Join(j.h.dir, n))
		}
	}
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// smallSwarm writes a multi-file payload of about size bytes below
// h.dir/src and makes a torrent of it with 32 KiB pieces announcing to
// announce. It returns the source directory and the torrent's path.
func (h *harness) smallSwarm(size int64, announce string) (src, torrent string, m *meta) {
	h.t.Helper()
	src = h.mkdir("src")
	files := []file{
		{"payload/a.bin", size / 3},
		{"payload/b.bin", size - size/3 - 1000},
		{"payload/c/d.bin", 1000},
	}
	makePayload(h.t, src, files)
	torrent = h.path("test.torrent")
	m = mktorrent(h.t, filepath.Join(src, "payload"), announce, 15, torrent)
	return src, torrent, m
}

// goodSeed starts our binary seeding the complete data in dir and waits
// until it listens; it returns its "127.0.0.1:port".
func (h *harness) goodSeed(ctx context.Context, torrent, dir string, extra ...string) (string, *proc) {
	h.t.Helper()
	return h.goodSeedAt(ctx, freePort(h.t), torrent, dir, extra...)
}

// goodSeedAt is goodSeed on a given port.
func (h *harness) goodSeedAt(ctx context.Context, port int, torrent, dir string, extra ...string) (string, *proc) {
	h.t.Helper()
	trace := h.path(fmt.Sprintf("trace-seed-%d", port))
	h.logs = append(h.logs, trace)
	args := append([]string{"-s", "-p", strconv.Itoa(port), "-o", dir, "-t", trace}, extra...)
	p := h.ours("seed", append(args, torrent)...)
	h.waitListen(ctx, p, port)
	return "127.0.0.1:" + strconv.Itoa(port), p
}

// traceLines returns the lines of a trace file whose event word (the field
// after the timestamp) is word.
func traceLines(path, word string) []string {
	b, _ := os.ReadFile(path)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 1 && f[1] == word {
			out = append(out, l)
		}
	}
	return out
}

// traceHas reports whether the trace file holds a line containing s.
func traceHas(path, s string) bool {
	b, _ := os.ReadFile(path)
	return bytes.Contains(b, []byte(s))
}

// handshakeBytes returns a BEP 3 handshake with the fast bit set.
func handshakeBytes(hash, id [20]byte) []byte {
	b := []byte("\x13BitTorrent protocol")
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0x04)
	b = append(b, hash[:]...)
	return append(b, id[:]...)
}

// randomID returns a printable random peer id with prefix.
func randomID(prefix string) [20]byte {
	var id [20]byte
	n := copy(id[:], prefix)
	copy(id[n:], rand.Text())
	return id
}

// msg returns one wire frame: length prefix, id, payload.
func msg(id byte, payload ...[]byte) []byte {
	n := 1
	for _, p := range payload {
		n += len(p)
	}
	b := be.BigEndian.AppendUint32(nil, uint32(n))
	b = append(b, id)
	for _, p := range payload {
		b = append(b, p...)
	}
	return b
}

// u32 is a big-endian uint32.
func u32(v uint32) []byte { return be.BigEndian.AppendUint32(nil, v) }

// readFrames reads and discards frames from r until it fails; it returns
// how many it read. For fake peers that must keep reading so that the
// client's writer never blocks.
func readFrames(r io.Reader) int {
	var n int
	var head [4]byte
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return n
		}
		if _, err := io.CopyN(io.Discard, r, int64(be.BigEndian.Uint32(head[:]))); err != nil {
			return n
		}
		n++
	}
}
