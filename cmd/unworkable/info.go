package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/unworkable/unworkable/metainfo"
)

const infoUsage = "usage: unworkable info [--json] FILE.torrent"

// torrentInfo is what "unworkable info" shows; its JSON form is the
// documented --json output (keys listed in the README).
type torrentInfo struct {
	Name         string     `json:"name"`
	InfoHash     string     `json:"info_hash"`
	Magnet       string     `json:"magnet"`
	TotalSize    int64      `json:"total_size"`
	PieceLength  int64      `json:"piece_length"`
	Pieces       int        `json:"pieces"`
	Private      bool       `json:"private"`
	Files        []infoFile `json:"files"`
	Trackers     [][]string `json:"trackers"`
	WebSeeds     []string   `json:"web_seeds"`
	Comment      string     `json:"comment,omitempty"`
	CreatedBy    string     `json:"created_by,omitempty"`
	CreationDate int64      `json:"creation_date,omitempty"`
}

// infoFile is one file of torrentInfo.
type infoFile struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// runInfo implements "unworkable info": print what a .torrent holds.
func runInfo(args []string, stdout, stderr io.Writer) int {
	c := newSubcmd("info", infoUsage, "0 shown, 2 usage error, 3 bad torrent file.", ".torrent file")
	fs := c.fs
	asJSON := fs.Bool("json", false, "print one JSON object instead of key: value lines")
	if code, done := c.parse(args, stdout, stderr, nil); done {
		return code
	}
	m, err := metainfo.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "unworkable: info: %s: %v\n", fs.Arg(0), err)
		return exitTorrent
	}
	ti := describe(m)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.Encode(ti)
	} else {
		printInfo(stdout, ti)
	}
	return exitOK
}

// describe gathers what info shows of m. Lists are never nil, so the JSON
// form always has arrays.
func describe(m *metainfo.MetaInfo) *torrentInfo {
	in := &m.Info
	ti := &torrentInfo{
		Name: in.Name, InfoHash: hex.EncodeToString(m.InfoHash[:]), Magnet: m.Magnet(),
		TotalSize: in.Length, PieceLength: in.PieceLength, Pieces: in.NumPieces(), Private: in.Private,
		Files: []infoFile{}, Trackers: m.Trackers(), WebSeeds: m.URLList,
		Comment: m.Comment, CreatedBy: m.CreatedBy, CreationDate: m.CreationDate,
	}
	for _, f := range in.Files {
		ti.Files = append(ti.Files, infoFile{Path: filePath(f), Size: f.Length})
	}
	if ti.Trackers == nil {
		ti.Trackers = [][]string{}
	}
	if ti.WebSeeds == nil {
		ti.WebSeeds = []string{}
	}
	return ti
}

// filePath is a file's path in the torrent, elements joined with '/'.
func filePath(f metainfo.File) string {
	return strings.Join(f.Path, "/")
}

// printable returns s, or s quoted Go-style if it holds anything that is not
// printable (a hostile torrent must not send escape sequences to a terminal).
func printable(s string) string {
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// printInfo writes ti as aligned "key: value" lines; a list continues on
// the following lines in the value column. Strings from the torrent pass
// through printable.
func printInfo(w io.Writer, ti *torrentInfo) {
	const width = len("creation date: ")
	line := func(key, value string) {
		fmt.Fprintf(w, "%-*s%s\n", width, key+":", value)
	}
	more := func(value string) {
		fmt.Fprintf(w, "%*s%s\n", width, "", value)
	}
	line("name", printable(ti.Name))
	line("info hash", ti.InfoHash)
	line("magnet", ti.Magnet)
	line("total size", fmt.Sprintf("%s (%d bytes)", size(ti.TotalSize), ti.TotalSize))
	line("piece length", fmt.Sprintf("%s (%d bytes)", size(ti.PieceLength), ti.PieceLength))
	line("pieces", strconv.Itoa(ti.Pieces))
	line("private", map[bool]string{false: "no", true: "yes"}[ti.Private])
	if ti.Comment != "" {
		line("comment", printable(ti.Comment))
	}
	if ti.CreatedBy != "" {
		line("created by", printable(ti.CreatedBy))
	}
	if ti.CreationDate != 0 {
		line("creation date", time.Unix(ti.CreationDate, 0).UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if len(ti.Trackers) == 0 {
		line("trackers", "none")
	}
	for i, tier := range ti.Trackers {
		for j, u := range tier {
			v := fmt.Sprintf("tier %d: %s", i+1, printable(u))
			if i == 0 && j == 0 {
				line("trackers", v)
			} else {
				more(v)
			}
		}
	}
	for i, u := range ti.WebSeeds {
		if i == 0 {
			line("web seeds", printable(u))
		} else {
			more(printable(u))
		}
	}
	line("files", strconv.Itoa(len(ti.Files)))
	digits := 1
	for _, f := range ti.Files {
		digits = max(digits, len(strconv.FormatInt(f.Size, 10)))
	}
	for _, f := range ti.Files {
		more(fmt.Sprintf("%*d  %s", digits, f.Size, printable(f.Path)))
	}
}
