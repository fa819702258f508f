package main

// Payloads and torrents for the interop tests. Torrents are made by
// mktorrent, not by our own code, and read back with a small bencode decoder
// of the test's own, so the tests depend on no package of ours.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// file is one payload file: its path relative to the download directory
// (it starts with the torrent's name) and its size.
type file struct {
	path string
	size int64
}

// multiFiles is the multi-file layout of the interop downloads: with 32 KiB
// pieces, piece 3 spans a.bin, the empty file and c.bin, and the last piece
// is short. mktorrent sorts by path, so this is also the torrent's order.
var multiFiles = []file{
	{"payload/a.bin", 100000},
	{"payload/b-empty.bin", 0},
	{"payload/c.bin", 65536*3 + 7},
	{"payload/d/e.bin", 12345},
	{"payload/f.bin", 3<<20 + 999},
}

// makePayload writes files of random bytes below parent.
func makePayload(t interface{ Fatal(...any) }, parent string, files []file) {
	for _, f := range files {
		p := filepath.Join(parent, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, f.size)
		rand.Read(b)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// meta is what the tests need to know of a .torrent.
type meta struct {
	hash     [20]byte
	name     string
	pieceLen int64
	pieces   int
	total    int64
	hashes   string // the concatenated SHA-1 of every piece
	files    []file // in torrent order, paths starting with name
}

// mktorrent runs mktorrent on target (a file or directory) with pieces of
// 1<<log2 bytes, writes out and returns its parsed metadata.
func mktorrent(t interface{ Fatalf(string, ...any) }, target, announce string, log2 int, out string) *meta {
	cmd := exec.Command("mktorrent", "-l", strconv.Itoa(log2), "-a", announce, "-o", out, target)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mktorrent: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("mktorrent: %v", err)
	}
	m, err := parseTorrent(b)
	if err != nil {
		t.Fatalf("parse %s: %v", out, err)
	}
	return m
}

// parseTorrent decodes a .torrent: the info hash is the SHA-1 of the info
// value exactly as it appears in the file (BEP 3).
func parseTorrent(b []byte) (*meta, error) {
	d := &decoder{b: b}
	if d.i >= len(b) || b[0] != 'd' {
		return nil, errors.New("not a dictionary")
	}
	d.i++
	var info map[string]any
	for d.i < len(b) && b[d.i] != 'e' {
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		start := d.i
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		if k == "info" {
			info, _ = v.(map[string]any)
			m, err := infoMeta(info)
			if err != nil {
				return nil, err
			}
			m.hash = sha1.Sum(b[start:d.i])
			return m, nil
		}
	}
	return nil, errors.New("no info dictionary")
}

// infoMeta reads name, piece length, pieces and files from an info dict.
func infoMeta(info map[string]any) (*meta, error) {
	name, _ := info["name"].(string)
	plen, _ := info["piece length"].(int64)
	pieces, _ := info["pieces"].(string)
	if name == "" || plen <= 0 || len(pieces)%20 != 0 {
		return nil, errors.New("bad info dictionary")
	}
	m := &meta{name: name, pieceLen: plen, pieces: len(pieces) / 20, hashes: pieces}
	if n, ok := info["length"].(int64); ok {
		m.files = []file{{name, n}}
	}
	list, _ := info["files"].([]any)
	for _, x := range list {
		fd, _ := x.(map[string]any)
		n, _ := fd["length"].(int64)
		elems, _ := fd["path"].([]any)
		p := name
		for _, e := range elems {
			s, _ := e.(string)
			p += "/" + s
		}
		m.files = append(m.files, file{p, n})
	}
	for _, f := range m.files {
		m.total += f.size
	}
	if want := (m.total + plen - 1) / plen; int64(m.pieces) != want {
		return nil, fmt.Errorf("%d piece hashes for %d bytes", m.pieces, m.total)
	}
	return m, nil
}

// decoder is a minimal bencode reader: int64, string, []any, map[string]any.
type decoder struct {
	b []byte
	i int
}

// value decodes the next value.
func (d *decoder) value() (any, error) {
	if d.i >= len(d.b) {
		return nil, errors.New("bencode: truncated")
	}
	switch c := d.b[d.i]; {
	case c == 'i':
		end := bytes.IndexByte(d.b[d.i:], 'e')
		if end < 0 {
			return nil, errors.New("bencode: unterminated integer")
		}
		n, err := strconv.ParseInt(string(d.b[d.i+1:d.i+end]), 10, 64)
		d.i += end + 1
		return n, err
	case c == 'l':
		return d.list()
	case c == 'd':
		return d.dict()
	case c >= '0' && c <= '9':
		return d.str()
	default:
		return nil, fmt.Errorf("bencode: bad byte %q at %d", c, d.i)
	}
}

// str decodes a length-prefixed string.
func (d *decoder) str() (string, error) {
	colon := bytes.IndexByte(d.b[d.i:], ':')
	if colon < 0 {
		return "", errors.New("bencode: bad string")
	}
	n, err := strconv.Atoi(string(d.b[d.i : d.i+colon]))
	start := d.i + colon + 1
	if err != nil || n < 0 || n > len(d.b)-start {
		return "", errors.New("bencode: bad string length")
	}
	d.i = start + n
	return string(d.b[start:d.i]), nil
}

// list decodes a list.
func (d *decoder) list() ([]any, error) {
	d.i++
	l := []any{}
	for d.i < len(d.b) && d.b[d.i] != 'e' {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
	if d.i >= len(d.b) {
		return nil, errors.New("bencode: unterminated list")
	}
	d.i++
	return l, nil
}

// dict decodes a dictionary.
func (d *decoder) dict() (map[string]any, error) {
	d.i++
	m := map[string]any{}
	for d.i < len(d.b) && d.b[d.i] != 'e' {
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		if m[k], err = d.value(); err != nil {
			return nil, err
		}
	}
	if d.i >= len(d.b) {
		return nil, errors.New("bencode: unterminated dictionary")
	}
	d.i++
	return m, nil
}

// writePieces copies into dst the bytes of src's files that belong to the
// pieces for which keep is true; every other byte is zero. Files get their
// full size, so the client finds some pieces good and others to fetch.
func writePieces(t interface{ Fatal(...any) }, m *meta, src, dst string, keep func(int) bool) {
	var off int64
	for _, f := range m.files {
		b, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(f.path)))
		if err != nil {
			t.Fatal(err)
		}
		for j := range b {
			if !keep(int((off + int64(j)) / m.pieceLen)) {
				b[j] = 0
			}
		}
		p := filepath.Join(dst, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		off += f.size
	}
}

// sameData compares every file of m below src and dst byte for byte and
// describes the first difference.
func sameData(m *meta, src, dst string) error {
	var off int64
	for _, f := range m.files {
		want, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(f.path)))
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(f.path)))
		if err != nil {
			return err
		}
		if len(got) != len(want) {
			return fmt.Errorf("%s: %d bytes, want %d", f.path, len(got), len(want))
		}
		for j := range want {
			if got[j] != want[j] {
				return fmt.Errorf("%s: differs at byte %d (piece %d)", f.path, j, (off+int64(j))/m.pieceLen)
			}
		}
		off += f.size
	}
	return nil
}
