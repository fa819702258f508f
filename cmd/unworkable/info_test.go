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

// TestInfoMagnet shows what a magnet link says, without any network, in
// both forms: a link with every key, and a bare one.
func TestInfoMagnet(t *testing.T) {
	dir := t.TempDir()
	const hash = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
	link := "magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK&dn=Some+Name%20(2024)" +
		"&tr=udp%3A%2F%2Ft1.example%3A1337%2Fannounce&tr=http://t2.example/announce&tr=http://t2.example/announce" +
		"&ws=http://seed.example/d/&x.pe=10.0.0.1:6881&x.pe=%5B::1%5D:6881&so=0,2,4-6&xl=123&kt=x"
	canonical := "magnet:?xt=urn:btih:" + hash + "&dn=Some+Name+%282024%29" +
		"&tr=udp%3A%2F%2Ft1.example%3A1337%2Fannounce&tr=http%3A%2F%2Ft2.example%2Fannounce" +
		"&ws=http%3A%2F%2Fseed.example%2Fd%2F&x.pe=10.0.0.1%3A6881&x.pe=%5B%3A%3A1%5D%3A6881&so=0,2,4-6"

	code, stdout, stderr := runOurs(t, dir, "info", "--json", link)
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
	want := map[string]any{
		"name": "Some Name (2024)", "info_hash": hash, "magnet": canonical,
		"trackers":  []any{[]any{"udp://t1.example:1337/announce"}, []any{"http://t2.example/announce"}},
		"web_seeds": []any{"http://seed.example/d/"}, "peers": []any{"10.0.0.1:6881", "[::1]:6881"},
		"select":   []any{[]any{0.0, 0.0}, []any{2.0, 2.0}, []any{4.0, 6.0}},
		"metadata": false,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("--json:\n got %v\nwant %v", got, want)
	}

	code, stdout, stderr = runOurs(t, dir, "info", link)
	if code != 0 {
		t.Fatalf("info: exit status %d: %s", code, stderr)
	}
	wantText := "" +
		"name:          Some Name (2024)\n" +
		"info hash:     " + hash + "\n" +
		"magnet:        " + canonical + "\n" +
		"trackers:      tier 1: udp://t1.example:1337/announce\n" +
		"               tier 2: http://t2.example/announce\n" +
		"web seeds:     http://seed.example/d/\n" +
		"peers:         10.0.0.1:6881\n" +
		"               [::1]:6881\n" +
		"select:        0,2,4-6\n"
	if stdout != wantText {
		t.Errorf("text form:\n got %q\nwant %q", stdout, wantText)
	}

	bare := "MAGNET:?xt=urn:btih:" + strings.ToUpper(hash)
	code, stdout, stderr = runOurs(t, dir, "info", bare)
	wantText = "" +
		"name:          (unknown until the metadata arrives)\n" +
		"info hash:     " + hash + "\n" +
		"magnet:        magnet:?xt=urn:btih:" + hash + "\n" +
		"trackers:      none\n"
	if code != 0 || stdout != wantText {
		t.Errorf("bare link: exit status %d, stderr %q\n got %q\nwant %q", code, stderr, stdout, wantText)
	}
	code, stdout, stderr = runOurs(t, dir, "info", "--json", bare)
	want = map[string]any{"info_hash": hash, "magnet": "magnet:?xt=urn:btih:" + hash,
		"trackers": []any{}, "web_seeds": []any{}, "peers": []any{}, "metadata": false}
	got = nil
	if err := json.Unmarshal([]byte(stdout), &got); code != 0 || err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("bare link --json: exit status %d, %v, stderr %q\n got %v\nwant %v", code, err, stderr, got, want)
	}

	code, stdout, _ = runOurs(t, dir, "info", "--help")
	if code != 0 || !strings.Contains(stdout, "unworkable info [--json] FILE.torrent|MAGNET") {
		t.Errorf("--help: exit status %d:\n%s", code, stdout)
	}
}

// TestInfoMagnetHostile checks that a name with a non-printable character
// is quoted in the text form and exact in JSON, and that bad links (control
// characters included) exit 3 with an error that reaches the terminal
// without them.
func TestInfoMagnetHostile(t *testing.T) {
	dir := t.TempDir()
	const hash = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
	link := "magnet:?xt=urn:btih:" + hash + "&dn=%E2%80%AEgpj.exe" // U+202E turns the text around
	code, stdout, stderr := runOurs(t, dir, "info", link)
	if code != 0 || strings.Contains(stdout, "\u202e") || !strings.Contains(stdout, `name:          "\u202egpj.exe"`) {
		t.Errorf("exit status %d, stderr %q, output %q", code, stderr, stdout)
	}
	code, stdout, _ = runOurs(t, dir, "info", "--json", link)
	var got magnetInfo
	if err := json.Unmarshal([]byte(stdout), &got); code != 0 || err != nil || got.Name != "\u202egpj.exe" {
		t.Errorf("--json: exit status %d, %v, %+v", code, err, got)
	}

	for _, tt := range []struct{ name, link, want string }{
		{"ESC in dn", "magnet:?xt=urn:btih:" + hash + "&dn=%1B%5B2J", "dn: \"\\x1b[2J\" holds control character U+001B"},
		{"CRLF in tr", "magnet:?xt=urn:btih:" + hash + "&tr=http://t/%0D%0AHost:+x", "holds control character U+000D"},
		{"raw ESC in dn", "magnet:?xt=urn:btih:" + hash + "&dn=\x1b[2J", "holds control character U+001B"},
		{"short hash", "magnet:?xt=urn:btih:" + hash[:39], "info hash: 39 characters, want 40 hex or 32 base32"},
		{"btmh only", "magnet:?xt=urn:btmh:1220" + strings.Repeat("ab", 32), "v2-only magnet links (urn:btmh) are not supported"},
		{"no xt", "magnet:?dn=x", "no info hash"},
		{"no ?", "magnet:xt=urn:btih:" + hash, "not a magnet URI"},
		{"bad peer", "magnet:?xt=urn:btih:" + hash + "&x.pe=10.0.0.1:0", "port \"0\" not in 1-65535"},
		{"bad select", "magnet:?xt=urn:btih:" + hash + "&so=3-1", "so: range \"3-1\": 3 is after 1"},
	} {
		for _, args := range [][]string{{"info", tt.link}, {"info", "--json", tt.link}} {
			code, stdout, stderr := runOurs(t, dir, args...)
			if code != 3 || stdout != "" || !strings.HasPrefix(stderr, "unworkable: info: metainfo: magnet: ") ||
				!strings.Contains(stderr, tt.want) || strings.ContainsAny(stderr, "\x1b\r") ||
				strings.Count(stderr, "\n") != 1 {
				t.Errorf("%s %v: exit status %d, stdout %q, stderr %q; want 3 and an error with %q",
					tt.name, args[:len(args)-1], code, stdout, stderr, tt.want)
			}
		}
	}
}
