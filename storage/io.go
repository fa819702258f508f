package storage

import (
	"errors"
	"fmt"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// ReadAt fills p with the torrent data at off (offset 0 is the first byte
// of the first file). It copies out of the mapping, so p never points into
// one. A range outside the data is an error; a fault on the mapping is an
// error wrapping ErrFault. Safe for concurrent use on any ranges.
func (s *Store) ReadAt(p []byte, off int64) error {
	return s.rw(p, off, false)
}

// WriteAt stores p as the torrent data at off. The bytes reach the page
// cache; Sync makes them durable. A range outside the data is an error; a
// fault on the mapping is an error wrapping ErrFault. Safe for concurrent
// use on any ranges.
func (s *Store) WriteAt(p []byte, off int64) error {
	return s.rw(p, off, true)
}

// View calls fn with the torrent data of [off, off+n) as successive
// slices of the mappings, in order, so a caller can hash a piece without
// copying it out first. fn must neither keep nor modify the slices. A
// fault on the mapping while fn runs is an error wrapping ErrFault. Safe
// for concurrent use on any ranges.
func (s *Store) View(off, n int64, fn func([]byte)) error {
	return s.walk(off, n, func(data []byte, _ int64) error {
		return guarded(func() { fn(data) })
	})
}

// rw copies between p and the files.
func (s *Store) rw(p []byte, off int64, write bool) error {
	return s.walk(off, int64(len(p)), func(data []byte, at int64) error {
		if write {
			return guarded(func() { copy(data, p[at:]) })
		}
		return guarded(func() { copy(p[at:], data) })
	})
}

// walk calls fn on the mapped data of [off, off+n), extent by extent and
// window by window; at is the offset of data within the range.
func (s *Store) walk(off, n int64, fn func(data []byte, at int64) error) error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return errClosed
	}
	if err := s.checkRange(off, n); err != nil {
		return err
	}
	var at int64
	var buf [4]extent
	for _, e := range s.layout.appendExtents(buf[:0], off, n) {
		if err := s.walkExtent(e, at, fn); err != nil {
			return err
		}
		at += e.n
	}
	return nil
}

// checkRange refuses a range that is not inside the torrent's data.
func (s *Store) checkRange(off, n int64) error {
	if off < 0 || n < 0 || off > s.layout.total || n > s.layout.total-off {
		return fmt.Errorf("storage: range [%d, %d+%d) outside the data (%d bytes)", off, off, n, s.layout.total)
	}
	return nil
}

// walkExtent calls fn on each window's part of one extent.
func (s *Store) walkExtent(e extent, at int64, fn func(data []byte, at int64) error) error {
	f := s.layout.files[e.file]
	off, left := e.off, e.n
	for left > 0 {
		key := winKey{file: e.file, idx: off / s.win.size}
		win, err := s.win.acquire(key, s.fds[e.file], f.Length)
		if err != nil {
			return fmt.Errorf("storage: %s: %w", f.Path, err)
		}
		start := off - key.idx*s.win.size
		n := min(left, int64(len(win.raw))-start)
		err = fn(win.raw[start:start+n], at)
		if rerr := s.win.release(win); err == nil {
			err = rerr
		}
		if err != nil {
			return fmt.Errorf("storage: %s at %d: %w", f.Path, off, err)
		}
		at += n
		off += n
		left -= n
	}
	return nil
}

// guarded runs f, turning a memory fault (SIGBUS on a mapping whose file
// was truncated) into ErrFault instead of a crash. SetPanicOnFault applies
// to the calling goroutine only, and is restored.
func guarded(f func()) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		r := recover()
		if r == nil {
			return
		}
		// A fault panics with a runtime.Error carrying the address.
		if _, ok := r.(interface{ Addr() uintptr }); ok {
			err = ErrFault
			return
		}
		panic(r)
	}()
	f()
	return nil
}

// Sync makes the bytes of [off, off+n) durable: it msyncs the mapped
// windows covering them and fdatasyncs their files (a window already
// unmapped left its pages in the page cache, which fdatasync flushes).
// The session calls it before recording a piece as verified.
func (s *Store) Sync(off, n int64) error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return errClosed
	}
	if err := s.checkRange(off, n); err != nil {
		return err
	}
	for _, e := range s.layout.appendExtents(nil, off, n) {
		if err := s.syncExtent(e); err != nil {
			return err
		}
	}
	return nil
}

// syncExtent msyncs the mapped part of one extent and fdatasyncs its file.
func (s *Store) syncExtent(e extent) error {
	f := s.layout.files[e.file]
	pg := int64(unix.Getpagesize())
	for idx := e.off / s.win.size; idx*s.win.size < e.off+e.n; idx++ {
		win := s.win.peek(winKey{file: e.file, idx: idx})
		if win == nil {
			continue
		}
		// Page-aligned sub-range of the window covering the extent.
		base := idx * s.win.size
		lo := max(e.off-base, 0) &^ (pg - 1)
		hi := min(e.off+e.n-base, int64(len(win.raw)))
		err := unix.Msync(win.raw[lo:hi], unix.MS_SYNC)
		if rerr := s.win.release(win); err == nil {
			err = rerr
		}
		if err != nil {
			return fmt.Errorf("storage: msync %s at %d: %w", f.Path, base+lo, err)
		}
	}
	if err := unix.Fdatasync(s.fds[e.file]); err != nil {
		return fmt.Errorf("storage: sync %s: %w", f.Path, err)
	}
	return nil
}

// SyncAll makes every written byte durable: all mapped windows are
// msynced and all files fdatasynced.
func (s *Store) SyncAll() error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return errClosed
	}
	var errs []error
	for _, win := range s.win.mapped() {
		if err := unix.Msync(win.raw, unix.MS_SYNC); err != nil {
			errs = append(errs, fmt.Errorf("storage: msync %s: %w", s.layout.files[win.key.file].Path, err))
		}
		errs = append(errs, s.win.release(win))
	}
	for i, fd := range s.fds {
		if err := unix.Fdatasync(fd); err != nil {
			errs = append(errs, fmt.Errorf("storage: sync %s: %w", s.layout.files[i].Path, err))
		}
	}
	return errors.Join(errs...)
}
