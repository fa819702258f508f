package mse

import (
	"net"
	"testing"
	"time"
)

// fuzzTimeout bounds one fuzzed handshake; a call running much longer is a
// hang.
const fuzzTimeout = 2 * time.Second

// fuzzPolicies are the Accept policies the first input byte chooses from,
// the last one misbehaving.
var fuzzPolicies = []func(Method) Method{PreferPlaintext, PreferRC4, RequireRC4, func(p Method) Method { return p }}

// FuzzAccept feeds arbitrary bytes to Accept as the initiator's side. In
// the first byte, bit 0 chooses raw mode (the input is the whole stream)
// or structured mode (a real key exchange, PadA of 3*input[1] bytes, the
// right sync hash and obfuscated info hash, then the rest of the input
// encrypted as the initiator would), so that the fields after VC are
// reached; bits 1-2 choose the policy. Accept must not panic, must end, and
// whatever it accepts must be well formed.
func FuzzAccept(f *testing.F) {
	f.Add(append([]byte{0}, randBytes(700)...))
	f.Add(append([]byte{3, 0}, goodIA()...))
	f.Add(append([]byte{1, 5}, fields(make([]byte, 8), 1, 3, 0, 0, 0, 0, 4, 'a', 'b', 'c', 'd')...))
	f.Add(append([]byte{5, 0}, fields(make([]byte, 8), 2, 600)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		mode, data := data[0], data[1:]
		a, b := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer a.Close()
			if mode&1 == 0 {
				drain(a)
				a.Write(data)
				return
			}
			pad := 0
			if len(data) > 0 {
				pad, data = 3*int(data[0]), data[1:]
			}
			f := &fake{c: a}
			if !f.exchange(pad) {
				return
			}
			drain(a)
			f.keys(ih(1), true)
			a.Write(append(f.syncPrefix(ih(1)), f.encrypt(data)...))
		}()
		start := time.Now()
		conn, got, sel, ia, err := Accept(b, nil, serving(ih(1)), fuzzPolicies[mode>>1&3], fuzzTimeout)
		if d := time.Since(start); d > fuzzTimeout+time.Second {
			t.Fatalf("Accept took %v", d)
		}
		if err == nil && (got != ih(1) || !sel.single() || len(ia) > MaxIA || conn == nil) {
			t.Fatalf("accepted torrent %x, method %v, IA %d bytes, conn %v", got, sel, len(ia), conn)
		}
		b.Close()
		<-done
	})
}

// FuzzInitiate feeds arbitrary bytes to Initiate as the responder's side.
// In the first byte, bit 0 chooses raw mode (the input follows the
// initiator's key as the whole answer) or structured mode (a real Yb, PadB
// of 3*input[1] bytes, then the rest of the input encrypted as the
// responder would); bits 1-2 choose what Initiate provides.
func FuzzInitiate(f *testing.F) {
	f.Add(append([]byte{0}, randBytes(700)...))
	f.Add(append([]byte{1, 0}, fields(make([]byte, 8), 2, 0)...))
	f.Add(append([]byte{3, 10}, fields(make([]byte, 8), 1, 4, 0, 0, 0, 0)...))
	f.Add(append([]byte{7, 0}, fields(make([]byte, 8), 3, 513)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		mode, data := data[0], data[1:]
		provide := Method(mode>>1) & both
		if provide == 0 {
			provide = both
		}
		a, b := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer b.Close()
			f := &fake{c: b, key: newKey()}
			if mode&1 == 0 {
				drain(b)
				b.Write(data)
				return
			}
			pad := 0
			if len(data) > 0 {
				pad, data = 3*int(data[0]), data[1:]
			}
			if !f.readKey() {
				return
			}
			drain(b)
			f.keys(ih(1), false)
			b.Write(append(append(f.key.pub[:], randBytes(pad)...), f.encrypt(data)...))
		}()
		start := time.Now()
		conn, sel, err := Initiate(a, ih(1), provide, handshakeMsg, fuzzTimeout)
		if d := time.Since(start); d > fuzzTimeout+time.Second {
			t.Fatalf("Initiate took %v", d)
		}
		if err == nil && (!sel.single() || sel&provide == 0 || conn == nil) {
			t.Fatalf("selected %v of %v, conn %v", sel, provide, conn)
		}
		a.Close()
		<-done
	})
}
