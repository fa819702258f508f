package metainfo

import (
	"bytes"
	"crypto/sha1"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestEncodeTorrentGolden rebuilds each golden torrent from its info bytes,
// trackers and web seeds, as a client saving a magnet's metadata does, and
// parses the result: same info hash, info, trackers and web seeds, and the
// info bytes spliced in unchanged.
func TestEncodeTorrentGolden(t *testing.T) {
	for _, name := range []string{"single.torrent", "multi.torrent", "utf8.torrent"} {
		t.Run(name, func(t *testing.T) {
			mi, err := Load(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			data, err := EncodeTorrent(mi.InfoBytes, mi.Trackers(), mi.URLList)
			if err != nil {
				t.Fatalf("EncodeTorrent: %v", err)
			}
			got, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.InfoHash != mi.InfoHash || !bytes.Equal(extractInfo(t, data), mi.InfoBytes) {
				t.Errorf("info hash %x, want %x", got.InfoHash, mi.InfoHash)
			}
			if !reflect.DeepEqual(got.Info, mi.Info) {
				t.Errorf("info differs:\n got %+v\nwant %+v", got.Info, mi.Info)
			}
			if !reflect.DeepEqual(got.Trackers(), mi.Trackers()) || !reflect.DeepEqual(got.URLList, mi.URLList) {
				t.Errorf("trackers %q, web seeds %q; want %q, %q", got.Trackers(), got.URLList, mi.Trackers(), mi.URLList)
			}
		})
	}
}

// TestEncodeTorrent checks the top-level keys written for each shape of
// tracker list, around an info dictionary whose keys are out of order and
// include an unknown one, so only a byte-for-byte splice keeps its hash.
func TestEncodeTorrent(t *testing.T) {
	info := []byte("d6:lengthi5e4:name1:n6:pieces20:" + strings.Repeat("x", 20) +
		"12:piece lengthi16384e8:x-customi7ee")
	tests := []struct {
		name     string
		trackers [][]string
		webSeeds []string
		want     string // the top level with info as "I"
	}{
		{"trackerless", nil, nil, "d4:infoIe"},
		{"empty tiers and URLs", [][]string{{}, {""}}, []string{""}, "d4:infoIe"},
		{"one tracker", [][]string{{"http://a/"}}, nil, "d8:announce9:http://a/4:infoIe"},
		{"one tracker after an empty tier", [][]string{{""}, {"http://a/"}}, nil, "d8:announce9:http://a/4:infoIe"},
		{"tiers", [][]string{{"http://a/"}, {"udp://b:1", "udp://c:2"}}, nil,
			"d8:announce9:http://a/13:announce-listll9:http://a/el9:udp://b:19:udp://c:2ee4:infoIe"},
		{"one tier of two", [][]string{{"http://a/", "http://b/"}}, nil,
			"d8:announce9:http://a/13:announce-listll9:http://a/9:http://b/ee4:infoIe"},
		{"web seeds", nil, []string{"http://s/", "", "http://t/f"},
			"d4:infoI8:url-listl9:http://s/10:http://t/fee"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := EncodeTorrent(info, tt.trackers, tt.webSeeds)
			if err != nil {
				t.Fatalf("EncodeTorrent: %v", err)
			}
			if want := strings.Replace(tt.want, "I", string(info), 1); string(data) != want {
				t.Fatalf("got  %q\nwant %q", data, want)
			}
			m, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if m.InfoHash != sha1.Sum(info) {
				t.Errorf("info hash changed")
			}
		})
	}
}

// TestEncodeTorrentRefuses checks that info bytes ParseInfo refuses are
// refused, with an error naming EncodeTorrent once.
func TestEncodeTorrentRefuses(t *testing.T) {
	good := "d6:lengthi5e4:name1:n12:piece lengthi16384e6:pieces20:" + strings.Repeat("x", 20) + "e"
	tests := []struct{ name, info, want string }{
		{"empty", "", "bencode"},
		{"not a dictionary", "i1e", "info is not a dictionary"},
		{"truncated", good[:len(good)-1], "truncated"},
		{"trailing bytes", good + "e", "bencode"},
		{"two values", good + good, "bencode"},
		{"no pieces", "d6:lengthi5e4:name1:n12:piece lengthi16384ee", "pieces missing"},
		{"dotdot name", strings.Replace(good, "4:name1:n", "4:name2:..", 1), `".." not allowed`},
		{"wrong piece count", strings.Replace(good, "lengthi5e", "lengthi99999e", 1), "piece hashes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := EncodeTorrent([]byte(tt.info), [][]string{{"http://a/"}}, nil)
			if err == nil {
				t.Fatalf("accepted: %q", data)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "metainfo: encode torrent: ") || strings.Count(msg, "metainfo:") != 1 ||
				!strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want one \"metainfo: encode torrent: \" and %q", msg, tt.want)
			}
		})
	}
	if _, err := EncodeTorrent([]byte(good), nil, nil); err != nil {
		t.Errorf("the good info was refused: %v", err)
	}
}
