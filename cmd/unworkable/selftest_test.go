package main

// Tests of the test helpers themselves (no external program needed), so a
// broken helper cannot make an interop test pass or fail for the wrong reason.

import (
	"crypto/sha1"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestDecoder checks the bencode reader on good and bad input.
func TestDecoder(t *testing.T) {
	tests := []struct {
		in   string
		want any
		bad  bool
	}{
		{in: "i42e", want: int64(42)},
		{in: "i-3e", want: int64(-3)},
		{in: "4:spam", want: "spam"},
		{in: "0:", want: ""},
		{in: "l4:spami1ee", want: []any{"spam", int64(1)}},
		{in: "d3:cow3:moo4:spaml1:a1:bee", want: map[string]any{"cow": "moo", "spam": []any{"a", "b"}}},
		{in: "", bad: true},
		{in: "i12", bad: true},
		{in: "5:abc", bad: true},
		{in: "l4:spam", bad: true},
		{in: "d3:cowe", bad: true},
		{in: "x", bad: true},
		{in: "-1:", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			v, err := (&decoder{b: []byte(tc.in)}).value()
			if tc.bad {
				if err == nil {
					t.Fatalf("decoded %v, want an error", v)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(v, tc.want) {
				t.Fatalf("got %#v, %v; want %#v", v, err, tc.want)
			}
		})
	}
}

// TestParseTorrent checks the info hash (SHA-1 of the raw info value), the
// file list of single- and multi-file torrents, and refusals.
func TestParseTorrent(t *testing.T) {
	pieces := strings.Repeat("x", 40)
	single := "d6:lengthi20000e4:name3:one12:piece lengthi16384e6:pieces40:" + pieces + "e"
	multi := "d5:filesld6:lengthi5e4:pathl1:aeed6:lengthi0e4:pathl3:sub1:beee4:name3:dir12:piece lengthi4e6:pieces40:" + pieces + "e"
	tests := []struct {
		name  string
		info  string
		files []file
		bad   bool
	}{
		{"single", single, []file{{"one", 20000}}, false},
		{"multi", multi, []file{{"dir/a", 5}, {"dir/sub/b", 0}}, false},
		{"wrong piece count", strings.Replace(single, "20000", "40000", 1), nil, true},
		{"no name", strings.Replace(single, "4:name3:one", "", 1), nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseTorrent([]byte("d8:announce3:url4:info" + tc.info + "e"))
			if tc.bad {
				if err == nil {
					t.Fatal("parsed, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.hash != sha1.Sum([]byte(tc.info)) {
				t.Errorf("hash %x, want the SHA-1 of the info value", m.hash)
			}
			if !reflect.DeepEqual(m.files, tc.files) || m.pieces != 2 {
				t.Errorf("files %v, %d pieces; want %v, 2", m.files, m.pieces, tc.files)
			}
		})
	}
}

// TestParseTrace checks piece events, ignored events, a partial last line
// and malformed lines.
func TestParseTrace(t *testing.T) {
	const ts = "2026-11-25T09:40:00.123456789Z"
	tests := []struct {
		name     string
		text     string
		checked  int
		verified int
		bad      bool
	}{
		{"events", ts + " checked 0\n" + ts + " checked 2\n" + ts + " verified 1\n" + ts + " peer 127.0.0.1:1 connected\n", 2, 1, false},
		{"partial last line", ts + " verified 1\n" + ts + " verif", 0, 1, false},
		{"bad timestamp", "yesterday checked 1\n", 0, 0, true},
		{"no index", ts + " checked\n", 0, 0, true},
		{"bad index", ts + " verified x\n", 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "trace")
			if err := os.WriteFile(p, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			tr, err := parseTrace(p)
			if tc.bad {
				if err == nil {
					t.Fatal("parsed, want an error")
				}
				return
			}
			if err != nil || len(tr.checked) != tc.checked || len(tr.verified) != tc.verified {
				t.Fatalf("checked %v verified %v (%v); want %d, %d", tr.checked, tr.verified, err, tc.checked, tc.verified)
			}
		})
	}
}

// TestWritePieces checks that a half copy differs from the source exactly
// in the pieces left out, and that both halves together cover all pieces.
func TestWritePieces(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	makePayload(t, src, multiFiles)
	m := &meta{name: "payload", pieceLen: 32 << 10, files: multiFiles}
	for _, f := range multiFiles {
		m.total += f.size
	}
	m.pieces = int((m.total + m.pieceLen - 1) / m.pieceLen)
	tests := []struct {
		name string
		keep func(int) bool
		same bool
	}{
		{"all", func(int) bool { return true }, true},
		{"even", func(i int) bool { return i%2 == 0 }, false},
		{"all but the last", func(i int) bool { return i != m.pieces-1 }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			writePieces(t, m, src, dst, tc.keep)
			if err := sameData(m, src, dst); (err == nil) != tc.same {
				t.Fatalf("sameData: %v, want same=%v", err, tc.same)
			}
		})
	}
}

// TestCheckLayout makes sure multiFiles covers the cases the download
// tests claim to cover.
func TestCheckLayout(t *testing.T) {
	m := &meta{pieceLen: 32 << 10, files: multiFiles}
	for _, f := range multiFiles {
		m.total += f.size
	}
	checkLayout(t, m)
}
