package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// profileEnv names a file to write a CPU profile of the whole run to, for
// docs/PERFORMANCE.md (read it with `go tool pprof`). An environment
// variable rather than a flag: it is a developer's tool, not a user's.
const profileEnv = "UNWORKABLE_CPUPROFILE"

// startProfile starts the CPU profile profileEnv asks for; the returned
// function stops it. A profile that cannot start is reported and skipped:
// it never stops the download.
func startProfile(stderr io.Writer) (stop func()) {
	path := os.Getenv(profileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(stderr, "unworkable: %s: %v\n", profileEnv, err)
		if f != nil {
			f.Close()
		}
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
