package main

// qbittorrent-nox (qBittorrent 4.5, libtorrent 2.0) on loopback, driven
// through its WebUI API. Each instance gets a fresh profile whose
// qBittorrent.conf keeps it headless and local: legal notice accepted (or it
// waits on stdin), WebUI and BitTorrent bound to 127.0.0.1, no UPnP/NAT-PMP,
// no GeoIP download, DHT and LSD off, and several connections per IP (every
// peer here is 127.0.0.1; libtorrent allows one by default).

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/unworkable/unworkable/mse"
)

// qbitConf is the part of a qbittorrent-nox profile a test may change.
type qbitConf struct {
	dht, lsd, pex bool
	protocol      string   // Session\BTProtocol: TCP, UTP or Both
	encryption    int      // Session\Encryption: 0 allowed (plaintext accepted), 1 required, 2 off
	extra         []string // more lines for the [BitTorrent] section
}

// qbitOpt changes the profile of one qbittorrent-nox.
type qbitOpt func(*qbitConf)

// qbitPeX turns peer exchange (ut_pex) on or off; it is off by default.
func qbitPeX(on bool) qbitOpt { return func(c *qbitConf) { c.pex = on } }

// qbitDHT turns the DHT on or off (off by default). qBittorrent 4.5 then
// bootstraps from libtorrent's public routers (hard-coded, no setting), so
// the test fails unless it runs in a network namespace with only lo.
func qbitDHT(on bool) qbitOpt { return func(c *qbitConf) { c.dht = on } }

// qbitLSD turns local service discovery (multicast to 239.192.152.143) on or
// off (off by default); like qbitDHT, only in a namespace with only lo.
func qbitLSD(on bool) qbitOpt { return func(c *qbitConf) { c.lsd = on } }

// qbitProtocol sets the transports: "TCP", "UTP" or "Both".
func qbitProtocol(p string) qbitOpt { return func(c *qbitConf) { c.protocol = p } }

// qbitEncryption sets Session\Encryption: 0 allows both, 1 requires MSE,
// 2 refuses it.
func qbitEncryption(level int) qbitOpt { return func(c *qbitConf) { c.encryption = level } }

// qbitExtra adds raw lines to the [BitTorrent] section, e.g.
// `Session\GlobalUPSpeedLimit=64` (KiB/s).
func qbitExtra(lines ...string) qbitOpt {
	return func(c *qbitConf) { c.extra = append(c.extra, lines...) }
}

// qbitConfig returns a qBittorrent.conf for qBittorrent 4.5. Keys are
// "Section/Key" in the program, written Key under [Section] with '\' for '/'.
func qbitConfig(c qbitConf, port, webPort int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `[LegalNotice]
Accepted=true

[BitTorrent]
Session\Port=%d
Session\InterfaceAddress=127.0.0.1
Session\MultiConnectionsPerIp=true
Session\QueueingSystemEnabled=false
Session\DHTEnabled=%t
Session\LSDEnabled=%t
Session\PeXEnabled=%t
Session\Encryption=%d
Session\BTProtocol=%s
Session\StopTrackerTimeout=1
Session\RefreshInterval=100
`, port, c.dht, c.lsd, c.pex, c.encryption, c.protocol)
	for _, l := range c.extra {
		b.WriteString(l + "\n")
	}
	fmt.Fprintf(&b, `
[Network]
PortForwardingEnabled=false

[Preferences]
WebUI\Address=127.0.0.1
WebUI\Port=%d
WebUI\LocalHostAuth=false
WebUI\UseUPnP=false
Connection\ResolvePeerCountries=false
General\Locale=en
`, webPort)
	return b.String()
}

// qbit is one running qbittorrent-nox holding one torrent. Only the test
// goroutine uses it.
type qbit struct {
	h      *harness
	p      *proc
	name   string
	web    string // WebUI base URL
	port   int    // BitTorrent listen port (TCP; uTP on UDP)
	hash   string // info hash of its torrent, lower-case hex
	conf   qbitConf
	client *http.Client
}

// qbitSeed starts qbittorrent-nox seeding torrent from the data in dir
// (which holds the torrent's name). It hash-checks the data first (a few
// milliseconds here): waitSeeding then proves the data was found. It speaks
// TCP only: a libtorrent leecher talks uTP to a libtorrent seeder otherwise,
// slowly on loopback.
func (h *harness) qbitSeed(torrent, dir string, opts ...qbitOpt) *qbit {
	h.t.Helper()
	q := h.qbitStart("qbit-seed", append([]qbitOpt{qbitProtocol("TCP")}, opts...))
	q.add(torrent, dir)
	return q
}

// qbitLeech starts qbittorrent-nox downloading source, a .torrent path or a
// magnet URI, into dir; it keeps running (seeding) once complete, see
// waitComplete. It speaks TCP only unless opts say otherwise: with "Both" it
// first sends a uTP SYN to each peer and falls back to TCP ~4 s later.
func (h *harness) qbitLeech(source, dir string, opts ...qbitOpt) *qbit {
	h.t.Helper()
	q := h.qbitStart("qbit-leech", append([]qbitOpt{qbitProtocol("TCP")}, opts...))
	q.add(source, dir)
	return q
}

