package metainfo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/anacrolix/torrent/bencode"
)

// Piece length bounds used by AutoPieceLength.
const (
	minAutoPieceLength = 16 << 10
	maxAutoPieceLength = 16 << 20
	targetPieces       = 2000
)

// BuildOptions controls Build. The zero value builds a trackerless torrent
// with an automatic piece length.
type BuildOptions struct {
	// PieceLength is the piece size in bytes; 0 means AutoPieceLength(total).
	PieceLength int64
	// Announce lists BEP 12 tiers of tracker URLs. The announce key is the
	// first URL of the first tier; announce-list is written only if there is
	// more than one URL in total.
	Announce [][]string
	// URLList lists BEP 19 web seeds.
	URLList []string
	// Private sets the BEP 27 private flag in the info dictionary.
	Private bool
	// Comment and CreatedBy are written when not empty.
	Comment, CreatedBy string
	// CreationDate is seconds since the Unix epoch; 0 omits it.
	CreationDate int64
	// Progress, if non-nil, is called from time to time with the bytes
	// hashed so far. Calls come from any goroutine but never overlap.
	Progress func(done, total int64)
}

// srcFile is one file to put in a built torrent.
type srcFile struct {
	path  string   // on disk
	elems []string // path below root, empty for a single-file torrent
	key   string   // elems joined with '/', the sort key
	size  int64
}

// infoDict is the info dictionary as written by Build: the same keys, values
// and (sorted) order as mktorrent, so both give the same info hash.
type infoDict struct {
	Files       []fileDict `bencode:"files,omitempty"`
	Length      int64      `bencode:"length,omitempty"`
	Name        string     `bencode:"name"`
	PieceLength int64      `bencode:"piece length"`
	Pieces      []byte     `bencode:"pieces"`
	Private     int        `bencode:"private,omitempty"`
}

// fileDict is one entry of infoDict.Files.
type fileDict struct {
	Length int64    `bencode:"length"`
	Path   []string `bencode:"path"`
}

// torrentDict is the top level of a built .torrent.
type torrentDict struct {
	Announce     string        `bencode:"announce,omitempty"`
	AnnounceList [][]string    `bencode:"announce-list,omitempty"`
	Comment      string        `bencode:"comment,omitempty"`
	CreatedBy    string        `bencode:"created by,omitempty"`
	CreationDate int64         `bencode:"creation date,omitempty"`
	Info         bencode.Bytes `bencode:"info"`
	URLList      []string      `bencode:"url-list,omitempty"`
}

// Build makes a .torrent of the file or directory root and returns its
// bytes. A directory's files are listed in byte-wise order of their full
// relative paths, as mktorrent does, and empty directories are left out.
// Nothing is skipped silently: a symbolic link or special file below root,
// or an unreadable file, is an error naming the path. root itself may be a
// symbolic link, since the user named it. The name is root's base name.
func Build(root string, opts BuildOptions) ([]byte, error) {
	name, files, multi, err := collect(root)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, f := range files {
		total += f.size
	}
	if total == 0 {
		return nil, fmt.Errorf("metainfo: build %s: no data, total length is 0", root)
	}
	pl := opts.PieceLength
	if pl == 0 {
		pl = AutoPieceLength(total)
	}
	if pl < 0 || pl > MaxPieceLength {
		return nil, fmt.Errorf("metainfo: build: piece length %d out of range 1..%d", pl, MaxPieceLength)
	}
	if (total-1)/pl+1 > (MaxTorrentSize-4096)/HashSize {
		return nil, fmt.Errorf("metainfo: build: piece length %d too small for %d bytes", pl, total)
	}
	pieces, err := hashPieces(files, total, pl, opts.Progress)
	if err != nil {
		return nil, err
	}
	info, err := encodeInfo(name, files, multi, pl, pieces, opts.Private)
	if err != nil {
		return nil, err
	}
	return encodeTorrent(info, opts)
}

