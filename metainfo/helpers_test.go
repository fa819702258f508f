package metainfo

import (
	"bytes"
	"crypto/sha1"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/anacrolix/torrent/bencode"
)

// extractInfo finds the raw bytes of the top-level "info" value of a trusted
// torrent with a tiny recursive scanner of its own, independent of scan and
// of the bencode package, so info hashes are checked against a second opinion.
func extractInfo(t *testing.T, data []byte) []byte {
	t.Helper()
	var skip func(i int) int
	skip = func(i int) int {
		switch c := data[i]; {
		case c == 'i':
			return i + bytes.IndexByte(data[i:], 'e') + 1
		case c == 'l' || c == 'd':
			i++
			for data[i] != 'e' {
				i = skip(i)
			}
			return i + 1
		default:
			colon := i + bytes.IndexByte(data[i:], ':')
			n, err := strconv.Atoi(string(data[i:colon]))
			if err != nil {
				t.Fatalf("extractInfo: bad string length at %d", i)
			}
			return colon + 1 + n
		}
	}
	for i := 1; data[i] != 'e'; {
		k := i
		i = skip(i)
		v := i
		i = skip(i)
		if string(data[k:v]) == "4:info" {
			return data[v:i]
		}
	}
	t.Fatal("extractInfo: no info key")
	return nil
}

// mktorrent runs mktorrent with args, failing the test if it is missing.
func mktorrent(t *testing.T, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("mktorrent"); err != nil {
		t.Fatal("mktorrent not found on PATH: install it (apt-get install mktorrent); " +
			"the info hash comparison with mktorrent is required")
	}
	out := filepath.Join(t.TempDir(), "x.torrent")
	cmd := exec.Command("mktorrent", append([]string{"-o", out}, args...)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mktorrent %v: %v\n%s", args, err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// writeFiles creates files below dir with pseudo-random content of the
// given sizes (paths use '/') and returns their contents by path.
func writeFiles(t *testing.T, dir string, sizes map[string]int, seed int64) map[string][]byte {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	contents := make(map[string][]byte)
	for name, n := range sizes {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, n)
		rng.Read(b)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		contents[name] = b
	}
	return contents
}

// checkPieces verifies every piece hash of info against data, the torrent's
// concatenated content.
func checkPieces(t *testing.T, info *Info, data []byte) {
	t.Helper()
	if int64(len(data)) != info.Length {
		t.Fatalf("data is %d bytes, info.Length %d", len(data), info.Length)
	}
	var off int64
	for i := 0; i < info.NumPieces(); i++ {
		n := info.PieceSize(i)
		if sha1.Sum(data[off:off+n]) != info.PieceHash(i) {
			t.Errorf("piece %d: hash mismatch", i)
		}
		off += n
	}
	if off != info.Length {
		t.Errorf("pieces cover %d bytes, want %d", off, info.Length)
	}
}

// encode bencodes v or fails the test.
func encode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := bencode.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