// qbitStart writes a fresh profile and starts qbittorrent-nox on it, then
// waits for its WebUI to answer. Its own log file is printed on failure.
func (h *harness) qbitStart(name string, opts []qbitOpt) *qbit {
	h.t.Helper()
	c := qbitConf{protocol: "Both"}
	for _, o := range opts {
		o(&c)
	}
	if (c.dht || c.lsd) && !onlyLoopback() {
		h.t.Fatalf("%s: DHT or LSD would send packets off loopback (public DHT routers, multicast); "+
			"run this test in a network namespace holding only lo", name)
	}
	// The profile's config directory holds a lock file (one instance per
	// profile) and a unix socket whose path may exceed 108 bytes below a long
	// test directory: then it only warns "listen on local socket failed".
	profile, err := os.MkdirTemp(h.dir, name+"-")
	if err != nil {
		h.t.Fatal(err)
	}
	conf := filepath.Join(profile, "qBittorrent", "config", "qBittorrent.conf")
	if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
		h.t.Fatal(err)
	}
	q := &qbit{h: h, name: name, port: freePort(h.t), conf: c,
		client: &http.Client{Timeout: 5 * time.Second,
			Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}}
	webPort := freePort(h.t)
	q.web = "http://127.0.0.1:" + strconv.Itoa(webPort)
	if err := os.WriteFile(conf, []byte(qbitConfig(c, q.port, webPort)), 0o644); err != nil {
		h.t.Fatal(err)
	}
	h.logs = append(h.logs, filepath.Join(profile, "qBittorrent", "data", "logs", "qbittorrent.log"))
	// It reads QBT_<OPTION> variables as command-line options.
	argv := []string{"env"}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "QBT_") {
			argv = append(argv, "-u", k)
		}
	}
	argv = append(argv, "qbittorrent-nox", "--profile="+profile)
	start := time.Now()
	q.p = h.start(name, "", argv...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h.poll(ctx, name+"'s WebUI", func() bool {
		h.alive(q.p)
		_, err := q.call("app/version", nil)
		return err == nil
	})
	h.t.Logf("%s: WebUI up after %v", name, time.Since(start).Round(time.Millisecond))
	return q
}

// onlyLoopback reports whether this network namespace has no interface
// but loopback ones, so nothing sent can leave the machine.
func onlyLoopback() bool {
	ifs, err := net.Interfaces()
	if err != nil {
		return false
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			return false
		}
	}
	return true
}

// call sends a request to the WebUI API (GET if form is nil, else a POST
// of form) and returns the body of a 200 answer.
func (q *qbit) call(method string, form url.Values) ([]byte, error) {
	u := q.web + "/api/v2/" + method
	var resp *http.Response
	var err error
	if form == nil {
		resp, err = q.client.Get(u)
	} else {
		resp, err = q.client.PostForm(u, form)
	}
	return answer(resp, err)
}

// answer reads a WebUI response, an error unless its status is 200.
func answer(resp *http.Response, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %q", resp.Status, b)
	}
	return b, err
}

// add gives qbittorrent the torrent at source (a .torrent path, or a magnet
// URI) to download into or seed from dir, keeping the torrent's name as the
// top directory (content layout "Original").
func (q *qbit) add(source, dir string) {
	q.h.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if strings.HasPrefix(source, "magnet:") {
		hash, err := magnetHash(source)
		if err != nil {
			q.h.t.Fatal(err)
		}
		q.hash = hash
		w.WriteField("urls", source)
	} else {
		b, err := os.ReadFile(source)
		if err != nil {
			q.h.t.Fatal(err)
		}
		m, err := parseTorrent(b)
		if err != nil {
			q.h.t.Fatalf("%s: %v", source, err)
		}
		q.hash = hex.EncodeToString(m.hash[:])
		part, err := w.CreateFormFile("torrents", filepath.Base(source))
		if err != nil {
			q.h.t.Fatal(err)
		}
		part.Write(b)
	}
	for _, kv := range [][2]string{{"savepath", dir}, {"autoTMM", "false"},
		{"contentLayout", "Original"}, {"paused", "false"}} {
		w.WriteField(kv[0], kv[1])
	}
	w.Close()
	b, err := answer(q.client.Post(q.web+"/api/v2/torrents/add", w.FormDataContentType(), &body))
	if err != nil || string(b) != "Ok." {
		q.h.t.Fatalf("%s: torrents/add %s: %q %v", q.name, source, b, err)
	}
}

// qbitTorrent is the part of a torrents/info entry the tests read.
type qbitTorrent struct {
	Hash       string  `json:"hash"`
	State      string  `json:"state"`
	Progress   float64 `json:"progress"`
	Downloaded int64   `json:"downloaded"`
	Uploaded   int64   `json:"uploaded"`
	NumSeeds   int     `json:"num_seeds"`
	NumLeechs  int     `json:"num_leechs"`
}

