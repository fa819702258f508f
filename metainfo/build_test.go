package metainfo

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestBuildMatchesMktorrent builds the same input with Build and mktorrent
// and compares the info dictionaries byte for byte, hence the info hashes.
func TestBuildMatchesMktorrent(t *testing.T) {
	tree := map[string]int{
		"a-b.txt": 5000, "a/x.bin": 70000, "a/y/z.txt": 0, "b.bin": 65536,
		"c/d/e/f.dat": 1, "Z.txt": 123, "a.b": 777,
	}
	tests := []struct {
		name    string
		files   map[string]int
		single  bool
		log2    int
		private bool
	}{
		{"single short last piece", map[string]int{"f.bin": 100000}, true, 15, false},
		{"single exact pieces", map[string]int{"f.bin": 65536}, true, 15, false},
		{"single private", map[string]int{"f.bin": 1000}, true, 16, true},
		{"tree 32k", tree, false, 15, false},
		{"tree 64k private", tree, false, 16, true},
		{"one file dir", map[string]int{"only.txt": 40000}, false, 15, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "tree"+strconv.Itoa(i))
			writeFiles(t, dir, tt.files, int64(i))
			root := dir
			if tt.single {
				root = filepath.Join(dir, "f.bin")
			}
			args := []string{"-l", strconv.Itoa(tt.log2), "-a", "http://x/announce"}
			if tt.private {
				args = append(args, "-p")
			}
			want, err := Parse(mktorrent(t, append(args, root)...))
			if err != nil {
				t.Fatalf("parse mktorrent output: %v", err)
			}
			data, err := Build(root, BuildOptions{PieceLength: 1 << tt.log2, Private: tt.private,
				Announce: [][]string{{"http://x/announce"}}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(data)
			if err != nil {
				t.Fatalf("parse Build output: %v", err)
			}
			if got.InfoHash != want.InfoHash || !bytes.Equal(got.InfoBytes, want.InfoBytes) {
				t.Errorf("info differs from mktorrent's:\n got %q\nwant %q", got.InfoBytes, want.InfoBytes)
			}
		})
	}
}

// TestBuildRoundTrip builds a tree with a piece length that makes pieces
// cross files, parses the result and checks files, order, every piece hash
// and the top-level keys.
func TestBuildRoundTrip(t *testing.T) {
	tree := map[string]int{"a-b": 3000, "a/x": 2500, "a/y/z": 0, "b": 1, "é": 4096, "a0": 999}
	tests := []struct {
		name     string
		pieceLen int64
		opts     BuildOptions
		trackers [][]string
		announce string
	}{
		{"no trackers", 1000, BuildOptions{}, nil, ""},
		{"one tracker", 4096, BuildOptions{Announce: [][]string{{"", "http://a/"}, {}}}, [][]string{{"http://a/"}}, "http://a/"},
		{"tiers", 333, BuildOptions{Announce: [][]string{{"http://a/", "http://b/"}, {"udp://c:1"}},
			URLList: []string{"http://w/"}, Private: true, Comment: "c", CreatedBy: "me", CreationDate: 42},
			[][]string{{"http://a/", "http://b/"}, {"udp://c:1"}}, "http://a/"},
		{"auto piece length", 0, BuildOptions{}, nil, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			contents := writeFiles(t, root, tree, int64(i))
			opts := tt.opts
			opts.PieceLength = tt.pieceLen
			data, err := Build(root, opts)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for name := range contents {
				names = append(names, name)
			}
			sort.Strings(names)
			var all []byte
			var got []string
			for _, f := range m.Info.Files {
				got = append(got, strings.Join(f.Path[1:], "/"))
				if f.Path[0] != "root" || f.Length != int64(len(contents[strings.Join(f.Path[1:], "/")])) {
					t.Errorf("file %q length %d", f.Path, f.Length)
				}
			}
			for _, name := range names {
				all = append(all, contents[name]...)
			}
			if !reflect.DeepEqual(got, names) {
				t.Errorf("files %q, want %q", got, names)
			}
			wantLen := tt.pieceLen
			if wantLen == 0 {
				wantLen = AutoPieceLength(int64(len(all)))
			}
			if m.Info.PieceLength != wantLen || m.Info.Private != tt.opts.Private || !m.Info.MultiFile {
				t.Errorf("piece length %d private %v", m.Info.PieceLength, m.Info.Private)
			}
			checkPieces(t, &m.Info, all)
			if !reflect.DeepEqual(m.Trackers(), tt.trackers) || m.Announce != tt.announce {
				t.Errorf("announce %q trackers %q, want %q %q", m.Announce, m.Trackers(), tt.announce, tt.trackers)
			}
			if hasList := bytes.Contains(data, []byte("announce-list")); hasList != (len(tt.trackers) > 1) {
				t.Errorf("announce-list written = %v", hasList)
			}
			if !reflect.DeepEqual(m.URLList, tt.opts.URLList) || m.Comment != tt.opts.Comment ||
				m.CreatedBy != tt.opts.CreatedBy || m.CreationDate != tt.opts.CreationDate {
				t.Errorf("top-level fields %q %q %q %d", m.URLList, m.Comment, m.CreatedBy, m.CreationDate)
			}
		})
	}
}

