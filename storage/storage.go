// Package storage keeps a torrent's pieces in its files on disk.
//
// The files are read through mmap, as the C Unworkable did, but through a
// bounded set of page-aligned, read-only windows rather than whole-file
// mappings, so resident memory stays small whatever the torrent's size.
// Blocks are written with pwrite into the same page cache, which costs
// far less CPU than a first write through a mapping (see WriteBlocks).
// Files are created only beneath the output directory (no symlink is ever
// followed below it), reserved at full length up front so that a full
// disk is an error at start rather than a failed write later, and locked with
// flock so two processes never write the same files. A fault on a mapping
// (a file truncated underneath us) becomes an error wrapping ErrFault.
package storage

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrNoSpace is wrapped by Open's error when the filesystem cannot
// reserve a file's full length.
var ErrNoSpace = errors.New("storage: no space left on device")

// ErrLocked is wrapped by Open's error when another open of a file (in
// this or another process) holds its lock, so that two clients never write
// the same data.
var ErrLocked = errors.New("storage: locked by another process")

// ErrFault is wrapped by ReadAt and View errors when touching a mapping
// faulted, typically because someone truncated the file underneath us.
var ErrFault = errors.New("storage: memory fault on mapped file")

// File is one file of the torrent, in the order of the metainfo.
type File struct {
	// Path is relative and slash-separated, below the output directory.
	// metainfo has sanitised it already; Open refuses a bad one anyway.
	Path string
	// Length is the file's size in bytes.
	Length int64
}

// FileStat is what the resume file records about a file to notice that it
// changed behind our back.
type FileStat struct {
	Size    int64 // bytes
	ModTime int64 // modification time, Unix nanoseconds
}

// Options tunes a Store; the zero value gives the defaults.
type Options struct {
	// WindowSize is the bytes per mapping window, a multiple of the page
	// size; 0 means DefaultWindowSize.
	WindowSize int64
	// MaxWindows is how many windows stay mapped at most (least recently
	// used first out); 0 means DefaultMaxWindows.
	MaxWindows int
	// NoPrealloc skips fallocate (files are extended sparsely instead);
	// meant for tests.
	NoPrealloc bool
}

// Default option values. The mapped windows bound the file pages counted
// in resident memory (32 MiB at most): the pages hashed or uploaded pile
// up in them. Measured while blocks were still written through them: with
// 16 MiB windows, leechers in a swarm of 50 peaked at 20-29 MiB, with
// 8 MiB windows at 17-23 MiB, at the same speed and CPU; 4 MiB windows
// cost more CPU on a 1 GiB download.
const (
	DefaultWindowSize = 8 << 20
	DefaultMaxWindows = 4
)

// Store is a torrent's data on disk, addressed as the concatenation of its
// files. Its methods are safe for concurrent use: the session loop writes
// blocks while hashers read other pieces.
type Store struct {
	layout layout
	fds    []int // one per file, in order
	win    *windows

	// life is held for reading by every I/O call and for writing by Close,
	// so Close never unmaps under a copy in progress.
	life   sync.RWMutex
	closed bool
}

// withDefaults fills zero fields and checks the rest.
func (o Options) withDefaults() (Options, error) {
	if o.WindowSize == 0 {
		o.WindowSize = DefaultWindowSize
	}
	if o.MaxWindows == 0 {
		o.MaxWindows = DefaultMaxWindows
	}
	pg := int64(unix.Getpagesize())
	if o.WindowSize < 0 || o.WindowSize%pg != 0 {
		return o, fmt.Errorf("storage: window size %d is not a positive multiple of the page size %d", o.WindowSize, pg)
	}
	if o.MaxWindows < 0 {
		return o, fmt.Errorf("storage: negative window count %d", o.MaxWindows)
	}
	return o, nil
}

// Len returns the total length of the torrent's data.
func (s *Store) Len() int64 { return s.layout.total }

// ErrChanged is wrapped by Stat's error when a file was deleted, or its
// size changed, while the store had it open: data written to it may be
// gone, so it must not be recorded as verified.
var ErrChanged = errors.New("storage: file changed underneath")

// Stat returns the size and modification time of each file, in order, for
// the resume file's validity check. A file deleted or truncated (or
// extended) since Open is an error wrapping ErrChanged: the resume file
// must never vouch for data that may be gone.
func (s *Store) Stat() ([]FileStat, error) {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	out := make([]FileStat, len(s.fds))
	for i := range s.fds {
		st, err := s.statFile(i)
		if err != nil {
			return nil, err
		}
		out[i] = FileStat{Size: st.Size, ModTime: st.Mtim.Nano()}
	}
	return out, nil
}

// statFile fstats file i, refusing one deleted or resized (ErrChanged).
func (s *Store) statFile(i int) (unix.Stat_t, error) {
	var st unix.Stat_t
	f := s.layout.files[i]
	if err := unix.Fstat(s.fds[i], &st); err != nil {
		return st, fmt.Errorf("storage: stat %s: %w", f.Path, err)
	}
	switch {
	case st.Nlink == 0:
		return st, fmt.Errorf("storage: %s was deleted while in use: %w", f.Path, ErrChanged)
	case st.Size != f.Length:
		return st, fmt.Errorf("storage: %s is now %d bytes, want %d: %w", f.Path, st.Size, f.Length, ErrChanged)
	}
	return st, nil
}

var errClosed = errors.New("storage: store is closed")

// Close unmaps every window, flushes the files to disk, unlocks and closes
// them. It waits for I/O in progress. Calling it again does nothing.
func (s *Store) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	errs := []error{s.win.unmapAll()}
	for i, fd := range s.fds {
		if err := unix.Fdatasync(fd); err != nil {
			errs = append(errs, fmt.Errorf("storage: sync %s: %w", s.layout.files[i].Path, err))
		}
	}
	closeFds(s.fds)
	return errors.Join(errs...)
}

// closeFds unlocks and closes fds. Closing drops the flock with the last
// descriptor of the open file description; the explicit unlock makes the
// release obvious.
func closeFds(fds []int) {
	for _, fd := range fds {
		unix.Flock(fd, unix.LOCK_UN) // best effort: close releases it anyway
		unix.Close(fd)
	}
}

// pathError is an error with its own message that still matches a
// sentinel (and the system error) with errors.Is.
type pathError struct {
	msg  string
	errs []error
}

func (e *pathError) Error() string   { return e.msg }
func (e *pathError) Unwrap() []error { return e.errs }
