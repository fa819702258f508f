package peer

import (
	"bytes"
	"testing"
)

// TestReaderAlloc checks that a Piece block lands in the buffer Alloc
// returned, with the right bytes, and that other messages do not use it.
func TestReaderAlloc(t *testing.T) {
	block := bytes.Repeat([]byte{7, 9}, 8192)
	var stream []byte
	stream = AppendMsg(stream, &Msg{ID: Have, Index: 3})
	stream = AppendMsg(stream, &Msg{ID: Piece, Index: 1, Begin: 16384, Block: block})
	own := make([]byte, len(block))
	calls := 0
	r := NewReader(bytes.NewReader(stream), 0)
	r.Alloc = func(n int) []byte {
		calls++
		if n != len(block) {
			t.Errorf("Alloc(%d), want %d", n, len(block))
		}
		return own[:n]
	}
	var m Msg
	for range 2 {
		if err := r.ReadMsg(&m); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 || &m.Block[0] != &own[0] || !bytes.Equal(m.Block, block) || m.Index != 1 || m.Begin != 16384 {
		t.Errorf("calls %d, block in own buffer %v, same bytes %v", calls, &m.Block[0] == &own[0], bytes.Equal(m.Block, block))
	}
}