// TestBuildSingleFile checks a single-file torrent built from a file.
func TestBuildSingleFile(t *testing.T) {
	dir := t.TempDir()
	contents := writeFiles(t, dir, map[string]int{"one.bin": 50001}, 7)
	data, err := Build(filepath.Join(dir, "one.bin"), BuildOptions{PieceLength: 16384})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []File{{Path: []string{"one.bin"}, Length: 50001}}
	if m.Info.MultiFile || m.Info.Name != "one.bin" || !reflect.DeepEqual(m.Info.Files, want) {
		t.Errorf("info %+v", m.Info)
	}
	checkPieces(t, &m.Info, contents["one.bin"])
}

// TestBuildProgress checks progress reports grow to the total.
func TestBuildProgress(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]int{"a": 100000, "b": 12345}, 3)
	var calls int
	var last int64
	_, err := Build(dir, BuildOptions{PieceLength: 16384, Progress: func(done, total int64) {
		calls++
		if done <= last || total != 112345 {
			t.Errorf("progress %d/%d after %d", done, total, last)
		}
		last = done
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || last != 112345 {
		t.Errorf("%d calls, last %d", calls, last)
	}
}

// TestBuildErrors checks that Build refuses what it cannot share faithfully
// and names the offending path.
func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string) // root exists and holds "ok"
		opts    BuildOptions
		wantErr string
	}{
		{"symlink", func(t *testing.T, root string) {
			must(t, os.Symlink("ok", filepath.Join(root, "link")))
		}, BuildOptions{}, "link: symbolic links are not supported"},
		{"fifo", func(t *testing.T, root string) {
			must(t, syscall.Mkfifo(filepath.Join(root, "sub", "fifo"), 0o644))
		}, BuildOptions{}, "fifo: special file"},
		{"backslash name", func(t *testing.T, root string) {
			must(t, os.WriteFile(filepath.Join(root, `a\b`), []byte("x"), 0o644))
		}, BuildOptions{}, `a\b: path element`},
		{"empty", func(t *testing.T, root string) {
			must(t, os.Remove(filepath.Join(root, "ok")))
		}, BuildOptions{}, "total length is 0"},
		{"negative piece length", nil, BuildOptions{PieceLength: -1}, "piece length -1 out of range"},
		{"huge piece length", nil, BuildOptions{PieceLength: MaxPieceLength + 1}, "out of range"},
		{"tiny piece length", func(t *testing.T, root string) {
			must(t, os.WriteFile(filepath.Join(root, "ok"), make([]byte, 2<<20), 0o644))
		}, BuildOptions{PieceLength: 1}, "too small"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			must(t, os.MkdirAll(filepath.Join(root, "sub"), 0o755))
			must(t, os.WriteFile(filepath.Join(root, "ok"), []byte("data"), 0o644))
			if tt.setup != nil {
				tt.setup(t, root)
			}
			_, err := Build(root, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
	if _, err := Build(filepath.Join(t.TempDir(), "missing"), BuildOptions{}); err == nil {
		t.Error("missing root accepted")
	}
}

// TestBuildUnreadable checks that files that cannot be read, even by root,
// are errors naming the file: a dangling symbolic link given as the root,
// and (between listing and hashing) a file that vanished or became a
// directory.
func TestBuildUnreadable(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "link")
	must(t, os.Symlink(filepath.Join(dir, "nowhere"), link))
	if _, err := Build(link, BuildOptions{}); err == nil || !strings.Contains(err.Error(), link) {
		t.Errorf("dangling root link: err = %v, want one naming %s", err, link)
	}
	ok := filepath.Join(dir, "ok")
	must(t, os.WriteFile(ok, make([]byte, 100), 0o644))
	for _, bad := range []string{filepath.Join(dir, "vanished"), dir} {
		files := []srcFile{{path: ok, size: 100}, {path: bad, size: 50}}
		_, err := hashPieces(files, 150, 64, nil)
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s: err = %v, want one naming it", bad, err)
		}
	}
}

// TestAutoPieceLength checks the bounds and the 1000-2000 piece target.
func TestAutoPieceLength(t *testing.T) {
	tests := []struct {
		total, want int64
	}{
		{0, 16 << 10},
		{1, 16 << 10},
		{2000 * 16 << 10, 16 << 10},
		{2000*16<<10 + 1, 32 << 10},
		{4 << 30, 4 << 20},
		{1 << 50, 16 << 20},
	}
	for _, tt := range tests {
		t.Run(strconv.FormatInt(tt.total, 10), func(t *testing.T) {
			if got := AutoPieceLength(tt.total); got != tt.want {
				t.Errorf("AutoPieceLength(%d) = %d, want %d", tt.total, got, tt.want)
			}
		})
	}
	for total := int64(64 << 20); total < 32<<30; total = total*3/2 + 12345 {
		pl := AutoPieceLength(total)
		if n := (total-1)/pl + 1; n < 1000 || n > 2000 || pl&(pl-1) != 0 {
			t.Errorf("total %d: piece length %d gives %d pieces", total, pl, n)
		}
	}
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
