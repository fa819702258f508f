package mse

import (
	"bytes"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"testing"
	"time"
)

// hostileTimeout bounds each hostile handshake; errors other than the
// deadline must come well before it.
const hostileTimeout = 2 * time.Second

// againstAccept runs Accept on one end of a loopback connection while
// script plays the initiator on the other, and returns Accept's error.
// The script's end stays open, so Accept must decide by itself.
func againstAccept(t *testing.T, allow func(Method) Method, timeout time.Duration, script func(f *fake)) error {
	t.Helper()
	leakCheck(t)
	a, b := tcpPair(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		script(&fake{c: a})
	}()
	start := time.Now()
	_, _, _, _, err := Accept(b, nil, serving(ih(1), ih(2)), allow, timeout)
	if d := time.Since(start); d > timeout+time.Second {
		t.Errorf("Accept took %v, timeout %v", d, timeout)
	}
	b.Close()
	<-done
	return err
}

// initiatorSteps sends a well-formed step 3 for torrent skey but with the
// given PadA length and the clear-text fields after the obfuscated hash.
func initiatorSteps(padA int, skey [20]byte, clear []byte) func(f *fake) {
	return func(f *fake) {
		if !f.exchange(padA) {
			return
		}
		f.keys(skey, true)
		f.c.Write(append(f.syncPrefix(skey), f.encrypt(clear)...))
		io.Copy(io.Discard, f.c) // until Accept's side closes
	}
}

// goodIA is a valid tail of step 3: VC, RC4 and plaintext provided, no
// PadC, a full-length IA.
func goodIA() []byte {
	return fields(make([]byte, 8), 3, 0, append([]byte{0, MaxIA}, handshakeMsg...)...)
}

