package storage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestStatNoticesChanges deletes or truncates a file under an open store:
// Stat must fail with ErrChanged, so the session never records pieces of a
// file that is gone as verified (the resume file is written from Stat).
func TestStatNoticesChanges(t *testing.T) {
	tests := []struct {
		name   string
		change func(path string) error
	}{
		{"deleted", os.Remove},
		{"truncated", func(p string) error { return os.Truncate(p, pg) }},
		{"extended", func(p string) error { return os.Truncate(p, 8*pg) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, []File{{"a", 4 * pg}, {"b", pg}}, Options{})
			if _, err := s.Stat(); err != nil {
				t.Fatalf("before the change: %v", err)
			}
			if err := tt.change(filepath.Join(dir, "a")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Stat(); !errors.Is(err, ErrChanged) {
				t.Fatalf("Stat = %v, want ErrChanged", err)
			}
		})
	}
}
