package mse

import (
	"crypto/rand"
	"crypto/rc4"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection: a dialed, b
// accepted. Both are closed at the end of the test.
func tcpPair(t testing.TB) (a, b net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	a, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b = <-acc
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// pipePair returns the two ends of a net.Pipe, closed at the end of the
// test.
func pipePair(t testing.TB) (a, b net.Conn) {
	a, b = net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// randBytes returns n random bytes.
func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// ih makes a recognisable info hash.
func ih(n byte) (h [20]byte) {
	for i := range h {
		h[i] = n + byte(i)
	}
	return h
}

// serving returns an skeys callback for the torrents hs, precomputing
// HASH('req2', SKEY) for each as a real responder would.
func serving(hs ...[20]byte) func([20]byte) ([20]byte, bool) {
	m := make(map[[20]byte][20]byte, len(hs))
	for _, h := range hs {
		m[Req2(h)] = h
	}
	return func(x [20]byte) ([20]byte, bool) {
		h, ok := m[x]
		return h, ok
	}
}

// fake is the test's own side of a handshake, built from the package's
// primitives, that can send fields no honest peer would.
type fake struct {
	c        net.Conn
	key      dhKey
	s        [keyLen]byte
	enc, dec *rc4.Cipher
}

// exchange sends our key with pad bytes of padding, as an initiator does,
// and reads the peer's, computing S. It reports whether all went well.
func (f *fake) exchange(pad int) bool {
	f.key = newKey()
	if _, err := f.c.Write(append(f.key.pub[:], randBytes(pad)...)); err != nil {
		return false
	}
	return f.readKey()
}

// readKey reads the peer's key and computes S.
func (f *fake) readKey() bool {
	var y [keyLen]byte
	if _, err := io.ReadFull(f.c, y[:]); err != nil {
		return false
	}
	var err error
	f.s, err = f.key.secret(y[:])
	return err == nil
}

// keys sets the fake's ciphers for torrent skey; initiator says which side
// the fake plays.
func (f *fake) keys(skey [20]byte, initiator bool) {
	var err error
	if f.enc, f.dec, err = streams(&f.s, skey, initiator); err != nil {
		panic(err) // RC4 forbidden: nothing to test
	}
}

// syncPrefix returns HASH('req1', S) and the obfuscated skey, as an
// initiator sends them.
func (f *fake) syncPrefix(skey [20]byte) []byte {
	req1, req2, req3 := sum("req1", f.s[:], nil), Req2(skey), sum("req3", f.s[:], nil)
	b := append([]byte(nil), req1[:]...)
	for i := range req2 {
		b = append(b, req2[i]^req3[i])
	}
	return b
}

// encrypt returns b encrypted with the fake's sending stream.
func (f *fake) encrypt(b []byte) []byte {
	out := make([]byte, len(b))
	f.enc.XORKeyStream(out, b)
	return out
}

// fields builds VC, a crypto field and a padding length (not necessarily
// the padding that follows), then tail, in the clear.
func fields(vc []byte, m uint32, padLen uint16, tail ...byte) []byte {
	b := append([]byte(nil), vc...)
	b = append(b, byte(m>>24), byte(m>>16), byte(m>>8), byte(m))
	b = append(b, byte(padLen>>8), byte(padLen))
	return append(b, tail...)
}

// drain reads c until it fails, in the background.
func drain(c net.Conn) { go io.Copy(io.Discard, c) }

// leakCheck fails the test if goroutines started during it outlive it.
func leakCheck(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			t.Errorf("goroutines: %d before, %d after", before, n)
		}
	})
}
