package main

// `unworkable verify`: bad pieces named with the files they touch, missing,
// short, long and symlinked files reported, exit 0 only when complete, and
// nothing on disk created or changed. Most cases run runVerify in this
// process with small work chunks, so that every worker takes part (and -race
// watches them); one runs the binary for the real exit status.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unworkable/unworkable/metainfo"
)

// verifyTorrent writes files below a new src directory, builds a torrent of
// src/<first element of files[0]> with piece length pl and returns src, the
// torrent's path and its metadata as the test's own decoder reads it.
func verifyTorrent(t *testing.T, files []file, pl int64) (src, torrent string, m *meta) {
	t.Helper()
	dir := t.TempDir()
	src = filepath.Join(dir, "src")
	makePayload(t, src, files)
	name, _, _ := cutPath(files[0].path)
	data, err := metainfo.Build(filepath.Join(src, name), metainfo.BuildOptions{PieceLength: pl})
	if err != nil {
		t.Fatal(err)
	}
	torrent = filepath.Join(dir, "v.torrent")
	fatalIf(t, os.WriteFile(torrent, data, 0o644))
	if m, err = parseTorrent(data); err != nil {
		t.Fatal(err)
	}
	return src, torrent, m
}

// smallChunks makes verify workers take 64 KiB at a time for this test.
func smallChunks(t *testing.T) {
	old := chunkBytes
	chunkBytes = 64 << 10
	t.Cleanup(func() { chunkBytes = old })
}

// verifyIn runs "verify args..." in this process.
func verifyIn(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runVerify(args, &out, &errb)
	return code, out.String(), errb.String()
}

// touched lists the non-empty files of m that piece i overlaps, computed
// here independently of the verifier.
func touched(m *meta, i int) []string {
	start, end := int64(i)*m.pieceLen, min(int64(i+1)*m.pieceLen, m.total)
	var out []string
	var off int64
	for _, f := range m.files {
		if f.size > 0 && off < end && off+f.size > start {
			out = append(out, f.path)
		}
		off += f.size
	}
	return out
}

// fileOffset is the offset of path's first byte in m's data.
func fileOffset(t *testing.T, m *meta, path string) int64 {
	var off int64
	for _, f := range m.files {
		if f.path == path {
			return off
		}
		off += f.size
	}
	t.Fatalf("no file %s in the torrent", path)
	return 0
}

