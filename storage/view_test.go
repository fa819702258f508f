package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestView checks that View hands out exactly the bytes of a range, in
// order, across windows, files and an empty file.
func TestView(t *testing.T) {
	files := unalignedFiles()
	dir := t.TempDir()
	s := openStore(t, dir, files, Options{WindowSize: pg, MaxWindows: 1})
	want := pattern(int(s.Len()), 3)
	if err := s.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]int64{{0, s.Len()}, {pg - 1, 2}, {files[0].Length - 3, pg + 9}, {s.Len() - 1, 1}, {5, 0}} {
		var got []byte
		calls := 0
		err := s.View(r[0], r[1], func(b []byte) {
			calls++
			got = append(got, b...)
		})
		if err != nil {
			t.Fatalf("View(%d, %d): %v", r[0], r[1], err)
		}
		if !bytes.Equal(got, want[r[0]:r[0]+r[1]]) {
			t.Errorf("View(%d, %d) gave other bytes (%d calls)", r[0], r[1], calls)
		}
	}
	if err := s.View(s.Len()-1, 2, func([]byte) {}); err == nil {
		t.Errorf("View past the end: no error")
	}
}

// TestViewFault checks that a fault inside View's callback (the file
// truncated underneath) is an error, not a crash.
func TestViewFault(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, []File{{"a", 4 * pg}}, Options{WindowSize: 4 * pg})
	if err := s.WriteAt(pattern(int(4*pg), 1), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, "a"), 0); err != nil {
		t.Fatal(err)
	}
	sum := 0
	err := s.View(2*pg, pg, func(b []byte) {
		for _, c := range b {
			sum += int(c)
		}
	})
	if !errors.Is(err, ErrFault) {
		t.Errorf("err = %v, want ErrFault", err)
	}
}
