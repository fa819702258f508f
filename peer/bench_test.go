package peer

import (
	"testing"
)

// BenchmarkAppendMsgPiece encodes a Piece message into a reused buffer.
func BenchmarkAppendMsgPiece(b *testing.B) {
	m := Msg{ID: Piece, Index: 1, Begin: 16384, Block: make([]byte, 16<<10)}
	buf := make([]byte, 0, 32<<10)
	b.SetBytes(int64(len(m.Block)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMsg(buf[:0], &m)
	}
}

// BenchmarkReadMsgPiece decodes Piece messages the way the session does:
// with an Alloc that hands out recycled buffers, so the steady state does
// not allocate.
func BenchmarkReadMsgPiece(b *testing.B) {
	m := Msg{ID: Piece, Index: 1, Begin: 16384, Block: make([]byte, 16<<10)}
	r := NewReader(&repeat{b: AppendMsg(nil, &m)}, MaxMsgLen(0))
	spare := make([]byte, 16<<10)
	r.Alloc = func(n int) []byte { return spare[:n] } // the session's pool, minus the pool
	b.SetBytes(int64(len(m.Block)))
	b.ReportAllocs()
	for b.Loop() {
		if err := r.ReadMsg(&m); err != nil {
			b.Fatal(err)
		}
	}
}
