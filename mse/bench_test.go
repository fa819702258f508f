package mse

import (
	"net"
	"testing"
)

// nullConn is a connection that costs nothing: reads return the whole
// buffer as it is, writes vanish. It isolates the wrapper's own cost.
type nullConn struct{ net.Conn }

func (nullConn) Read(b []byte) (int, error)  { return len(b), nil }
func (nullConn) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkRC4Read measures decrypting 16 KiB blocks in place.
func BenchmarkRC4Read(b *testing.B) {
	ini, _ := streamPair(b)
	c := &rc4Conn{Conn: nullConn{}, dec: ini.dec}
	buf := make([]byte, 16<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		c.Read(buf)
	}
}

// BenchmarkRC4Write measures encrypting 16 KiB blocks into the wrapper's
// buffer.
func BenchmarkRC4Write(b *testing.B) {
	ini, _ := streamPair(b)
	c := &rc4Conn{Conn: nullConn{}, enc: ini.enc}
	buf := make([]byte, 16<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		c.Write(buf)
	}
}

// BenchmarkRC4WriteBuffers measures a Piece message as peer.Conn sends it:
// a 13-byte header and a 16 KiB block, gathered.
func BenchmarkRC4WriteBuffers(b *testing.B) {
	ini, _ := streamPair(b)
	c := &rc4Conn{Conn: nullConn{}, enc: ini.enc}
	head, block := make([]byte, 13), make([]byte, 16<<10)
	vec := make(net.Buffers, 2)
	b.SetBytes(int64(len(head) + len(block)))
	b.ReportAllocs()
	for b.Loop() {
		vec[0], vec[1] = head, block
		v := vec
		c.WriteBuffers(&v)
	}
}

// BenchmarkHandshake measures one full RC4 handshake, both sides, over
// net.Pipe: four modular exponentiations, the key schedules, the padding.
func BenchmarkHandshake(b *testing.B) {
	skeys := serving(ih(1))
	b.ReportAllocs()
	for b.Loop() {
		x, y := net.Pipe()
		ini, resp := run(x, y, ih(1), both, handshakeMsg, 0, skeys, PreferRC4, 0)
		if ini.err != nil || resp.err != nil {
			b.Fatal(ini.err, resp.err)
		}
		x.Close()
		y.Close()
	}
}

// BenchmarkKey measures making one key pair: one modular exponentiation.
func BenchmarkKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		newKey()
	}
}
