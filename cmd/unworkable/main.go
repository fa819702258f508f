// Command unworkable is a small BitTorrent client: it downloads the data of
// a .torrent from its swarm, uploads to other peers meanwhile, and exits
// when the data is complete (or keeps seeding with -s).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"github.com/unworkable/unworkable/metainfo"
	"github.com/unworkable/unworkable/session"
	"github.com/unworkable/unworkable/tracker"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	tuneGC()
	if len(os.Args) > 1 {
		if cmd, ok := subcommands[os.Args[1]]; ok {
			os.Exit(cmd(os.Args[2:], os.Stdout, os.Stderr))
		}
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed flags of the download/seed command.
type options struct {
	seed         bool
	port         uint16
	portSet      bool
	bind         string
	dir          string
	trace        string
	peers        []string
	maxPeers     int
	seedRatio    float64
	seedTime     time.Duration
	timeout      time.Duration
	uploadRate   int64
	downloadRate int64
	json         bool
	quiet        bool
	log          string
	status       statusAddr // network "" when not asked for
	saveTorrent  string
	torrent      string             // a .torrent path or a magnet URI
	loopbackOnly bool               // UNWORKABLE_LOOPBACK_ONLY=1: no address but loopback ones
	encryption   session.Encryption // --encryption
	noDHT        bool               // --no-dht
	dhtBootstrap []string           // --dht-bootstrap host:port values
}

const usageText = `usage: unworkable [-sq] [-p port] [--bind addr] [-o dir] [-t tracefile] [--log file]
                  [--json] [-g addr] [--seed-ratio r] [--seed-time d] [--timeout d]
                  [--upload-rate r] [--download-rate r] [--peer host:port]...
                  [--no-dht] [--dht-bootstrap host:port]... [--encryption mode] [--save-torrent file]
                  FILE.torrent|MAGNET
       unworkable create [-f] [-a URL]... [-w URL]... [-l piece-length] [--private] [-c comment] [-o out.torrent] PATH
       unworkable info [--json] FILE.torrent|MAGNET
       unworkable verify [-o dir] [--json] FILE.torrent

Download the data of FILE.torrent, or of a magnet link ('magnet:?xt=urn:btih:...',
whose metadata is fetched from peers and kept in dir), into dir, uploading to
other peers meanwhile, and exit 0 when it is complete. With -s keep seeding
until interrupted, or until --seed-ratio or --seed-time is reached (either
one implies -s). Peers come from trackers (HTTP and UDP), the DHT (on the UDP
port of -p's number; not for private torrents), --peer, the magnet link,
incoming connections and peer exchange.
Rates are bytes per second with an optional k, M or G (binary) suffix.

Options:
`

// parseFlags parses the command line. help is true for -h/--help.
func parseFlags(args []string, stderr io.Writer) (o options, help, showVersion bool, fs *pflag.FlagSet, err error) {
	fs = pflag.NewFlagSet("unworkable", pflag.ContinueOnError)
	fs.SetInterspersed(false)
	fs.SetOutput(io.Discard)
	var upRate, downRate, status, encryption string
	var public bool
	fs.BoolVarP(&o.seed, "seed", "s", false, "keep seeding after the download completes, until interrupted")
	fs.Uint16VarP(&o.port, "port", "p", 6881, "listen for peers on this TCP port (0: any free port)")
	fs.StringVar(&o.bind, "bind", "", "listen for peers on this IP address only (default: all)")
	fs.StringVarP(&o.dir, "dir", "o", ".", "output directory; the torrent's name is created inside it")
	fs.StringVarP(&o.trace, "trace", "t", "", "write a timestamped trace of what the client does to this file")
	fs.StringArrayVar(&o.peers, "peer", nil, "add a peer by hand, as host:port (repeatable)")
	fs.IntVar(&o.maxPeers, "max-peers", session.DefaultMaxPeers, "connected peers at most")
	fs.Float64Var(&o.seedRatio, "seed-ratio", 0, "seed until uploaded >= `ratio` x size, then exit 0 (implies -s)")
	fs.DurationVar(&o.seedTime, "seed-time", 0, "seed for this `duration` (e.g. 90m) after completion, then exit 0 (implies -s)")
	fs.DurationVar(&o.timeout, "timeout", 0, "exit 6 when the download makes no progress for this `duration`")
	fs.StringVar(&upRate, "upload-rate", "", "upload at most `rate` bytes/s in all (e.g. 512k, 10M)")
	fs.StringVar(&downRate, "download-rate", "", "download at most `rate` bytes/s in all")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per event on stdout (schema v1), no meter or summary")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "print only errors: no meter, no summary")
	fs.StringVar(&o.log, "log", "", "log start, peers, failures, completion and errors to this `file` (reopened on SIGHUP)")
	fs.StringVarP(&status, "status", "g", "", "serve the JSON events on this unix socket `path` or loopback host:port")
	fs.BoolVar(&public, "status-public", false, "allow a non-loopback IP address for --status")
	fs.StringVar(&encryption, "encryption", "prefer", "MSE/PE `mode`: prefer (MSE, plaintext data when the peer allows, plain peers too), require (RC4 only), off")
	fs.BoolVar(&o.noDHT, "no-dht", false, "do not use the DHT (it is never used for a private torrent)")
	fs.StringArrayVar(&o.dhtBootstrap, "dht-bootstrap", nil, "bootstrap the DHT from this node, as `host:port` (repeatable; default: the public routers)")
	fs.StringVar(&o.saveTorrent, "save-torrent", "", "write the torrent's metainfo (a magnet's, once fetched) to this .torrent `file`")
	fs.BoolVarP(&help, "help", "h", false, "print this help and exit")
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	if err = fs.Parse(args); err != nil || help || showVersion {
		return
	}
	o.portSet = fs.Changed("port")
	o.seed = o.seed || o.seedRatio > 0 || o.seedTime > 0
	switch {
	case fs.NArg() != 1:
		err = errors.New("exactly one .torrent file or magnet link expected")
	case o.maxPeers < 1:
		err = errors.New("--max-peers must be at least 1")
	case o.seedRatio < 0 || math.IsNaN(o.seedRatio) || math.IsInf(o.seedRatio, 0):
		err = errors.New("--seed-ratio must be a number >= 0")
	case o.seedTime < 0 || o.timeout < 0:
		err = errors.New("--seed-time and --timeout must not be negative")
	case o.bind != "" && !isIP(o.bind):
		err = fmt.Errorf("--bind %s: not an IP address", o.bind)
	}
	if err == nil && upRate != "" {
		o.uploadRate, err = parseRate(upRate)
	}
	if err == nil && downRate != "" {
		o.downloadRate, err = parseRate(downRate)
	}
	if err == nil {
		o.encryption, err = parseEncryption(encryption)
	}
	if err == nil && status != "" {
		o.status, err = parseStatusAddr(status, public)
	}
	if err == nil {
		o.torrent = fs.Arg(0)
	}
	return
}

// parseEncryption reads --encryption.
func parseEncryption(s string) (session.Encryption, error) {
	switch s {
	case "prefer":
		return session.EncPrefer, nil
	case "require":
		return session.EncRequire, nil
	case "off":
		return session.EncOff, nil
	}
	return 0, fmt.Errorf("--encryption %s: want prefer, require or off", s)
}

// isIP reports whether s is an IP address, IPv6 ones with or without
// brackets.
func isIP(s string) bool {
	_, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	return err == nil
}

// printUsage writes the usage text and the flag list.
func printUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprint(w, usageText)
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprint(w, "\n"+exitHelp+"\nSee unworkable(1).\n")
}

