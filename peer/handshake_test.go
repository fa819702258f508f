package peer

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// pipe returns both ends of a net.Pipe, closed when the test ends.
func pipe(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// result is what a handshake run in a goroutine hands back.
type result struct {
	h   Handshake
	err error
}

// goAccept runs Accept on c in a goroutine.
func goAccept(c net.Conn, ours Handshake, timeout time.Duration) <-chan result {
	ch := make(chan result, 1)
	go func() {
		h, err := Accept(c, ours, timeout)
		ch <- result{h, err}
	}()
	return ch
}

func hs(hash, id string, fast, ext bool) Handshake {
	var h Handshake
	copy(h.InfoHash[:], hash)
	copy(h.PeerID[:], id)
	if fast {
		h.Reserved.SetFast()
	}
	if ext {
		h.Reserved.SetExtended()
	}
	return h
}

func TestReserved(t *testing.T) {
	tests := []struct {
		name                string
		r                   Reserved
		fast, extended, dht bool
	}{
		{"none", Reserved{}, false, false, false},
		{"fast", Reserved{7: 0x04}, true, false, false},
		{"extended", Reserved{5: 0x10}, false, true, false},
		{"dht", Reserved{7: 0x01}, false, false, true},
		{"all", Reserved{5: 0x10, 7: 0x05}, true, true, true},
		{"other bits", Reserved{0xff, 0xff, 0xff, 0xff, 0xff, 0xef, 0xff, 0xfa}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Fast(); got != tt.fast {
				t.Errorf("Fast() = %v, want %v", got, tt.fast)
			}
			if got := tt.r.Extended(); got != tt.extended {
				t.Errorf("Extended() = %v, want %v", got, tt.extended)
			}
			if got := tt.r.DHT(); got != tt.dht {
				t.Errorf("DHT() = %v, want %v", got, tt.dht)
			}
		})
	}
	var r Reserved
	r.SetFast()
	r.SetExtended()
	if want := (Reserved{5: 0x10, 7: 0x04}); r != want {
		t.Errorf("SetFast+SetExtended = %x, want %x", r, want)
	}
}

