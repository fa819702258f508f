// Package piece tracks what we have, what peers have and what we have asked
// for: bitfields, blocks, the piece table with availability counts, and the
// piece pickers (random first pieces, then rarest first, with partial pieces
// finished before new ones are started, and an endgame).
//
// Everything here is owned by the session's event-loop goroutine: there are
// no mutexes and no goroutines in this package.
package piece

import (
	"fmt"
	"slices"
)

// BlockSize is the size of a request: every block of a piece is this long
// except the last block of the last piece, which may be shorter. BEP 3: 16 KiB
// is what all clients accept.
const BlockSize = 16 << 10

// Block is one request-sized part of a piece, named the way BEP 3 request,
// piece and cancel messages name it.
type Block struct {
	Index, Begin, Length uint32
}

// String formats b for logs and errors.
func (b Block) String() string {
	return fmt.Sprintf("block(%d, %d, %d)", b.Index, b.Begin, b.Length)
}

// Table tracks the state of every piece: verified (have), in progress (which
// blocks are received and how many requests are outstanding for each), and
// availability counts from peers' bitfields. Per-block state exists only for
// pieces in progress, so a table for 100k pieces stays small.
//
// Pieces that are neither verified nor in progress ("candidates") are kept in
// buckets by availability, so rarest-first picking does not scan every piece.
//
// Owned by the loop goroutine.
type Table struct {
	numPieces int
	pieceLen  int64
	totalLen  int64
	picker    Picker

	have      Bitfield // verified pieces
	haveCount int
	left      int64 // bytes in pieces not verified

	started Bitfield          // pieces in progress
	prog    map[int]*progress // per-block state of pieces in progress
	active  []*progress       // the same, by ascending index
	free    int               // requestable blocks over all pieces in progress

	avail   []int32   // number of peers that have each piece
	present Bitfield  // pieces with avail > 0
	buckets [][]int32 // candidate pieces by availability
	pos     []int32   // position of a candidate in its bucket, else -1
	scratch Bitfield  // has ∧ allowed, reused by Next
}

// progress is the per-block state of one piece in progress.
type progress struct {
	index int
	got   Bitfield // blocks received
	reqs  []int32  // outstanding requests per block
	nGot  int
	free  int // blocks neither received nor outstanding
	hint  int // no free block below this one
}

// NewTable returns the table of a torrent with numPieces pieces of pieceLen
// bytes (the last one shorter) and totalLen bytes in all; the caller passes
// values its metainfo has already checked. p chooses which piece to start
// next; nil means &RarestFirst{}.
func NewTable(numPieces int, pieceLen, totalLen int64, p Picker) *Table {
	numPieces = max(numPieces, 0)
	if p == nil {
		p = &RarestFirst{}
	}
	t := &Table{
		numPieces: numPieces,
		pieceLen:  max(pieceLen, 0),
		totalLen:  max(totalLen, 0),
		picker:    p,
		have:      NewBitfield(numPieces),
		started:   NewBitfield(numPieces),
		prog:      make(map[int]*progress),
		avail:     make([]int32, numPieces),
		present:   NewBitfield(numPieces),
		buckets:   [][]int32{make([]int32, numPieces)},
		pos:       make([]int32, numPieces),
	}
	for i := range numPieces {
		t.buckets[0][i] = int32(i)
		t.pos[i] = int32(i)
		t.left += t.PieceSize(i)
	}
	return t
}

// NumPieces returns the number of pieces in the torrent.
func (t *Table) NumPieces() int { return t.numPieces }

// PieceSize returns the length in bytes of piece i: the piece length, except
// for a short last piece. It is 0 for an out-of-range i.
func (t *Table) PieceSize(i int) int64 {
	if i < 0 || i >= t.numPieces {
		return 0
	}
	rest := t.totalLen - int64(i)*t.pieceLen
	return max(0, min(t.pieceLen, rest))
}

// NumBlocks returns how many blocks piece i is split into (0 for an
// out-of-range i).
func (t *Table) NumBlocks(i int) int {
	return int((t.PieceSize(i) + BlockSize - 1) / BlockSize)
}

