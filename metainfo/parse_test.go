package metainfo

import (
	"crypto/sha1"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// goldenFile describes one expected file of a golden torrent.
type goldenFile struct {
	path   string // elements joined with '/'
	length int64
	offset int64
}

// TestParseGolden parses the committed torrents. Their info hashes were
// computed with Python's hashlib over the info bytes, outside this package.
func TestParseGolden(t *testing.T) {
	tests := []struct {
		file      string
		hash      string
		name      string
		pieceLen  int64
		private   bool
		multi     bool
		files     []goldenFile
		trackers  [][]string
		urlList   []string
		comment   string
		date      int64
		dataFiles []string // below testdata/data, to check piece hashes
	}{
		{
			file: "single.torrent", hash: "7558d18875a7b825bdbd1227393021191a5d5458",
			name: "single.bin", pieceLen: 32768,
			files:    []goldenFile{{"single.bin", 40000, 0}},
			trackers: [][]string{{"http://tracker.example/announce"}},
			comment:  "golden single", dataFiles: []string{"single.bin"},
		},
		{
			file: "multi.torrent", hash: "41cc876beeede6998b5670c6566f9b66c7c4fa24",
			name: "multi", pieceLen: 32768, private: true, multi: true,
			files: []goldenFile{
				{"multi/a-b.txt", 5000, 0}, {"multi/a/x.bin", 30000, 5000},
				{"multi/a/y/z.txt", 0, 35000}, {"multi/b.bin", 33000, 35000},
			},
			trackers: [][]string{{"http://t1.example/announce"},
				{"http://t2.example/announce", "http://t3.example/announce"}},
			urlList:   []string{"http://seed.example/"},
			dataFiles: []string{"multi/a-b.txt", "multi/a/x.bin", "multi/a/y/z.txt", "multi/b.bin"},
		},
		{
			file: "utf8.torrent", hash: "19d2b29be72639379d61f14b6127534b5d7f6eee",
			name: "café", pieceLen: 16384, multi: true,
			files:    []goldenFile{{"café/déjà", 10000, 0}, {"café/plain.txt", 10000, 10000}},
			trackers: [][]string{{"http://b.example/announce"}, {"udp://c.example:80"}},
			urlList:  []string{"http://w1.example/", "http://w2.example/"},
			comment:  "utf8 golden", date: 1700000000,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(m.InfoHash[:]); got != tt.hash {
				t.Errorf("info hash %s, want %s", got, tt.hash)
			}
			if raw := extractInfo(t, data); sha1.Sum(raw) != m.InfoHash || string(raw) != string(m.InfoBytes) {
				t.Error("InfoHash/InfoBytes differ from the independently extracted info bytes")
			}
			in := m.Info
			if in.Name != tt.name || in.PieceLength != tt.pieceLen || in.Private != tt.private || in.MultiFile != tt.multi {
				t.Errorf("info = %q %d private=%v multi=%v", in.Name, in.PieceLength, in.Private, in.MultiFile)
			}
			var got []goldenFile
			var total int64
			for _, f := range in.Files {
				got = append(got, goldenFile{strings.Join(f.Path, "/"), f.Length, f.Offset})
				total += f.Length
			}
			if !reflect.DeepEqual(got, tt.files) {
				t.Errorf("files %v, want %v", got, tt.files)
			}
			if in.Length != total {
				t.Errorf("Length %d, want %d", in.Length, total)
			}
			if !reflect.DeepEqual(m.Trackers(), tt.trackers) {
				t.Errorf("trackers %q, want %q", m.Trackers(), tt.trackers)
			}
			if !reflect.DeepEqual(m.URLList, tt.urlList) || m.Comment != tt.comment || m.CreationDate != tt.date {
				t.Errorf("url-list %q comment %q date %d", m.URLList, m.Comment, m.CreationDate)
			}
			if tt.dataFiles != nil {
				var content []byte
				for _, name := range tt.dataFiles {
					b, err := os.ReadFile(filepath.Join("testdata", "data", name))
					if err != nil {
						t.Fatal(err)
					}
					content = append(content, b...)
				}
				checkPieces(t, &m.Info, content)
			}
		})
	}
}

// TestLoad checks Load on a golden file, a missing file and one just over
// MaxTorrentSize.
func TestLoad(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.torrent")
	if err := os.WriteFile(big, make([]byte, MaxTorrentSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, wantErr string
	}{
		{filepath.Join("testdata", "single.torrent"), ""},
		{filepath.Join("testdata", "missing.torrent"), "no such file"},
		{big, "larger than"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			m, err := Load(tt.path)
			if tt.wantErr == "" {
				if err != nil || m.Info.Name != "single.bin" {
					t.Fatalf("Load = %v, %v", m, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestParseOptionalFields checks that malformed optional top-level keys are
// ignored rather than fatal.
func TestParseOptionalFields(t *testing.T) {
	info := map[string]any{"name": "n", "piece length": 16384, "pieces": string(make([]byte, 20)), "length": 5}
	tests := []struct {
		name     string
		top      map[string]any
		trackers [][]string
		urls     []string
	}{
		{"none", map[string]any{}, nil, nil},
		{"announce only", map[string]any{"announce": "http://a/"}, [][]string{{"http://a/"}}, nil},
		{"announce wrong type", map[string]any{"announce": 5}, nil, nil},
		{"announce-list wins", map[string]any{"announce": "http://a/", "announce-list": []any{[]any{"http://b/"}}},
			[][]string{{"http://b/"}}, nil},
		{"announce-list all empty", map[string]any{"announce": "http://a/", "announce-list": []any{[]any{""}, []any{}}},
			[][]string{{"http://a/"}}, nil},
		{"announce-list not a list", map[string]any{"announce-list": "http://b/"}, nil, nil},
		{"url-list string", map[string]any{"url-list": "http://w/"}, nil, []string{"http://w/"}},
		{"url-list empty string", map[string]any{"url-list": ""}, nil, nil},
		{"url-list dict", map[string]any{"url-list": map[string]any{"a": 1}}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.top["info"] = info
			tt.top["comment"] = 7
			m, err := Parse(encode(t, tt.top))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m.Trackers(), tt.trackers) || !reflect.DeepEqual(m.URLList, tt.urls) {
				t.Errorf("trackers %q urls %q, want %q %q", m.Trackers(), m.URLList, tt.trackers, tt.urls)
			}
			if m.Comment != "" {
				t.Errorf("comment %q from an integer", m.Comment)
			}
		})
	}
}

// TestParseInfo checks that ParseInfo accepts golden info bytes and refuses
// trailing data.
func TestParseInfo(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "multi.torrent"))
	if err != nil {
		t.Fatal(err)
	}
	raw := extractInfo(t, data)
	tests := []struct {
		name    string
		raw     []byte
		wantErr string
	}{
		{"golden", raw, ""},
		{"trailing", append(append([]byte{}, raw...), 'x'), "trailing data"},
		{"list", []byte("le"), "not a dictionary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := ParseInfo(tt.raw)
			if tt.wantErr == "" {
				if err != nil || info.Name != "multi" || len(info.Files) != 4 {
					t.Fatalf("ParseInfo = %+v, %v", info, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
