package session

import (
	"crypto/sha1"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/unworkable/unworkable/metainfo"
	"github.com/unworkable/unworkable/piece"
	"github.com/unworkable/unworkable/storage"
)

// hashJob asks a hasher to verify a piece; with blocks set it also returns
// the SHA-1 of every block, to find out which peer sent bad data. check
// marks a piece of the start-up check (existing data, no sender to judge).
type hashJob struct {
	index  int
	blocks bool
	check  bool
}

// hashResult is a hasher's verdict on one piece. err is a storage error
// (fatal); otherwise ok says whether the SHA-1 matched. sums holds the
// per-block hashes when they were asked for or the piece failed.
type hashResult struct {
	index int
	check bool
	ok    bool
	sums  [][20]byte
	err   error
}

// startHashers starts one hasher per core on s.hashq. They hash the piece
// straight from the storage mapping (no copy), off the loop: the pieces of
// the start-up check (replacing the C client's startup check) and every
// downloaded piece.
func (s *Session) startHashers() {
	for range runtime.NumCPU() {
		s.hashers.Add(1)
		go func() {
			defer s.hashers.Done()
			for {
				select {
				case j := <-s.hashq:
					r := s.hashPiece(j.index)
					r.check = j.check
					if !j.check && (j.blocks || (!r.ok && r.err == nil)) {
						r.sums, r.err = s.pieceSums(j.index)
					}
					select {
					case s.hashed <- r:
					case <-s.done:
						return
					}
				case <-s.done:
					return
				}
			}
		}()
	}
}

// hashPiece checks piece i's SHA-1, hashing it through the mapping.
func (s *Session) hashPiece(i int) hashResult {
	h := sha1.New()
	err := s.store.View(int64(i)*s.info.PieceLength, s.info.PieceSize(i), func(b []byte) { h.Write(b) })
	if err != nil {
		return hashResult{index: i, err: err}
	}
	var sum [sha1.Size]byte
	return hashResult{index: i, ok: [sha1.Size]byte(h.Sum(sum[:0])) == s.info.PieceHash(i)}
}

// pieceSums returns the SHA-1 of each block of piece i, to tell which
// sender lied (judge.go). Rare, so it simply copies the piece out.
func (s *Session) pieceSums(i int) ([][20]byte, error) {
	buf := make([]byte, s.info.PieceSize(i))
	if err := s.store.ReadAt(buf, int64(i)*s.info.PieceLength); err != nil {
		return nil, err
	}
	return blockSums(buf), nil
}

// blockSums returns the SHA-1 of each BlockSize part of data.
func blockSums(data []byte) [][20]byte {
	var sums [][20]byte
	for len(data) > 0 {
		n := min(len(data), piece.BlockSize)
		sums = append(sums, sha1.Sum(data[:n]))
		data = data[n:]
	}
	return sums
}

// anyFileExists reports whether any of the torrent's files already exists
// under dir; when none does there is nothing to check.
func anyFileExists(dir string, files []metainfo.File) bool {
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(append([]string{dir}, f.Path...)...)); err == nil {
			return true
		}
	}
	return false
}

// storageFiles converts the torrent's file list for storage.Open.
func storageFiles(files []metainfo.File) []storage.File {
	out := make([]storage.File, len(files))
	for i, f := range files {
		out[i] = storage.File{Path: strings.Join(f.Path, "/"), Length: f.Length}
	}
	return out
}
