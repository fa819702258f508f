package storage

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOpenCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "torrent") // missing: MkdirAll
	files := []File{{"a/b/c.bin", 5}, {"a/empty", 0}, {"top", 3}}
	s := openStore(t, dir, files, Options{})
	if s.Len() != 8 {
		t.Errorf("Len = %d, want 8", s.Len())
	}
	for _, f := range files {
		fi, err := os.Lstat(filepath.Join(dir, f.Path))
		if err != nil {
			t.Fatalf("%s not created: %v", f.Path, err)
		}
		if !fi.Mode().IsRegular() || fi.Size() != f.Length || fi.Mode().Perm() != 0o644&^umask() {
			t.Errorf("%s: mode %v size %d, want regular 0644 of %d", f.Path, fi.Mode(), fi.Size(), f.Length)
		}
	}
}

// umask reads the process umask without changing it for long.
func umask() os.FileMode {
	m := unix.Umask(0)
	unix.Umask(m)
	return os.FileMode(m)
}

func TestOpenKeepsExistingData(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dir, []File{{"a", 3 * pg}}, Options{})
	got := make([]byte, 6)
	if err := s.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello\x00" {
		t.Errorf("existing data = %q, want %q", got, "hello\x00")
	}
}

func TestOpenRefusesLongerFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a")
	if err := os.WriteFile(path, make([]byte, 20), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, []File{{"a", 10}}, Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a file longer than the torrent's")
	}
	if !strings.Contains(err.Error(), "a is 20 bytes") {
		t.Errorf("error %q does not name the file and size", err)
	}
	if fi, _ := os.Stat(path); fi.Size() != 20 {
		t.Errorf("refused file was changed to %d bytes", fi.Size())
	}
}

func TestOpenBadPaths(t *testing.T) {
	for _, p := range []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/.", "a/", "a\x00b"} {
		t.Run(p, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "out")
			s, err := Open(dir, []File{{"ok", 1}, {p, 1}}, Options{})
			if err == nil {
				s.Close()
				t.Fatalf("Open accepted path %q", p)
			}
			if _, err := os.Stat(filepath.Join(root, "x")); err == nil {
				t.Errorf("a file was created outside the output directory")
			}
		})
	}
}

func TestOpenNotRegular(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir, []File{{"a", 1}}, Options{}); err == nil {
		s.Close()
		t.Fatal("Open accepted a directory as a file")
	}
}

func TestOpenSymlinks(t *testing.T) {
	tests := []struct {
		name   string
		link   string // planted below dir, pointing at outside/target
		target string // below outside; "" for a dangling link
		path   string // the torrent's file
	}{
		{"file", "a.bin", "target", "a.bin"},
		{"dangling file", "a.bin", "", "a.bin"},
		{"directory", "sub", ".", "sub/x.bin"},
		{"nested directory", "a/sub", ".", "a/sub/x.bin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir, outside := filepath.Join(root, "out"), filepath.Join(root, "outside")
			for _, d := range []string{filepath.Dir(filepath.Join(dir, tt.link)), outside} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(outside, "target"), []byte("keep"), 0o644); err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(outside, "missing")
			if tt.target != "" {
				dest = filepath.Join(outside, tt.target)
			}
			if err := os.Symlink(dest, filepath.Join(dir, tt.link)); err != nil {
				t.Fatal(err)
			}
			s, err := Open(dir, []File{{tt.path, 100}}, Options{})
			if err == nil {
				s.WriteAt(make([]byte, 100), 0)
				s.Close()
				t.Fatal("Open followed a planted symlink")
			}
			if !strings.Contains(err.Error(), tt.link+" is a symbolic link") {
				t.Errorf("error %q does not name the link %s", err, tt.link)
			}
			assertOutsideUntouched(t, outside)
		})
	}
}

// assertOutsideUntouched checks that outside still holds only "target"
// with its original content.
func assertOutsideUntouched(t *testing.T, outside string) {
	t.Helper()
	ents, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "target" {
		t.Errorf("something was created through the link: %v", ents)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "target")); string(b) != "keep" {
		t.Errorf("target was written through the link: %q", b)
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	files := []File{{"a", 10}, {"sub/b", 10}}
	s := openStore(t, dir, files, Options{})
	tests := []struct {
		name  string
		files []File
		want  string
	}{
		{"same files", files, "a is in use"},
		{"second file only", files[1:], "sub/b is in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// flock belongs to the open file description, so a second
			// Open in the same process conflicts as another process would.
			s2, err := Open(dir, tt.files, Options{})
			if err == nil {
				s2.Close()
				t.Fatal("second Open of locked files succeeded")
			}
			if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrLocked naming %q", err, tt.want)
			}
		})
	}
	// The failed Opens must not have left the first store's files damaged.
	if err := s.WriteAt([]byte("x"), 0); err != nil {
		t.Errorf("first store unusable: %v", err)
	}
}

func TestOpenPreallocates(t *testing.T) {
	const length = 8 << 20
	tests := []struct {
		name       string
		noPrealloc bool
	}{
		{"fallocate", false},
		{"sparse", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			openStore(t, dir, []File{{"big", length}}, Options{NoPrealloc: tt.noPrealloc})
			var st unix.Stat_t
			if err := unix.Stat(filepath.Join(dir, "big"), &st); err != nil {
				t.Fatal(err)
			}
			if st.Size != length {
				t.Errorf("size %d, want %d", st.Size, length)
			}
			reserved := st.Blocks*512 >= length
			if reserved == tt.noPrealloc {
				t.Errorf("%d bytes allocated for %d (NoPrealloc %v)", st.Blocks*512, length, tt.noPrealloc)
			}
		})
	}
}

func TestOpenNoSpace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	s, err := Open(dir, []File{{"small", 1000}, {"big.iso", 4 << 20}}, Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open of 4 MiB on a 1 MiB filesystem succeeded")
	}
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "big.iso") || !strings.Contains(err.Error(), "4194304 bytes") {
		t.Errorf("err = %v, want ErrNoSpace naming big.iso and its size", err)
	}
	// Nothing stays locked or open after the failure.
	s, err = Open(dir, []File{{"small", 1000}}, Options{})
	if err != nil {
		t.Fatalf("reopen after failure: %v", err)
	}
	s.Close()
}
