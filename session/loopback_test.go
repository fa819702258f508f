package session

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/unworkable/unworkable/tracker"
)

// TestDialLoopbackOnly checks Host.dial under the guard: a public address
// fails at once with the refusal, as an unreachable peer would; a loopback
// one is dialled.
func TestDialLoopbackOnly(t *testing.T) {
	h := NewHost(HostConfig{Version: "test", LoopbackOnly: true})
	conns := make(chan dialed, 1)
	r := route{conns: conns, done: make(chan struct{})}
	for _, s := range []string{"192.0.2.1:6881", "10.0.0.1:6881", "[2001:db8::1]:6881"} {
		start := time.Now()
		h.dial(r, netip.MustParseAddrPort(s), [20]byte{1})
		d := <-conns
		if !errors.As(d.err, new(*tracker.LoopbackError)) || d.conn != nil {
			t.Errorf("dial %s: err %v, want a *LoopbackError", s, d.err)
		}
		if time.Since(start) > time.Second {
			t.Errorf("dial %s took %v: the refusal must come before any attempt", s, time.Since(start))
		}
	}
	for _, network := range []string{"tcp4", "tcp6"} {
		ln, err := net.Listen(network, map[string]string{"tcp4": "127.0.0.1:0", "tcp6": "[::1]:0"}[network])
		if err != nil {
			t.Logf("%s: %v", network, err)
			continue
		}
		accepted := make(chan struct{})
		go func() {
			if c, err := ln.Accept(); err == nil {
				close(accepted)
				c.Close()
			}
		}()
		h.dial(r, ln.Addr().(*net.TCPAddr).AddrPort(), [20]byte{1})
		d := <-conns
		ln.Close()
		select {
		case <-accepted:
		case <-time.After(5 * time.Second):
			t.Errorf("%s: no connection reached the loopback listener", network)
		}
		if errors.As(d.err, new(*tracker.LoopbackError)) {
			t.Errorf("%s: loopback dial refused: %v", network, d.err)
		}
	}
}
