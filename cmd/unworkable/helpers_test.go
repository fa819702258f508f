package main

// Process harness for the interop tests: builds the binary once, starts
// external programs in their own process groups with their output in a log
// file, and on cleanup kills every group it started and, when the test
// failed, prints the tail of every log.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/unworkable/unworkable/tracker"
)

// build holds the result of building the unworkable binary, done once per
// test binary run and shared by every test that needs it.
var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// TestMain turns the loopback guard on for the whole test binary: run()
// called in-process and every child that inherits the environment (our
// binary above all) refuse any address that is not a loopback one (issue
// 10: these machines reach nothing else). It removes the directory holding
// the built binary after the tests.
func TestMain(m *testing.M) {
	os.Setenv(tracker.LoopbackEnv, "1")
	cache, err := os.MkdirTemp("", "unworkable-cache-") // the DHT state files of the tests' nodes
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", cache)
	code := m.Run()
	os.RemoveAll(cache)
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// binary returns the path of a freshly built unworkable (plain `go build` of
// this package), failing the test if it does not build.
func binary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "unworkable-bin-")
		if err != nil {
			build.err = err
			return
		}
		build.dir = dir
		build.path = filepath.Join(dir, "unworkable")
		out, err := exec.Command("go", "build", "-o", build.path, ".").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatalf("cannot build unworkable: %v", build.err)
	}
	return build.path
}

// packages maps each external program the tests run to its Debian package.
var packages = map[string]string{
	"aria2c":           "aria2",
	"transmission-cli": "transmission-cli",
	"opentracker":      "opentracker",
	"mktorrent":        "mktorrent",
	"qbittorrent-nox":  "qbittorrent-nox",
}

// requirePrograms fails (never skips) the test when a program is missing,
// naming the programs and the packages that provide them.
func requirePrograms(t *testing.T, progs ...string) {
	t.Helper()
	var missing, pkgs []string
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
			pkgs = append(pkgs, packages[p])
		}
	}
	if len(missing) > 0 {
		t.Fatalf("programs not found on PATH: %s (apt-get install %s, or run scripts/deps.sh)",
			strings.Join(missing, " "), strings.Join(pkgs, " "))
	}
}

// harness owns the processes, ports and logs of one test. Only the test
// goroutine uses it.
type harness struct {
	t     *testing.T
	dir   string
	procs []*proc
	logs  []string // extra files (traces) whose tail is printed on failure
	seq   int
}

// newHarness checks that progs exist and returns a harness whose cleanup
// kills everything it started and, if the test failed, prints every log.
func newHarness(t *testing.T, progs ...string) *harness {
	t.Helper()
	if testing.Short() {
		t.Skip("interop test: skipped in -short mode")
	}
	requirePrograms(t, progs...)
	h := &harness{t: t, dir: t.TempDir()}
	t.Cleanup(h.cleanup)
	return h
}

// path returns a path below the test's private directory.
func (h *harness) path(elem ...string) string {
	return filepath.Join(append([]string{h.dir}, elem...)...)
}

// mkdir creates a directory below the test's private directory.
func (h *harness) mkdir(elem ...string) string {
	h.t.Helper()
	d := h.path(elem...)
	if err := os.MkdirAll(d, 0o755); err != nil {
		h.t.Fatal(err)
	}
	return d
}

// deadline returns a context that ends after d, cancelled at cleanup.
func (h *harness) deadline(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	h.t.Cleanup(cancel)
	return ctx
}

// usedPorts keeps freePort from handing out a port twice in one test run.
var usedPorts sync.Map

// freePort returns a port that was free for TCP and UDP on all addresses
// a moment ago, below the ephemeral range (see ephemeralLow).
func freePort(t *testing.T) int {
	t.Helper()
	top := ephemeralLow()
	for range 200 {
		port := lowPort + rand.IntN(top-lowPort)
		if _, dup := usedPorts.LoadOrStore(port, true); dup {
			continue
		}
		if bindable(port) {
			return port
		}
	}
	t.Fatal("free port: no unused port found")
	return 0
}

// lowPort is the lowest port freePort hands out.
const lowPort = 10000

// ephemeralLow returns the start of the kernel's ephemeral port range
// (Linux default 32768): freePort stays below it. A port picked by binding
// to :0 comes from that range, and before the program under test binds it,
// one of the thousands of outgoing connections the hostile tests make may
// take it as its local port.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	var lo int
	if _, err := fmt.Sscan(string(b), &lo); err != nil || lo <= lowPort+1000 {
		return 32768
	}
	return lo
}