// run is main without the exit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	o, help, showVersion, fs, err := parseFlags(args, stderr)
	switch {
	case help:
		printUsage(stdout, fs)
		return exitOK
	case showVersion:
		fmt.Fprintf(stdout, "unworkable %s\n", version)
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "unworkable: %v\n", err)
		printUsage(stderr, fs)
		return exitUsage
	}
	if o.loopbackOnly, err = loopbackOnly(); err != nil {
		fmt.Fprintf(stderr, "unworkable: %v\n", err)
		return exitUsage
	}
	stopProfile := startProfile(stderr)
	err = download(o, stdout, stderr)
	stopProfile()
	if err != nil {
		fmt.Fprintf(stderr, "unworkable: %v\n", err)
		return exitCode(err)
	}
	return exitOK
}

// jsonFlushWait bounds the wait at exit for stdout to take the last JSON
// events.
const jsonFlushWait = 10 * time.Second

// download runs one torrent to completion (or until interrupted when
// seeding). Signals are caught from the start: the session's phases
// (metadata, check, transfer) all end cleanly on one.
func download(o options, stdout, stderr io.Writer) (err error) {
	ctx, stop := signalContext()
	defer stop()
	lg, err := newEventLog(o.log)
	if err != nil {
		return withCode(exitIO, err)
	}
	defer func() {
		if err != nil {
			lg.Error("exit", "err", err, "status", exitCode(err))
		}
		lg.close()
	}()
	cfg, err := target(o.torrent, o.loopbackOnly)
	if err != nil {
		return err
	}
	peers, err := resolvePeers(o.peers, o.loopbackOnly)
	if err != nil {
		return err
	}
	if cfg.Meta == nil && len(cfg.Trackers) == 0 && len(cfg.MagnetPeers) == 0 && len(peers) == 0 && o.noDHT && !o.quiet {
		fmt.Fprintln(stderr, "unworkable: warning: the magnet link names no tracker (tr=) and no peer (x.pe=), "+
			"and --no-dht is given: only peers that connect to us can send the metadata; add --peer HOST:PORT")
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return withCode(exitIO, err)
	}
	ln, port, err := listen(o.bind, o.port, o.portSet)
	if err != nil {
		return err
	}
	var trace io.Writer
	if o.trace != "" {
		f, err := os.OpenFile(o.trace, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			ln.Close()
			return codef(exitIO, "trace file: %w", err)
		}
		defer f.Close()
		trace = f
	}
	var host *session.Host
	var node *dhtNode
	if !o.noDHT {
		node, err = openDHT(o, o.bind, port, func(ih [20]byte) (int, bool) { return host.Local(ih) }, trace, stderr)
		if err != nil {
			ln.Close()
			return err
		}
		defer node.stop(stderr)
	}
	host = session.NewHost(session.HostConfig{
		Listener: ln, Port: port, Version: version, MaxConns: o.maxPeers,
		UploadRate: o.uploadRate, DownloadRate: o.downloadRate, LoopbackOnly: o.loopbackOnly,
		DHT: node.session(), DHTPort: port, Encryption: o.encryption,
	})
	node.start()
	host.Start()
	defer host.Close()
	var status *statusServer
	if o.status.network != "" {
		if status, err = listenStatus(o.status, lg.Logger); err != nil {
			return err
		}
		defer status.close(statusFlushWait)
	}
	var out *lineQueue
	if o.json {
		out = newLineQueue(stdout)
	}
	var mtr *meter // set below, before the session runs
	onEvent := func(ev session.Event) {
		switch ev.Type {
		case session.EvStart:
			tuneTransfer() // past the start-up check
		case session.EvTracker:
			mtr.tracker(ev)
		}
		lg.event(ev)
		if out == nil && status == nil {
			return
		}
		line := encodeEvent(ev)
		if out != nil {
			out.push(line, priority(ev.Type))
		}
		if status != nil {
			status.broadcast(line)
		}
	}
	mtr = newMeter(stderr, stdout, isTerminal(stderr))
	mtr.notes = stderr
	if o.quiet || o.json {
		mtr = newMeter(nil, nil, false)
	}
	cfg.Dir, cfg.Peers, cfg.Seed, cfg.MaxPeers, cfg.Trace = o.dir, peers, o.seed, o.maxPeers, trace
	cfg.Progress, cfg.OnEvent, cfg.SaveTorrent = mtr.update, onEvent, o.saveTorrent
	cfg.SeedRatio, cfg.SeedTime, cfg.Timeout = o.seedRatio, o.seedTime, o.timeout
	s, err := session.New(host, cfg)
	if err != nil {
		return withCode(exitError, err)
	}
	err = s.Run(ctx)
	final := mtr.finish()
	if out != nil && !out.close(jsonFlushWait) {
		fmt.Fprintln(stderr, "unworkable: stdout is not being read: last JSON events lost")
	}
	switch {
	case errors.Is(err, context.Canceled):
		if o.seed && final.Complete {
			return nil
		}
		return codef(exitInterrupt, "interrupted before the download completed")
	case errors.Is(err, session.ErrNoProgress):
		if final.Phase == "metadata" {
			return codef(exitTimeout, "no metadata from any peer for %v (--timeout)", o.timeout)
		}
		return codef(exitTimeout, "no progress for %v (--timeout)", o.timeout)
	case errors.Is(err, session.ErrBadMetadata):
		return withCode(exitTorrent, err)
	}
	return withCode(exitIO, err)
}

