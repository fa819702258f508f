package main

// The loopback guard (UNWORKABLE_LOOPBACK_ONLY=1, set for every test by
// TestMain) seen from outside: public addresses given on the command line,
// in a magnet, in the torrent's trackers or by a tracker are refused with
// the guard named, and, when strace is there to tell, no socket is pointed
// at anything but loopback. 192.0.2.0/24 and 2001:db8::/32 are
// documentation ranges, never routed.

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// guardRun is one run of our binary for the guard tests.
type guardRun struct {
	code    int
	stderr  string
	sockets []string // addresses connected or sent to (strace); nil without strace
	traced  bool     // strace watched the run
}

// straceOK reports whether strace can trace a child here.
func straceOK() bool {
	if _, err := exec.LookPath("strace"); err != nil {
		return false
	}
	return exec.Command("strace", "-qq", "-o", os.DevNull, "true").Run() == nil
}

// straceAddr matches the IPv4 and IPv6 addresses strace prints in a
// sockaddr.
var straceAddr = regexp.MustCompile(`inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"`)

// runGuarded runs our binary with args in dir under strace when it works,
// collecting every address a socket was connected or sent to.
func runGuarded(t *testing.T, dir string, env []string, args ...string) guardRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	argv := append([]string{binary(t)}, args...)
	var r guardRun
	log := filepath.Join(dir, "strace.log")
	if straceOK() {
		r.traced = true
		argv = append([]string{"strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg,sendmmsg", "-o", log}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s: still running after 30 s", strings.Join(argv, " "))
	}
	r.code, r.stderr = cmd.ProcessState.ExitCode(), errb.String()
	if err != nil && r.code < 0 {
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	if r.traced {
		b, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		r.sockets = []string{}
		for _, m := range straceAddr.FindAllStringSubmatch(string(b), -1) {
			r.sockets = append(r.sockets, m[1]+m[2])
		}
	}
	return r
}

// checkLoopbackOnly fails the test if r's process pointed a socket at an
// address that is not a loopback one.
func checkLoopbackOnly(t *testing.T, r guardRun) {
	t.Helper()
	if !r.traced {
		t.Log("strace not available: the sockets were not watched")
		return
	}
	t.Logf("sockets pointed at: %v", r.sockets)
	for _, s := range r.sockets {
		if a, err := netip.ParseAddr(s); err != nil || !a.Unmap().IsLoopback() {
			t.Errorf("a socket was pointed at %s", s)
		}
	}
}

// refusal is the guard's message for host.
func refusal(host string) string {
	return "refused: UNWORKABLE_LOOPBACK_ONLY=1 and " + host + " is not a loopback address"
}

// TestLoopbackGuardCommandLine: a public --peer is exit 1 and a public x.pe
// exit 3, a name other than localhost is refused without a lookup, and a
// value of the variable other than 1 or 0 is exit 2.
func TestLoopbackGuardCommandLine(t *testing.T) {
	dir := t.TempDir()
	magnet := "magnet:?xt=urn:btih:" + strings.Repeat("ab", 20)
	tests := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"peer", nil, []string{"--peer", "192.0.2.1:6881", magnet}, 1, "--peer 192.0.2.1:6881: " + refusal("192.0.2.1")},
		{"peer v6", nil, []string{"--peer", "[2001:db8::1]:6881", magnet}, 1, refusal("2001:db8::1")},
		{"peer name", nil, []string{"--peer", "example.org:6881", magnet}, 1, refusal("example.org")},
		{"x.pe", nil, []string{magnet + "&x.pe=192.0.2.1:6881"}, 3, "magnet: x.pe 192.0.2.1:6881: " + refusal("192.0.2.1")},
		{"x.pe name", nil, []string{magnet + "&x.pe=example.org:6881"}, 3, refusal("example.org")},
		{"bad value", []string{"UNWORKABLE_LOOPBACK_ONLY=yes"}, []string{magnet}, 2, "UNWORKABLE_LOOPBACK_ONLY=yes: want 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-p", "0", "--bind", "127.0.0.1", "-o", t.TempDir(), "--timeout", "2s"}, tt.args...)
			r := runGuarded(t, dir, tt.env, args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tt.code, tt.want)
			}
			checkLoopbackOnly(t, r)
			if r.traced && len(r.sockets) > 0 {
				t.Errorf("sockets pointed at %v before the refusal", r.sockets)
			}
		})
	}
}

