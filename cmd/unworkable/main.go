// Command unworkable is a small BitTorrent client: it downloads the data of
// a .torrent from its swarm, uploads to other peers meanwhile, and exits
// when the data is complete (or keeps seeding with -s).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"github.com/unworkable/unworkable/metainfo"
	"github.com/unworkable/unworkable/session"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) > 1 {
		if cmd, ok := subcommands[os.Args[1]]; ok {
			os.Exit(cmd(os.Args[2:], os.Stdout, os.Stderr))
		}
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed flags of the download/seed command.
type options struct {
	seed     bool
	port     uint16
	portSet  bool
	dir      string
	trace    string
	peers    []string
	maxPeers int
	torrent  string
}

const usageText = `usage: unworkable [-s] [-p port] [-t tracefile] [-o dir] [--peer host:port]... FILE.torrent
       unworkable create [-a URL]... [-w URL]... [-l piece-length] [--private] [-c comment] [-o out.torrent] PATH

Download the data of FILE.torrent into dir, uploading to other peers meanwhile,
and exit 0 when it is complete. With -s keep seeding until interrupted.

Options:
`

// parseFlags parses the command line. help is true for -h/--help.
func parseFlags(args []string, stderr io.Writer) (o options, help, showVersion bool, fs *pflag.FlagSet, err error) {
	fs = pflag.NewFlagSet("unworkable", pflag.ContinueOnError)
	fs.SetInterspersed(false)
	fs.SetOutput(io.Discard)
	fs.BoolVarP(&o.seed, "seed", "s", false, "keep seeding after the download completes, until interrupted")
	fs.Uint16VarP(&o.port, "port", "p", 6881, "listen for peers on this TCP port (0: any free port)")
	fs.StringVarP(&o.dir, "dir", "o", ".", "output directory; the torrent's name is created inside it")
	fs.StringVarP(&o.trace, "trace", "t", "", "write a timestamped trace of what the client does to this file")
	fs.StringArrayVar(&o.peers, "peer", nil, "add a peer by hand, as host:port (repeatable)")
	fs.IntVar(&o.maxPeers, "max-peers", session.DefaultMaxPeers, "connected peers at most")
	fs.BoolVarP(&help, "help", "h", false, "print this help and exit")
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	if err = fs.Parse(args); err != nil || help || showVersion {
		return
	}
	o.portSet = fs.Changed("port")
	switch {
	case fs.NArg() != 1:
		err = errors.New("exactly one .torrent file expected")
	case o.maxPeers < 1:
		err = errors.New("--max-peers must be at least 1")
	}
	if err == nil {
		o.torrent = fs.Arg(0)
	}
	return
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
	if err := download(o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "unworkable: %v\n", err)
		return exitCode(err)
	}
	return exitOK
}

// download runs one torrent to completion (or until interrupted when
// seeding).
func download(o options, stdout, stderr io.Writer) error {
	m, err := metainfo.Load(o.torrent)
	if err != nil {
		return codef(exitTorrent, "%s: %w", o.torrent, err)
	}
	peers, err := resolvePeers(o.peers)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return withCode(exitIO, err)
	}
	ln, port, err := listen(o.port, o.portSet)
	if err != nil {
		return err
	}
	var trace io.Writer
	if o.trace != "" {
		f, err := os.OpenFile(o.trace, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			ln.Close()
			return err
		}
		defer f.Close()
		trace = f
	}
	meter := newMeter(stderr, stdout, isTerminal(stderr))
	s, err := session.New(session.Config{
		Meta: m, Dir: o.dir, Listener: ln, Port: port, Peers: peers, Seed: o.seed,
		MaxPeers: o.maxPeers, Trace: trace, Version: version, Progress: meter.update,
	})
	if err != nil {
		ln.Close()
		return withCode(exitIO, err)
	}
	ctx, stop := signalContext()
	defer stop()
	err = s.Run(ctx)
	final := meter.finish()
	if errors.Is(err, context.Canceled) {
		if o.seed && final.Complete {
			return nil
		}
		return codef(exitInterrupt, "interrupted before the download completed")
	}
	return withCode(exitIO, err)
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

// listen opens the peer listener on port, trying the next few ports when the
// default one is busy and no port was asked for.
func listen(port uint16, explicit bool) (net.Listener, uint16, error) {
	tries := 10
	if explicit || port == 0 {
		tries = 1
	}
	var err error
	for i := range tries {
		var ln net.Listener
		ln, err = net.Listen("tcp", fmt.Sprintf(":%d", int(port)+i))
		if err == nil {
			return ln, uint16(ln.Addr().(*net.TCPAddr).Port), nil
		}
	}
	return nil, 0, fmt.Errorf("listen for peers: %w", err)
}

// resolvePeers turns --peer host:port values into addresses.
func resolvePeers(list []string) ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	for _, s := range list {
		a, err := net.ResolveTCPAddr("tcp", s)
		if err != nil {
			return nil, fmt.Errorf("--peer %s: %w", s, err)
		}
		out = append(out, a.AddrPort())
	}
	return out, nil
}
