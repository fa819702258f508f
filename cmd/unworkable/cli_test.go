package main

// Command-line behaviour of the built binary: help, version, exit codes and
// error lines, and `unworkable create` checked against hashes computed here.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runOurs runs the binary in dir with args and returns its exit status,
// stdout and stderr; it fails the test if the binary runs over 20 s.
func runOurs(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	bin := binary(t) // built before the clock starts
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, dhtDefault(args)...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("unworkable %s: still running after 20 s", strings.Join(args, " "))
	}
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("unworkable %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String(), errb.String()
}

// hasErrorLine reports whether s has a line starting with "unworkable: ".
func hasErrorLine(s string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "unworkable: ") {
			return true
		}
	}
	return false
}

// magnetHex is a well-formed magnet link for TestCLI to spoil.
const magnetHex = "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567"

// TestCLI checks help, version and the exit status of bad command lines
// and bad magnet links.
func TestCLI(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.torrent")
	junk := make([]byte, 4096)
	rand.Read(junk)
	if err := os.WriteFile(garbage, junk, 0o644); err != nil {
		t.Fatal(err)
	}
	noPieces := filepath.Join(dir, "nopieces.torrent")
	if err := os.WriteFile(noPieces, []byte("d4:infod6:lengthi5e4:name1:x12:piece lengthi16384eee"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(freePort(t))
	out := filepath.Join(dir, "out")
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout []string // substrings stdout must contain
		errLine  bool     // stderr must have an "unworkable: " line
	}{
		{"help", []string{"--help"}, 0, []string{"--seed", "--port", "--peer", "--trace"}, false},
		{"short help", []string{"-h"}, 0, []string{"--seed"}, false},
		{"version", []string{"--version"}, 0, []string{"unworkable"}, false},
		{"bad flag", []string{"--no-such-flag", garbage}, 2, nil, false},
		{"no torrent", []string{"-p", port}, 2, nil, false},
		{"two torrents", []string{"-p", port, garbage, garbage}, 2, nil, false},
		{"missing torrent", []string{"-p", port, "-o", out, filepath.Join(dir, "missing.torrent")}, 3, nil, true},
		{"garbage torrent", []string{"-p", port, "-o", out, garbage}, 3, nil, true},
		{"torrent without pieces", []string{"-p", port, "-o", out, noPieces}, 3, nil, true},
		{"create without path", []string{"create", "-o", filepath.Join(dir, "x.torrent")}, 2, nil, false},
		{"help names magnets", []string{"--help"}, 0, []string{"MAGNET", "--save-torrent"}, false},
		{"magnet without hash", []string{"-p", port, "-o", out, "magnet:?dn=x"}, 3, nil, true},
		{"magnet short hash", []string{"-p", port, "-o", out, "magnet:?xt=urn:btih:" + strings.Repeat("a", 39)}, 3, nil, true},
		{"magnet CRLF tracker", []string{"-p", port, "-o", out, magnetHex + "&tr=http://127.0.0.1:1/a%0D%0AHost:x"}, 3, nil, true},
		{"magnet escape in dn", []string{"-p", port, "-o", out, magnetHex + "&dn=%1B%5B2J"}, 3, nil, true},
		{"magnet 10,000 trackers", []string{"-p", port, "-o", out, magnetHex + strings.Repeat("&tr=h://a", 10000)}, 3, nil, true},
		{"magnet v2 only", []string{"-p", port, "-o", out, "magnet:?xt=urn:btmh:1220" + strings.Repeat("ab", 32)}, 3, nil, true},
		{"magnet bad x.pe", []string{"-p", port, "-o", out, magnetHex + "&x.pe=127.0.0.1:0"}, 3, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runOurs(t, dir, tc.args...)
			if code != tc.code {
				t.Errorf("exit status %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			for _, s := range tc.inStdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			if tc.code != 0 && stderr == "" {
				t.Errorf("nothing on stderr")
			}
			if tc.errLine && !hasErrorLine(stderr) {
				t.Errorf("stderr has no \"unworkable: \" line:\n%s", stderr)
			}
		})
	}
}

// TestCreate makes a torrent of multiFiles with `unworkable create` and
// checks its name, files and every piece hash against the data.
func TestCreate(t *testing.T) {
	dir := t.TempDir()
	makePayload(t, dir, multiFiles)
	out := filepath.Join(dir, "made.torrent")
	const plen = 32 << 10
	code, stdout, stderr := runOurs(t, dir, "create", "-a", "http://127.0.0.1:1/announce",
		"-l", strconv.Itoa(plen), "-o", out, filepath.Join(dir, "payload"))
	if code != 0 {
		t.Fatalf("create: exit status %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseTorrent(b)
	if err != nil {
		t.Fatalf("parse the created torrent: %v", err)
	}
	if m.name != "payload" || m.pieceLen != plen {
		t.Errorf("name %q, piece length %d; want payload, %d", m.name, m.pieceLen, plen)
	}
	got := slices.Clone(m.files)
	want := slices.Clone(multiFiles)
	byPath := func(a, b file) int { return strings.Compare(a.path, b.path) }
	slices.SortFunc(got, byPath)
	slices.SortFunc(want, byPath)
	if !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", m.files, multiFiles)
	}
	var all []byte
	for _, f := range m.files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.path)))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	for i := range m.pieces {
		end := min(int64(i+1)*plen, int64(len(all)))
		if h := sha1.Sum(all[int64(i)*plen : end]); string(h[:]) != m.hashes[i*20:i*20+20] {
			t.Fatalf("piece %d: hash does not match the data", i)
		}
	}
	if !bytes.Contains(b, []byte("http://127.0.0.1:1/announce")) {
		t.Errorf("announce URL missing from the torrent")
	}
}
