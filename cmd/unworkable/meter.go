package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/unworkable/unworkable/session"
)

// meter draws an scp-style progress line on a terminal and prints the
// one-line summary at the end. Off a terminal it draws nothing but the
// summary. update is called from the session loop; finish from main.
type meter struct {
	mu      sync.Mutex
	term    io.Writer // the terminal, or nil
	out     io.Writer // where the summary goes, or nil
	notes   io.Writer // where tracker messages go off a terminal, or nil
	last    session.Stats
	note    string // the last tracker message, shown in the line on a terminal
	drawn   bool
	started time.Time
}

// newMeter returns a meter drawing on w when tty is true; summary nil means
// no summary (-q, --json).
func newMeter(w, summary io.Writer, tty bool) *meter {
	m := &meter{out: summary, started: time.Now()}
	if tty {
		m.term = w
	}
	return m
}

// tracker shows a tracker's message (each distinct one comes once): in
// the progress line on a terminal, else as one line on the notes writer.
func (m *meter) tracker(ev session.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	text := "tracker " + ev.URL + ": " + ev.Message
	if ev.Reason == session.TrackerWarning {
		text = "tracker " + ev.URL + " warning: " + ev.Message
	}
	switch {
	case m.term != nil:
		m.note = text
		fmt.Fprintf(m.term, "\r%s\x1b[K", m.line())
		m.drawn = true
	case m.notes != nil:
		fmt.Fprintf(m.notes, "unworkable: %s\n", text)
	}
}

// line is the progress line with the last tracker message in place of
// the name, which it names.
func (m *meter) line() string {
	st := m.last
	if m.note != "" {
		st.Name = st.Name + " [" + m.note + "]"
	}
	return progressLine(st, termWidth())
}

// update takes a snapshot from the session and redraws the line.
func (m *meter) update(st session.Stats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last = st
	if m.term == nil {
		return
	}
	fmt.Fprintf(m.term, "\r%s\x1b[K", m.line())
	m.drawn = true
}

// finish ends the meter line and prints the summary; it returns the last
// snapshot.
func (m *meter) finish() session.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.drawn {
		fmt.Fprintln(m.term)
	}
	if m.out != nil {
		fmt.Fprintln(m.out, summaryLine(m.last, time.Since(m.started)))
	}
	return m.last
}

// progressLine formats "name  45%  123.4MiB  12.3MiB/s  01:02 ETA  5 peers"
// fitted to width columns (the name is shortened first).
func progressLine(st session.Stats, width int) string {
	var tail string
	switch st.Phase {
	case "metadata":
		tail = fmt.Sprintf(" fetching metadata from %d of %d peers %s", st.MetaPeers, st.Peers, metaPercent(st))
	case "checking":
		tail = fmt.Sprintf(" checking %d/%d pieces", st.Checked, st.Pieces)
	default:
		tail = transferTail(st)
	}
	if st.DHT {
		tail += fmt.Sprintf(" dht %d", st.DHTNodes)
	}
	name := st.Name
	room := width - len(tail) - 1
	if room < 4 {
		room = 4
	}
	if len(name) > room {
		name = name[:room-1] + "~"
	}
	return fmt.Sprintf("%-*s%s", room, name, tail)
}

// metaPercent is how much of the metadata arrived, "" before its size is
// known.
func metaPercent(st session.Stats) string {
	if st.MetaSize == 0 {
		return ""
	}
	return fmt.Sprintf("%3.0f%%", 100*float64(st.MetaHave)/float64(st.MetaSize))
}

// transferTail is the part of the progress line after the name while
// downloading or seeding.
func transferTail(st session.Stats) string {
	pct := 100.0
	if st.Total > 0 {
		pct = 100 * float64(st.Total-st.Left) / float64(st.Total)
	}
	eta := "--:-- ETA"
	switch {
	case st.Complete:
		eta = "complete "
	case st.DownRate > 1:
		eta = clock(time.Duration(float64(st.Left)/st.DownRate*float64(time.Second))) + " ETA"
	}
	tail := fmt.Sprintf(" %3.0f%% %9s %9s/s %s %3d peers", pct, size(st.Total-st.Left), size(int64(st.DownRate)), eta, st.Peers)
	if st.Complete {
		tail = fmt.Sprintf(" %3.0f%% %9s up %9s/s %s %3d peers", pct, size(st.Total), size(int64(st.UpRate)), eta, st.Peers)
	}
	return tail
}

// summaryLine is the one line printed at the end.
func summaryLine(st session.Stats, wall time.Duration) string {
	rate := 0.0
	if s := wall.Seconds(); s > 0 {
		rate = float64(st.Downloaded) / s
	}
	state := "incomplete"
	if st.Complete {
		state = "complete"
	}
	return fmt.Sprintf("%s: %s, %d/%d pieces, downloaded %s in %s (%s/s), uploaded %s",
		st.Name, state, st.Have, st.Pieces, size(st.Downloaded), wall.Round(100*time.Millisecond), size(int64(rate)), size(st.Uploaded))
}

// size formats a byte count with a binary unit.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + "B"
	}
	f, u := float64(n), "KMGTPE"
	i := -1
	for f >= unit && i < len(u)-1 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f%ciB", f, u[i])
}

// clock formats a duration as mm:ss or hh:mm:ss.
func clock(d time.Duration) string {
	s := int64(d.Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// termWidth is $COLUMNS, or 80.
func termWidth() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 20 {
		return n
	}
	return 80
}
