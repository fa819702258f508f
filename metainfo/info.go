package metainfo

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/anacrolix/torrent/bencode"
)

// rawFile is one entry of the info dictionary's files list as decoded.
// Unknown keys (md5sum, attr, ...) are ignored.
type rawFile struct {
	Length   *int64        `bencode:"length"`
	Path     []string      `bencode:"path"`
	PathUTF8 bencode.Bytes `bencode:"path.utf-8"`
}

// parseInfo decodes and validates a raw info dictionary. raw must already
// have passed scan.
func parseInfo(raw bencode.Bytes) (*Info, error) {
	if len(raw) == 0 || raw[0] != 'd' {
		return nil, errors.New("metainfo: info is not a dictionary")
	}
	var d dict
	if err := bencode.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("metainfo: info: %w", err)
	}
	name, err := parseName(d)
	if err != nil {
		return nil, err
	}
	pl, ok := decodeInt(d, "piece length")
	if !ok {
		return nil, errors.New("metainfo: piece length missing or not an integer")
	}
	if pl <= 0 || pl > MaxPieceLength {
		return nil, fmt.Errorf("metainfo: piece length %d out of range 1..%d", pl, MaxPieceLength)
	}
	pieces, ok := decodeString(d, "pieces")
	if !ok {
		return nil, errors.New("metainfo: pieces missing or not a string")
	}
	if len(pieces)%HashSize != 0 {
		return nil, fmt.Errorf("metainfo: pieces length %d not a multiple of %d", len(pieces), HashSize)
	}
	files, multi, err := parseFiles(d, name)
	if err != nil {
		return nil, err
	}
	total, err := layout(files)
	if err != nil {
		return nil, err
	}
	if want := (total-1)/pl + 1; int64(len(pieces)/HashSize) != want {
		return nil, fmt.Errorf("metainfo: %d piece hashes but %d bytes need %d pieces",
			len(pieces)/HashSize, total, want)
	}
	private, _ := decodeInt(d, "private")
	return &Info{
		Name:        name,
		PieceLength: pl,
		Pieces:      []byte(pieces),
		Files:       files,
		Length:      total,
		Private:     private == 1, // BEP 27: "private=1"
		MultiFile:   multi,
	}, nil
}

// parseName returns the torrent name, preferring a valid name.utf-8, and
// checks it is a safe path element.
func parseName(d dict) (string, error) {
	name, ok := decodeString(d, "name.utf-8")
	if !ok || name == "" || !utf8.ValidString(name) {
		name, _ = decodeString(d, "name")
	}
	if name == "" {
		return "", errors.New("metainfo: name missing or empty")
	}
	if err := checkElem(name); err != nil {
		return "", fmt.Errorf("metainfo: name: %w", err)
	}
	return name, nil
}

// parseFiles returns the torrent's files in data order, with the name as
// first path element for multi-file torrents. Offsets are not yet set.
func parseFiles(d dict, name string) ([]File, bool, error) {
	_, hasLength := d["length"]
	_, hasFiles := d["files"]
	switch {
	case hasLength && hasFiles:
		return nil, false, errors.New("metainfo: both length and files present")
	case !hasLength && !hasFiles:
		return nil, false, errors.New("metainfo: neither length nor files present")
	case hasLength:
		n, ok := decodeInt(d, "length")
		if !ok {
			return nil, false, errors.New("metainfo: length is not an integer")
		}
		if n < 0 {
			return nil, false, fmt.Errorf("metainfo: negative length %d", n)
		}
		return []File{{Path: []string{name}, Length: n}}, false, nil
	}
	var raws []rawFile
	if err := bencode.Unmarshal(d["files"], &raws); err != nil {
		return nil, false, fmt.Errorf("metainfo: files: %w", err)
	}
	switch {
	case len(raws) == 0:
		return nil, false, errors.New("metainfo: files list is empty")
	case len(raws) > MaxFiles:
		return nil, false, fmt.Errorf("metainfo: %d files, more than %d", len(raws), MaxFiles)
	}
	files := make([]File, len(raws))
	for i, rf := range raws {
		f, err := parseFile(rf, name)
		if err != nil {
			return nil, false, fmt.Errorf("metainfo: file %d: %w", i, err)
		}
		files[i] = f
	}
	if err := checkUnique(files); err != nil {
		return nil, false, err
	}
	return files, true, nil
}

