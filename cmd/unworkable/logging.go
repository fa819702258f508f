package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/unworkable/unworkable/session"
)

// logFile is the --log file, reopened at the same path on SIGHUP so that
// logrotate can rename it away. Only the log queue's writer goroutine
// writes; reopen runs on the signal goroutine.
type logFile struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

// openLogFile opens (appends to) path.
func openLogFile(path string) (*logFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("--log: %w", err)
	}
	return &logFile{path: path, f: f}, nil
}

// Write appends p to the current file.
func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(p)
}

// reopen opens the path again and switches to the new file. On failure the
// old file stays in use.
func (l *logFile) reopen() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.f
	l.f = f
	l.mu.Unlock()
	return old.Close()
}

// Close closes the current file.
func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

// eventLog is the --log output: a text slog logger whose lines go through a
// lineQueue (the session loop never waits for the disk) into a logFile.
type eventLog struct {
	*slog.Logger
	file *logFile   // nil without --log
	q    *lineQueue // nil without --log
	hup  chan os.Signal
}

// newEventLog opens path for logging; path "" gives a logger that discards.
// With a file, SIGHUP reopens it.
func newEventLog(path string) (*eventLog, error) {
	if path == "" {
		return &eventLog{Logger: slog.New(slog.DiscardHandler)}, nil
	}
	f, err := openLogFile(path)
	if err != nil {
		return nil, err
	}
	q := newLineQueue(f)
	l := &eventLog{
		Logger: slog.New(slog.NewTextHandler(q, &slog.HandlerOptions{Level: slog.LevelInfo})),
		file:   f, q: q, hup: make(chan os.Signal, 1),
	}
	signal.Notify(l.hup, syscall.SIGHUP)
	go l.reopenOnHUP()
	return l, nil
}

// reopenOnHUP reopens the file on every SIGHUP until close.
func (l *eventLog) reopenOnHUP() {
	for range l.hup {
		// Lines queued before the signal may still land in the old file.
		if err := l.file.reopen(); err != nil {
			fmt.Fprintf(os.Stderr, "unworkable: reopen log: %v\n", err)
			l.Error("reopen log", "err", err)
			continue
		}
		l.Info("log reopened", "path", l.file.path)
	}
}

// event logs one session event; progress events are not logged.
func (l *eventLog) event(ev session.Event) {
	st := ev.Stats
	switch ev.Type {
	case session.EvStart:
		l.Info("start", "name", st.Name, "pieces", st.Pieces, "have", st.Have, "total", st.Total, "left", st.Left)
	case session.EvPeers:
		l.Info("peers", "peers", st.Peers, "seeds", st.Seeds)
	case session.EvPieceFailed:
		l.Warn("piece failed hash check", "piece", ev.Piece)
	case session.EvCompleted:
		l.Info("completed", "name", st.Name, "downloaded", st.Downloaded, "elapsed", st.Elapsed.Round(time.Millisecond))
	case session.EvStopped:
		l.Info("stopped", "reason", ev.Reason, "downloaded", st.Downloaded, "uploaded", st.Uploaded,
			"complete", st.Complete, "elapsed", st.Elapsed.Round(time.Millisecond))
	case session.EvError:
		l.Error("session error", "err", ev.Reason)
	case session.EvTracker:
		l.Warn("tracker", "kind", ev.Reason, "url", ev.URL, "message", ev.Message)
	}
}

// close stops the SIGHUP handling, flushes what is queued and closes the
// file.
func (l *eventLog) close() {
	if l.file == nil {
		return
	}
	signal.Stop(l.hup)
	close(l.hup)
	l.q.close(logFlushWait)
	l.file.Close()
}

// logFlushWait bounds the wait for the last log lines at exit.
const logFlushWait = 5 * time.Second
