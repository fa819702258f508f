package metainfo

import (
	"crypto/sha1"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. It must never panic, and
// whatever it accepts must be safe to lay out on disk: every path element
// passes checkElem, offsets are contiguous, lengths add up, the piece count
// matches, and the info hash is the SHA-1 of InfoBytes.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.torrent"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	top, _ := baseTorrent()
	f.Add(encode(f, top))
	f.Add([]byte("d4:infod4:name1:n12:piece lengthi1e6:pieces20:" + strings.Repeat("x", 20) + "6:lengthi1eee"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		checkParsed(t, m)
	})
}

// checkParsed asserts the invariants Parse promises for accepted input.
func checkParsed(t *testing.T, m *MetaInfo) {
	t.Helper()
	in := &m.Info
	if sha1.Sum(m.InfoBytes) != m.InfoHash {
		t.Fatal("InfoHash is not the SHA-1 of InfoBytes")
	}
	if len(in.Files) == 0 || (!in.MultiFile && len(in.Files) != 1) {
		t.Fatalf("%d files, multi=%v", len(in.Files), in.MultiFile)
	}
	var off int64
	for i, f := range in.Files {
		if len(f.Path) == 0 || f.Path[0] != in.Name || (in.MultiFile && len(f.Path) < 2) {
			t.Fatalf("file %d: path %q for name %q", i, f.Path, in.Name)
		}
		for _, e := range f.Path {
			if err := checkElem(e); err != nil {
				t.Fatalf("file %d: unsafe element accepted: %v", i, err)
			}
		}
		if f.Length < 0 || f.Offset != off {
			t.Fatalf("file %d: length %d offset %d, want offset %d", i, f.Length, f.Offset, off)
		}
		off += f.Length
	}
	if off != in.Length || in.Length <= 0 {
		t.Fatalf("files add up to %d, Length %d", off, in.Length)
	}
	if in.PieceLength <= 0 || in.PieceLength > MaxPieceLength {
		t.Fatalf("piece length %d", in.PieceLength)
	}
	var sum int64
	for i := 0; i < in.NumPieces(); i++ {
		if s := in.PieceSize(i); s <= 0 || s > in.PieceLength {
			t.Fatalf("piece %d size %d", i, s)
		}
		sum += in.PieceSize(i)
	}
	if sum != in.Length {
		t.Fatalf("pieces cover %d bytes, Length %d", sum, in.Length)
	}
}