// TestLoopbackGuardSwarm: trackers at public addresses (HTTP, UDP, a name)
// are refused and traced; a loopback tracker handing out a public peer and
// a loopback one gets its announce, the public peer's dial is refused like
// an unreachable peer's, and the loopback peer is dialled (the sanity
// check that the refusals, not a dead network, kept the rest silent).
func TestLoopbackGuardSwarm(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data.bin"), bytes.Repeat([]byte("unworkable"), 10000), 0o644); err != nil {
		t.Fatal(err)
	}
	create := func(out string, announce ...string) string {
		args := []string{"create", "-o", out}
		for _, a := range announce {
			args = append(args, "-a", a)
		}
		if code, _, stderr := runOurs(t, dir, append(args, "data.bin")...); code != 0 {
			t.Fatalf("create: exit %d: %s", code, stderr)
		}
		return out
	}

	t.Run("public trackers", func(t *testing.T) {
		torrent := create("public.torrent", "http://192.0.2.1/announce", "udp://192.0.2.1:6969/announce",
			"http://example.org/announce", "udp://[2001:db8::1]:6969/announce")
		trace := filepath.Join(dir, "public.trace")
		r := runGuarded(t, dir, nil, "-p", "0", "--bind", "127.0.0.1", "-o", t.TempDir(), "-t", trace, "--timeout", "2s", torrent)
		if r.code != exitTimeout {
			t.Errorf("exit %d, want %d (no progress); stderr %q", r.code, exitTimeout, r.stderr)
		}
		for _, host := range []string{"192.0.2.1", "example.org", "2001:db8::1"} {
			if !traceHas(trace, refusal(host)) {
				t.Errorf("trace lacks %q", refusal(host))
			}
		}
		if !traceHas(trace, "udp://192.0.2.1:6969/announce: tracker: announce 192.0.2.1:6969: "+refusal("192.0.2.1")) {
			t.Error("trace lacks the UDP tracker's refusal")
		}
		if t.Failed() {
			b, _ := os.ReadFile(trace)
			t.Logf("trace:\n%s", b)
		}
		checkLoopbackOnly(t, r)
	})

	t.Run("public peer", func(t *testing.T) {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		var accepted atomic.Int32
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				c.Close()
			}
		}()
		lp := ln.Addr().(*net.TCPAddr).AddrPort()
		var announces atomic.Int32
		peers := append([]byte{192, 0, 2, 1, 0x1a, 0xe1}, lp.Addr().AsSlice()...) // 192.0.2.1:6881
		peers = append(peers, byte(lp.Port()>>8), byte(lp.Port()))
		peers6 := append(netip.MustParseAddr("2001:db8::1").AsSlice(), 0x1a, 0xe1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			announces.Add(1)
			w.Write(benc(map[string]any{"interval": 60, "peers": peers, "peers6": peers6}))
		}))
		defer srv.Close()
		torrent := create("loopback.torrent", srv.URL+"/announce")
		trace := filepath.Join(dir, "loopback.trace")
		r := runGuarded(t, dir, nil, "-p", "0", "--bind", "127.0.0.1", "-o", t.TempDir(), "-t", trace, "--timeout", "2s", torrent)
		if r.code != exitTimeout {
			t.Errorf("exit %d, want %d (no progress); stderr %q", r.code, exitTimeout, r.stderr)
		}
		if announces.Load() == 0 {
			t.Error("the loopback tracker got no announce")
		}
		if accepted.Load() == 0 {
			t.Error("the loopback peer was not dialled")
		}
		for _, want := range []string{"connect 192.0.2.1:6881 failed: " + refusal("192.0.2.1"),
			"connect [2001:db8::1]:6881 failed: " + refusal("2001:db8::1")} {
			if !traceHas(trace, want) {
				t.Errorf("trace lacks %q", want)
			}
		}
		if t.Failed() {
			b, _ := os.ReadFile(trace)
			t.Logf("trace:\n%s", b)
		}
		checkLoopbackOnly(t, r)
		if r.traced && len(r.sockets) == 0 {
			t.Error("strace saw no socket at all: the watch is blind")
		}
	})
}
