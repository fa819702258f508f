package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/unworkable/unworkable/metainfo"
)

const createUsage = "usage: unworkable create [-a URL]... [-w URL]... [-l piece-length] [--private] [-c comment] [-f] [-o out.torrent] PATH"

// runCreate implements "unworkable create": make a .torrent of a file or a
// directory, hashing on all cores, and print a one-line summary.
func runCreate(args []string, stdout, stderr io.Writer) int {
	c := newSubcmd("create", createUsage, "0 written, 1 error (unreadable input, output exists), 2 usage error.", "PATH")
	fs := c.fs
	announce := fs.StringArrayP("announce", "a", nil, "tracker announce URL (repeatable: BEP 12 announce-list, one tier each)")
	webseeds := fs.StringArrayP("webseed", "w", nil, "web seed URL (BEP 19 url-list, repeatable)")
	plen := fs.StringP("piece-length", "l", "", "piece length in bytes, with an optional k/m/g suffix (default: automatic)")
	private := fs.Bool("private", false, "set the private flag (BEP 27)")
	comment := fs.StringP("comment", "c", "", "comment stored in the torrent")
	out := fs.StringP("output", "o", "", "output file (default: NAME.torrent)")
	force := fs.BoolP("force", "f", false, "overwrite the output file if it exists")
	var pl int64
	if code, done := c.parse(args, stdout, stderr, func() (err error) {
		if *plen != "" {
			pl, err = parseSize(*plen)
		}
		return err
	}); done {
		return code
	}
	root := fs.Arg(0)
	var tiers [][]string
	for _, a := range *announce {
		tiers = append(tiers, []string{a})
	}
	dst := *out
	if dst == "" {
		dst = filepath.Base(filepath.Clean(root)) + ".torrent"
	}
	opts := metainfo.BuildOptions{
		PieceLength: pl, Announce: tiers, URLList: *webseeds, Private: *private,
		Comment: *comment, CreatedBy: "unworkable " + version, CreationDate: time.Now().Unix(),
	}
	if err := create(root, dst, *force, opts, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "unworkable: create: %v\n", err)
		return exitCode(err)
	}
	return exitOK
}

// create builds the torrent of root, writes it to dst and prints a summary
// on stdout. An existing dst is refused before any hashing unless force.
func create(root, dst string, force bool, opts metainfo.BuildOptions, stdout, stderr io.Writer) error {
	if !force {
		if _, err := os.Lstat(dst); err == nil {
			return fmt.Errorf("%s already exists (use -f to overwrite)", dst)
		}
	}
	var m *hashMeter
	if isTerminal(stderr) {
		m = newHashMeter(stderr, filepath.Base(filepath.Clean(root)))
		opts.Progress = m.update
	}
	data, err := metainfo.Build(root, opts)
	m.finish()
	if err != nil {
		return err
	}
	mi, err := metainfo.Parse(data)
	if err != nil {
		return fmt.Errorf("the built torrent does not parse: %w", err) // a bug of ours
	}
	if err := writeNew(dst, data, force); err != nil {
		return err
	}
	in := &mi.Info
	fmt.Fprintf(stdout, "%s: %s, %d file(s), %s, %d pieces of %s, info hash %s\n",
		dst, in.Name, len(in.Files), size(in.Length), in.NumPieces(), size(in.PieceLength),
		hex.EncodeToString(mi.InfoHash[:]))
	return nil
}

// writeNew writes data to dst atomically: a temporary file in dst's
// directory, then linked to dst (which fails if dst exists) or, with force,
// renamed over it.
func writeNew(dst string, data []byte, force bool) error {
	f, err := os.CreateTemp(filepath.Dir(dst), ".unworkable-create-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if force {
		return os.Rename(tmp, dst)
	}
	if err := os.Link(tmp, dst); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists (use -f to overwrite)", dst)
		}
		return err
	}
	return nil
}

// parseSize parses "262144", "256k", "1m" or "1g" (binary units).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch strings.ToLower(s[len(s)-1:]) {
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	}
	num := s
	if mult != 1 {
		num = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// hashMeter draws a progress line while create or verify hashes data:
// "name  45%  1.2GiB of 2.0GiB  812.3MiB/s  00:02 ETA". It is only made
// for a terminal; a nil *hashMeter draws nothing. update may be called from
// any goroutine.
type hashMeter struct {
	mu      sync.Mutex
	w       io.Writer
	name    string
	started time.Time
	drawn   time.Time // when the line was last drawn; zero if never
}

// newHashMeter returns a meter drawing on the terminal w.
func newHashMeter(w io.Writer, name string) *hashMeter {
	return &hashMeter{w: w, name: name, started: time.Now()}
}

// update redraws the line, at most ten times a second and always at the end.
func (m *hashMeter) update(done, total int64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if done < total && now.Sub(m.drawn) < 100*time.Millisecond {
		return
	}
	m.drawn = now
	fmt.Fprintf(m.w, "\r%s\x1b[K", hashLine(m.name, done, total, now.Sub(m.started), termWidth()))
}

// finish ends the progress line, if one was drawn.
func (m *hashMeter) finish() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.drawn.IsZero() {
		fmt.Fprintln(m.w)
	}
}

// hashLine formats the progress of hashing done of total bytes in elapsed,
// fitted to width columns (the name is shortened first).
func hashLine(name string, done, total int64, elapsed time.Duration, width int) string {
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	eta := "--:-- ETA"
	switch {
	case done >= total:
		eta = clock(elapsed) + "    "
	case rate > 1:
		eta = clock(time.Duration(float64(total-done)/rate*float64(time.Second))) + " ETA"
	}
	tail := fmt.Sprintf(" %3.0f%% %9s of %-9s %9s/s %s", pct, size(done), size(total), size(int64(rate)), eta)
	room := max(width-len(tail)-1, 4)
	if len(name) > room {
		name = name[:room-1] + "~"
	}
	return fmt.Sprintf("%-*s%s", room, name, tail)
}
