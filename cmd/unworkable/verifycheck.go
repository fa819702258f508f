package main

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/unworkable/unworkable/metainfo"
)

// Piece states found by verify.
const (
	pieceGood    = iota
	pieceBad     // read in full, wrong SHA-1
	pieceMissing // some of its bytes are not there: a missing, short or unreadable file
)

// chunkBytes is about how much contiguous data a verify worker takes at a
// time: large enough for sequential reads, small enough to share the work.
// A variable so that tests can spread a small torrent over every worker.
var chunkBytes int64 = 64 << 20

// vfile is what verify found of one file of the torrent. Set up before the
// workers start; afterwards only readErr changes, under verifier.mu.
type vfile struct {
	path    string // slash-joined, as in the torrent
	disk    string // below the data directory
	length  int64  // wanted
	offset  int64
	size    int64       // found on disk; meaningful when fi != nil
	fi      os.FileInfo // from Lstat; nil when the file is unusable
	problem string      // "missing", "wrong size", "symbolic link", ...; "" if fine
	readErr error       // the first read error, if any
}

// verifier hash-checks the data of one torrent below dir with plain reads;
// it never creates or modifies anything.
type verifier struct {
	info   *metainfo.Info
	files  []vfile
	states []int // per piece; each written by the one worker that owns it
	done   atomic.Int64
	meter  *hashMeter
	mu     sync.Mutex // guards vfile.readErr
}

// newVerifier looks at every file of info below dir (Lstat only; symbolic
// links anywhere below dir are refused).
func newVerifier(info *metainfo.Info, dir string) *verifier {
	v := &verifier{info: info, states: make([]int, info.NumPieces())}
	dirs := map[string]string{} // checked directory -> problem
	for _, f := range info.Files {
		vf := vfile{path: filePath(f), disk: filepath.Join(append([]string{dir}, f.Path...)...),
			length: f.Length, offset: f.Offset}
		vf.problem = checkParents(dir, f.Path, dirs)
		if vf.problem == "" {
			vf.fi, vf.problem = checkFile(vf.disk)
		}
		if vf.fi != nil {
			vf.size = vf.fi.Size()
			if vf.size != vf.length {
				vf.problem = fmt.Sprintf("wrong size: %d bytes, want %d", vf.size, vf.length)
			}
		}
		v.files = append(v.files, vf)
	}
	return v
}

// checkParents checks the directories between dir and a file: each must be
// a real directory, not a symbolic link. Results are cached in seen.
func checkParents(dir string, elems []string, seen map[string]string) string {
	p := dir
	for _, e := range elems[:len(elems)-1] {
		p = filepath.Join(p, e)
		problem, ok := seen[p]
		if !ok {
			fi, err := os.Lstat(p)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				problem = "missing"
			case err != nil:
				problem = err.Error()
			case fi.Mode()&fs.ModeSymlink != 0:
				problem = "symbolic link in its path: " + p
			case !fi.IsDir():
				problem = "not a directory in its path: " + p
			}
			seen[p] = problem
		}
		if problem != "" {
			return problem
		}
	}
	return ""
}

// checkFile looks at a file without following a symbolic link.
func checkFile(path string) (os.FileInfo, string) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "missing"
	case err != nil:
		return nil, err.Error()
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, "symbolic link"
	case !fi.Mode().IsRegular():
		return nil, "not a regular file"
	}
	return fi, ""
}

// open opens a file found by newVerifier for reading: never through a
// symbolic link, and only if it is still the file that was looked at.
func (vf *vfile) open() (*os.File, error) {
	f, err := os.OpenFile(vf.disk, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !os.SameFile(fi, vf.fi) {
		f.Close()
		return nil, fmt.Errorf("open %s: replaced while verifying", vf.disk)
	}
	return f, nil
}

// run hash-checks every piece on runtime.NumCPU() workers. Each worker takes
// a chunk of about chunkBytes of contiguous pieces at a time and reads them
// in order, one piece-sized pread per file a piece touches.
func (v *verifier) run() {
	n := v.info.NumPieces()
	per := int(max(1, chunkBytes/v.info.PieceLength))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.NumCPU(), (n+per-1)/per) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{v: v, buf: make([]byte, v.info.PieceLength), cur: -1}
			defer w.close()
			for {
				first := int(next.Add(1)-1) * per
				if first >= n {
					return
				}
				for i := first; i < min(first+per, n); i++ {
					v.states[i] = w.piece(i)
				}
			}
		}()
	}
	wg.Wait()
}

// worker is one verify goroutine: its piece buffer and the file it has open.
type worker struct {
	v   *verifier
	buf []byte
	cur int // index of the open file, -1 if none
	f   *os.File
}

// piece checks piece i and reports its state.
func (w *worker) piece(i int) int {
	in := w.v.info
	start, n := int64(i)*in.PieceLength, in.PieceSize(i)
	defer func() {
		w.v.meter.update(w.v.done.Add(n), in.Length)
	}()
	buf := w.buf[:n]
	fill := int64(0)
	for k := w.v.fileAt(start); fill < n; k++ {
		vf := &w.v.files[k]
		off := start + fill - vf.offset
		m := min(n-fill, vf.length-off)
		if m <= 0 {
			continue // a zero-length file
		}
		if vf.fi == nil || off+m > vf.size || !w.read(k, buf[fill:fill+m], off) {
			return pieceMissing
		}
		fill += m
	}
	h := sha1.Sum(buf)
	if !bytes.Equal(h[:], in.Pieces[i*metainfo.HashSize:(i+1)*metainfo.HashSize]) {
		return pieceBad
	}
	return pieceGood
}

// read fills p from file k at off, recording the first error of the file.
func (w *worker) read(k int, p []byte, off int64) bool {
	var err error
	if w.cur != k {
		w.close()
		if w.f, err = w.v.files[k].open(); err == nil {
			w.cur = k
		}
	}
	if err == nil {
		_, err = w.f.ReadAt(p, off)
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("read %s: shrank while verifying", w.v.files[k].disk)
		}
	}
	if err != nil {
		w.v.mu.Lock()
		if w.v.files[k].readErr == nil {
			w.v.files[k].readErr = err
		}
		w.v.mu.Unlock()
		return false
	}
	return true
}

// close closes the worker's open file.
func (w *worker) close() {
	if w.f != nil {
		w.f.Close()
	}
	w.f, w.cur = nil, -1
}

// fileAt returns the index of the first file that ends after byte off:
// the one holding it, zero-length files before it skipped.
func (v *verifier) fileAt(off int64) int {
	return sort.Search(len(v.files), func(k int) bool {
		return v.files[k].offset+v.files[k].length > off
	})
}

// pieceFiles returns the paths of the non-empty files piece i touches.
func (v *verifier) pieceFiles(i int) []string {
	in := v.info
	start, end := int64(i)*in.PieceLength, int64(i)*in.PieceLength+in.PieceSize(i)
	var out []string
	for k := v.fileAt(start); k < len(v.files) && v.files[k].offset < end; k++ {
		if v.files[k].length > 0 {
			out = append(out, v.files[k].path)
		}
	}
	return out
}
