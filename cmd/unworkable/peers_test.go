package main

// Third-party programs on loopback: opentracker, aria2c and transmission-cli.
// Debian's opentracker is whitelist-only and chroots into its -d directory
// as nobody; transmission-cli never dials 127.x peers but accepts incoming
// connections; aria2c as a seeder only accepts.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// swarm is a payload below src, its torrent and, if started, a tracker.
type swarm struct {
	src     string // directory holding the torrent's name
	torrent string
	meta    *meta
	tracker int // opentracker's port, 0 if none
}

// newSwarm writes files under a fresh source directory, makes a torrent of
// them with 32 KiB pieces announcing to a new opentracker, and starts it.
func (h *harness) newSwarm(files []file) *swarm {
	h.t.Helper()
	sw := &swarm{src: h.mkdir("src"), torrent: h.path("test.torrent"), tracker: freePort(h.t)}
	makePayload(h.t, sw.src, files)
	name, _, _ := cutPath(files[0].path)
	announce := fmt.Sprintf("http://127.0.0.1:%d/announce", sw.tracker)
	sw.meta = mktorrent(h.t, filepath.Join(sw.src, name), announce, 15, sw.torrent)
	h.startTracker(sw.tracker, sw.meta.hash)
	return sw
}

// cutPath splits the first element off a slash-separated path.
func cutPath(p string) (first, rest string, found bool) {
	for i := range len(p) {
		if p[i] == '/' {
			return p[:i], p[i+1:], true
		}
	}
	return p, "", false
}

