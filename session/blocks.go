package session

import (
	"sync"

	"github.com/unworkable/unworkable/piece"
)

// blockPool recycles the BlockSize buffers of Piece messages: the readers
// take them for blocks that arrive, the loop gives them back once the block
// is stored (or dropped); the loop takes them for blocks it serves, the
// writers give them back once written. No buffer is allocated per block. Blocks of
// other sizes are allocated and left to the GC. Shared by goroutines,
// which is what sync.Pool is for.
var blockPool = sync.Pool{New: func() any { return new([piece.BlockSize]byte) }}

// allocBlock returns a buffer of n bytes, from the pool when n is BlockSize.
func allocBlock(n int) []byte {
	if n != piece.BlockSize {
		return make([]byte, n)
	}
	return blockPool.Get().(*[piece.BlockSize]byte)[:]
}

// freeBlock gives a buffer from allocBlock back; nothing may use it after.
func freeBlock(b []byte) {
	if cap(b) == piece.BlockSize && len(b) == piece.BlockSize {
		blockPool.Put((*[piece.BlockSize]byte)(b))
	}
}
