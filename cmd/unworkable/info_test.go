package main

// `unworkable info`: every field in the human and the JSON form, checked
// against a torrent made by mktorrent and read by the test's own decoder;
// control characters from a hostile torrent never reach the terminal.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestInfo shows a multi-file torrent with two tiers, a web seed, a comment
// and the private flag, in both forms.
func TestInfo(t *testing.T) {
	requirePrograms(t, "mktorrent")
	dir := t.TempDir()
	makePayload(t, dir, multiFiles)
	torrent := filepath.Join(dir, "x.torrent")
	out, err := exec.Command("mktorrent", "-l", "15", "-p", "-c", "a comment", "-a", "http://t1/announce",
		"-a", "http://t2/announce", "-w", "http://web/seed", "-o", torrent, filepath.Join(dir, "payload")).CombinedOutput()
	if err != nil {
		t.Fatalf("mktorrent: %v\n%s", err, out)
	}
	b, err := os.ReadFile(torrent)
	fatalIf(t, err)
	m, err := parseTorrent(b)
	fatalIf(t, err)

	code, stdout, stderr := runOurs(t, dir, "info", "--json", torrent)
	if code != 0 {
		t.Fatalf("info --json: exit status %d: %s", code, stderr)
	}
	if strings.Count(strings.TrimSpace(stdout), "\n") != 0 {
		t.Errorf("--json: not one line:\n%s", stdout)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	var files []any
	for _, f := range m.files {
		files = append(files, map[string]any{"path": f.path, "size": float64(f.size)})
	}
	want := map[string]any{
		"name": "payload", "info_hash": hexHash(m.hash), "total_size": float64(m.total),
		"piece_length": float64(32768), "pieces": float64(m.pieces), "private": true, "files": files,
		"trackers":  []any{[]any{"http://t1/announce"}, []any{"http://t2/announce"}},
		"web_seeds": []any{"http://web/seed"}, "comment": "a comment", "created_by": got["created_by"],
		"creation_date": got["creation_date"],
		"magnet":        "magnet:?xt=urn:btih:" + hexHash(m.hash) + "&dn=payload&tr=http%3A%2F%2Ft1%2Fannounce&tr=http%3A%2F%2Ft2%2Fannounce",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("--json:\n got %v\nwant %v", got, want)
	}
	if s, _ := got["created_by"].(string); !strings.HasPrefix(s, "mktorrent") {
		t.Errorf("created_by %q", s)
	}
	if d, _ := got["creation_date"].(float64); d < 1e9 {
		t.Errorf("creation_date %v", got["creation_date"])
	}

	code, stdout, stderr = runOurs(t, dir, "info", torrent)
	if code != 0 {
		t.Fatalf("info: exit status %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	col := strings.Index(lines[0], "payload")
	for _, l := range lines[:len(lines)-len(m.files)] { // file sizes are right-aligned
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("value not in column %d: %q", col, l)
		}
	}
	for _, l := range []string{
		"name:          payload",
		"info hash:     " + hexHash(m.hash),
		"total size:    3.3MiB (" + strconv.FormatInt(m.total, 10) + " bytes)",
		"piece length:  32.0KiB (32768 bytes)",
		"pieces:        " + strconv.Itoa(m.pieces),
		"private:       yes",
		"comment:       a comment",
		"trackers:      tier 1: http://t1/announce",
		"               tier 2: http://t2/announce",
		"web seeds:     http://web/seed",
		"files:         5",
		"               3146727  payload/f.bin",
		"                     0  payload/b-empty.bin",
	} {
		if !strings.Contains(stdout, l+"\n") {
			t.Errorf("output lacks %q:\n%s", l, stdout)
		}
	}
}

// TestInfoHostile checks that a comment with an escape sequence is quoted
// in the human form and kept exact in JSON, and that bad torrents exit 3.
func TestInfoHostile(t *testing.T) {
	dir := t.TempDir()
	comment := "evil\x1b[2Jcomment"
	tor := "d7:comment" + strconv.Itoa(len(comment)) + ":" + comment +
		"4:infod6:lengthi5e4:name4:file12:piece lengthi16384e6:pieces20:" + strings.Repeat("x", 20) + "ee"
	p := filepath.Join(dir, "evil.torrent")
	fatalIf(t, os.WriteFile(p, []byte(tor), 0o644))
	code, stdout, stderr := runOurs(t, dir, "info", p)
	if code != 0 || strings.Contains(stdout, "\x1b") || !strings.Contains(stdout, `"evil\x1b[2Jcomment"`) {
		t.Errorf("exit status %d, output %q %s", code, stdout, stderr)
	}
	code, stdout, _ = runOurs(t, dir, "info", "--json", p)
	var got torrentInfo
	if err := json.Unmarshal([]byte(stdout), &got); code != 0 || err != nil || got.Comment != comment || len(got.Files) != 1 ||
		got.Trackers == nil || got.WebSeeds == nil {
		t.Errorf("--json: exit status %d, %v, %+v", code, err, got)
	}
	garbage := filepath.Join(dir, "garbage.torrent")
	fatalIf(t, os.WriteFile(garbage, []byte("d4:infod4:name1:xee"), 0o644))
	for _, args := range [][]string{{"info", garbage}, {"info", "--json", garbage}, {"info", filepath.Join(dir, "missing.torrent")}} {
		if code, stdout, stderr := runOurs(t, dir, args...); code != 3 || stdout != "" || !strings.HasPrefix(stderr, "unworkable: info: ") {
			t.Errorf("%v: exit status %d, stdout %q, stderr %q; want 3 and an error", args, code, stdout, stderr)
		}
	}
	if code, _, _ := runOurs(t, dir, "info"); code != 2 {
		t.Errorf("no torrent: exit status %d, want 2", code)
	}
}
