package storage

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

var pg = int64(unix.Getpagesize())

// openStore opens a store under dir and closes it when the test ends.
func openStore(t *testing.T, dir string, files []File, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, files, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// pattern returns n bytes that differ with seed and position.
func pattern(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// checkFiles reads every file from disk with os.ReadFile and compares it
// with its slice of the concatenation want.
func checkFiles(t *testing.T, dir string, files []File, want []byte) {
	t.Helper()
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		if !bytes.Equal(got, want[:f.Length]) {
			t.Errorf("%s: on disk differs from what was written (%d bytes, want %d)", f.Path, len(got), f.Length)
		}
		want = want[f.Length:]
	}
}

// unalignedFiles are sized so that windows of two pages end mid-file and
// files end mid-page.
func unalignedFiles() []File {
	return []File{{"a.bin", 3*pg + 5}, {"sub/b.bin", pg + 1}, {"sub/empty", 0}, {"sub/deep/c.bin", 2*pg + 7}}
}

// TestWriteAtUnaligned writes ranges that cut pages, windows and files,
// with WriteAt and with WriteBlocks (the range cut into odd blocks).
func TestWriteAtUnaligned(t *testing.T) {
	t.Run("WriteAt", func(t *testing.T) { testWriteUnaligned(t, (*Store).WriteAt) })
	t.Run("WriteBlocks", func(t *testing.T) {
		testWriteUnaligned(t, func(s *Store, p []byte, off int64) error {
			return s.WriteBlocks(cut(p, 7), off)
		})
	})
}

// cut splits p into blocks of n bytes (the last shorter), with an empty
// block first and one in the middle.
func cut(p []byte, n int) [][]byte {
	blocks := [][]byte{{}}
	for len(p) > 0 {
		k := min(n, len(p))
		blocks = append(blocks, p[:k])
		if len(blocks) == 3 {
			blocks = append(blocks, nil)
		}
		p = p[k:]
	}
	return blocks
}

func testWriteUnaligned(t *testing.T, write func(s *Store, p []byte, off int64) error) {
	files := unalignedFiles()
	lenA := files[0].Length
	tests := []struct {
		name   string
		off, n int64
	}{
		{"page minus one", pg - 1, 2},
		{"page plus one", pg + 1, pg},
		{"first byte", 0, 1},
		{"across window boundary", 2*pg - 3, 6},
		{"across files", lenA - 2, 5},
		{"across the empty file", lenA + pg - 1, 3},
		{"last byte", 6*pg + 12, 1},
		{"everything", 0, 6*pg + 13},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, files, Options{WindowSize: 2 * pg, MaxWindows: 1})
			want := make([]byte, s.Len())
			p := pattern(int(tt.n), uint64(i))
			copy(want[tt.off:], p)
			if err := write(s, p, tt.off); err != nil {
				t.Fatalf("write(%d, %d): %v", tt.off, tt.n, err)
			}
			checkFiles(t, dir, files, want)
			got := make([]byte, tt.n)
			if err := s.ReadAt(got, tt.off); err != nil {
				t.Fatalf("ReadAt: %v", err)
			}
			if !bytes.Equal(got, p) {
				t.Errorf("ReadAt after WriteAt differs")
			}
		})
	}
}

func TestReadAtAfterWriteAt(t *testing.T) {
	files := unalignedFiles()
	dir := t.TempDir()
	s := openStore(t, dir, files, Options{WindowSize: pg, MaxWindows: 2})
	want := pattern(int(s.Len()), 7)
	// Write in odd-sized blocks, back to front, so windows are evicted.
	const bs = 1000
	for off := (s.Len() - 1) / bs * bs; off >= 0; off -= bs {
		end := min(off+bs, s.Len())
		if err := s.WriteAt(want[off:end], off); err != nil {
			t.Fatalf("WriteAt(%d): %v", off, err)
		}
	}
	got := make([]byte, s.Len())
	if err := s.ReadAt(got, 0); err != nil {
		t.Fatalf("ReadAt: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("ReadAt of everything differs from what was written")
	}
	checkFiles(t, dir, files, want)
	if n := len(s.win.table); n > 2 {
		t.Errorf("%d windows mapped, want at most 2", n)
	}
}

func TestRangeErrors(t *testing.T) {
	s := openStore(t, t.TempDir(), []File{{"a", 100}, {"b", 50}}, Options{})
	tests := []struct {
		name string
		off  int64
		n    int
	}{
		{"negative offset", -1, 1},
		{"past the end", 151, 0},
		{"crossing the end", 140, 11},
		{"huge offset", math.MaxInt64, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := make([]byte, tt.n)
			if err := s.ReadAt(p, tt.off); err == nil {
				t.Errorf("ReadAt(%d, %d) succeeded", tt.off, tt.n)
			}
			if err := s.WriteAt(p, tt.off); err == nil {
				t.Errorf("WriteAt(%d, %d) succeeded", tt.off, tt.n)
			}
			if err := s.Sync(tt.off, int64(tt.n)); err == nil {
				t.Errorf("Sync(%d, %d) succeeded", tt.off, tt.n)
			}
		})
	}
	if err := s.ReadAt(nil, 150); err != nil {
		t.Errorf("empty read at the end: %v", err)
	}
}