// target turns the torrent argument, a .torrent path or a magnet URI, into
// the start of a session's configuration. A bad one is exit 3, and so is
// an x.pe peer the loopback guard refuses.
func target(arg string, loopbackOnly bool) (session.Config, error) {
	if !metainfo.IsMagnet(arg) {
		m, err := metainfo.Load(arg)
		if err != nil {
			return session.Config{}, codef(exitTorrent, "%s: %w", arg, err)
		}
		return session.Config{Meta: m}, nil
	}
	mg, err := metainfo.ParseMagnet(arg)
	if err != nil {
		return session.Config{}, withCode(exitTorrent, err)
	}
	var peers []netip.AddrPort
	for _, hp := range mg.Peers {
		a, err := resolvePeer(hp, loopbackOnly)
		if err != nil {
			return session.Config{}, codef(exitTorrent, "magnet: x.pe %s: %w", hp, err)
		}
		peers = append(peers, a)
	}
	return session.Config{
		InfoHash: mg.InfoHash, Name: mg.Name, Trackers: mg.Trackers, WebSeeds: mg.WebSeeds, MagnetPeers: peers,
	}, nil
}

// signalContext returns a context cancelled by the first SIGINT or SIGTERM;
// a second one exits at once.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-ch
		cancel()
		<-ch
		fmt.Fprintln(os.Stderr, "unworkable: second signal, exiting at once")
		os.Exit(130)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