// info returns qbittorrent's view of its torrent, nil if it does not list
// it (yet).
func (q *qbit) info() (*qbitTorrent, error) {
	b, err := q.call("torrents/info?hashes="+q.hash, nil)
	if err != nil {
		return nil, err
	}
	var list []qbitTorrent
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("torrents/info: %v: %q", err, b)
	}
	for i := range list {
		if list[i].Hash == q.hash {
			return &list[i], nil
		}
	}
	return nil, nil
}

// qbitSeeding holds the torrent states in which qbittorrent has every piece
// and serves them.
var qbitSeeding = map[string]bool{"uploading": true, "stalledUP": true, "forcedUP": true, "queuedUP": true}

// waitSeeding waits until qbittorrent seeds its torrent and answers a
// handshake for it, failing the test if ctx ends first, it exits, or the
// torrent goes into an error state. For up to a second after the WebUI says
// stalledUP it still closes every incoming connection; a libtorrent
// leecher refused then waited 60 s (min_reconnect_time) before trying again.
func (q *qbit) waitSeeding(ctx context.Context) {
	q.h.t.Helper()
	q.waitDone(ctx, "to seed")
	start := time.Now()
	q.h.poll(ctx, q.name+" to accept a handshake", func() bool {
		q.h.alive(q.p)
		return q.accepts()
	})
	q.h.t.Logf("%s: answers handshakes %v later", q.name, time.Since(start).Round(time.Millisecond))
}

// accepts reports whether qbittorrent answers a BitTorrent handshake (no
// extensions) for its torrent on its listen address, plain or, when it
// requires encryption, inside MSE.
func (q *qbit) accepts() bool {
	return q.answers(false) || q.conf.encryption == 1 && q.answers(true)
}

// answers sends one handshake, in MSE if encrypted, and reports whether
// qbittorrent answers it for its torrent.
func (q *qbit) answers(encrypted bool) bool {
	hash, err := hex.DecodeString(q.hash)
	if err != nil {
		return false
	}
	c, err := net.DialTimeout("tcp", q.listenAddr(), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	hs := append([]byte("\x13BitTorrent protocol\x00\x00\x00\x00\x00\x00\x00\x00"), hash...)
	hs = append(hs, "-XX0000-readinesschk"...)
	if encrypted {
		if c, _, err = mse.Initiate(c, [20]byte(hash), mse.RC4, hs, time.Second); err != nil {
			return false
		}
	} else if _, err := c.Write(hs); err != nil {
		return false
	}
	c.SetDeadline(time.Now().Add(time.Second))
	var b [68]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return false
	}
	return bytes.Equal(b[:20], hs[:20]) && bytes.Equal(b[28:48], hash)
}

// waitComplete waits until qbittorrent has downloaded and verified every
// piece (progress 1, a seeding state), failing the test as waitSeeding.
func (q *qbit) waitComplete(ctx context.Context) {
	q.h.t.Helper()
	q.waitDone(ctx, "to complete the download")
}

// waitDone polls torrents/info until the torrent is complete and seeding,
// logging each new state.
func (q *qbit) waitDone(ctx context.Context, what string) {
	q.h.t.Helper()
	start := time.Now()
	last := ""
	q.h.poll(ctx, q.name+" "+what, func() bool {
		q.h.alive(q.p)
		ti, err := q.info()
		state := "not listed"
		switch {
		case err != nil:
			state = err.Error()
		case ti != nil:
			state = ti.State
		}
		if state != last {
			q.h.t.Logf("%s: %s after %v", q.name, state, time.Since(start).Round(time.Millisecond))
			last = state
		}
		if state == "error" || state == "missingFiles" {
			q.h.t.Fatalf("%s: torrent state %s", q.name, state)
		}
		return ti != nil && ti.Progress == 1 && qbitSeeding[ti.State]
	})
}

// addPeer asks qbittorrent to connect to addr (host:port) for its torrent;
// it dials without waiting for its next connection round. torrents/addPeers
// answers 200 and "{}" for a torrent it does not list yet (adding is
// asynchronous), so this waits for the torrent and checks the answer.
func (q *qbit) addPeer(addr string) {
	q.h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q.h.poll(ctx, q.name+" to list its torrent", func() bool {
		q.h.alive(q.p)
		ti, err := q.info()
		return err == nil && ti != nil
	})
	b, err := q.call("torrents/addPeers", url.Values{"hashes": {q.hash}, "peers": {addr}})
	var res map[string]struct{ Added int }
	if err == nil {
		err = json.Unmarshal(b, &res)
	}
	if err != nil || res[q.hash].Added != 1 {
		q.h.t.Fatalf("%s: torrents/addPeers %s: %s %v", q.name, addr, b, err)
	}
	q.h.t.Logf("%s: dialling %s", q.name, addr)
}

// listenAddr returns the address qbittorrent accepts peers on.
func (q *qbit) listenAddr() string {
	return "127.0.0.1:" + strconv.Itoa(q.port)
}
