package mse

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// streamPair returns matching ciphers: enc of an initiator and dec of the
// responder for the same secret and torrent.
func streamPair(t testing.TB) (h *handshake, peer *handshake) {
	t.Helper()
	var s [keyLen]byte
	copy(s[:], randBytes(keyLen))
	ini, resp := &handshake{s: s}, &handshake{s: s}
	if err := ini.setStreams(ih(1), true); err != nil {
		t.Fatal(err)
	}
	if err := resp.setStreams(ih(1), false); err != nil {
		t.Fatal(err)
	}
	return ini, resp
}

// TestWrapPending checks that bytes the reader holds past the handshake
// come out of the wrapper first, decrypted for RC4, and the rest of the
// stream after them.
func TestWrapPending(t *testing.T) {
	for _, sel := range []Method{Plaintext, RC4} {
		t.Run(sel.String(), func(t *testing.T) {
			a, b := tcpPair(t)
			ini, resp := streamPair(t)
			want := randBytes(5000)
			wire := append([]byte(nil), want...)
			if sel == RC4 {
				ini.enc.XORKeyStream(wire, wire)
			}
			resp.r = newReader(b, wire[:300])
			c := wrapConn(b, resp, sel)
			if c == b {
				t.Fatal("pending bytes but the bare connection came back")
			}
			go a.Write(wire[300:])
			got := make([]byte, len(want))
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("read: %v, equal %v", err, bytes.Equal(got, want))
			}
		})
	}
}

// TestWrapperForwards checks deadlines, addresses, NetConn and Close.
func TestWrapperForwards(t *testing.T) {
	for _, sel := range []Method{Plaintext, RC4} {
		t.Run(sel.String(), func(t *testing.T) {
			_, b := tcpPair(t)
			_, resp := streamPair(t)
			resp.r = newReader(b, []byte{1})
			c := wrapConn(b, resp, sel)
			if c.(interface{ NetConn() net.Conn }).NetConn() != b {
				t.Fatal("NetConn is not the original")
			}
			if c.RemoteAddr() != b.RemoteAddr() || c.LocalAddr() != b.LocalAddr() {
				t.Fatal("addresses differ")
			}
			if _, err := c.Read(make([]byte, 10)); err != nil { // the pending byte
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if _, err := c.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("read past deadline: %v", err)
			}
			c.Close()
			if _, err := b.Write([]byte{1}); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("write after Close: %v", err)
			}
		})
	}
}

// TestRC4WriteLeavesInput checks that Write and WriteBuffers encrypt
// without touching the caller's bytes, and that the peer decrypts them.
func TestRC4WriteLeavesInput(t *testing.T) {
	a, b := tcpPair(t)
	ini, resp := streamPair(t)
	w := &rc4Conn{Conn: a, enc: ini.enc}
	r := &rc4Conn{Conn: b, dec: resp.dec}
	head, block := []byte{0, 0, 0x40, 9, 7}, randBytes(100<<10)
	keep := append(append([]byte(nil), head...), block...)
	go func() {
		w.Write(block)
		v := net.Buffers{head, block}
		w.WriteBuffers(&v)
	}()
	got := make([]byte, len(block)+len(head)+len(block))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, append(append([]byte(nil), block...), keep...)) {
		t.Fatal("decrypted stream differs")
	}
	if !bytes.Equal(append(append([]byte(nil), head...), block...), keep) {
		t.Fatal("input modified")
	}
}

// countConn counts the writes reaching the network.
type countConn struct {
	net.Conn
	writes int
}

func (c *countConn) Write(b []byte) (int, error) { c.writes++; return len(b), nil }

func TestWriteBuffersGathers(t *testing.T) {
	ini, _ := streamPair(t)
	cc := &countConn{}
	w := &rc4Conn{Conn: cc, enc: ini.enc}
	v := net.Buffers{make([]byte, 13), make([]byte, 16<<10), make([]byte, 13), make([]byte, 16<<10)}
	n, err := w.WriteBuffers(&v)
	if err != nil || n != 2*(13+16<<10) || len(v) != 0 {
		t.Fatalf("wrote %d, %v, %d buffers left", n, err, len(v))
	}
	if cc.writes != 2 {
		t.Fatalf("%d writes, want 2 (32 KiB each at most)", cc.writes)
	}
}

// TestRC4WriteErrorSticks checks that after a failed write every later
// write fails: the keystream is ahead of the peer.
func TestRC4WriteErrorSticks(t *testing.T) {
	a, _ := tcpPair(t)
	ini, _ := streamPair(t)
	w := &rc4Conn{Conn: a, enc: ini.enc}
	a.SetWriteDeadline(time.Unix(1, 0))
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("write past deadline succeeded")
	}
	a.SetWriteDeadline(time.Time{})
	if _, err := w.Write([]byte("y")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("second write: %v", err)
	}
	v := net.Buffers{[]byte("z")}
	if _, err := w.WriteBuffers(&v); err == nil {
		t.Fatal("WriteBuffers after failure succeeded")
	}
}

func TestPartial(t *testing.T) {
	m := []byte("abcd")
	for in, want := range map[string]int{"": 0, "xx": 0, "xa": 1, "xab": 2, "abc": 3, "xabcd": 0, "abca": 1} {
		if got := partial([]byte(in), m); got != want {
			t.Errorf("partial(%q) = %d, want %d", in, got, want)
		}
	}
}