// listen opens the peer listener on port of the address bind (all
// addresses if empty), trying the next few ports when the default one is
// busy and no port was asked for.
func listen(bind string, port uint16, explicit bool) (net.Listener, uint16, error) {
	bind = strings.TrimSuffix(strings.TrimPrefix(bind, "["), "]")
	tries := 10
	if explicit || port == 0 {
		tries = 1
	}
	var err error
	for i := range tries {
		var ln net.Listener
		ln, err = net.Listen("tcp", net.JoinHostPort(bind, strconv.Itoa(int(port)+i)))
		if err == nil {
			return ln, uint16(ln.Addr().(*net.TCPAddr).Port), nil
		}
	}
	return nil, 0, fmt.Errorf("listen for peers: %w (choose another port with -p, or -p 0 for any)", err)
}

// resolvePeers turns --peer host:port values into addresses.
func resolvePeers(list []string, loopbackOnly bool) ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	for _, s := range list {
		a, err := resolvePeer(s, loopbackOnly)
		if err != nil {
			return nil, fmt.Errorf("--peer %s: %w", s, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// resolvePeer resolves a peer's host:port. Under the loopback guard the
// host must be a loopback IP literal or localhost (taken as 127.0.0.1), and
// is checked before anything is looked up, so no DNS query is sent.
func resolvePeer(hp string, loopbackOnly bool) (netip.AddrPort, error) {
	if loopbackOnly {
		host, port, err := net.SplitHostPort(hp)
		if err != nil {
			return netip.AddrPort{}, err
		}
		if err := tracker.CheckLoopback(host); err != nil {
			return netip.AddrPort{}, err
		}
		if !isIP(host) {
			hp = net.JoinHostPort("127.0.0.1", port) // localhost
		}
	}
	a, err := net.ResolveTCPAddr("tcp", hp)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return a.AddrPort(), nil
}

// loopbackOnly reads tracker.LoopbackEnv once: 1 turns the guard on, unset,
// empty or 0 leave it off, and any other value is an error (exit 2) rather
// than a guard silently off.
func loopbackOnly() (bool, error) {
	switch v := os.Getenv(tracker.LoopbackEnv); v {
	case "1":
		return true, nil
	case "", "0":
		return false, nil
	default:
		return false, fmt.Errorf("%s=%s: want 1 (loopback only) or 0", tracker.LoopbackEnv, v)
	}
}
