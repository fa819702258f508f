package storage

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Open creates the missing directories and files of a torrent under dir
// (creating dir itself if needed) and opens the existing ones. Below dir
// it never follows a symlink: every component is opened relative to its
// parent's descriptor with O_NOFOLLOW, and a planted link is an error
// naming it. Each file is locked (an error wrapping ErrLocked if another
// open holds it) and reserved at its full length with fallocate (an error
// wrapping ErrNoSpace if the disk is too small). A file longer than the
// torrent says is refused: it is not this torrent's. Replaces
// torrent_data_open.
func Open(dir string, files []File, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: create output directory: %w", err)
	}
	// dir itself is the user's choice, so following a link to it is fine.
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("storage: open output directory %s: %w", dir, err)
	}
	defer unix.Close(root)

	fds := make([]int, 0, len(files))
	for _, f := range files {
		fd, err := openFile(root, f, opts.NoPrealloc)
		if err != nil {
			closeFds(fds)
			return nil, err
		}
		fds = append(fds, fd)
	}
	s := &Store{
		layout: newLayout(files),
		fds:    fds,
		win:    newWindows(opts.WindowSize, opts.MaxWindows),
	}
	return s, nil
}

// openFile opens (or creates) one file below root, locks it and gives it
// its full length. On error nothing stays open.
func openFile(root int, f File, noPrealloc bool) (int, error) {
	if f.Length < 0 {
		return -1, fmt.Errorf("storage: %s: negative length %d", f.Path, f.Length)
	}
	elems, err := splitPath(f.Path)
	if err != nil {
		return -1, err
	}
	dfd, err := openDirs(root, f.Path, elems[:len(elems)-1])
	if err != nil {
		return -1, err
	}
	name := elems[len(elems)-1]
	fd, err := unix.Openat(dfd, name, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if dfd != root {
		unix.Close(dfd)
	}
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return -1, symlinkError(f.Path)
		}
		return -1, fmt.Errorf("storage: open %s: %w", f.Path, err)
	}
	if err := prepare(fd, f, noPrealloc); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// splitPath checks a relative slash-separated path and returns its
// elements. metainfo sanitised it already; this is defence in depth.
func splitPath(p string) ([]string, error) {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return nil, fmt.Errorf("storage: refusing file path %q", p)
	}
	elems := strings.Split(p, "/")
	for _, e := range elems {
		if e == "" || e == "." || e == ".." {
			return nil, fmt.Errorf("storage: refusing file path %q", p)
		}
	}
	return elems, nil
}

// openDirs walks (creating as needed) the directories elems below root
// without following symlinks, and returns the last one's descriptor (root
// itself when elems is empty; the caller closes any other).
func openDirs(root int, path string, elems []string) (int, error) {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	dfd := root
	for i, e := range elems {
		fd, err := unix.Openat(dfd, e, flags, 0)
		if errors.Is(err, unix.ENOENT) {
			err = unix.Mkdirat(dfd, e, 0o755)
			if err == nil || errors.Is(err, unix.EEXIST) {
				fd, err = unix.Openat(dfd, e, flags, 0)
			}
		}
		if err != nil {
			err = dirError(dfd, e, strings.Join(elems[:i+1], "/"), err)
		}
		if dfd != root {
			unix.Close(dfd)
		}
		if err != nil {
			return -1, err
		}
		dfd = fd
	}
	return dfd, nil
}

// dirError explains why directory e (shown as sub) below dfd did not
// open, naming a symlink as such: with O_DIRECTORY the kernel may report
// ENOTDIR rather than ELOOP for one.
func dirError(dfd int, e, sub string, err error) error {
	var st unix.Stat_t
	if unix.Fstatat(dfd, e, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return symlinkError(sub)
	}
	return fmt.Errorf("storage: open directory %s: %w", sub, err)
}

// symlinkError is the refusal to follow a link planted below the output
// directory.
func symlinkError(path string) error {
	return fmt.Errorf("storage: %s is a symbolic link: refusing to follow it", path)
}

// prepare locks an open file, checks it is a regular file no longer than
// the torrent says, and gives it its full length.
func prepare(fd int, f File, noPrealloc bool) error {
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return &pathError{
				msg:  fmt.Sprintf("storage: %s is in use by another process", f.Path),
				errs: []error{ErrLocked, err},
			}
		}
		return fmt.Errorf("storage: lock %s: %w", f.Path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("storage: stat %s: %w", f.Path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("storage: %s is not a regular file", f.Path)
	}
	if st.Size > f.Length {
		return fmt.Errorf("storage: %s is %d bytes, longer than the torrent's %d: not this torrent's file", f.Path, st.Size, f.Length)
	}
	if st.Size == f.Length && st.Blocks*512 >= f.Length {
		return nil // fully allocated already; fallocate would bump its mtime
	}
	return reserve(fd, f, noPrealloc)
}

// reserve gives the file its full length: fallocate allocates the blocks
// now, so a full disk is reported here and not as a SIGBUS mid-download;
// a filesystem without fallocate (or noPrealloc) gets a sparse ftruncate.
func reserve(fd int, f File, noPrealloc bool) error {
	if f.Length == 0 {
		return nil
	}
	if !noPrealloc {
		err := retryEINTR(func() error { return unix.Fallocate(fd, 0, 0, f.Length) })
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.ENOSPC):
			return &pathError{
				msg:  fmt.Sprintf("storage: no space left on device for %s: %d bytes needed", f.Path, f.Length),
				errs: []error{ErrNoSpace, err},
			}
		case !errors.Is(err, unix.EOPNOTSUPP):
			return fmt.Errorf("storage: reserve %d bytes for %s: %w", f.Length, f.Path, err)
		}
	}
	if err := retryEINTR(func() error { return unix.Ftruncate(fd, f.Length) }); err != nil {
		return fmt.Errorf("storage: extend %s to %d bytes: %w", f.Path, f.Length, err)
	}
	return nil
}

// retryEINTR calls fn again while a signal (the Go runtime sends plenty)
// interrupts it.
func retryEINTR(fn func() error) error {
	for {
		err := fn()
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
