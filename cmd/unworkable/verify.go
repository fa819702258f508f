package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/unworkable/unworkable/metainfo"
)

const verifyUsage = "usage: unworkable verify [-o dir] [--json] FILE.torrent"

// verifyReport is the result of "unworkable verify"; its JSON form is the
// documented --json output (keys listed in the README).
type verifyReport struct {
	Name      string     `json:"name"`
	InfoHash  string     `json:"info_hash"`
	Dir       string     `json:"dir"`
	Pieces    int        `json:"pieces"`
	Good      int        `json:"good"`
	Complete  bool       `json:"complete"`
	BadFiles  []badFile  `json:"bad_files"`
	BadPieces []badPiece `json:"bad_pieces"`
	runs      []pieceRun // BadPieces grouped for the human report
}

// badFile is a file of the torrent that is not as it should be.
type badFile struct {
	Path    string `json:"path"`
	Problem string `json:"problem"`         // missing, wrong size: ..., symbolic link, not a regular file, ...
	Error   string `json:"error,omitempty"` // the first read error
}

// badPiece is a piece whose data is wrong (state "bad") or not all there
// ("missing"), with the files it touches.
type badPiece struct {
	Index int      `json:"index"`
	State string   `json:"state"`
	Files []string `json:"files"`
}

// pieceRun is a run of consecutive bad pieces of the same state.
type pieceRun struct {
	first, last int
	state       string
	files       []string // union, in torrent order
}

// runVerify implements "unworkable verify": hash-check the data of a
// torrent below a directory, read-only.
func runVerify(args []string, stdout, stderr io.Writer) int {
	c := newSubcmd("verify", verifyUsage, "0 complete, 2 usage error, 3 bad torrent file, 7 pieces or files missing or bad.", ".torrent file")
	fs := c.fs
	dir := fs.StringP("dir", "o", ".", "directory holding the torrent's data (its name inside)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the report")
	if code, done := c.parse(args, stdout, stderr, nil); done {
		return code
	}
	m, err := metainfo.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "unworkable: verify: %s: %v\n", fs.Arg(0), err)
		return exitTorrent
	}
	v := newVerifier(&m.Info, *dir)
	if isTerminal(stderr) {
		v.meter = newHashMeter(stderr, m.Info.Name)
	}
	v.run()
	v.meter.finish()
	r := v.report(m, *dir)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.Encode(r)
	} else {
		r.print(stdout)
	}
	if !r.Complete {
		return exitIncomplete
	}
	return exitOK
}

// report gathers the verifier's findings.
func (v *verifier) report(m *metainfo.MetaInfo, dir string) *verifyReport {
	r := &verifyReport{Name: m.Info.Name, InfoHash: hex.EncodeToString(m.InfoHash[:]), Dir: dir,
		Pieces: len(v.states), BadFiles: []badFile{}, BadPieces: []badPiece{}}
	for k := range v.files {
		vf := &v.files[k]
		if vf.problem == "" && vf.readErr == nil {
			continue
		}
		bf := badFile{Path: vf.path, Problem: vf.problem}
		if vf.readErr != nil {
			bf.Error = vf.readErr.Error()
			if bf.Problem == "" {
				bf.Problem = "unreadable"
			}
		}
		r.BadFiles = append(r.BadFiles, bf)
	}
	for i, st := range v.states {
		if st == pieceGood {
			r.Good++
			continue
		}
		state := map[int]string{pieceBad: "bad", pieceMissing: "missing"}[st]
		files := v.pieceFiles(i)
		r.BadPieces = append(r.BadPieces, badPiece{Index: i, State: state, Files: files})
		if n := len(r.runs); n > 0 && r.runs[n-1].last == i-1 && r.runs[n-1].state == state {
			run := &r.runs[n-1]
			run.last = i
			for _, f := range files {
				if run.files[len(run.files)-1] != f {
					run.files = append(run.files, f)
				}
			}
			continue
		}
		r.runs = append(r.runs, pieceRun{first: i, last: i, state: state, files: files})
	}
	r.Complete = r.Good == r.Pieces && len(r.BadFiles) == 0
	return r
}

// print writes the human report: one line per bad file, one per run of bad
// pieces with the files they touch, then "NAME: N/M pieces good".
func (r *verifyReport) print(w io.Writer) {
	for _, f := range r.BadFiles {
		line := fmt.Sprintf("file %s: %s", printable(f.Path), f.Problem)
		if f.Error != "" && f.Error != f.Problem {
			line += " (" + f.Error + ")"
		}
		fmt.Fprintln(w, line)
	}
	for _, run := range r.runs {
		what := fmt.Sprintf("piece %d", run.first)
		if run.last > run.first {
			what = fmt.Sprintf("pieces %d-%d", run.first, run.last)
		}
		names := make([]string, len(run.files))
		for k, f := range run.files {
			names[k] = printable(f)
		}
		fmt.Fprintf(w, "%s: %s: %s\n", what, run.state, strings.Join(names, ", "))
	}
	state := "complete"
	if !r.Complete {
		state = "incomplete"
	}
	fmt.Fprintf(w, "%s: %d/%d pieces good, %s\n", printable(r.Name), r.Good, r.Pieces, state)
}
