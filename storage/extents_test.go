package storage

import (
	"reflect"
	"testing"
)

func TestExtents(t *testing.T) {
	one := []File{{"a", 100}}
	three := []File{{"a", 10}, {"b", 20}, {"c", 30}}
	zeros := []File{{"z0", 0}, {"a", 10}, {"z1", 0}, {"z2", 0}, {"b", 10}, {"z3", 0}}
	tests := []struct {
		name   string
		files  []File
		off, n int64
		want   []extent
	}{
		{"one file whole", one, 0, 100, []extent{{0, 0, 100}}},
		{"one file middle", one, 17, 33, []extent{{0, 17, 33}}},
		{"empty range", one, 5, 0, nil},
		{"three files first", three, 0, 10, []extent{{0, 0, 10}}},
		{"three files second", three, 10, 20, []extent{{1, 0, 20}}},
		{"three files all", three, 0, 60, []extent{{0, 0, 10}, {1, 0, 20}, {2, 0, 30}}},
		{"span crossing files", three, 5, 30, []extent{{0, 5, 5}, {1, 0, 20}, {2, 0, 5}}},
		{"span ending at boundary", three, 25, 5, []extent{{1, 15, 5}}},
		{"span starting at boundary", three, 30, 7, []extent{{2, 0, 7}}},
		{"zero-length files skipped", zeros, 0, 20, []extent{{1, 0, 10}, {4, 0, 10}}},
		{"zero-length files at boundary", zeros, 10, 5, []extent{{4, 0, 5}}},
		{"zero-length files crossing", zeros, 8, 4, []extent{{1, 8, 2}, {4, 0, 2}}},
		// Piece length 16 over 60 bytes: the last piece is 12 bytes.
		{"short last piece", three, 48, 12, []extent{{2, 18, 12}}},
		{"short last piece crossing", []File{{"a", 50}, {"b", 3}}, 48, 5, []extent{{0, 48, 2}, {1, 0, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := extents(tt.files, tt.off, tt.n)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("extents(%d, %d) = %v, want %v", tt.off, tt.n, got, tt.want)
			}
			var sum int64
			for _, e := range got {
				sum += e.n
			}
			if sum != max(tt.n, 0) {
				t.Errorf("extents cover %d bytes, want %d", sum, tt.n)
			}
		})
	}
}

// TestExtentsAgainstBytes checks every range of a small layout against a
// byte-by-byte walk of the concatenation.
func TestExtentsAgainstBytes(t *testing.T) {
	files := []File{{"a", 3}, {"b", 0}, {"c", 1}, {"d", 5}, {"e", 0}}
	type loc struct {
		file int
		off  int64
	}
	var byteLoc []loc
	for i, f := range files {
		for o := int64(0); o < f.Length; o++ {
			byteLoc = append(byteLoc, loc{i, o})
		}
	}
	total := int64(len(byteLoc))
	for off := int64(0); off <= total; off++ {
		for n := int64(0); off+n <= total; n++ {
			var got []loc
			for _, e := range extents(files, off, n) {
				if e.n <= 0 || files[e.file].Length == 0 {
					t.Fatalf("extents(%d, %d): bad extent %+v", off, n, e)
				}
				for k := int64(0); k < e.n; k++ {
					got = append(got, loc{e.file, e.off + k})
				}
			}
			want := byteLoc[off : off+n]
			if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
				t.Fatalf("extents(%d, %d) covers %v, want %v", off, n, got, want)
			}
		}
	}
}