// startTracker runs opentracker on 127.0.0.1:port (TCP and UDP) with the
// given info hashes whitelisted, and waits until it accepts connections.
func (h *harness) startTracker(port int, hashes ...[20]byte) *proc {
	h.t.Helper()
	dir := h.mkdir("tracker")
	// Dropped to nobody inside the chroot, it must still read the list.
	if err := os.Chmod(dir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	var list string
	for _, x := range hashes {
		list += fmt.Sprintf("%x\n", x)
	}
	if err := os.WriteFile(filepath.Join(dir, "whitelist"), []byte(list), 0o644); err != nil {
		h.t.Fatal(err)
	}
	p := strconv.Itoa(port)
	tr := h.start("opentracker", dir, "opentracker", "-i", "127.0.0.1", "-p", p, "-P", p, "-d", dir, "-w", "whitelist")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.poll(ctx, "opentracker to listen", func() bool {
		h.alive(tr)
		c, err := net.Dial("tcp", "127.0.0.1:"+p)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return tr
}

// seeds returns how many complete peers the tracker lists for the swarm's
// torrent (its scrape), -1 when the scrape fails, and what it said.
func (sw *swarm) seeds() (int, string) { return sw.scrape("complete") }

// scrape returns the tracker's count of key ("complete" for seeds,
// "incomplete" for leechers) for sw's torrent, -1 when it cannot tell,
// and a description of what it said.
func (sw *swarm) scrape(key string) (int, string) {
	u := fmt.Sprintf("http://127.0.0.1:%d/scrape?info_hash=%s", sw.tracker, escapeBytes(sw.meta.hash[:]))
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return -1, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return -1, err.Error()
	}
	d := &decoder{b: b}
	v, err := d.value()
	top, _ := v.(map[string]any)
	files, _ := top["files"].(map[string]any)
	st, _ := files[string(sw.meta.hash[:])].(map[string]any)
	n, ok := st[key].(int64)
	if err != nil || !ok {
		return -1, fmt.Sprintf("%s: %q", resp.Status, b)
	}
	return int(n), fmt.Sprintf("%d %s", n, key)
}

// escapeBytes percent-encodes every byte of b. url.QueryEscape is not
// enough: it turns a 0x20 byte into '+', which opentracker reads as 0x2B,
// so the scrape of one info hash in about 13 asked for another torrent and
// the wait for the seeder timed out (two CI failures).
func escapeBytes(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		fmt.Fprintf(&sb, "%%%02X", c)
	}
	return sb.String()
}

// waitSeeds waits until the tracker lists n complete peers, failing the
// test if seeder exits first.
func (h *harness) waitSeeds(ctx context.Context, sw *swarm, n int, seeder *proc) {
	h.t.Helper()
	start := time.Now()
	last := ""
	h.poll(ctx, fmt.Sprintf("%d seed(s) on the tracker", n), func() bool {
		h.alive(seeder)
		got, desc := sw.seeds()
		if desc != last { // what the scrape said, for a timeout's diagnosis
			h.t.Logf("scrape: %s", desc)
			last = desc
		}
		return got >= n
	})
	h.t.Logf("tracker lists %d seed(s) after %v", n, time.Since(start).Round(time.Millisecond))
}

// aria2Common are the aria2c options of every run: no user config, nothing
// but the tracker to find peers, and a readable log.
var aria2Common = []string{
	"--no-conf=true", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
	"--enable-peer-exchange=false", "--summary-interval=0", "--show-console-readout=false", "--console-log-level=notice",
	"--download-result=hide",
}

// aria2Seed starts aria2c seeding the data in dir (which holds the
// torrent's name) without checking it, until killed. extra are more options
// (an upload limit).
func (h *harness) aria2Seed(torrent, dir string, extra ...string) *proc {
	h.t.Helper()
	argv := append([]string{"aria2c", "--dir=" + dir, "--listen-port=" + strconv.Itoa(freePort(h.t)),
		"--seed-ratio=0.0", "--check-integrity=false", "--bt-seed-unverified=true"}, aria2Common...)
	argv = append(argv, extra...)
	return h.start("aria2c-seed", "", append(argv, torrent)...)
}

// aria2Leech starts aria2c downloading into dir; it exits 0 once complete.
// extra are more options.
func (h *harness) aria2Leech(torrent, dir string, extra ...string) *proc {
	h.t.Helper()
	argv := append([]string{"aria2c", "--dir=" + dir, "--listen-port=" + strconv.Itoa(freePort(h.t)),
		"--seed-time=0"}, aria2Common...)
	argv = append(argv, extra...)
	return h.start("aria2c-leech", "", append(argv, torrent)...)
}

// transmissionSettings keeps transmission-cli local and unthrottled; the
// encryption stays at its default ("preferred", plaintext still accepted).
const transmissionSettings = `{
  "dht-enabled": false,
  "lpd-enabled": false,
  "pex-enabled": false,
  "utp-enabled": false,
  "port-forwarding-enabled": false,
  "bind-address-ipv4": "127.0.0.1",
  "speed-limit-down-enabled": false,
  "speed-limit-up-enabled": false,
  "ratio-limit-enabled": false,
  "idle-seeding-limit-enabled": false,
  "rpc-enabled": false,
  "message-level": 2
}
`

// transmissionSeed starts transmission-cli on the data in dir: it verifies
// the data, announces and then seeds until killed.
func (h *harness) transmissionSeed(torrent, dir string) *proc {
	h.t.Helper()
	return h.transmissionSeedAt(torrent, dir, freePort(h.t))
}

// transmissionLeech starts transmission-cli downloading torrent into dir,
// listening on port (it dials no loopback peer: peers must dial it), and
// waits until it listens.
func (h *harness) transmissionLeech(ctx context.Context, torrent, dir string, port int) *proc {
	h.t.Helper()
	cfg := h.mkdir("transmission-leech")
	fatalIf(h.t, os.WriteFile(filepath.Join(cfg, "settings.json"), []byte(transmissionSettings), 0o644))
	tr := h.start("transmission-leech", "", "transmission-cli", "-g", cfg, "-w", dir,
		"-p", strconv.Itoa(port), "-M", "-D", "-U", torrent)
	h.waitListen(ctx, tr, port)
	return tr
}

// transmissionSeedAt is transmissionSeed listening on port, with extra
// options (-er: encryption required).
func (h *harness) transmissionSeedAt(torrent, dir string, port int, extra ...string) *proc {
	h.t.Helper()
	cfg := h.mkdir("transmission")
	if err := os.WriteFile(filepath.Join(cfg, "settings.json"), []byte(transmissionSettings), 0o644); err != nil {
		h.t.Fatal(err)
	}
	argv := append([]string{"transmission-cli", "-g", cfg, "-w", dir, "-p", strconv.Itoa(port), "-M", "-D", "-U"}, extra...)
	return h.start("transmission-seed", "", append(argv, torrent)...)
}

// TestEscapeBytes checks that a space byte in an info hash is sent as %20:
// a '+' would name another torrent at opentracker.
func TestEscapeBytes(t *testing.T) {
	if got := escapeBytes([]byte{' ', 'a', 0xff}); got != "%20%61%FF" {
		t.Errorf("escapeBytes = %q, want %%20%%61%%FF", got)
	}
}
