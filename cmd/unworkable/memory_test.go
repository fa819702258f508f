package main

// Peak memory under hostile peers: our seeder is hit by peers announcing a
// frame of 4 GiB (length prefix 2^32-1, then streaming bytes), peers
// flooding requests, and peers sending the largest frames allowed, while a
// good leecher (our binary) downloads from it. The seeder's peak resident
// set (VmHWM) must stay under memoryBudget, the figure the README promises.

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// memoryBudget is the documented peak RSS of the binary under attack.
const memoryBudget = 64 << 20

// TestMemoryUnderAttack measures the seeder's VmHWM after the attack.
func TestMemoryUnderAttack(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "mktorrent")
	ctx := h.deadline(90 * time.Second)
	src, torrent, m := h.smallSwarm(8<<20, "http://127.0.0.1:1/announce")
	addr, seed := h.goodSeed(ctx, torrent, src)
	actx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	attack := func(n int, act func(pc *peerCtx)) {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for actx.Err() == nil { // reconnect whenever dropped
					c, err := net.Dial("tcp", addr)
					if err != nil {
						time.Sleep(50 * time.Millisecond)
						continue
					}
					context.AfterFunc(actx, func() { c.Close() })
					act(&peerCtx{c: c, m: m, hash: m.hash})
					abort(c)
				}
			}()
		}
	}
	zeros := make([]byte, 64<<10)
	attack(4, func(pc *peerCtx) { // a 4 GiB frame
		if !pc.hello(msg(0x0f), u32(0xffffffff), []byte{7}) {
			return
		}
		for sent := 0; sent < 4<<30 && pc.write(zeros); sent += len(zeros) {
		}
	})
	attack(4, func(pc *peerCtx) { // requests as fast as possible, reading slowly
		if !pc.hello(msg(0x0f), msg(2)) {
			return
		}
		for i := 0; pc.write(msg(6, u32(uint32(i%(m.pieces-1))), u32(0), u32(16384))); i++ {
		}
	})
	attack(4, func(pc *peerCtx) { // the largest frames allowed: 1 MiB of an unknown ID
		if !pc.hello(msg(0x0f)) {
			return
		}
		pc.drain()
		big := msg(99, make([]byte, 1<<20))
		for pc.write(big) {
		}
	})
	dst := h.mkdir("dst")
	leech := h.ours("leech", "-p", "0", "--peer", addr, "-o", dst, torrent)
	h.expectExit(ctx, leech, 0)
	time.Sleep(time.Second) // a little more of the attack after the download
	hwm := vmHWM(t, seed.cmd.Process.Pid)
	stop()
	wg.Wait()
	if err := sameData(m, src, dst); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeder peak RSS under attack: %.1f MiB (budget %d MiB)", float64(hwm)/(1<<20), memoryBudget>>20)
	if hwm > memoryBudget {
		t.Errorf("seeder peak RSS %d MiB over the %d MiB budget", hwm>>20, memoryBudget>>20)
	}
	seed.signal(syscall.SIGTERM)
	h.expectExit(ctx, seed, 0)
}

// vmHWM reads the peak resident set size of process pid, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}
