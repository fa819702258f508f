package main

import (
	"os"
	"runtime"
	"runtime/debug"
)

// gcPercent is the Go collector's GOGC unless the environment sets one.
// The heap is small and allocations are rare (block buffers are pooled),
// so collecting at 1.5x the live heap instead of 2x costs no measurable
// CPU and keeps about 2 MiB off the peak resident memory.
const gcPercent = 50

// tuneGC applies gcPercent when GOGC is not set.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// transferProcs is how many goroutines run at once (GOMAXPROCS) once a
// download or seed run is past its start-up hash check, unless GOMAXPROCS
// is set. One, like the C Unworkable's single libevent loop: with one per
// core, the runtime wakes and parks the second core's thread for every
// burst of blocks, and on 2 GiB from a qbittorrent seeder (3 runs each,
// same harness run, a 2-core VM where a context switch is dear) that cost
// 5.10 cpu s against 4.27 s, for no speed (6.02 s against 5.67 s of wall
// time). On one core our leecher took 1 GiB from our own seeder, both on
// the same 2 cores, at 500-600 MiB/s. The start-up check, verify and
// create still use every core.
const transferProcs = 1

// tuneTransfer applies transferProcs when GOMAXPROCS is not set.
func tuneTransfer() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(transferProcs)
	}
}
