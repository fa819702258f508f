package tracker

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// noDNS makes every DNS query of the Go resolver fail the test, for the
// length of the test: the guard must refuse a name without looking it up.
// Tests using it must not run in parallel.
func noDNS(t *testing.T) {
	t.Helper()
	old := net.DefaultResolver
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		t.Errorf("DNS query sent to %s", addr)
		return nil, errors.New("no DNS in this test")
	}}
	t.Cleanup(func() { net.DefaultResolver = old })
}

func TestLoopbackAddrs(t *testing.T) {
	noDNS(t)
	tests := []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1", true},
		{"127.0.0.5", true},
		{"127.255.255.254", true},
		{"::1", true},
		{"[::1]", true},
		{"::ffff:127.0.0.1", true},
		{"localhost", true},
		{"LocalHost.", true},
		{"10.0.0.1", false},
		{"192.0.2.1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"2001:db8::1", false},
		{"::ffff:192.0.2.1", false},
		{"127.1", false}, // a name to the resolver, not a literal
		{"example.org", false},
		{"localhost.example.org", false},
		{"", false},
	}
	for _, tt := range tests {
		addrs, err := loopbackAddrs(tt.host)
		if tt.ok {
			if err != nil || len(addrs) == 0 {
				t.Errorf("loopbackAddrs(%q) = %v, %v; want allowed", tt.host, addrs, err)
			}
			for _, a := range addrs {
				if !a.Unmap().IsLoopback() {
					t.Errorf("loopbackAddrs(%q) gave %v", tt.host, a)
				}
			}
			continue
		}
		var le *LoopbackError
		if !errors.As(err, &le) {
			t.Errorf("loopbackAddrs(%q) = %v, %v; want a *LoopbackError", tt.host, addrs, err)
		}
	}
	want := "refused: UNWORKABLE_LOOPBACK_ONLY=1 and 93.184.216.34 is not a loopback address"
	if _, err := loopbackAddrs("93.184.216.34"); err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

// TestLoopbackDial checks the guarded transport's two checks on their own.
func TestLoopbackDial(t *testing.T) {
	noDNS(t)
	for _, addr := range []string{"192.0.2.1:80", "[2001:db8::1]:80", "example.org:80"} {
		if _, err := loopbackDial(context.Background(), "tcp", addr); !errors.As(err, new(*LoopbackError)) {
			t.Errorf("loopbackDial(%s) = %v, want a *LoopbackError", addr, err)
		}
	}
	for _, addr := range []string{"192.0.2.1:80", "[2001:db8::1]:80"} {
		if err := loopbackControl("tcp4", addr, nil); !errors.As(err, new(*LoopbackError)) {
			t.Errorf("loopbackControl(%s) = %v, want a *LoopbackError", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:80", "[::1]:80", "[::ffff:127.0.0.1]:80"} {
		if err := loopbackControl("tcp", addr, nil); err != nil {
			t.Errorf("loopbackControl(%s) = %v", addr, err)
		}
	}
}

// guardedClient returns a Client with the guard on and short UDP waits.
func guardedClient() *Client {
	c := NewClient("")
	c.LoopbackOnly = true
	c.udp.waits = []time.Duration{50 * time.Millisecond}
	return c
}

func TestLoopbackAnnounce(t *testing.T) {
	noDNS(t)
	var hits int
	u := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hits++
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, "http://192.0.2.1/announce", http.StatusFound)
		case "/name":
			http.Redirect(w, r, "http://example.org/announce", http.StatusFound)
		case "/local":
			http.Redirect(w, r, "http://localhost:"+r.Host[strings.LastIndexByte(r.Host, ':')+1:]+"/announce", http.StatusFound)
		default:
			w.Write([]byte("d8:intervali60ee"))
		}
	})
	base := strings.TrimSuffix(u, "/announce")
	f := serveUDP(t, "udp4", "127.0.0.1:0")
	_, udpPort, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimSuffix(f.url, "/announce"), "udp://"))
	tests := []struct {
		url string
		ok  bool
	}{
		{u, true},
		{base + "/local", true}, // a redirect to localhost, dialled as 127.0.0.1
		{"udp://localhost:" + udpPort + "/announce", true},
		{f.url, true},
		{"http://192.0.2.1/announce", false},
		{"http://[2001:db8::1]/announce", false},
		{"http://example.org/announce", false},
		{"udp://192.0.2.1:6969/announce", false},
		{"udp://10.0.0.1:6969", false},
		{"udp://example.org:6969/announce", false},
		{base + "/away", false},
		{base + "/name", false},
	}
	c := guardedClient()
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := c.Announce(ctx, tt.url, testRequest())
		cancel()
		if tt.ok && err != nil {
			t.Errorf("%s: %v", tt.url, err)
		}
		if !tt.ok && (!errors.As(err, new(*LoopbackError)) || !strings.Contains(err.Error(), "refused: UNWORKABLE_LOOPBACK_ONLY=1 and ")) {
			t.Errorf("%s: err = %v, want a refusal", tt.url, err)
		}
	}
	if hits != 5 { // u, /local and its target, /away, /name
		t.Errorf("HTTP tracker got %d requests, want 5", hits)
	}
}

// TestLoopbackAnnounceIPv6 checks that ::1 trackers pass the guard.
func TestLoopbackAnnounceIPv6(t *testing.T) {
	if c, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		c.Close()
	}
	f := serveUDP(t, "udp6", "[::1]:0")
	if _, err := guardedClient().Announce(context.Background(), f.url, testRequest()); err != nil {
		t.Fatal(err)
	}
}

// TestCheckLoopback checks the exported check (cmd's --peer and x.pe use
// it) and its message.
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
