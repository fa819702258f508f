package peer

import (
	"testing"
)

func BenchmarkAppendMsgPiece(b *testing.B) {
	m := Msg{ID: Piece, Index: 1, Begin: 16384, Block: make([]byte, 16<<10)}
	buf := make([]byte, 0, 32<<10)
	b.SetBytes(int64(len(m.Block)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMsg(buf[:0], &m)
	}
}

func BenchmarkReadMsgPiece(b *testing.B) {
	m := Msg{ID: Piece, Index: 1, Begin: 16384, Block: make([]byte, 16<<10)}
	r := NewReader(&repeat{b: AppendMsg(nil, &m)}, MaxMsgLen(0))
	b.SetBytes(int64(len(m.Block)))
	b.ReportAllocs()
	for b.Loop() {
		if err := r.ReadMsg(&m); err != nil {
			b.Fatal(err)
		}
	}
}
