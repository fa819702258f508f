package mse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// result is what one side of a handshake returned.
type result struct {
	conn net.Conn
	sel  Method
	ih   [20]byte
	ia   []byte
	err  error
}

// run does a handshake between a (initiator, for torrent hash, with ia)
// and b (responder; it reads prefixLen bytes before Accept as a caller
// sniffing for a plain handshake does). A failing side closes its end so
// the other fails too instead of waiting for the timeout.
func run(a, b net.Conn, hash [20]byte, provide Method, ia []byte, prefixLen int,
	skeys func([20]byte) ([20]byte, bool), allow func(Method) Method, timeout time.Duration,
) (ini, resp result) {
	done := make(chan result, 1)
	go func() {
		var r result
		r.conn, r.sel, r.err = Initiate(a, hash, provide, ia, timeout)
		if r.err != nil {
			a.Close()
		}
		done <- r
	}()
	prefix := make([]byte, prefixLen)
	if _, err := io.ReadFull(b, prefix); err != nil {
		resp.err = err
	} else {
		resp.conn, resp.ih, resp.sel, resp.ia, resp.err = Accept(b, prefix, skeys, allow, timeout)
	}
	if resp.err != nil {
		b.Close()
	}
	return <-done, resp
}

// transfer sends n random bytes each way between x and y at once and
// checks both arrive intact.
func transfer(t *testing.T, x, y net.Conn, n int) {
	t.Helper()
	var wg sync.WaitGroup
	check := func(name string, from, to net.Conn) {
		defer wg.Done()
		want := randBytes(n)
		werr := make(chan error, 1)
		go func() {
			_, err := from.Write(want)
			werr <- err
		}()
		got := make([]byte, n)
		_, err := io.ReadFull(to, got)
		if err := errors.Join(err, <-werr); err != nil {
			t.Errorf("%s: %v", name, err)
		} else if !bytes.Equal(got, want) {
			t.Errorf("%s: data differs", name)
		}
	}
	wg.Add(2)
	go check("initiator to responder", x, y)
	go check("responder to initiator", y, x)
	wg.Wait()
}

// handshakeMsg is a stand-in for a BitTorrent handshake sent as IA.
var handshakeMsg = append([]byte("\x13BitTorrent protocol"), randBytes(48)...)

func TestRoundTrip(t *testing.T) {
	policies := []struct {
		name  string
		allow func(Method) Method
	}{{"prefer-plaintext", PreferPlaintext}, {"prefer-rc4", PreferRC4}, {"require-rc4", RequireRC4}}
	transports := []struct {
		name string
		pair func(testing.TB) (net.Conn, net.Conn)
	}{{"tcp", tcpPair}, {"pipe", pipePair}}
	for _, tr := range transports {
		for _, provide := range []Method{Plaintext, RC4, Plaintext | RC4} {
			for _, p := range policies {
				t.Run(fmt.Sprintf("%s/%v/%s", tr.name, provide, p.name), func(t *testing.T) {
					leakCheck(t)
					a, b := tr.pair(t)
					roundTrip(t, a, b, provide, p.allow)
				})
			}
		}
	}
}

// roundTrip runs one handshake for a torrent among several, checks what
// both sides return, then moves data both ways.
func roundTrip(t *testing.T, a, b net.Conn, provide Method, allow func(Method) Method) {
	want := allow(provide)
	ini, resp := run(a, b, ih(3), provide, handshakeMsg, 20, serving(ih(1), ih(2), ih(3), ih(4)), allow, 5*time.Second)
	if want == 0 {
		if !errors.Is(resp.err, ErrMethod) || ini.err == nil {
			t.Fatalf("want ErrMethod and a failed initiator, got %v / %v", resp.err, ini.err)
		}
		return
	}
	if ini.err != nil || resp.err != nil {
		t.Fatalf("initiator: %v, responder: %v", ini.err, resp.err)
	}
	if ini.sel != want || resp.sel != want {
		t.Fatalf("selected %v / %v, want %v", ini.sel, resp.sel, want)
	}
	if resp.ih != ih(3) {
		t.Fatalf("responder picked torrent %x", resp.ih)
	}
	if !bytes.Equal(resp.ia, handshakeMsg) {
		t.Fatalf("IA %q", resp.ia)
	}
	checkWrapped(t, ini.conn, a, want)
	checkWrapped(t, resp.conn, b, want)
	transfer(t, ini.conn, resp.conn, 100<<10)
}

