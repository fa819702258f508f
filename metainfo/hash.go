package metainfo

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
)

// chunkSize is how much of a piece a hasher reads at a time: small
// enough that the copy stays in the core's cache for SHA-1 to read back,
// where a whole piece (1 MiB or more) would go out to memory and back.
const chunkSize = 128 << 10

// hashPieces returns the concatenated SHA-1 hashes of the pieces of files'
// concatenated data. runtime.NumCPU() hashers each take the next piece,
// read it in chunks with pread from the file or files it spans, and hash
// it, so the reading copies run on every core too and no buffer changes
// hands.
func hashPieces(files []srcFile, total, pl int64, progress func(done, total int64)) ([]byte, error) {
	n := (total-1)/pl + 1
	pieces := make([]byte, n*HashSize)
	rep := &reporter{fn: progress, total: total}
	starts := make([]int64, len(files))
	var at int64
	for i, f := range files {
		starts[i] = at
		at += f.size
	}
	var next atomic.Int64
	var failed atomic.Bool
	workers := runtime.NumCPU()
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := &pieceReader{files: files, starts: starts}
			defer r.close()
			buf := make([]byte, min(chunkSize, pl, total))
			h := sha1.New()
			for i := next.Add(1) - 1; i < n && !failed.Load(); i = next.Add(1) - 1 {
				if err := r.hashAt(h, buf, i*pl, min(pl, total-i*pl)); err != nil {
					errs[w] = err
					failed.Store(true)
					return
				}
				h.Sum(pieces[i*HashSize : i*HashSize : (i+1)*HashSize])
				rep.add(min(pl, total-i*pl))
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return pieces, checkSizes(files)
}

// hashAt resets h and feeds it the n bytes at off, read through buf.
func (r *pieceReader) hashAt(h hash.Hash, buf []byte, off, n int64) error {
	h.Reset()
	for n > 0 {
		p := buf[:min(int64(len(buf)), n)]
		if err := r.readAt(p, off); err != nil {
			return err
		}
		h.Write(p)
		off += int64(len(p))
		n -= int64(len(p))
	}
	return nil
}

// pieceReader reads stretches of the files' concatenated data, keeping the
// file it read last open. Each hasher has its own.
type pieceReader struct {
	files  []srcFile
	starts []int64 // offset of each file in the concatenated data
	cur    int     // index of the open file, when fh is not nil
	fh     *os.File
}

// readAt fills p with the data at off, across file boundaries; a file that
// ends early is an error naming it.
func (r *pieceReader) readAt(p []byte, off int64) error {
	// The last file starting at or before off holds its byte (zero-length
	// files share their start with the next one and are skipped).
	i := sort.Search(len(r.files), func(i int) bool { return r.starts[i] > off }) - 1
	for len(p) > 0 {
		for r.files[i].size == 0 || off >= r.starts[i]+r.files[i].size {
			i++
		}
		f, err := r.open(i)
		if err != nil {
			return err
		}
		k := min(int64(len(p)), r.starts[i]+r.files[i].size-off)
		if _, err := f.ReadAt(p[:k], off-r.starts[i]); err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("metainfo: build: %s: file shrank while hashing", r.files[i].path)
			}
			return fmt.Errorf("metainfo: build: %w", err)
		}
		p, off = p[k:], off+k
	}
	return nil
}

// open returns file i, opening it (and closing the previous one) if needed.
func (r *pieceReader) open(i int) (*os.File, error) {
	if r.fh != nil && r.cur == i {
		return r.fh, nil
	}
	r.close()
	fh, err := os.Open(r.files[i].path)
	if err != nil {
		return nil, fmt.Errorf("metainfo: build: %w", err)
	}
	r.fh, r.cur = fh, i
	return fh, nil
}

// close closes the open file, if any.
func (r *pieceReader) close() {
	if r.fh != nil {
		r.fh.Close()
		r.fh = nil
	}
}

// checkSizes refuses a file whose size changed since it was listed (one
// that grew; one that shrank fails its read).
func checkSizes(files []srcFile) error {
	for _, f := range files {
		fi, err := os.Stat(f.path)
		if err != nil || fi.Size() != f.size {
			return fmt.Errorf("metainfo: build: %s: file changed size while hashing", f.path)
		}
	}
	return nil
}

// reporter serialises progress calls from the hashers.
type reporter struct {
	mu    sync.Mutex
	fn    func(done, total int64)
	done  int64
	total int64
}

// add counts n more bytes hashed and reports the running total.
func (r *reporter) add(n int64) {
	if r.fn == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done += n
	r.fn(r.done, r.total)
}
