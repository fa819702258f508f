package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/unworkable/unworkable/dht"
	"github.com/unworkable/unworkable/session"
	"github.com/unworkable/unworkable/tracker"
)

// defaultRouters are the public DHT routers a node bootstraps from when
// no --dht-bootstrap is given, the set aria2c, transmission and
// libtorrent use between them. The loopback guard refuses them all.
var defaultRouters = []string{
	"router.bittorrent.com:6881",
	"dht.transmissionbt.com:6881",
	"router.utorrent.com:6881",
	"dht.libtorrent.org:25401",
}

// DHT start-up bounds.
const (
	routerResolveWait = 3 * time.Second // for the routers' names, all at once
	savedNodes        = 16              // contacts per family kept in the state file (dht.MaxNodes)
	stateSaveWait     = 2 * time.Second // for the loop to hand over its nodes at exit
)

// dhtNode is the process's running DHT node and what ends it.
type dhtNode struct {
	node      *dht.Node
	statePath string // "" when there is no cache directory
	cancel    context.CancelFunc
	ended     chan struct{}
}

// openDHT opens the DHT's UDP socket on the TCP listener's address and
// port, loads the saved state, resolves the bootstrap nodes and makes a
// node; start runs it. It returns nil (and warns) when the socket cannot
// be opened: the download goes on without the DHT. A --dht-bootstrap the
// guard refuses is an error (exit 2). local is called by the running node
// only, so it may use what is set up between openDHT and start.
func openDHT(o options, bind string, port uint16, local func([20]byte) (int, bool), trace io.Writer, stderr io.Writer) (*dhtNode, error) {
	boot, err := bootstrapAddrs(o, stderr)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenPacket("udp", net.JoinHostPort(bind, strconv.Itoa(int(port))))
	if err != nil {
		fmt.Fprintf(stderr, "unworkable: warning: no DHT: %v\n", err)
		return nil, nil
	}
	d := &dhtNode{ended: make(chan struct{})}
	if o.port != 0 { // -p 0: a new port, a new node each run; no file to leave behind
		d.statePath = statePath(port)
	}
	cfg := dht.Config{Conn: conn, Bootstrap: boot, LoopbackOnly: o.loopbackOnly, Trace: dhtTracer(trace),
		Local: func(ih dht.ID) (int, bool) { return local(ih) }}
	if o.loopbackOnly {
		cfg.AddrRule = dht.OnePerAddrPort // every node of a loopback swarm shares 127.0.0.1
	}
	if st, err := dht.LoadState(d.statePath); err == nil {
		cfg.ID = st.ID
		for _, n := range st.Nodes {
			cfg.Bootstrap = append(cfg.Bootstrap, n.Addr)
		}
	}
	d.node = dht.NewNode(cfg)
	return d, nil
}

// start runs the node until stop.
func (d *dhtNode) start() {
	if d == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() {
		defer close(d.ended)
		d.node.Run(ctx)
	}()
}

// stop saves the node's state and ends it.
func (d *dhtNode) stop(stderr io.Writer) {
	if d == nil {
		return
	}
	if d.statePath != "" {
		ctx, cancel := context.WithTimeout(context.Background(), stateSaveWait)
		nodes, err := d.node.GoodNodes(ctx, 2*savedNodes)
		cancel()
		if err == nil {
			err = dht.SaveState(d.statePath, dht.State{ID: d.node.ID(), Nodes: nodes})
		}
		if err != nil {
			fmt.Fprintf(stderr, "unworkable: warning: DHT state not saved: %v\n", err)
		}
	}
	d.cancel()
	<-d.ended
}

// session returns the node as the host's DHT, nil when there is none.
func (d *dhtNode) session() session.DHT {
	if d == nil {
		return nil
	}
	return d.node
}

// statePath is where the node's id and good nodes are kept between runs:
// one file per port in the user's cache directory, so that two processes
// on two ports are two nodes, each of which restarts warm. With -p 0
// there is none.
func statePath(port uint16) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "unworkable", fmt.Sprintf("dht-%d.state", port))
}

// bootstrapAddrs resolves --dht-bootstrap, or the public routers when it
// is not given. Under the loopback guard a --dht-bootstrap that is not
// loopback is an error, and the public routers are left out with a
// warning (the tests pass --dht-bootstrap or --no-dht).
func bootstrapAddrs(o options, stderr io.Writer) ([]netip.AddrPort, error) {
	if len(o.dhtBootstrap) > 0 {
		var out []netip.AddrPort
		for _, hp := range o.dhtBootstrap {
			a, err := resolveNode(hp, o.loopbackOnly)
			if err != nil {
				return nil, codef(exitUsage, "--dht-bootstrap %s: %w", hp, err)
			}
			out = append(out, a)
		}
		return out, nil
	}
	if o.loopbackOnly {
		fmt.Fprintf(stderr, "unworkable: warning: %s=1: the public DHT routers are not used; "+
			"pass --dht-bootstrap HOST:PORT or --no-dht\n", tracker.LoopbackEnv)
		return nil, nil
	}
	return resolveRouters(defaultRouters), nil
}

// resolveRouters resolves the routers' names in parallel, waiting
// routerResolveWait at most; one that does not resolve is left out.
func resolveRouters(names []string) []netip.AddrPort {
	ctx, cancel := context.WithTimeout(context.Background(), routerResolveWait)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var out []netip.AddrPort
	for _, hp := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			host, port, err := net.SplitHostPort(hp)
			if err != nil {
				return
			}
			ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			p, perr := strconv.ParseUint(port, 10, 16)
			if err != nil || perr != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, ip := range ips {
				out = append(out, netip.AddrPortFrom(ip.Unmap(), uint16(p)))
			}
		}()
	}
	wg.Wait()
	return out
}

// resolveNode resolves a DHT node's host:port as resolvePeer does a
// peer's (under the guard: loopback only, nothing looked up).
func resolveNode(hp string, loopbackOnly bool) (netip.AddrPort, error) {
	a, err := resolvePeer(hp, loopbackOnly)
	if err != nil {
		var le *tracker.LoopbackError
		if errors.As(err, &le) {
			return netip.AddrPort{}, err
		}
		return netip.AddrPort{}, fmt.Errorf("not a host:port that resolves: %w", err)
	}
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()), nil
}

// dhtTracer returns the node's trace function: timestamped "dht: " lines
// in the -t trace, each written at once.
func dhtTracer(w io.Writer) func(format string, args ...any) {
	if w == nil {
		return nil
	}
	var mu sync.Mutex
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		line := time.Now().UTC().AppendFormat(nil, time.RFC3339Nano)
		line = fmt.Appendf(append(line, " dht: "...), format, args...)
		w.Write(append(line, '\n'))
	}
}