// parseFile validates one files entry and prefixes its path with name.
func parseFile(rf rawFile, name string) (File, error) {
	if rf.Length == nil {
		return File{}, errors.New("length missing")
	}
	if *rf.Length < 0 {
		return File{}, fmt.Errorf("negative length %d", *rf.Length)
	}
	elems := rf.Path
	if alt, ok := utf8Path(rf.PathUTF8); ok {
		elems = alt
	}
	if len(elems) == 0 {
		return File{}, errors.New("empty path")
	}
	for _, e := range elems {
		if err := checkElem(e); err != nil {
			return File{}, err
		}
	}
	path := make([]string, 0, len(elems)+1)
	path = append(append(path, name), elems...)
	return File{Path: path, Length: *rf.Length}, nil
}

// utf8Path decodes a path.utf-8 list; ok only if it is a non-empty list of
// valid UTF-8 strings.
func utf8Path(raw bencode.Bytes) ([]string, bool) {
	if len(raw) == 0 {
		return nil, false
	}
	var elems []string
	if err := bencode.Unmarshal(raw, &elems); err != nil || len(elems) == 0 {
		return nil, false
	}
	for _, e := range elems {
		if !utf8.ValidString(e) {
			return nil, false
		}
	}
	return elems, true
}

// layout sets each file's offset and returns the total length. It refuses a
// total that would overflow int64 (checked before adding) and an empty
// torrent, which has nothing to download.
func layout(files []File) (int64, error) {
	var total int64
	for i := range files {
		if files[i].Length > math.MaxInt64-total {
			return 0, fmt.Errorf("metainfo: file %d: total length overflows", i)
		}
		files[i].Offset = total
		total += files[i].Length
	}
	if total == 0 {
		return 0, errors.New("metainfo: total length is 0, nothing to download")
	}
	return total, nil
}

// checkElem refuses a path element that could name something other than a
// plain entry inside the output directory: empty (a leading or doubled
// slash), "." or "..", or one holding a separator or NUL. It also refuses
// an element that is not valid UTF-8 (a torrent whose name.utf-8 or
// path.utf-8 is valid uses that instead) or that holds a control character,
// so a name printed on a terminal or in a log cannot carry escape
// sequences or forge lines.
func checkElem(e string) error {
	switch {
	case e == "":
		return errors.New("empty path element not allowed")
	case e == "." || e == "..":
		return fmt.Errorf("path element %q not allowed", e)
	case strings.ContainsAny(e, "/\\\x00"):
		return fmt.Errorf("path element %q contains '/', '\\\\' or NUL", e)
	case !utf8.ValidString(e):
		return fmt.Errorf("path element %q is not valid UTF-8", e)
	case strings.ContainsFunc(e, unicode.IsControl):
		return fmt.Errorf("path element %q contains a control character", e)
	}
	return nil
}

// checkUnique refuses two files with the same path, and a file whose path is
// a directory of another file ("a" and "a/b"): either would make two files
// share storage or fail on creation. Elements hold no '/', so joining with
// '/' gives each path a unique key.
func checkUnique(files []File) error {
	seen := make(map[string]bool, len(files)) // true: a file, false: a directory
	for i, f := range files {
		key := ""
		for j, e := range f.Path {
			if j > 0 {
				key += "/"
			}
			key += e
			isFile, ok := seen[key]
			last := j == len(f.Path)-1
			switch {
			case ok && isFile:
				return fmt.Errorf("metainfo: file %d: path %q already used by a file", i, key)
			case ok && last:
				return fmt.Errorf("metainfo: file %d: path %q already used by a directory", i, key)
			}
			if !ok {
				seen[key] = last
			}
		}
	}
	return nil
}