func TestConcurrent(t *testing.T) {
	files := []File{{"a", 37 * pg}, {"b", 0}, {"c", 21*pg + 333}}
	dir := t.TempDir()
	s := openStore(t, dir, files, Options{WindowSize: 2 * pg, MaxWindows: 2})
	want := pattern(int(s.Len()), 99)
	const bs, workers = 3001, 6
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for w := range workers {
		wg.Go(func() { // writer w owns blocks w, w+workers, ...
			for off := int64(w * bs); off < s.Len(); off += workers * bs {
				end := min(off+bs, s.Len())
				if err := s.WriteAt(want[off:end], off); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() { // reader hits random ranges while writes go on
			r := rand.New(rand.NewPCG(uint64(w), 1))
			buf := make([]byte, 2*bs)
			for range 200 {
				off := r.Int64N(s.Len() - int64(len(buf)))
				if err := s.ReadAt(buf, off); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := make([]byte, s.Len())
	if err := s.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("data after concurrent writes differs")
	}
	checkFiles(t, dir, files, want)
}

func TestSync(t *testing.T) {
	files := unalignedFiles()
	s := openStore(t, t.TempDir(), files, Options{WindowSize: pg, MaxWindows: 2})
	data := pattern(int(s.Len()), 3)
	if err := s.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		off, n int64
	}{
		{"unaligned span across files", files[0].Length - 10, pg + 20},
		{"mapped tail", s.Len() - 5, 5},
		{"unmapped head", 0, pg - 1},
		{"everything", 0, s.Len()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Sync(tt.off, tt.n); err != nil {
				t.Errorf("Sync(%d, %d): %v", tt.off, tt.n, err)
			}
		})
	}
	if err := s.SyncAll(); err != nil {
		t.Errorf("SyncAll: %v", err)
	}
}

func TestStat(t *testing.T) {
	dir := t.TempDir()
	files := unalignedFiles()
	s := openStore(t, dir, files, Options{})
	st, err := s.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != len(files) {
		t.Fatalf("Stat returned %d entries, want %d", len(st), len(files))
	}
	for i, f := range files {
		fi, err := os.Stat(filepath.Join(dir, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if st[i].Size != f.Length || st[i].ModTime != fi.ModTime().UnixNano() {
			t.Errorf("%s: Stat = %+v, want size %d mtime %d", f.Path, st[i], f.Length, fi.ModTime().UnixNano())
		}
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	files := []File{{"a", 10}}
	s, err := Open(dir, files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteAt([]byte("0123456789"), 0); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := s.Close(); err != nil {
			t.Errorf("Close #%d: %v", i+1, err)
		}
	}
	if err := s.ReadAt(make([]byte, 1), 0); err == nil {
		t.Errorf("ReadAt after Close succeeded")
	}
	if _, err := s.Stat(); err == nil {
		t.Errorf("Stat after Close succeeded")
	}
	// The lock is gone and the data stayed.
	s2 := openStore(t, dir, files, Options{})
	got := make([]byte, 10)
	if err := s2.ReadAt(got, 0); err != nil || string(got) != "0123456789" {
		t.Errorf("reopened: %q, %v", got, err)
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"defaults", Options{}, true},
		{"one page", Options{WindowSize: pg, MaxWindows: 1}, true},
		{"not page multiple", Options{WindowSize: pg + 1}, false},
		{"negative size", Options{WindowSize: -pg}, false},
		{"negative count", Options{MaxWindows: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.TempDir(), []File{{"a", 1}}, tt.opts)
			if (err == nil) != tt.ok {
				t.Fatalf("Open with %+v: err = %v, want ok %v", tt.opts, err, tt.ok)
			}
			if s != nil {
				s.Close()
			}
		})
	}
}
