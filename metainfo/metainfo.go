// Package metainfo parses and builds .torrent files: BEP 3 metainfo, BEP 12
// announce-list, BEP 19 url-list and BEP 27 private torrents. It computes the
// info hash from the exact bytes of the info dictionary and refuses any file
// path that could escape the output directory.
//
// Replaces the metainfo half of the C Unworkable's bencode.c and torrent.c.
package metainfo

import (
	"crypto/sha1"
	"encoding/hex"
	"net/url"
	"strings"
)

// MaxTorrentSize is the largest .torrent file Load and Parse accept. Real
// torrents are a few megabytes at most; the bound keeps a hostile file from
// exhausting memory.
const MaxTorrentSize = 32 << 20

// MaxPieceLength is the largest piece length accepted. Anything above it is
// absurd and would make a single piece buffer dangerously large.
const MaxPieceLength = 256 << 20

// MaxFiles is the largest number of files a torrent may list.
const MaxFiles = 1 << 20

// MaxDepth is the deepest nesting of bencode lists and dictionaries accepted.
// A real torrent nests five levels (top, info, files, file, path); the limit
// is checked by an iterative scan before decoding, so deeply nested hostile
// input is refused without recursion.
const MaxDepth = 32

// HashSize is the length of a SHA-1 piece hash and of the info hash.
const HashSize = sha1.Size

// File is one file of a torrent, in the order of the torrent's data.
type File struct {
	// Path holds the path elements relative to the output directory,
	// including the torrent name as first element for multi-file torrents;
	// for a single-file torrent it is []string{Name}. Every element has been
	// checked by Parse: none is empty, ".", "..", or holds '/', '\\' or NUL.
	Path []string
	// Length is the file's size in bytes.
	Length int64
	// Offset is the offset of the file's first byte within the torrent's
	// concatenated data.
	Offset int64
}

// Info is the decoded and validated info dictionary of a torrent. It is a
// plain value: once returned by Parse it is never modified by this package.
type Info struct {
	Name        string
	PieceLength int64
	Pieces      []byte // concatenated 20-byte SHA-1 hashes
	Files       []File // always at least one; single-file torrents have exactly one
	Length      int64  // total length of all files
	Private     bool   // BEP 27: only announce to the torrent's trackers
	MultiFile   bool   // the info dictionary has a files list
}

// NumPieces returns the number of pieces in the torrent.
func (i *Info) NumPieces() int {
	return len(i.Pieces) / HashSize
}

// PieceSize returns the length of piece index: PieceLength for every piece
// except a possibly shorter last one. It returns 0 for an index out of range.
func (i *Info) PieceSize(index int) int64 {
	n := i.NumPieces()
	if index < 0 || index >= n {
		return 0
	}
	if index == n-1 {
		return i.Length - int64(index)*i.PieceLength
	}
	return i.PieceLength
}

// PieceHash returns the expected SHA-1 of piece index, or the zero hash for
// an index out of range.
func (i *Info) PieceHash(index int) [20]byte {
	var h [20]byte
	if index < 0 || index >= i.NumPieces() {
		return h
	}
	copy(h[:], i.Pieces[index*HashSize:])
	return h
}

// MetaInfo is a parsed .torrent file.
type MetaInfo struct {
	Info         Info
	InfoHash     [20]byte   // SHA-1 of InfoBytes
	InfoBytes    []byte     // raw bencoded info dictionary (for BEP 9)
	Announce     string     // BEP 3 tracker URL
	AnnounceList [][]string // BEP 12 tiers as in the file, empty tiers and empty URLs dropped
	URLList      []string   // BEP 19 web seeds
	Comment      string
	CreatedBy    string
	CreationDate int64 // seconds since the Unix epoch, 0 if absent
}

// Trackers returns the BEP 12 tiers: AnnounceList if it has any URL, else
// [][]string{{Announce}} if Announce is set, else nil. The result is a fresh
// copy, so the caller may shuffle tiers as BEP 12 asks.
func (m *MetaInfo) Trackers() [][]string {
	var tiers [][]string
	for _, tier := range m.AnnounceList {
		var t []string
		for _, u := range tier {
			if u != "" {
				t = append(t, u)
			}
		}
		if len(t) > 0 {
			tiers = append(tiers, t)
		}
	}
	if len(tiers) > 0 {
		return tiers
	}
	if m.Announce != "" {
		return [][]string{{m.Announce}}
	}
	return nil
}

// Magnet returns a BEP 9 magnet link for the torrent:
// "magnet:?xt=urn:btih:<hex info hash>&dn=<name>&tr=<tracker>..." with every
// tracker of every tier listed once, in order.
func (m *MetaInfo) Magnet() string {
	var b strings.Builder
	b.WriteString("magnet:?xt=urn:btih:")
	b.WriteString(hex.EncodeToString(m.InfoHash[:]))
	if m.Info.Name != "" {
		b.WriteString("&dn=")
		b.WriteString(url.QueryEscape(m.Info.Name))
	}
	seen := make(map[string]bool)
	for _, tier := range m.Trackers() {
		for _, u := range tier {
			if seen[u] {
				continue
			}
			seen[u] = true
			b.WriteString("&tr=")
			b.WriteString(url.QueryEscape(u))
		}
	}
	return b.String()
}
