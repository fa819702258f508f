package storage

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// TestTruncatedUnderneath truncates a file behind the store's back: a
// read through the mapping faults into ErrFault, and a write is refused
// with ErrChanged instead of extending the file again.
func TestTruncatedUnderneath(t *testing.T) {
	tests := []struct {
		name     string
		premap   bool // touch the window before truncating
		write    bool
		truncate int64
	}{
		{"read mapped window", true, false, 0},
		{"read unmapped window", false, false, 0},
		{"write mapped window", true, true, 0},
		{"write past new end", false, true, pg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, []File{{"a", 4 * pg}}, Options{WindowSize: 4 * pg})
			if tt.premap {
				if err := s.WriteAt(pattern(int(4*pg), 1), 0); err != nil {
					t.Fatal(err)
				}
				if err := s.ReadAt(make([]byte, 4*pg), 0); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Truncate(filepath.Join(dir, "a"), tt.truncate); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, pg)
			if tt.write {
				if err := s.WriteAt(buf, 2*pg); !errors.Is(err, ErrChanged) {
					t.Errorf("WriteAt: err = %v, want ErrChanged", err)
				}
				if err := s.WriteBlocks([][]byte{buf}, 2*pg); !errors.Is(err, ErrChanged) {
					t.Errorf("WriteBlocks: err = %v, want ErrChanged", err)
				}
				fi, err := os.Stat(filepath.Join(dir, "a"))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Size() != tt.truncate {
					t.Errorf("after the refused writes the file has %d bytes, want the truncated %d", fi.Size(), tt.truncate)
				}
				return
			}
			if err := s.ReadAt(buf, 2*pg); !errors.Is(err, ErrFault) {
				t.Errorf("err = %v, want ErrFault", err)
			}
			if debug.SetPanicOnFault(false) {
				t.Errorf("SetPanicOnFault left on after the fault")
			}
		})
	}
}

// vmRSS returns the process's resident set size in bytes.
func vmRSS(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("parse VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// TestResidentBounded writes and reads 256 MiB through small windows and
// checks resident memory grows by about the windows only: the data lives
// in the page cache, which is not counted in VmRSS for unmapped pages.
// t.TempDir is on the real disk here; tmpfs pages would count as shmem.
func TestResidentBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 256 MiB")
	}
	const total, window, windows = 256 << 20, 1 << 20, 4
	const slack = 16 << 20
	s := openStore(t, t.TempDir(), []File{{"a", total/2 + 12345}, {"b", total/2 - 12345}}, Options{WindowSize: window, MaxWindows: windows})
	buf := pattern(1<<20+77, 5) // unaligned blocks cross windows and files
	runtime.GC()
	base := vmRSS(t)
	peak := base
	for _, write := range []bool{true, false} {
		for off := int64(0); off < total; off += int64(len(buf)) {
			p := buf[:min(int64(len(buf)), total-off)]
			var err error
			if write {
				err = s.WriteAt(p, off)
			} else {
				err = s.ReadAt(p, off)
			}
			if err != nil {
				t.Fatal(err)
			}
			peak = max(peak, vmRSS(t))
		}
	}
	if grew := peak - base; grew > windows*window+slack {
		t.Errorf("resident memory grew by %d MiB, want at most %d MiB", grew>>20, (windows*window+slack)>>20)
	}
	if n := len(s.win.table); n > windows {
		t.Errorf("%d windows mapped, want at most %d", n, windows)
	}
}
