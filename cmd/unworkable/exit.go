package main

import (
	"errors"
	"fmt"
)

// Exit codes: the scripting contract, listed in --help, the man page and the
// README. Keep the three in step with this table.
const (
	exitOK         = 0 // complete (or seeding stopped cleanly; or the subcommand succeeded)
	exitError      = 1 // any other error
	exitUsage      = 2 // bad command line
	exitTorrent    = 3 // the .torrent file is unreadable or invalid
	exitIO         = 4 // I/O error: output directory unusable, disk full, files locked
	exitInterrupt  = 5 // SIGINT/SIGTERM before the download completed
	exitTimeout    = 6 // no progress before --timeout
	exitIncomplete = 7 // verify: pieces missing or bad
)

// exitHelp is the exit-status paragraph of --help.
const exitHelp = `Exit status:
  0  complete (or seeding stopped cleanly)   4  I/O error or disk full
  1  other error                             5  interrupted before completion
  2  usage error                             6  no progress before --timeout
  3  bad torrent file                        7  verify: data incomplete
`

// exitErr is an error that carries its exit code.
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string { return e.err.Error() }
func (e *exitErr) Unwrap() error { return e.err }

// withCode wraps err so that main exits with code; nil stays nil.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitErr{code: code, err: err}
}

// codef is withCode with a formatted message.
func codef(code int, format string, args ...any) error {
	return &exitErr{code: code, err: fmt.Errorf(format, args...)}
}

// exitCode returns the exit code for err: its own when it carries one,
// else exitError.
func exitCode(err error) int {
	var e *exitErr
	if errors.As(err, &e) {
		return e.code
	}
	if err == nil {
		return exitOK
	}
	return exitError
}
