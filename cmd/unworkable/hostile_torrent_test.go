package main

// Hostile .torrent files run against the binary: each is refused with exit
// 3 and an error line naming the problem, and nothing is created outside
// the output directory. Torrents are built here byte by byte.

import (
	"crypto/sha1"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostileInfo returns a valid single-file info dictionary of 10 bytes, for
// a case to spoil.
func hostileInfo() map[string]any {
	return map[string]any{
		"name": "payload", "length": 10, "piece length": 32768,
		"pieces": strings.Repeat("h", 20),
	}
}

// multi turns info into a multi-file one with the given files entries.
func multi(info map[string]any, files ...any) {
	delete(info, "length")
	info["files"] = files
}

// fileEntry is one files entry with path elements elems.
func fileEntry(length int64, elems ...string) map[string]any {
	p := make([]any, len(elems))
	for i, e := range elems {
		p[i] = e
	}
	return map[string]any{"length": length, "path": p}
}

// torrentOf wraps an info dictionary in a torrent with a dead tracker.
func torrentOf(info map[string]any) []byte {
	return benc(map[string]any{"announce": "http://127.0.0.1:1/announce", "info": info})
}

// TestHostileTorrents runs the binary on every kind of damaged or
// dangerous torrent.
func TestHostileTorrents(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	valid := torrentOf(hostileInfo())
	abs := func(parent string) []string { // parent/escaped as path elements
		return append([]string{""}, strings.Split(strings.TrimPrefix(parent, "/"), "/")...)
	}
	tests := []struct {
		name    string
		make    func(parent string) []byte
		wantErr string
	}{
		{"name dotdot", spoil(func(i map[string]any, _ string) { i["name"] = ".." }), `".." not allowed`},
		{"name dot", spoil(func(i map[string]any, _ string) { i["name"] = "." }), `"." not allowed`},
		{"name dotdot slash", spoil(func(i map[string]any, _ string) { i["name"] = "../escaped" }), "contains '/'"},
		{"name absolute", spoil(func(i map[string]any, p string) { i["name"] = p + "/escaped" }), "contains '/'"},
		{"name backslash", spoil(func(i map[string]any, _ string) { i["name"] = `..\escaped` }), "contains '/'"},
		{"name NUL", spoil(func(i map[string]any, _ string) { i["name"] = "escaped\x00.txt" }), "NUL"},
		{"name.utf-8 dotdot", spoil(func(i map[string]any, _ string) { i["name.utf-8"] = ".." }), `".." not allowed`},
		{"name not UTF-8", spoil(func(i map[string]any, _ string) { i["name"] = "\xff\xfe" }), "not valid UTF-8"},
		{"name escape sequence", spoil(func(i map[string]any, _ string) { i["name"] = "a\x1b]0;pwned\x07" }), "control character"},
		{"path dotdot", spoil(func(i map[string]any, _ string) { multi(i, fileEntry(10, "..", "escaped")) }), `".." not allowed`},
		{"path deep dotdot", spoil(func(i map[string]any, _ string) { multi(i, fileEntry(10, "a", "..", "..", "..", "escaped")) }), `".." not allowed`},
		{"path element with slash", spoil(func(i map[string]any, _ string) { multi(i, fileEntry(10, "../../escaped")) }), "contains '/'"},
		{"path absolute", spoil(func(i map[string]any, p string) { multi(i, fileEntry(10, append(abs(p), "escaped")...)) }), "empty path element"},
		{"path.utf-8 dotdot", spoil(func(i map[string]any, _ string) {
			f := fileEntry(10, "ok")
			f["path.utf-8"] = []any{"..", "escaped"}
			multi(i, f)
		}), `".." not allowed`},
		{"path empty", spoil(func(i map[string]any, _ string) { multi(i, fileEntry(10)) }), "empty path"},
		{"path not UTF-8", spoil(func(i map[string]any, _ string) { multi(i, fileEntry(10, "\xc3\x28")) }), "not valid UTF-8"},
		{"path twice", spoil(func(i map[string]any, _ string) { multi(i, fileEntry(5, "a"), fileEntry(5, "a")) }), "already used"},
		{"length absurd", spoil(func(i map[string]any, _ string) { i["length"] = int64(1) << 62 }), "piece hashes but"},
		{"length negative", spoil(func(i map[string]any, _ string) { i["length"] = -10 }), "negative length"},
		{"length overflow", spoil(func(i map[string]any, _ string) {
			multi(i, fileEntry(math.MaxInt64, "a"), fileEntry(math.MaxInt64, "b"))
		}), "overflows"},
		{"piece length 0", spoil(func(i map[string]any, _ string) { i["piece length"] = 0 }), "piece length 0"},
		{"piece length absurd", spoil(func(i map[string]any, _ string) { i["piece length"] = int64(1) << 40 }), "out of range"},
		{"piece count absurd", spoil(func(i map[string]any, _ string) { i["pieces"] = strings.Repeat("h", 20*500000) }), "500000 piece hashes"},
		{"deep nesting", func(string) []byte {
			return []byte("d4:info" + strings.Repeat("l", 200000) + strings.Repeat("e", 200000) + "e")
		}, "nesting deeper"},
		{"truncated", func(string) []byte { return valid[:len(valid)-3] }, "truncated"},
		{"trailing data", func(string) []byte { return append(append([]byte{}, valid...), "garbage"...) }, "trailing data"},
		{"duplicate key", func(string) []byte {
			return []byte("d4:infod6:lengthi10e4:name1:a4:name2:..12:piece lengthi32768e6:pieces20:" + strings.Repeat("h", 20) + "ee")
		}, `duplicate dictionary key "name"`},
		{"duplicate info", func(string) []byte {
			return []byte("d4:info" + string(benc(hostileInfo())) + "4:info" + string(benc(hostileInfo())) + "e")
		}, `duplicate dictionary key "info"`},
		{"not a dictionary", func(string) []byte { return []byte("l4:infoe") }, "not a dictionary"},
		{"empty file", func(string) []byte { return nil }, "not a dictionary"},
		{"too large", func(string) []byte {
			return append([]byte("d7:comment33554432:"), make([]byte, 32<<20)...)
		}, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := h.newJail(strings.ReplaceAll(tt.name, " ", "-"))
			torrent := filepath.Join(j.parent, "out.torrent")
			if err := os.WriteFile(torrent, tt.make(j.parent), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runOurs(t, h.dir, "-p", "0", "-o", j.out, torrent)
			os.Remove(torrent)
			if code != exitTorrent {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, exitTorrent, stderr)
			}
			if !strings.HasPrefix(stderr, "unworkable: ") || !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr %q: want an error line containing %q", stderr, tt.wantErr)
			}
			if strings.ContainsAny(stderr, "\x1b\x07\x00") {
				t.Errorf("stderr carries control characters: %q", stderr)
			}
			j.check()
			if ents, err := os.ReadDir(j.out); err == nil && len(ents) > 0 {
				t.Errorf("the output directory holds %d entries after a refused torrent", len(ents))
			}
		})
	}
}

