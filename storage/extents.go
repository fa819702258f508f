package storage

import "sort"

// extent is one contiguous run of torrent data inside a single file.
type extent struct {
	file int   // index into the file list
	off  int64 // offset inside that file
	n    int64 // bytes
}

// layout places the files end to end, as BEP 3 says: the multi-file case
// is treated as one stream by concatenating the files in list order.
// It is immutable after newLayout, so any goroutine may use it.
type layout struct {
	files  []File
	starts []int64 // starts[i] is the torrent offset of files[i]'s first byte
	total  int64
}

// newLayout computes each file's starting offset in the concatenated data.
func newLayout(files []File) layout {
	l := layout{files: files, starts: make([]int64, len(files))}
	for i, f := range files {
		l.starts[i] = l.total
		l.total += f.Length
	}
	return l
}

// extents returns the file pieces covering [off, off+n) of the
// concatenated data of files, skipping zero-length files. The range must
// lie inside the data; the caller checks it. Replaces torrent_piece_map's
// offset arithmetic.
func extents(files []File, off, n int64) []extent {
	return newLayout(files).appendExtents(nil, off, n)
}

// appendExtents is the layout's version of extents, appending to out (a
// caller's small array keeps the per-block path free of allocations): a
// binary search finds the first file, so large file lists stay cheap.
func (l layout) appendExtents(out []extent, off, n int64) []extent {
	if n <= 0 {
		return out
	}
	// The first file whose end lies beyond off holds off's byte; ends are
	// non-decreasing, and zero-length files (start == end) never match.
	i := sort.Search(len(l.files), func(i int) bool {
		return l.starts[i]+l.files[i].Length > off
	})
	for ; i < len(l.files) && n > 0; i++ {
		f := l.files[i]
		if f.Length == 0 {
			continue
		}
		fo := off - l.starts[i]
		k := min(n, f.Length-fo)
		out = append(out, extent{file: i, off: fo, n: k})
		off += k
		n -= k
	}
	return out
}
