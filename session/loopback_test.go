package session

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1", true},
		{"127.0.0.5", true},
		{"::1", true},
		{"[::1]", true},
		{"::ffff:127.0.0.1", true},
		{"localhost", true},
		{"LOCALHOST.", true},
		{"10.0.0.1", false},
		{"192.0.2.1", false},
		{"2001:db8::1", false},
		{"::ffff:192.0.2.1", false},
		{"0.0.0.0", false},
		{"127.1", false}, // a name to a resolver, not a literal
		{"example.org", false},
		{"", false},
	}
	for _, tt := range tests {
		err := CheckLoopback(tt.host)
		if tt.ok != (err == nil) {
			t.Errorf("CheckLoopback(%q) = %v, want allowed %v", tt.host, err, tt.ok)
		}
		if err != nil && !errors.As(err, new(*LoopbackError)) {
			t.Errorf("CheckLoopback(%q) = %T, want a *LoopbackError", tt.host, err)
		}
	}
	want := "refused: UNWORKABLE_LOOPBACK_ONLY=1 and 93.184.216.34 is not a loopback address"
	if err := CheckLoopback("93.184.216.34"); err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

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
		if !errors.As(d.err, new(*LoopbackError)) || d.conn != nil {
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
		if errors.As(d.err, new(*LoopbackError)) {
			t.Errorf("%s: loopback dial refused: %v", network, d.err)
		}
	}
}
