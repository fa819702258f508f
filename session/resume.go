package session

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/unworkable/unworkable/metainfo"
	"github.com/unworkable/unworkable/piece"
	"github.com/unworkable/unworkable/storage"
)

// resumeState is the resume file: which pieces were verified and synced, and
// the size and mtime of every file at that moment. It is trusted only when
// every file still has exactly that size and mtime.
type resumeState struct {
	Version  int                `json:"version"`
	InfoHash string             `json:"info_hash"`
	Pieces   int                `json:"pieces"`
	Have     []byte             `json:"have"` // bitfield in wire order
	Files    []storage.FileStat `json:"files"`
}

const resumeVersion = 1

// resumePath is where the resume file of this torrent lives: a hidden file
// in the output directory, named after the info hash.
func (s *Session) resumePath() string {
	return filepath.Join(s.cfg.Dir, ".unworkable-"+hex.EncodeToString(s.hash[:])+".resume")
}

// loadResume reads and validates the resume file; ok is false when it is
// missing, malformed or out of date.
func (s *Session) loadResume() (int, bool) {
	data, err := readResume(s.resumePath())
	if err != nil {
		return 0, false
	}
	var rs resumeState
	if json.Unmarshal(data, &rs) != nil || rs.Version != resumeVersion ||
		rs.InfoHash != hex.EncodeToString(s.hash[:]) || rs.Pieces != s.table.NumPieces() {
		return 0, false
	}
	bf, err := piece.FromBytes(rs.Have, rs.Pieces)
	if err != nil {
		return 0, false
	}
	st, err := s.store.Stat()
	if err != nil || len(st) != len(rs.Files) {
		return 0, false
	}
	for i := range st {
		if st[i] != rs.Files[i] {
			return 0, false
		}
	}
	for i := range rs.Pieces {
		if bf.Has(i) {
			s.table.MarkHave(i)
			s.tr.printf("checked %d", i)
		}
	}
	return bf.Count(), true
}

// maxResumeSize bounds the resume file read: a bitfield and a few numbers
// per file, far below this even for the largest torrent.
const maxResumeSize = 64 << 20

// readResume reads the resume file without following a symlink planted in
// its place and without reading more than maxResumeSize bytes (a link to
// /dev/zero, or a FIFO, must not hang or fill memory).
func readResume(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("session: resume file %s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxResumeSize+1))
	if err == nil && len(data) > maxResumeSize {
		err = fmt.Errorf("session: resume file %s larger than %d bytes", path, maxResumeSize)
	}
	return data, err
}

// invalidateResume removes the resume file before the first write to the
// data: from then on only a clean shutdown writes a new one, so a kill -9
// always leads to a hash check of what is on disk.
func (s *Session) invalidateResume() {
	if !s.resumeLive {
		return
	}
	s.resumeLive = false
	if err := os.Remove(s.resumePath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.fail(fmt.Errorf("session: remove resume file: %w", err))
	}
}

// saveResume syncs all data to disk, then records the verified pieces with
// every file's size and mtime, atomically (temp file, fsync, rename).
func (s *Session) saveResume() error {
	if s.resumeLive {
		return nil // unchanged since it was read
	}
	if err := s.store.SyncAll(); err != nil {
		return err
	}
	st, err := s.store.Stat()
	if err != nil {
		return err
	}
	rs := resumeState{
		Version: resumeVersion, InfoHash: hex.EncodeToString(s.hash[:]),
		Pieces: s.table.NumPieces(), Have: s.table.Have().Bytes(), Files: st,
	}
	data, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	if err := writeAtomic(s.resumePath(), data); err != nil {
		return fmt.Errorf("session: write resume file: %w", err)
	}
	s.resumeLive = true
	return nil
}

// writeAtomic writes data to path through a temporary file in the same
// directory, synced and renamed over path.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".unworkable-tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(0o644)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// metadataPath is where a magnet's metadata is kept once fetched: a hidden
// .torrent in the output directory, named after the info hash, so that the
// next run of the same magnet needs no peer to check and announce.
func (s *Session) metadataPath() string {
	return filepath.Join(s.cfg.Dir, ".unworkable-"+hex.EncodeToString(s.hash[:])+".torrent")
}

// loadMetadata returns the metadata an earlier run kept, or nil when there
// is none or it is unusable (then it is fetched again). Like the resume
// file it is never read through a symbolic link.
func (s *Session) loadMetadata() *metainfo.MetaInfo {
	data, err := readResume(s.metadataPath())
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			s.tr.printf("metadata: %v", err)
		}
		return nil
	}
	m, err := metainfo.Parse(data)
	if err == nil && m.InfoHash != s.hash {
		err = fmt.Errorf("info hash %x, want %x", m.InfoHash, s.hash)
	}
	if err != nil {
		s.tr.printf("metadata: %s unusable, fetching again: %v", s.metadataPath(), err)
		return nil
	}
	s.tr.printf("metadata: %d bytes from %s", len(m.InfoBytes), s.metadataPath())
	if s.ann.tiers == nil {
		s.ann = newAnnouncer(m.Trackers(), s.rng)
	}
	return m
}

// saveTorrent writes the torrent's metainfo as a .torrent file at path,
// atomically: the info dictionary as received, the trackers and web seeds
// of the command line or magnet.
func (s *Session) saveTorrent(path string) error {
	data, err := metainfo.EncodeTorrent(s.meta.InfoBytes, s.cfg.Trackers, s.cfg.WebSeeds)
	if err != nil {
		return fmt.Errorf("session: save %s: %w", path, err)
	}
	if err := writeAtomic(path, data); err != nil {
		return fmt.Errorf("session: save %s: %w", path, err)
	}
	return nil
}
