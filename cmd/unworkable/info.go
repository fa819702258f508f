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

const infoUsage = "usage: unworkable info [--json] FILE.torrent|MAGNET"

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

// runInfo implements "unworkable info": print what a .torrent holds, or
// what a magnet link says (metainfo.IsMagnet tells them apart).
func runInfo(args []string, stdout, stderr io.Writer) int {
	c := newSubcmd("info", infoUsage, "0 shown, 2 usage error, 3 bad torrent file or magnet link.",
		".torrent file or magnet link")
	fs := c.fs
	asJSON := fs.Bool("json", false, "print one JSON object instead of key: value lines")
	if code, done := c.parse(args, stdout, stderr, nil); done {
		return code
	}
	if metainfo.IsMagnet(fs.Arg(0)) {
		return infoMagnet(fs.Arg(0), *asJSON, stdout, stderr)
	}
	m, err := metainfo.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "unworkable: info: %s: %v\n", fs.Arg(0), err)
		return exitTorrent
	}
	ti := describe(m)
	if *asJSON {
		writeJSON(stdout, ti)
	} else {
		printInfo(stdout, ti)
	}
	return exitOK
}

// writeJSON writes v as one line of JSON, leaving '<', '>' and '&' (common
// in URLs) unescaped.
func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
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

// magnetInfo is what "unworkable info MAGNET" shows: only what the link
// itself says, without any network. Its JSON form has the keys of
// torrentInfo's that a link can fill, peers and select, and "metadata":
// false, telling scripts that sizes and files are not known yet.
type magnetInfo struct {
	Name     string     `json:"name,omitempty"`
	InfoHash string     `json:"info_hash"`
	Magnet   string     `json:"magnet"`
	Trackers [][]string `json:"trackers"`
	WebSeeds []string   `json:"web_seeds"`
	Peers    []string   `json:"peers"`
	Select   [][2]int   `json:"select,omitempty"`
	Metadata bool       `json:"metadata"`
}

// infoMagnet implements "unworkable info MAGNET". A bad link is exit
// status 3, as a bad .torrent is; the link itself is not echoed, since the
// error quotes the part that is wrong.
func infoMagnet(link string, asJSON bool, stdout, stderr io.Writer) int {
	m, err := metainfo.ParseMagnet(link)
	if err != nil {
		fmt.Fprintf(stderr, "unworkable: info: %v\n", err)
		return exitTorrent
	}
	mi := &magnetInfo{
		Name: m.Name, InfoHash: hex.EncodeToString(m.InfoHash[:]), Magnet: m.String(),
		Trackers: m.Trackers, WebSeeds: m.WebSeeds, Peers: m.Peers,
	}
	for _, r := range m.Select {
		mi.Select = append(mi.Select, [2]int{r.First, r.Last})
	}
	if mi.Trackers == nil {
		mi.Trackers = [][]string{}
	}
	if mi.WebSeeds == nil {
		mi.WebSeeds = []string{}
	}
	if mi.Peers == nil {
		mi.Peers = []string{}
	}
	if asJSON {
		writeJSON(stdout, mi)
	} else {
		printMagnet(stdout, mi, m.Select)
	}
	return exitOK
}

// printMagnet writes mi in the text form of printInfo; sel is the so= list
// to show as written ("0,2,4-6").
func printMagnet(w io.Writer, mi *magnetInfo, sel []metainfo.Range) {
	iw := infoWriter{w}
	name := printable(mi.Name)
	if mi.Name == "" {
		name = "(unknown until the metadata arrives)"
	}
	iw.line("name", name)
	iw.line("info hash", mi.InfoHash)
	iw.line("magnet", mi.Magnet)
	iw.tiers(mi.Trackers)
	iw.list("web seeds", mi.WebSeeds)
	iw.list("peers", mi.Peers)
	if len(sel) > 0 {
		items := make([]string, len(sel))
		for i, r := range sel {
			items[i] = r.String()
		}
		iw.line("select", strings.Join(items, ","))
	}
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
	iw := infoWriter{w}
	iw.line("name", printable(ti.Name))
	iw.line("info hash", ti.InfoHash)
	iw.line("magnet", ti.Magnet)
	iw.line("total size", fmt.Sprintf("%s (%d bytes)", size(ti.TotalSize), ti.TotalSize))
	iw.line("piece length", fmt.Sprintf("%s (%d bytes)", size(ti.PieceLength), ti.PieceLength))
	iw.line("pieces", strconv.Itoa(ti.Pieces))
	iw.line("private", map[bool]string{false: "no", true: "yes"}[ti.Private])
	if ti.Comment != "" {
		iw.line("comment", printable(ti.Comment))
	}
	if ti.CreatedBy != "" {
		iw.line("created by", printable(ti.CreatedBy))
	}
	if ti.CreationDate != 0 {
		iw.line("creation date", time.Unix(ti.CreationDate, 0).UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	iw.tiers(ti.Trackers)
	iw.list("web seeds", ti.WebSeeds)
	iw.line("files", strconv.Itoa(len(ti.Files)))
	digits := 1
	for _, f := range ti.Files {
		digits = max(digits, len(strconv.FormatInt(f.Size, 10)))
	}
	for _, f := range ti.Files {
		iw.more(fmt.Sprintf("%*d  %s", digits, f.Size, printable(f.Path)))
	}
}

// infoWriter writes the aligned "key: value" lines of info's text form.
type infoWriter struct{ w io.Writer }

// infoWidth is the value column: the longest key, its colon and a space.
const infoWidth = len("creation date: ")

// line writes one key and its value.
func (iw infoWriter) line(key, value string) {
	fmt.Fprintf(iw.w, "%-*s%s\n", infoWidth, key+":", value)
}

// more writes a value continuing a list, in the value column.
func (iw infoWriter) more(value string) {
	fmt.Fprintf(iw.w, "%*s%s\n", infoWidth, "", value)
}

// list writes values under key, each through printable, one a line;
// nothing when there are none.
func (iw infoWriter) list(key string, values []string) {
	for i, v := range values {
		if i == 0 {
			iw.line(key, printable(v))
		} else {
			iw.more(printable(v))
		}
	}
}

// tiers writes the trackers as "tier N: URL" lines, or "none".
func (iw infoWriter) tiers(tiers [][]string) {
	var lines []string
	for i, tier := range tiers {
		for _, u := range tier {
			lines = append(lines, fmt.Sprintf("tier %d: %s", i+1, printable(u)))
		}
	}
	if len(lines) == 0 {
		iw.line("trackers", "none")
		return
	}
	iw.line("trackers", lines[0])
	for _, l := range lines[1:] {
		iw.more(l)
	}
}