// snapshot describes every entry below dir (path, type, size, mtime), to
// check that verify changed nothing.
func snapshot(t *testing.T, dir string) string {
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d %d\n", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// flip inverts the byte at off of the file at path.
func flip(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	fatalIf(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, off)
	fatalIf(t, err)
	b[0] ^= 0xff
	_, err = f.WriteAt(b, off)
	fatalIf(t, err)
}

// moveAside replaces the file or directory at path (below src) by a
// symbolic link to an identical copy outside src.
func moveAside(t *testing.T, src, path string) {
	t.Helper()
	p := filepath.Join(src, filepath.FromSlash(path))
	aside := filepath.Join(filepath.Dir(src), "aside-"+filepath.Base(p))
	fatalIf(t, os.Rename(p, aside))
	fatalIf(t, os.Symlink(aside, p))
}

// TestVerify damages a copy of the multiFiles layout (32 KiB pieces: piece 3
// spans a.bin, the empty b-empty.bin and c.bin) in one way per case and
// checks the JSON report, the human report and the exit status.
func TestVerify(t *testing.T) {
	smallChunks(t)
	type want struct {
		code      int
		badFiles  map[string]string // path -> start of the problem
		bad       []int             // pieces with the wrong hash
		missing   func(m *meta) []int
		humanLine string // a line the human report must hold ("" = none)
	}
	all := func(m *meta) []int { // every piece
		var out []int
		for i := range m.pieces {
			out = append(out, i)
		}
		return out
	}
	// piecesOf are the pieces touching [off, off+n) of m's data.
	piecesOf := func(m *meta, off, n int64) []int {
		var out []int
		for i := off / m.pieceLen; i <= (off+n-1)/m.pieceLen; i++ {
			out = append(out, int(i))
		}
		return out
	}
	tests := []struct {
		name   string
		damage func(t *testing.T, src string, m *meta)
		want   func(m *meta) want
	}{
		{"complete", nil, func(m *meta) want {
			return want{code: 0, humanLine: fmt.Sprintf("payload: %d/%d pieces good, complete", m.pieces, m.pieces)}
		}},
		{"flipped bytes", func(t *testing.T, src string, m *meta) {
			flip(t, filepath.Join(src, "payload/c.bin"), 0)     // piece 3: a.bin and c.bin
			flip(t, filepath.Join(src, "payload/c.bin"), 70000) // piece 5: c.bin only
		}, func(m *meta) want {
			return want{code: 7, bad: []int{3, 5}, humanLine: "piece 5: bad: payload/c.bin"}
		}},
		{"missing file", func(t *testing.T, src string, m *meta) {
			fatalIf(t, os.Remove(filepath.Join(src, "payload/d/e.bin")))
		}, func(m *meta) want {
			return want{code: 7, badFiles: map[string]string{"payload/d/e.bin": "missing"},
				missing:   func(m *meta) []int { return piecesOf(m, fileOffset(t, m, "payload/d/e.bin"), 12345) },
				humanLine: "file payload/d/e.bin: missing"}
		}},
		{"missing empty file", func(t *testing.T, src string, m *meta) {
			fatalIf(t, os.Remove(filepath.Join(src, "payload/b-empty.bin")))
		}, func(m *meta) want {
			return want{code: 7, badFiles: map[string]string{"payload/b-empty.bin": "missing"},
				humanLine: fmt.Sprintf("payload: %d/%d pieces good, incomplete", m.pieces, m.pieces)}
		}},
		{"short file", func(t *testing.T, src string, m *meta) {
			fatalIf(t, os.Truncate(filepath.Join(src, "payload/f.bin"), 1<<20))
		}, func(m *meta) want {
			off := fileOffset(t, m, "payload/f.bin")
			return want{code: 7, badFiles: map[string]string{"payload/f.bin": "wrong size: 1048576 bytes, want 3146727"},
				missing: func(m *meta) []int { return piecesOf(m, off+1<<20, m.total-off-1<<20) }}
		}},
		{"long file", func(t *testing.T, src string, m *meta) {
			f, err := os.OpenFile(filepath.Join(src, "payload/a.bin"), os.O_APPEND|os.O_WRONLY, 0)
			fatalIf(t, err)
			f.Write([]byte("extra"))
			f.Close()
		}, func(m *meta) want {
			return want{code: 7, badFiles: map[string]string{"payload/a.bin": "wrong size: 100005 bytes, want 100000"}}
		}},
		{"symlinked file", func(t *testing.T, src string, m *meta) {
			moveAside(t, src, "payload/c.bin")
		}, func(m *meta) want {
			return want{code: 7, badFiles: map[string]string{"payload/c.bin": "symbolic link"},
				missing: func(m *meta) []int { return piecesOf(m, fileOffset(t, m, "payload/c.bin"), 65536*3+7) }}
		}},
		{"symlinked directory", func(t *testing.T, src string, m *meta) {
			moveAside(t, src, "payload/d")
		}, func(m *meta) want {
			return want{code: 7, badFiles: map[string]string{"payload/d/e.bin": "symbolic link in its path"},
				missing: func(m *meta) []int { return piecesOf(m, fileOffset(t, m, "payload/d/e.bin"), 12345) }}
		}},
		{"fifo instead of a file", func(t *testing.T, src string, m *meta) {
			p := filepath.Join(src, "payload/a.bin")
			fatalIf(t, os.Remove(p))
			fatalIf(t, syscall.Mkfifo(p, 0o644))
		}, func(m *meta) want {
			return want{code: 7, badFiles: map[string]string{"payload/a.bin": "not a regular file"},
				missing: func(m *meta) []int { return piecesOf(m, 0, 100000) }}
		}},
		{"nothing there", func(t *testing.T, src string, m *meta) {
			fatalIf(t, os.RemoveAll(filepath.Join(src, "payload")))
		}, func(m *meta) want {
			bf := map[string]string{}
			for _, f := range m.files {
				bf[f.path] = "missing"
			}
			return want{code: 7, badFiles: bf, missing: all,
				humanLine: fmt.Sprintf("pieces 0-%d: missing: payload/a.bin, payload/c.bin, payload/d/e.bin, payload/f.bin", m.pieces-1)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, torrent, m := verifyTorrent(t, multiFiles, 32<<10)
			checkLayout(t, m)
			if tt.damage != nil {
				tt.damage(t, src, m)
			}
			w := tt.want(m)
			before := snapshot(t, filepath.Dir(src))
			code, stdout, stderr := verifyIn("--json", "-o", src, torrent)
			if code != w.code || stderr != "" {
				t.Errorf("exit status %d, want %d; stderr %q", code, w.code, stderr)
			}
			var r verifyReport
			if err := json.Unmarshal([]byte(stdout), &r); err != nil {
				t.Fatalf("--json output: %v\n%s", err, stdout)
			}
			checkReport(t, m, &r, w.badFiles, w.bad, w.missing)
			if r.Complete != (w.code == 0) || r.Pieces != m.pieces || r.Name != "payload" || r.InfoHash != hexHash(m.hash) {
				t.Errorf("report header: %+v", r)
			}
			code, stdout, _ = verifyIn("-o", src, torrent)
			if code != w.code {
				t.Errorf("without --json: exit status %d, want %d", code, w.code)
			}
			if w.humanLine != "" && !slices.Contains(strings.Split(stdout, "\n"), w.humanLine) {
				t.Errorf("report lacks the line %q:\n%s", w.humanLine, stdout)
			}
			if after := snapshot(t, filepath.Dir(src)); after != before {
				t.Errorf("verify changed the tree:\nbefore:\n%safter:\n%s", before, after)
			}
		})
	}
}

// checkReport compares a report's bad files, bad and missing pieces (each
// with exactly the files it touches) with what the test expects.
func checkReport(t *testing.T, m *meta, r *verifyReport, badFiles map[string]string, bad []int, missing func(*meta) []int) {
	t.Helper()
	if len(r.BadFiles) != len(badFiles) {
		t.Errorf("bad files %+v, want %v", r.BadFiles, badFiles)
	}
	for _, f := range r.BadFiles {
		if want, ok := badFiles[f.Path]; !ok || !strings.HasPrefix(f.Problem, want) {
			t.Errorf("bad file %s: %q, want %q", f.Path, f.Problem, want)
		}
	}
	wantState := map[int]string{}
	for _, i := range bad {
		wantState[i] = "bad"
	}
	if missing != nil {
		for _, i := range missing(m) {
			wantState[i] = "missing"
		}
	}
	if len(r.BadPieces) != len(wantState) || r.Good != m.pieces-len(wantState) {
		t.Errorf("%d bad pieces, %d good; want %d bad (%v)", len(r.BadPieces), r.Good, len(wantState), wantState)
	}
	for _, p := range r.BadPieces {
		if p.State != wantState[p.Index] {
			t.Errorf("piece %d: %q, want %q", p.Index, p.State, wantState[p.Index])
		}
		if want := touched(m, p.Index); !slices.Equal(p.Files, want) {
			t.Errorf("piece %d touches %v, report says %v", p.Index, want, p.Files)
		}
	}
}

// TestVerifyEmptyFiles checks a torrent whose first and last files are
// empty and one whose pieces all lie in one file, complete then damaged.
func TestVerifyEmptyFiles(t *testing.T) {
	smallChunks(t)
	files := []file{{"z/0-first", 0}, {"z/a", 40000}, {"z/b", 0}, {"z/c", 30000}, {"z/zz-last", 0}}
	src, torrent, m := verifyTorrent(t, files, 16<<10)
	if code, stdout, stderr := verifyIn("-o", src, torrent); code != 0 || !strings.Contains(stdout, "z: 5/5 pieces good, complete") {
		t.Fatalf("complete tree: exit status %d\n%s%s", code, stdout, stderr)
	}
	flip(t, filepath.Join(src, "z/c"), 29999) // the last, short piece
	code, stdout, _ := verifyIn("--json", "-o", src, torrent)
	var r verifyReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if code != 7 {
		t.Errorf("exit status %d, want 7", code)
	}
	checkReport(t, m, &r, nil, []int{4}, nil)
}

// TestVerifyLargePieces spreads a bigger single file over the workers with
// several pieces per chunk and damages pieces in different chunks.
func TestVerifyLargePieces(t *testing.T) {
	smallChunks(t)
	src, torrent, m := verifyTorrent(t, []file{{"big.bin", 5<<20 + 3}}, 16<<10)
	for _, i := range []int{0, 77, 200, 320} {
		flip(t, filepath.Join(src, "big.bin"), int64(i)*m.pieceLen+1) // piece 320 is 3 bytes long
	}
	start := time.Now()
	code, stdout, _ := verifyIn("--json", "-o", src, torrent)
	t.Logf("verified %d bytes in %v", m.total, time.Since(start))
	var r verifyReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if code != 7 {
		t.Errorf("exit status %d, want 7", code)
	}
	checkReport(t, m, &r, nil, []int{0, 77, 200, 320}, nil)
}

// TestVerifyCommand runs the binary: exit 0 on a complete tree, 7 with a
// missing file, 3 for a bad torrent, 2 for a bad command line.
func TestVerifyCommand(t *testing.T) {
	src, torrent, m := verifyTorrent(t, multiFiles, 32<<10)
	dir := filepath.Dir(src)
	if code, stdout, stderr := runOurs(t, dir, "verify", "-o", src, torrent); code != 0 {
		t.Fatalf("complete: exit status %d\n%s%s", code, stdout, stderr)
	}
	fatalIf(t, os.Remove(filepath.Join(src, "payload/a.bin")))
	code, stdout, _ := runOurs(t, dir, "verify", "-o", src, torrent)
	if code != 7 || !strings.Contains(stdout, "file payload/a.bin: missing") ||
		!strings.Contains(stdout, fmt.Sprintf("/%d pieces good, incomplete", m.pieces)) {
		t.Errorf("missing file: exit status %d\n%s", code, stdout)
	}
	garbage := filepath.Join(dir, "garbage.torrent")
	fatalIf(t, os.WriteFile(garbage, []byte("d4:infoi1ee"), 0o644))
	if code, _, stderr := runOurs(t, dir, "verify", garbage); code != 3 || !strings.HasPrefix(stderr, "unworkable: verify: ") {
		t.Errorf("bad torrent: exit status %d, stderr %q", code, stderr)
	}
	if code, _, _ := runOurs(t, dir, "verify", torrent, torrent); code != 2 {
		t.Errorf("two torrents: exit status %d, want 2", code)
	}
	nowhere := filepath.Join(dir, "nowhere")
	if code, _, _ := runOurs(t, dir, "verify", "-o", nowhere, torrent); code != 7 {
		t.Errorf("missing directory: exit status %d, want 7", code)
	}
	if _, err := os.Lstat(nowhere); err == nil {
		t.Errorf("verify created %s", nowhere)
	}
}