// AutoPieceLength picks a piece length for total bytes: the smallest power
// of two from 16 KiB to 16 MiB giving at most 2000 pieces, so that a torrent
// has roughly 1000 to 2000 pieces unless it is very small or very large.
func AutoPieceLength(total int64) int64 {
	pl := int64(minAutoPieceLength)
	for pl < maxAutoPieceLength && total > pl*targetPieces {
		pl *= 2
	}
	return pl
}

// collect finds the files to put in a torrent of root.
func collect(root string) (name string, files []srcFile, multi bool, err error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", nil, false, fmt.Errorf("metainfo: build: %w", err)
	}
	name = filepath.Base(abs)
	if err := checkElem(name); err != nil {
		return "", nil, false, fmt.Errorf("metainfo: build %s: name: %w", root, err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return "", nil, false, fmt.Errorf("metainfo: build: %w", err)
	}
	switch {
	case fi.Mode().IsRegular():
		return name, []srcFile{{path: root, size: fi.Size()}}, false, nil
	case !fi.IsDir():
		return "", nil, false, fmt.Errorf("metainfo: build: %s: not a regular file or directory", root)
	}
	files, err = walk(root, nil, files)
	if err != nil {
		return "", nil, false, err
	}
	if len(files) > MaxFiles {
		return "", nil, false, fmt.Errorf("metainfo: build %s: %d files, more than %d", root, len(files), MaxFiles)
	}
	sort.Slice(files, func(i, j int) bool {
		return files[i].key < files[j].key
	})
	return name, files, true, nil
}

// walk appends the regular files below dir (at path elems below root) to
// files, refusing links, special files and unsafe names.
func walk(dir string, elems []string, files []srcFile) ([]srcFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("metainfo: build: %w", err)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if err := checkElem(e.Name()); err != nil {
			return nil, fmt.Errorf("metainfo: build: %s: %w", path, err)
		}
		sub := append(elems[:len(elems):len(elems)], e.Name())
		switch t := e.Type(); {
		case t.IsDir():
			if files, err = walk(path, sub, files); err != nil {
				return nil, err
			}
		case t.IsRegular():
			fi, err := e.Info()
			if err != nil {
				return nil, fmt.Errorf("metainfo: build: %w", err)
			}
			files = append(files, srcFile{path: path, elems: sub, key: strings.Join(sub, "/"), size: fi.Size()})
		case t&os.ModeSymlink != 0:
			return nil, fmt.Errorf("metainfo: build: %s: symbolic links are not supported", path)
		default:
			return nil, fmt.Errorf("metainfo: build: %s: special file (%v) not supported", path, t)
		}
	}
	return files, nil
}

// encodeInfo bencodes the info dictionary.
func encodeInfo(name string, files []srcFile, multi bool, pl int64, pieces []byte, private bool) ([]byte, error) {
	d := infoDict{Name: name, PieceLength: pl, Pieces: pieces}
	if private {
		d.Private = 1
	}
	if multi {
		d.Files = make([]fileDict, len(files))
		for i, f := range files {
			d.Files[i] = fileDict{Length: f.size, Path: f.elems}
		}
	} else {
		d.Length = files[0].size
	}
	b, err := bencode.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("metainfo: build: encode info: %w", err)
	}
	return b, nil
}

// encodeTorrent bencodes the top-level dictionary around info.
func encodeTorrent(info []byte, opts BuildOptions) ([]byte, error) {
	t := torrentDict{
		Comment:      opts.Comment,
		CreatedBy:    opts.CreatedBy,
		CreationDate: opts.CreationDate,
		Info:         info,
		URLList:      nonEmpty(opts.URLList),
	}
	var tiers [][]string
	urls := 0
	for _, tier := range opts.Announce {
		if t := nonEmpty(tier); len(t) > 0 {
			tiers = append(tiers, t)
			urls += len(t)
		}
	}
	if len(tiers) > 0 {
		t.Announce = tiers[0][0]
	}
	if urls > 1 {
		t.AnnounceList = tiers
	}
	b, err := bencode.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("metainfo: build: encode: %w", err)
	}
	if len(b) > MaxTorrentSize {
		return nil, errors.New("metainfo: build: torrent larger than MaxTorrentSize")
	}
	return b, nil
}

// nonEmpty returns the non-empty strings of s.
func nonEmpty(s []string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