// Valid reports whether b is a well-formed block of this torrent: index in
// range, begin a multiple of BlockSize inside the piece, and length exactly
// that block's size (BlockSize, or the short last block of a piece). Callers
// check requests and pieces from the wire with it before anything else.
func (t *Table) Valid(b Block) bool {
	size := t.PieceSize(int(b.Index))
	if int64(b.Index) >= int64(t.numPieces) || b.Begin%BlockSize != 0 {
		return false
	}
	begin := int64(b.Begin)
	if begin >= size {
		return false
	}
	return int64(b.Length) == min(BlockSize, size-begin)
}

// blockAt returns block j of piece i; the caller has checked both.
func (t *Table) blockAt(i, j int) Block {
	begin := int64(j) * BlockSize
	length := min(BlockSize, t.PieceSize(i)-begin)
	return Block{Index: uint32(i), Begin: uint32(begin), Length: uint32(length)}
}

// Have returns the set of verified pieces, for bitfield messages and resume.
// The caller must not modify it except through MarkHave and MarkBad.
func (t *Table) Have() *Bitfield { return &t.have }

// Left returns the number of bytes not yet verified (the tracker's "left").
func (t *Table) Left() int64 { return t.left }

// Complete reports whether every piece is verified.
func (t *Table) Complete() bool { return t.haveCount == t.numPieces }

// InProgress reports whether piece i has been started and is not verified.
func (t *Table) InProgress(i int) bool { return t.started.Has(i) }

// MarkHave records piece i as verified, by the hasher or from resume data,
// and drops its per-block state. Marking a verified piece again is a no-op.
func (t *Table) MarkHave(i int) {
	if i < 0 || i >= t.numPieces || t.have.Has(i) {
		return
	}
	if t.started.Has(i) {
		t.stop(i)
	} else {
		t.removeCandidate(i)
	}
	t.have.Set(i)
	t.haveCount++
	t.left -= t.PieceSize(i)
}

// MarkBad resets piece i after a failed hash check: its received blocks and
// outstanding counts are forgotten and it can be picked again, so all its
// blocks become requestable. Stale Unrequest and Received calls for the old
// requests are then ignored, or at worst cause one duplicate request. On a
// verified piece (storage found corrupt) it also clears the have bit.
func (t *Table) MarkBad(i int) {
	if i < 0 || i >= t.numPieces {
		return
	}
	switch {
	case t.have.Has(i):
		t.have.Clear(i)
		t.haveCount--
		t.left += t.PieceSize(i)
	case t.started.Has(i):
		t.stop(i)
	default:
		return
	}
	t.addCandidate(i)
}

// start moves candidate piece i into progress.
func (t *Table) start(i int) {
	t.removeCandidate(i)
	nb := t.NumBlocks(i)
	pr := &progress{index: i, got: NewBitfield(nb), reqs: make([]int32, nb), free: nb}
	t.prog[i] = pr
	t.started.Set(i)
	t.free += nb
	at, _ := slices.BinarySearchFunc(t.active, i, cmpIndex)
	t.active = slices.Insert(t.active, at, pr)
}

// stop drops the per-block state of piece i in progress.
func (t *Table) stop(i int) {
	pr := t.prog[i]
	t.free -= pr.free
	delete(t.prog, i)
	t.started.Clear(i)
	if at, ok := slices.BinarySearchFunc(t.active, i, cmpIndex); ok {
		t.active = slices.Delete(t.active, at, at+1)
	}
}

// cmpIndex orders pieces in progress by index, for the active list.
func cmpIndex(pr *progress, i int) int { return pr.index - i }

// lookup returns the progress of b's piece and b's block number, or ok=false
// if b is malformed or its piece is not in progress.
func (t *Table) lookup(b Block) (pr *progress, j int, ok bool) {
	if !t.Valid(b) {
		return nil, 0, false
	}
	pr = t.prog[int(b.Index)]
	if pr == nil {
		return nil, 0, false
	}
	return pr, int(b.Begin / BlockSize), true
}