// checkWrapped checks that a plaintext stream is the original connection
// and an RC4 one a wrapper over it.
func checkWrapped(t *testing.T, got, orig net.Conn, sel Method) {
	t.Helper()
	if sel == Plaintext {
		if got != orig {
			t.Errorf("plaintext: got %T, want the original connection", got)
		}
		return
	}
	nc, ok := got.(interface{ NetConn() net.Conn })
	if !ok || nc.NetConn() != orig {
		t.Errorf("rc4: got %T without the original underneath", got)
	}
}

func TestPrefixLengths(t *testing.T) {
	for _, n := range []int{0, 1, 20, keyLen} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			a, b := tcpPair(t)
			ini, resp := run(a, b, ih(1), RC4, handshakeMsg, n, serving(ih(1)), PreferRC4, 5*time.Second)
			if ini.err != nil || resp.err != nil {
				t.Fatalf("initiator: %v, responder: %v", ini.err, resp.err)
			}
			transfer(t, ini.conn, resp.conn, 1000)
		})
	}
}

// TestPipelined sends stream bytes right behind each side's last handshake
// message, before the other side has finished: an empty IA with the
// handshake on the stream, and the responder's reply queued at once.
func TestPipelined(t *testing.T) {
	for _, sel := range []Method{Plaintext, RC4} {
		t.Run(sel.String(), func(t *testing.T) {
			a, b := tcpPair(t)
			allow := func(Method) Method { return sel }
			ini, resp := run(a, b, ih(1), sel, nil, 20, serving(ih(1)), allow, 5*time.Second)
			if ini.err != nil || resp.err != nil {
				t.Fatalf("initiator: %v, responder: %v", ini.err, resp.err)
			}
			if len(resp.ia) != 0 {
				t.Fatalf("IA %q, want none", resp.ia)
			}
			if _, err := ini.conn.Write(handshakeMsg); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(handshakeMsg))
			if _, err := io.ReadFull(resp.conn, got); err != nil || !bytes.Equal(got, handshakeMsg) {
				t.Fatalf("handshake on the stream: %q, %v", got, err)
			}
			transfer(t, ini.conn, resp.conn, 50<<10)
		})
	}
}

func TestInitiateRefusesBadArguments(t *testing.T) {
	a, _ := tcpPair(t)
	for _, tc := range []struct {
		provide Method
		ia      []byte
		want    error
	}{{0, nil, ErrMethod}, {4, nil, ErrMethod}, {RC4 | 8, nil, ErrMethod}, {RC4, make([]byte, MaxIA+1), ErrIA}} {
		if _, _, err := Initiate(a, ih(1), tc.provide, tc.ia, time.Second); !errors.Is(err, tc.want) {
			t.Errorf("provide %v, IA %d: got %v, want %v", tc.provide, len(tc.ia), err, tc.want)
		}
	}
}

func TestIsPlainHandshake(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"\x13BitTorrent protocol", true},
		{"\x13BitTorrent protocol\x00\x00", true},
		{"\x13BitTorrent protoco", false},
		{"\x14BitTorrent protocol", false},
		{"\x13bittorrent protocol", false},
		{"", false},
	} {
		if got := IsPlainHandshake([]byte(tc.in)); got != tc.want {
			t.Errorf("%q: %v", tc.in, got)
		}
	}
}

func TestMethodString(t *testing.T) {
	for m, want := range map[Method]string{0: "0x0", Plaintext: "plaintext", RC4: "rc4", 3: "plaintext|rc4", 6: "rc4|0x4"} {
		if got := m.String(); got != want {
			t.Errorf("%d: %q, want %q", uint32(m), got, want)
		}
	}
}

func TestPolicies(t *testing.T) {
	for _, tc := range []struct {
		provided       Method
		plain, rc4, rq Method
	}{
		{Plaintext, Plaintext, Plaintext, 0},
		{RC4, RC4, RC4, RC4},
		{Plaintext | RC4, Plaintext, RC4, RC4},
	} {
		if g := PreferPlaintext(tc.provided); g != tc.plain {
			t.Errorf("PreferPlaintext(%v) = %v", tc.provided, g)
		}
		if g := PreferRC4(tc.provided); g != tc.rc4 {
			t.Errorf("PreferRC4(%v) = %v", tc.provided, g)
		}
		if g := RequireRC4(tc.provided); g != tc.rq {
			t.Errorf("RequireRC4(%v) = %v", tc.provided, g)
		}
	}
}
