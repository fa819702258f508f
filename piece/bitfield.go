package piece

import (
	"errors"
	"fmt"
	"math/bits"
)

// ErrBitfield is wrapped by FromBytes when a peer's bitfield has the wrong
// length or spare bits set, so the session can tell it apart with errors.Is
// and drop the peer (BEP 3).
var ErrBitfield = errors.New("bad bitfield")

// Bitfield is a fixed-length bit set in wire order: bit i stands for piece i,
// and Bytes puts piece 0 in the high bit of the first byte (BEP 3). Bits are
// kept in 64-bit words, piece 0 in the high bit of word 0, so Count and the
// pickers' set operations work a word at a time. Bits at or past Len are
// always zero.
//
// The zero value is an empty bitfield of length 0. Copying a Bitfield by
// value shares its storage; use Clone for an independent copy. Not safe for
// concurrent use: it belongs to whichever goroutine owns the enclosing state.
type Bitfield struct {
	w []uint64
	n int
}

// NewBitfield returns an all-clear bitfield of n bits (n < 0 is taken as 0).
func NewBitfield(n int) Bitfield {
	n = max(n, 0)
	return Bitfield{w: make([]uint64, (n+63)/64), n: n}
}

// FromBytes decodes the wire form of an n-piece bitfield. BEP 3: len(b) must
// be exactly ceil(n/8) and the spare bits at the end of the last byte must be
// zero; anything else is an error wrapping ErrBitfield. b is not retained.
func FromBytes(b []byte, n int) (Bitfield, error) {
	if n < 0 {
		return Bitfield{}, fmt.Errorf("piece: bitfield for %d pieces: %w", n, ErrBitfield)
	}
	if want := (n + 7) / 8; len(b) != want {
		return Bitfield{}, fmt.Errorf("piece: bitfield of %d bytes for %d pieces, want %d: %w",
			len(b), n, want, ErrBitfield)
	}
	if r := n % 8; r != 0 && b[len(b)-1]&(0xff>>r) != 0 {
		return Bitfield{}, fmt.Errorf("piece: bitfield for %d pieces has spare bits set: %w",
			n, ErrBitfield)
	}
	bf := NewBitfield(n)
	for k, c := range b {
		bf.w[k/8] |= uint64(c) << (56 - 8*(k%8))
	}
	return bf, nil
}

// Len returns the number of bits (pieces) in b.
func (b Bitfield) Len() int { return b.n }

// Has reports whether bit i is set. It is false for an out-of-range i, so a
// peer's claim about a piece that does not exist never counts.
func (b Bitfield) Has(i int) bool {
	if i < 0 || i >= b.n {
		return false
	}
	return b.w[i>>6]&mask(i) != 0
}

// Set sets bit i. An out-of-range i is ignored: callers check indices from
// the wire before trusting them, and a bad one must not crash the loop.
func (b *Bitfield) Set(i int) {
	if i >= 0 && i < b.n {
		b.w[i>>6] |= mask(i)
	}
}

// Clear clears bit i; an out-of-range i is ignored.
func (b *Bitfield) Clear(i int) {
	if i >= 0 && i < b.n {
		b.w[i>>6] &^= mask(i)
	}
}

// SetAll sets every bit, as for a BEP 6 HaveAll or a seeder's resume.
func (b *Bitfield) SetAll() {
	for k := range b.w {
		b.w[k] = ^uint64(0)
	}
	b.trim()
}

// Count returns the number of set bits, a word at a time.
func (b Bitfield) Count() int {
	c := 0
	for _, x := range b.w {
		c += bits.OnesCount64(x)
	}
	return c
}

// Full reports whether every bit is set (a seeder's bitfield). An empty
// bitfield is full.
func (b Bitfield) Full() bool { return b.Count() == b.n }

// Bytes returns a copy of b in wire form: ceil(Len/8) bytes, piece 0 in the
// high bit of the first byte, spare bits zero (BEP 3).
func (b Bitfield) Bytes() []byte {
	out := make([]byte, (b.n+7)/8)
	for k := range out {
		out[k] = byte(b.w[k/8] >> (56 - 8*(k%8)))
	}
	return out
}

// Clone returns an independent copy of b.
func (b Bitfield) Clone() Bitfield {
	return Bitfield{w: append([]uint64(nil), b.w...), n: b.n}
}

// NextSet returns the lowest set index at or after i, or -1 if there is none.
// It lets callers walk the set bits without testing every index:
//
//	for i := b.NextSet(0); i >= 0; i = b.NextSet(i + 1) { ... }
func (b Bitfield) NextSet(i int) int {
	i = max(i, 0)
	if i >= b.n {
		return -1
	}
	k := i >> 6
	x := b.w[k] & (^uint64(0) >> (i & 63))
	for {
		if x != 0 {
			return k<<6 + bits.LeadingZeros64(x)
		}
		k++
		if k >= len(b.w) {
			return -1
		}
		x = b.w[k]
	}
}

// trim clears the spare bits past n in the last word, keeping the invariant
// that Count and Bytes rely on.
func (b *Bitfield) trim() {
	if r := b.n & 63; r != 0 {
		b.w[len(b.w)-1] &= ^uint64(0) << (64 - r)
	}
}

// mask returns the bit for index i inside its word.
func mask(i int) uint64 { return 1 << (63 - uint(i&63)) }

// forEachSet calls f for every set index below limit, in ascending order.
func (b *Bitfield) forEachSet(limit int, f func(i int)) {
	for k, x := range b.w {
		for x != 0 {
			z := bits.LeadingZeros64(x)
			i := k<<6 + z
			if i >= limit {
				return
			}
			f(i)
			x &^= 1 << (63 - uint(z))
		}
	}
}

// nthSet returns the index of the k-th (0-based) set bit of word x.
func nthSet(x uint64, k int) int {
	for ; k > 0; k-- {
		x &^= 1 << (63 - uint(bits.LeadingZeros64(x)))
	}
	return bits.LeadingZeros64(x)
}