func TestHandshakeWireFormat(t *testing.T) {
	h := hs("HHHHHHHHHHHHHHHHHHHH", "-UW0100-abcdefghijkl", true, true)
	var buf bytes.Buffer
	if err := WriteHandshake(&buf, h); err != nil {
		t.Fatal(err)
	}
	want := "\x13BitTorrent protocol\x00\x00\x00\x00\x00\x10\x00\x04" +
		"HHHHHHHHHHHHHHHHHHHH-UW0100-abcdefghijkl"
	if got := buf.String(); got != want {
		t.Fatalf("wire = %q, want %q", got, want)
	}
	got, err := ReadHandshake(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got != h {
		t.Errorf("read back %+v, want %+v", got, h)
	}
}

func TestReadHandshakeErrors(t *testing.T) {
	good := "\x13BitTorrent protocol" + strings.Repeat("\x00", 48)
	tests := []struct {
		name  string
		input string
		want  error
	}{
		{"empty", "", io.ErrUnexpectedEOF},
		{"truncated prefix", good[:10], io.ErrUnexpectedEOF},
		{"truncated body", good[:67], io.ErrUnexpectedEOF},
		{"wrong length byte", "\x14" + good[1:], ErrProtocol},
		{"wrong text", "\x13BitTorrent protocoL" + good[20:], ErrProtocol},
		{"http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n" + good, ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadHandshake(strings.NewReader(tt.input))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestHandshakeBothWays(t *testing.T) {
	dialer := hs("HHHHHHHHHHHHHHHHHHHH", "-UW0100-dialer000000", true, false)
	acceptor := hs("HHHHHHHHHHHHHHHHHHHH", "-UW0100-acceptor0000", false, true)
	a, b := pipe(t)
	ch := goAccept(b, acceptor, time.Second)
	got, err := Initiate(a, dialer, time.Second)
	if err != nil {
		t.Fatalf("Initiate: %v", err)
	}
	if got != acceptor {
		t.Errorf("Initiate got %+v, want %+v", got, acceptor)
	}
	r := <-ch
	if r.err != nil {
		t.Fatalf("Accept: %v", r.err)
	}
	if r.h != dialer {
		t.Errorf("Accept got %+v, want %+v", r.h, dialer)
	}
	if !got.Reserved.Extended() || got.Reserved.Fast() || !r.h.Reserved.Fast() || r.h.Reserved.Extended() {
		t.Errorf("reserved bits lost: dialer saw %x, acceptor saw %x", got.Reserved, r.h.Reserved)
	}
}

func TestAcceptRefuses(t *testing.T) {
	ours := hs("HHHHHHHHHHHHHHHHHHHH", "-UW0100-acceptor0000", true, false)
	tests := []struct {
		name  string
		write func(io.Writer) error
		want  error
	}{
		{"wrong hash", func(w io.Writer) error {
			return WriteHandshake(w, hs("XXXXXXXXXXXXXXXXXXXX", "-UW0100-dialer000000", false, false))
		}, ErrInfoHash},
		{"self", func(w io.Writer) error { return WriteHandshake(w, ours) }, ErrSelf},
		{"wrong protocol", func(w io.Writer) error {
			_, err := io.WriteString(w, "\x13BitTorrent Protocol")
			return err
		}, ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := pipe(t)
			ch := goAccept(b, ours, time.Second)
			if err := tt.write(a); err != nil {
				t.Fatal(err)
			}
			r := <-ch
			if !errors.Is(r.err, tt.want) {
				t.Fatalf("Accept err = %v, want %v", r.err, tt.want)
			}
		})
	}
}

func TestInitiateRefuses(t *testing.T) {
	ours := hs("HHHHHHHHHHHHHHHHHHHH", "-UW0100-dialer000000", true, false)
	tests := []struct {
		name  string
		reply []byte
		want  error
	}{
		{"wrong hash", wire(t, hs("XXXXXXXXXXXXXXXXXXXX", "-UW0100-other0000000", false, false)), ErrInfoHash},
		{"self", wire(t, ours), ErrSelf},
		{"wrong protocol", []byte("\x13BitTorrent protocoX" + strings.Repeat("\x00", 48)), ErrProtocol},
		{"short", wire(t, ours)[:40], io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := pipe(t)
			go func() {
				if _, err := io.ReadFull(b, make([]byte, HandshakeLen)); err != nil {
					return
				}
				b.Write(tt.reply)
				b.Close()
			}()
			_, err := Initiate(a, ours, time.Second)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Initiate err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestHandshakeTimeout(t *testing.T) {
	ours := hs("HHHHHHHHHHHHHHHHHHHH", "-UW0100-dialer000000", false, false)
	t.Run("initiate", func(t *testing.T) {
		a, b := pipe(t)
		// The silent peer reads our handshake but never answers.
		go io.Copy(io.Discard, b)
		start := time.Now()
		_, err := Initiate(a, ours, 50*time.Millisecond)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("err = %v, want a deadline error", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("timeout took %v", d)
		}
	})
	t.Run("accept", func(t *testing.T) {
		_, b := pipe(t)
		_, err := Accept(b, ours, 50*time.Millisecond)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("err = %v, want a deadline error", err)
		}
	})
}

// wire returns the encoding of h.
func wire(t *testing.T, h Handshake) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteHandshake(&buf, h); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGenPeerID(t *testing.T) {
	tests := []struct{ version, prefix string }{
		{"0100", "-UW0100-"},
		{"0203", "-UW0203-"},
		{"", "-UW-"},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			a, b := GenPeerID(tt.version), GenPeerID(tt.version)
			if !bytes.HasPrefix(a[:], []byte(tt.prefix)) {
				t.Errorf("id %q lacks prefix %q", a[:], tt.prefix)
			}
			if a == b {
				t.Errorf("two ids are equal: %q", a[:])
			}
			for i, c := range a[len(tt.prefix):] {
				alnum := c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
				if !alnum {
					t.Errorf("byte %d of %q is not a letter or digit", len(tt.prefix)+i, a[:])
				}
			}
		})
	}
}
