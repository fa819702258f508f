package metainfo

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/anacrolix/torrent/bencode"
)

// dict is a bencode dictionary whose values are kept raw, so each field can
// be decoded on its own: strictly for the info dictionary, leniently for the
// optional top-level keys.
type dict map[string]bencode.Bytes

// Load reads and parses the .torrent file at path. It reads at most
// MaxTorrentSize+1 bytes and refuses a larger file.
func Load(path string) (*MetaInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("metainfo: load: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxTorrentSize+1))
	if err != nil {
		return nil, fmt.Errorf("metainfo: load: %w", err)
	}
	if len(data) > MaxTorrentSize {
		return nil, fmt.Errorf("metainfo: load %s: larger than %d bytes", path, MaxTorrentSize)
	}
	return Parse(data)
}

// Parse decodes and validates a .torrent file. The info hash is the SHA-1 of
// the info dictionary's bytes exactly as they appear in data. Any error in
// the info dictionary is fatal; malformed optional top-level keys (trackers,
// comment, web seeds) are ignored.
func Parse(data []byte) (*MetaInfo, error) {
	if len(data) > MaxTorrentSize {
		return nil, fmt.Errorf("metainfo: torrent larger than %d bytes", MaxTorrentSize)
	}
	if len(data) == 0 || data[0] != 'd' {
		return nil, errors.New("metainfo: top level is not a dictionary")
	}
	top, err := decodeDict(data)
	if err != nil {
		return nil, err
	}
	raw, ok := top["info"]
	if !ok {
		return nil, errors.New("metainfo: info dictionary missing")
	}
	info, err := parseInfo(raw)
	if err != nil {
		return nil, err
	}
	m := &MetaInfo{
		Info:      *info,
		InfoHash:  sha1.Sum(raw),
		InfoBytes: bytes.Clone(raw),
	}
	m.Announce, _ = decodeString(top, "announce")
	m.Comment, _ = decodeString(top, "comment")
	m.CreatedBy, _ = decodeString(top, "created by")
	m.CreationDate, _ = decodeInt(top, "creation date")
	m.AnnounceList = parseAnnounceList(top["announce-list"])
	m.URLList = parseURLList(top["url-list"])
	return m, nil
}

// ParseInfo decodes and validates a raw bencoded info dictionary on its own,
// as received from peers with BEP 9. The caller checks its hash.
func ParseInfo(raw []byte) (*Info, error) {
	if err := scan(raw); err != nil {
		return nil, err
	}
	return parseInfo(raw)
}

// decodeDict scans data (depth, syntax, trailing bytes) and decodes it as a
// dictionary of raw values.
func decodeDict(data []byte) (dict, error) {
	if err := scan(data); err != nil {
		return nil, err
	}
	if data[0] != 'd' {
		return nil, errors.New("metainfo: not a dictionary")
	}
	d := bencode.NewDecoder(bytes.NewReader(data))
	d.MaxDepth = MaxDepth
	var m dict
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("metainfo: decode: %w", err)
	}
	return m, nil
}

// decodeString decodes the string under key. ok is false if the key is
// absent or not a string.
func decodeString(d dict, key string) (s string, ok bool) {
	raw, present := d[key]
	if !present || len(raw) == 0 || raw[0] < '0' || raw[0] > '9' {
		return "", false
	}
	if err := bencode.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// decodeInt decodes the integer under key. ok is false if the key is absent
// or not an integer that fits an int64.
func decodeInt(d dict, key string) (n int64, ok bool) {
	raw, present := d[key]
	if !present || len(raw) == 0 || raw[0] != 'i' {
		return 0, false
	}
	if err := bencode.Unmarshal(raw, &n); err != nil {
		return 0, false
	}
	return n, true
}

// decodeList splits a raw bencode list into its raw elements; nil if raw is
// not a list.
func decodeList(raw bencode.Bytes) []bencode.Bytes {
	if len(raw) == 0 || raw[0] != 'l' {
		return nil
	}
	var l []bencode.Bytes
	if err := bencode.Unmarshal(raw, &l); err != nil {
		return nil
	}
	return l
}

// decodeStrings decodes the string elements of a raw list, skipping empty
// strings and elements of any other type.
func decodeStrings(raw bencode.Bytes) []string {
	var out []string
	for _, e := range decodeList(raw) {
		if s, ok := decodeString(dict{"": e}, ""); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parseAnnounceList decodes a BEP 12 announce-list, a list of tiers each a
// list of URLs. Malformed tiers and URLs and empty ones are dropped.
func parseAnnounceList(raw bencode.Bytes) [][]string {
	var tiers [][]string
	for _, t := range decodeList(raw) {
		if urls := decodeStrings(t); len(urls) > 0 {
			tiers = append(tiers, urls)
		}
	}
	return tiers
}

// parseURLList decodes a BEP 19 url-list, either a single URL string or a
// list of them.
func parseURLList(raw bencode.Bytes) []string {
	if s, ok := decodeString(dict{"": raw}, ""); ok {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	return decodeStrings(raw)
}