// bindable reports whether port is free for TCP and for UDP (opentracker
// listens on both).
func bindable(port int) bool {
	addr := ":" + strconv.Itoa(port)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	u.Close()
	return true
}

// proc is one started program. done is closed once it has exited; err is
// its Wait error, valid after done.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// start runs argv in dir (the test directory if empty) in a new process
// group, stdin from /dev/null, stdout and stderr into a log file.
func (h *harness) start(name, dir string, argv ...string) *proc {
	h.t.Helper()
	h.seq++
	p := &proc{name: name, log: h.path(fmt.Sprintf("%02d-%s.log", h.seq, name)), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Dir = dir
	if dir == "" {
		p.cmd.Dir = h.dir
	}
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		h.t.Fatalf("start %s: %v", name, err)
	}
	h.procs = append(h.procs, p)
	h.t.Logf("started %s (pid %d): %s", name, p.cmd.Process.Pid, strings.Join(argv, " "))
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p
}

// ours starts the unworkable binary with args.
func (h *harness) ours(name string, args ...string) *proc {
	h.t.Helper()
	return h.start(name, "", append([]string{binary(h.t)}, dhtDefault(args)...)...)
}

// dhtDefault returns the arguments of a run of our binary with --no-dht
// added in front, unless it is a subcommand or already says how to use
// the DHT: no test may fall back to the public routers (issue 10), and
// the guard would only warn about them.
func dhtDefault(args []string) []string {
	if len(args) > 0 && (args[0] == "create" || args[0] == "info" || args[0] == "verify") {
		return args
	}
	for _, a := range args {
		if a == "--no-dht" || a == "--dht-bootstrap" || strings.HasPrefix(a, "--dht-bootstrap=") {
			return args
		}
	}
	return append([]string{"--no-dht"}, args...)
}

// exited reports whether p has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// code returns the exit status of an exited process, -1 if a signal ended it.
func (p *proc) code() int {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		return -1
	}
	return 0
}

// signal sends sig to p's process group.
func (p *proc) signal(sig syscall.Signal) {
	syscall.Kill(-p.cmd.Process.Pid, sig)
}

// expectExit waits for p to exit before ctx ends and fails the test unless
// it exits with want.
func (h *harness) expectExit(ctx context.Context, p *proc, want int) {
	h.t.Helper()
	select {
	case <-p.done:
	case <-ctx.Done():
		h.t.Fatalf("%s did not exit in time (%v)", p.name, context.Cause(ctx))
	}
	if got := p.code(); got != want {
		h.t.Fatalf("%s: exit status %d (%v), want %d", p.name, got, p.err, want)
	}
}

// alive fails the test if p has already exited.
func (h *harness) alive(p *proc) {
	h.t.Helper()
	if p.exited() {
		h.t.Fatalf("%s exited early: status %d (%v)", p.name, p.code(), p.err)
	}
}

// stop ends p's process group: SIGTERM, then SIGKILL after grace. Stray
// members of an exited leader's group get SIGKILL.
func (p *proc) stop(grace time.Duration) {
	if !p.exited() {
		p.signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
		}
	}
	p.signal(syscall.SIGKILL)
	<-p.done
}

// cleanup stops every process, newest first, then prints the logs if the
// test failed.
func (h *harness) cleanup() {
	for i := len(h.procs) - 1; i >= 0; i-- {
		h.procs[i].stop(3 * time.Second)
	}
	if !h.t.Failed() {
		return
	}
	for _, p := range h.procs {
		h.t.Logf("--- %s: status %d (%v); last lines of %s:\n%s", p.name, p.code(), p.err, p.log, tail(p.log, 40))
	}
	for _, l := range h.logs {
		h.t.Logf("--- last lines of %s:\n%s", l, tail(l, 40))
	}
}

// tail returns the last n lines of a file, with carriage returns (progress
// lines) turned into line breaks.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	s := strings.ReplaceAll(string(b), "\r", "\n")
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// poll calls cond every 100 ms until it returns true, fails the test with
// what when ctx ends first.
func (h *harness) poll(ctx context.Context, what string, cond func() bool) {
	h.t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			h.t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}
