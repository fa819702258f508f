package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/unworkable/unworkable/metainfo"
)

// runCreate implements "unworkable create": make a .torrent of a file or a
// directory.
func runCreate(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("unworkable create", pflag.ContinueOnError)
	fs.SetInterspersed(true)
	fs.SetOutput(io.Discard)
	announce := fs.StringArrayP("announce", "a", nil, "tracker announce URL (repeatable: BEP 12 announce-list, one tier each)")
	webseeds := fs.StringArrayP("webseed", "w", nil, "web seed URL (BEP 19 url-list, repeatable)")
	plen := fs.StringP("piece-length", "l", "", "piece length in bytes, with an optional k/m suffix (default: automatic)")
	private := fs.Bool("private", false, "set the private flag (BEP 27)")
	comment := fs.StringP("comment", "c", "", "comment stored in the torrent")
	out := fs.StringP("output", "o", "", "output file (default: NAME.torrent)")
	help := fs.BoolP("help", "h", false, "print this help and exit")
	err := fs.Parse(args)
	if err == nil && !*help && fs.NArg() != 1 {
		err = fmt.Errorf("exactly one PATH expected")
	}
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "usage: unworkable create [-a URL]... [-w URL]... [-l piece-length] [--private] [-c comment] [-o out.torrent] PATH")
		fmt.Fprint(w, fs.FlagUsages())
	}
	if *help {
		usage(stdout)
		return exitOK
	}
	var pl int64
	if err == nil && *plen != "" {
		pl, err = parseSize(*plen)
	}
	if err != nil {
		fmt.Fprintf(stderr, "unworkable: create: %v\n", err)
		usage(stderr)
		return exitUsage
	}
	root := fs.Arg(0)
	var tiers [][]string
	for _, a := range *announce {
		tiers = append(tiers, []string{a})
	}
	data, err := metainfo.Build(root, metainfo.BuildOptions{
		PieceLength: pl, Announce: tiers, URLList: *webseeds, Private: *private,
		Comment: *comment, CreatedBy: "unworkable " + version, CreationDate: time.Now().Unix(),
	})
	if err == nil {
		dst := *out
		if dst == "" {
			dst = filepath.Base(filepath.Clean(root)) + ".torrent"
		}
		err = os.WriteFile(dst, data, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "unworkable: create: %v\n", err)
		return exitError
	}
	return exitOK
}

// parseSize parses "262144", "256k" or "1m" (binary units).
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
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}