func TestAcceptHostile(t *testing.T) {
	big512 := fields(make([]byte, 8), 3, 512, append(make([]byte, 512), 0, 0)...)
	for _, tc := range []struct {
		name   string
		allow  func(Method) Method
		script func(f *fake)
		want   error
	}{
		{"random key and bytes", PreferRC4, rawScript(randBytes(keyLen + 800)), ErrNoSync},
		{"key 0", PreferRC4, rawScript(make([]byte, keyLen+10)), ErrBadKey},
		{"key 1", PreferRC4, rawScript(keyBytes(big.NewInt(1))), ErrBadKey},
		{"key P-1", PreferRC4, rawScript(keyBytes(primeMinus1)), ErrBadKey},
		{"key above P", PreferRC4, rawScript(bytes.Repeat([]byte{0xff}, keyLen)), ErrBadKey},
		{"no sync within bound", PreferRC4, func(f *fake) {
			if f.exchange(0) {
				f.c.Write(randBytes(maxPad + 20))
				io.Copy(io.Discard, f.c)
			}
		}, ErrNoSync},
		{"sync one byte late", PreferRC4, initiatorSteps(maxPad+1, ih(1), goodIA()), ErrNoSync},
		{"sync at the bound", PreferRC4, initiatorSteps(maxPad, ih(1), goodIA()), nil},
		{"unknown torrent", PreferRC4, initiatorSteps(0, ih(9), goodIA()), ErrUnknownTorrent},
		{"bad VC", PreferRC4, initiatorSteps(0, ih(1), fields([]byte{0, 0, 0, 0, 0, 0, 0, 1}, 3, 0, 0, 0)), ErrBadVC},
		{"garbage after key exchange", PreferRC4, initiatorSteps(7, ih(2), randBytes(600)), ErrBadVC},
		{"provide 0", PreferRC4, initiatorSteps(0, ih(1), fields(make([]byte, 8), 0, 0, 0, 0)), ErrMethod},
		{"provide unknown bit", PreferRC4, initiatorSteps(0, ih(1), fields(make([]byte, 8), 4, 0, 0, 0)), ErrMethod},
		{"plaintext refused", RequireRC4, initiatorSteps(0, ih(1), fields(make([]byte, 8), 1, 0, 0, 0)), ErrMethod},
		{"policy selects both", func(Method) Method { return 3 }, initiatorSteps(0, ih(1), goodIA()), ErrMethod},
		{"policy selects unprovided", func(Method) Method { return RC4 }, initiatorSteps(0, ih(1), fields(make([]byte, 8), 1, 0, 0, 0)), ErrMethod},
		{"PadC too long", PreferRC4, initiatorSteps(0, ih(1), fields(make([]byte, 8), 3, 513)), ErrPad},
		{"PadC at the bound", PreferRC4, initiatorSteps(0, ih(1), big512), nil},
		{"IA too long", PreferRC4, initiatorSteps(0, ih(1), fields(make([]byte, 8), 3, 0, 0, MaxIA+1)), ErrIA},
		{"IA 64 KiB", PreferRC4, initiatorSteps(0, ih(1), fields(make([]byte, 8), 3, 0, 0xff, 0xff)), ErrIA},
		{"EOF after key", PreferRC4, func(f *fake) {
			f.exchange(0)
			halfClose(f.c)
		}, io.ErrUnexpectedEOF},
		{"EOF in IA", PreferRC4, func(f *fake) {
			if f.exchange(0) {
				f.keys(ih(1), true)
				f.c.Write(append(f.syncPrefix(ih(1)), f.encrypt(goodIA()[:30])...))
				halfClose(f.c)
			}
		}, io.ErrUnexpectedEOF},
		{"silent", PreferRC4, func(f *fake) { io.Copy(io.Discard, f.c) }, os.ErrDeadlineExceeded},
		{"one byte at a time", PreferRC4, trickle(20 * time.Millisecond), os.ErrDeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			timeout := hostileTimeout
			if tc.want == os.ErrDeadlineExceeded {
				timeout = 300 * time.Millisecond
			}
			err := againstAccept(t, tc.allow, timeout, tc.script)
			if tc.want == nil && err != nil || !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// rawScript sends b as the initiator, then reads until closed.
func rawScript(b []byte) func(f *fake) {
	return func(f *fake) {
		f.c.Write(b)
		io.Copy(io.Discard, f.c)
	}
}

// trickle sends a valid key, then random bytes one at a time every d.
func trickle(d time.Duration) func(f *fake) {
	return func(f *fake) {
		k := newKey()
		for _, c := range append(k.pub[:], randBytes(1000)...) {
			if _, err := f.c.Write([]byte{c}); err != nil {
				return
			}
			time.Sleep(d)
		}
	}
}

// keyBytes is n as a public key on the wire.
func keyBytes(n *big.Int) []byte { return n.FillBytes(make([]byte, keyLen)) }

// againstInitiate runs Initiate (providing provide) on one end of a
// loopback connection while script plays the responder on the other.
func againstInitiate(t *testing.T, provide Method, timeout time.Duration, script func(f *fake)) error {
	t.Helper()
	leakCheck(t)
	a, b := tcpPair(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		script(&fake{c: b})
	}()
	start := time.Now()
	_, _, err := Initiate(a, ih(1), provide, handshakeMsg, timeout)
	if d := time.Since(start); d > timeout+time.Second {
		t.Errorf("Initiate took %v, timeout %v", d, timeout)
	}
	a.Close()
	<-done
	return err
}

// responderSteps answers as a responder for ih(1) with PadB of padB
// random bytes and the given clear-text step 4 fields.
func responderSteps(padB int, clear []byte) func(f *fake) {
	return func(f *fake) {
		f.key = newKey()
		if !f.readKey() {
			return
		}
		f.keys(ih(1), false)
		f.c.Write(append(append(f.key.pub[:], randBytes(padB)...), f.encrypt(clear)...))
		io.Copy(io.Discard, f.c)
	}
}

func TestInitiateHostile(t *testing.T) {
	sel := func(m uint32, pad uint16) []byte { return fields(make([]byte, 8), m, pad) }
	for _, tc := range []struct {
		name    string
		provide Method
		script  func(f *fake)
		want    error
	}{
		{"random key and bytes", RC4, responderRaw(randBytes(keyLen + 800)), ErrNoSync},
		{"key 1", RC4, responderRaw(keyBytes(big.NewInt(1))), ErrBadKey},
		{"key above P", RC4, responderRaw(bytes.Repeat([]byte{0xff}, keyLen)), ErrBadKey},
		{"VC one byte late", RC4, responderSteps(maxPad+1, sel(2, 0)), ErrNoSync},
		{"VC at the bound", RC4, responderSteps(maxPad, sel(2, 0)), nil},
		{"select 0", RC4, responderSteps(0, sel(0, 0)), ErrMethod},
		{"select both", Plaintext | RC4, responderSteps(0, sel(3, 0)), ErrMethod},
		{"select unknown", RC4, responderSteps(0, sel(6, 0)), ErrMethod},
		{"select unprovided", RC4, responderSteps(0, sel(1, 0)), ErrMethod},
		{"PadD too long", RC4, responderSteps(0, sel(2, 513)), ErrPad},
		{"PadD at the bound", RC4, responderSteps(0, append(sel(2, 512), make([]byte, 512)...)), nil},
		{"PadD cut short", RC4, func(f *fake) {
			responderSteps(0, append(sel(2, 100), 1, 2, 3))(f)
		}, os.ErrDeadlineExceeded},
		{"silent", RC4, func(f *fake) { io.Copy(io.Discard, f.c) }, os.ErrDeadlineExceeded},
		{"one byte at a time", RC4, trickle(20 * time.Millisecond), os.ErrDeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			timeout := hostileTimeout
			if tc.want == os.ErrDeadlineExceeded {
				timeout = 300 * time.Millisecond
			}
			err := againstInitiate(t, tc.provide, timeout, tc.script)
			if tc.want == nil && err != nil || !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// responderRaw reads the initiator's key and answers with b.
func responderRaw(b []byte) func(f *fake) {
	return func(f *fake) {
		var y [keyLen]byte
		if _, err := io.ReadFull(f.c, y[:]); err != nil {
			return
		}
		f.c.Write(b)
		io.Copy(io.Discard, f.c)
	}
}

// halfClose ends what the script sends but keeps reading, so the other
// side sees EOF rather than a reset.
func halfClose(c net.Conn) {
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c)
}
