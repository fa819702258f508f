package metainfo

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
)

// maxBufferBytes bounds the memory held in piece buffers while building.
const maxBufferBytes = 512 << 20

// hashJob is one piece's data on its way from the reader to a hasher.
type hashJob struct {
	index int
	buf   []byte
}

// hashPieces returns the concatenated SHA-1 hashes of the pieces of files'
// concatenated data. One goroutine reads the files in order with plain reads
// (sequential I/O); runtime.NumCPU() hashers hash the pieces it hands over.
func hashPieces(files []srcFile, total, pl int64, progress func(done, total int64)) ([]byte, error) {
	pieces := make([]byte, ((total-1)/pl+1)*HashSize)
	workers := runtime.NumCPU()
	nbuf := min(int64(workers+2), max(2, maxBufferBytes/pl))
	free := make(chan []byte, nbuf)
	for range nbuf {
		free <- nil // allocated on first use
	}
	jobs := make(chan hashJob)
	rep := &reporter{fn: progress, total: total}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				h := sha1.Sum(j.buf)
				copy(pieces[j.index*HashSize:], h[:])
				rep.add(int64(len(j.buf)))
				free <- j.buf[:cap(j.buf)]
			}
		}()
	}
	r := &pieceReader{bufLen: min(pl, total), free: free, jobs: jobs}
	err := r.readAll(files)
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return pieces, nil
}

// pieceReader cuts the concatenated data of the files into pieces.
// Owned by the goroutine calling hashPieces.
type pieceReader struct {
	bufLen int64
	free   chan []byte
	jobs   chan<- hashJob
	buf    []byte // the piece being filled, nil between pieces
	fill   int64
	index  int
}

// readAll reads every file in order and sends the last, short piece.
func (r *pieceReader) readAll(files []srcFile) error {
	for _, f := range files {
		if err := r.readFile(f); err != nil {
			return err
		}
	}
	if r.buf != nil && r.fill > 0 {
		r.send()
	}
	return nil
}

// readFile appends f's data to the pieces, refusing a file whose size
// changed since it was listed.
func (r *pieceReader) readFile(f srcFile) error {
	fh, err := os.Open(f.path)
	if err != nil {
		return fmt.Errorf("metainfo: build: %w", err)
	}
	defer fh.Close()
	for left := f.size; left > 0; {
		if r.buf == nil {
			r.next()
		}
		n := min(left, r.bufLen-r.fill)
		if _, err := io.ReadFull(fh, r.buf[r.fill:r.fill+n]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("metainfo: build: %s: file shrank while hashing", f.path)
			}
			return fmt.Errorf("metainfo: build: %w", err)
		}
		r.fill += n
		left -= n
		if r.fill == r.bufLen {
			r.send()
		}
	}
	if fi, err := fh.Stat(); err != nil || fi.Size() != f.size {
		return fmt.Errorf("metainfo: build: %s: file changed size while hashing", f.path)
	}
	return nil
}

// next takes a free buffer for the next piece, allocating it on first use.
func (r *pieceReader) next() {
	r.buf = <-r.free
	if r.buf == nil {
		r.buf = make([]byte, r.bufLen)
	}
	r.fill = 0
}

// send hands the filled part of the current buffer to a hasher.
func (r *pieceReader) send() {
	r.jobs <- hashJob{index: r.index, buf: r.buf[:r.fill]}
	r.index++
	r.buf = nil
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