// spoil returns a case maker that applies f to a fresh valid info
// dictionary; parent is the jail directory, for absolute paths.
func spoil(f func(info map[string]any, parent string)) func(string) []byte {
	return func(parent string) []byte {
		info := hostileInfo()
		f(info, parent)
		return torrentOf(info)
	}
}

// TestHostileTorrentsAccepted checks the harmless oddities that are
// accepted: keys out of order, and a raw name that is not UTF-8 beside a
// valid name.utf-8 (which is used). The data is already in place, so the
// binary checks it and exits 0 without any peer.
func TestHostileTorrentsAccepted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	data := make([]byte, 40000)
	copy(data, "some payload")
	var pieces []byte
	for off := 0; off < len(data); off += 32768 {
		sum := sha1.Sum(data[off:min(off+32768, len(data))])
		pieces = append(pieces, sum[:]...)
	}
	unsorted := rawBenc("d6:pieces" + string(benc(pieces)) + "4:name8:unsorted12:piece lengthi32768e6:lengthi40000ee")
	utf8Alt := map[string]any{"name": "\xe9t\xe9", "name.utf-8": "été", "piece length": 32768, "length": 40000, "pieces": pieces}
	tests := []struct {
		name, file string
		info       any
	}{
		{"unsorted keys", "unsorted", unsorted},
		{"name.utf-8 beside a raw name", "été", utf8Alt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := h.newJail(strings.ReplaceAll(tt.name, " ", "-"))
			torrent := filepath.Join(j.parent, "x.torrent")
			if err := os.WriteFile(torrent, benc(map[string]any{"info": tt.info}), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(j.out, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(j.out, tt.file), data, 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runOurs(t, h.dir, "-p", "0", "-o", j.out, torrent)
			os.Remove(torrent)
			if code != exitOK {
				t.Fatalf("exit status %d, want 0; stderr:\n%s", code, stderr)
			}
			j.check()
		})
	}
}

// TestPlantedSymlinks plants symbolic links inside the output directory,
// where the torrent's directories and files go, pointing at a victim
// directory beside it. The binary must refuse each with exit 4 and an
// error naming the link, and write nothing through it.
func TestPlantedSymlinks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	info := hostileInfo()
	multi(info, fileEntry(10, "a.bin"), fileEntry(10, "c", "d.bin"))
	torrent := h.path("links.torrent")
	if err := os.WriteFile(torrent, torrentOf(info), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, link, target string // link below out, target relative to the jail
	}{
		{"torrent directory", "payload", "victim"},
		{"inner directory", "payload/c", "victim"},
		{"existing file", "payload/a.bin", "victim/precious"},
		{"dangling file", "payload/c/d.bin", "victim/new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := h.newJail(strings.ReplaceAll(tt.name, " ", "-"))
			victim := filepath.Join(j.parent, "victim")
			if err := os.MkdirAll(victim, 0o755); err != nil {
				t.Fatal(err)
			}
			precious := filepath.Join(victim, "precious")
			if err := os.WriteFile(precious, []byte("precious"), 0o644); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(j.out, filepath.FromSlash(tt.link))
			if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(j.parent, tt.target), link); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runOurs(t, h.dir, "-p", "0", "-o", j.out, torrent)
			if code != exitIO || !strings.Contains(stderr, "symbolic link") {
				t.Errorf("exit status %d, stderr %q: want %d and an error naming the link", code, stderr, exitIO)
			}
			if names := dirNames(t, victim); len(names) != 1 {
				t.Errorf("victim directory holds %q, want only precious", names)
			}
			if b, err := os.ReadFile(precious); err != nil || string(b) != "precious" {
				t.Errorf("victim file now %q (%v)", b, err)
			}
			for _, n := range dirNames(t, j.parent) {
				if n != "out" && n != "victim" {
					t.Errorf("%s appeared outside the output directory", n)
				}
			}
		})
	}
}
