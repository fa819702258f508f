package metainfo

import (
	"bytes"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestInfoPieces checks NumPieces, PieceSize and PieceHash, including a
// short last piece and out-of-range indexes.
func TestInfoPieces(t *testing.T) {
	pieces := make([]byte, 3*HashSize)
	for i := range pieces {
		pieces[i] = byte(i)
	}
	tests := []struct {
		name   string
		length int64
		index  int
		size   int64
		first  byte // first byte of the hash; 0 with size 0 means zero hash
	}{
		{"first", 2500, 0, 1000, 0},
		{"middle", 2500, 1, 1000, 20},
		{"short last", 2500, 2, 500, 40},
		{"full last", 3000, 2, 1000, 40},
		{"one byte last", 2001, 2, 1, 40},
		{"past end", 2500, 3, 0, 0},
		{"negative", 2500, -1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &Info{PieceLength: 1000, Pieces: pieces, Length: tt.length}
			if in.NumPieces() != 3 {
				t.Fatalf("NumPieces = %d", in.NumPieces())
			}
			if got := in.PieceSize(tt.index); got != tt.size {
				t.Errorf("PieceSize(%d) = %d, want %d", tt.index, got, tt.size)
			}
			h := in.PieceHash(tt.index)
			if tt.size == 0 {
				if h != [20]byte{} {
					t.Errorf("PieceHash(%d) = %x, want zero", tt.index, h)
				}
				return
			}
			if !bytes.Equal(h[:], pieces[tt.first:int(tt.first)+HashSize]) {
				t.Errorf("PieceHash(%d) = %x", tt.index, h)
			}
		})
	}
}

// TestTrackers checks the BEP 12 fallback rules and that the result does
// not alias AnnounceList.
func TestTrackers(t *testing.T) {
	tests := []struct {
		name     string
		announce string
		list     [][]string
		want     [][]string
	}{
		{"nothing", "", nil, nil},
		{"announce", "http://a/", nil, [][]string{{"http://a/"}}},
		{"list wins", "http://a/", [][]string{{"http://b/"}, {"http://c/", "http://d/"}},
			[][]string{{"http://b/"}, {"http://c/", "http://d/"}}},
		{"empty list", "http://a/", [][]string{{}, {""}}, [][]string{{"http://a/"}}},
		{"empties dropped", "", [][]string{{"", "http://b/"}, {}}, [][]string{{"http://b/"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &MetaInfo{Announce: tt.announce, AnnounceList: tt.list}
			got := m.Trackers()
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Trackers = %q, want %q", got, tt.want)
			}
			if len(got) > 0 {
				got[0][0] = "changed"
				if len(tt.list) > 0 && len(tt.list[0]) > 0 && tt.list[0][0] == "changed" {
					t.Error("Trackers aliases AnnounceList")
				}
			}
		})
	}
}

// TestMagnet checks the BEP 9 link: hex hash, escaped name, each tracker
// once in tier order.
func TestMagnet(t *testing.T) {
	var h [20]byte
	for i := range h {
		h[i] = byte(i * 13)
	}
	hexHash := "000d1a2734414e5b6875828f9ca9b6c3d0ddeaf7"
	tests := []struct {
		name string
		m    MetaInfo
		want string
	}{
		{"bare", MetaInfo{InfoHash: h}, "magnet:?xt=urn:btih:" + hexHash},
		{"name", MetaInfo{InfoHash: h, Info: Info{Name: "a b&c"}},
			"magnet:?xt=urn:btih:" + hexHash + "&dn=a+b%26c"},
		{"trackers", MetaInfo{InfoHash: h, Info: Info{Name: "n"}, Announce: "http://x/",
			AnnounceList: [][]string{{"http://a/ann?k=1"}, {"udp://b:1", "http://a/ann?k=1"}}},
			"magnet:?xt=urn:btih:" + hexHash + "&dn=n&tr=http%3A%2F%2Fa%2Fann%3Fk%3D1&tr=udp%3A%2F%2Fb%3A1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Magnet(); got != tt.want {
				t.Errorf("Magnet = %q\nwant     %q", got, tt.want)
			}
		})
	}
}

// TestScan checks the bencode pre-scan on valid edge cases and on the depth
// limit exactly.
func TestScan(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("l", n) + strings.Repeat("e", n) }
	tests := []struct {
		name, data, wantErr string
	}{
		{"empty string", "0:", ""},
		{"negative", "i-5e", ""},
		{"zero", "i0e", ""},
		{"nested dict", "d1:ad1:bl0:i1eee1:ci2ee", ""},
		{"empty containers", "d1:ale1:bdee", ""},
		{"max depth", nest(MaxDepth), ""},
		{"max depth + 1", nest(MaxDepth + 1), "nesting deeper than " + strconv.Itoa(MaxDepth)},
		{"empty input", "", "truncated"},
		{"unclosed", "l", "truncated"},
		{"stray e", "e", "unexpected 'e'"},
		{"empty int", "ie", "empty integer"},
		{"minus only", "i-e", "empty integer"},
		{"bad int", "i1x2e", "bad byte"},
		{"string leading zero", "01:a", "leading zero"},
		{"negative string length", "-1:a", "unknown value type"},
		{"string too long", "5:abc", "truncated"},
		{"no colon", "5", "truncated"},
		{"trailing", "i1ei2e", "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := scan([]byte(tt.data))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("scan(%q) = %v", tt.data, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("scan(%q) = %v, want %q", tt.data, err, tt.wantErr)
			}
		})
	}
}
