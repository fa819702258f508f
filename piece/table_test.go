package piece

import (
	"math/rand/v2"
	"testing"
)

// Geometry of the test torrent: 100000 bytes in 32 KiB pieces, so pieces 0-2
// have two full blocks and piece 3 is one short block of 1696 bytes.
const (
	testTotal    = 100000
	testPieceLen = 32768
	testPieces   = 4
)

// newTestTable returns a table with a seeded RarestFirst picker (random phase
// off unless randomFirst > 0) and one seeder's availability.
func newTestTable(t *testing.T, n int, pieceLen, total int64, randomFirst int) (*Table, *Bitfield) {
	t.Helper()
	if randomFirst == 0 {
		randomFirst = -1
	}
	p := &RarestFirst{RandomFirst: randomFirst, Rand: rand.New(rand.NewPCG(1, 2))}
	tb := NewTable(n, pieceLen, total, p)
	seed := NewBitfield(n)
	seed.SetAll()
	tb.AddAvail(&seed)
	return tb, &seed
}

// bitfield returns an n-bit bitfield with the given pieces set.
func bitfield(n int, set ...int) *Bitfield {
	b := NewBitfield(n)
	for _, i := range set {
		b.Set(i)
	}
	return &b
}

func TestTableGeometry(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		pieceLen int64
		total    int64
		sizes    []int64
		blocks   []int
		lastLen  uint32 // length of the last block of the last piece
	}{
		{"short last piece", testPieces, testPieceLen, testTotal,
			[]int64{32768, 32768, 32768, 1696}, []int{2, 2, 2, 1}, 1696},
		{"short last block", 2, 32768, 32768 + 20000,
			[]int64{32768, 20000}, []int{2, 2}, 20000 - BlockSize},
		{"exact", 2, 32768, 65536, []int64{32768, 32768}, []int{2, 2}, BlockSize},
		{"pieces smaller than a block", 3, 8192, 20000,
			[]int64{8192, 8192, 3616}, []int{1, 1, 1}, 3616},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := NewTable(tt.n, tt.pieceLen, tt.total, nil)
			if tb.NumPieces() != tt.n {
				t.Fatalf("NumPieces() = %d, want %d", tb.NumPieces(), tt.n)
			}
			var sum int64
			for i := range tt.n {
				if got := tb.PieceSize(i); got != tt.sizes[i] {
					t.Errorf("PieceSize(%d) = %d, want %d", i, got, tt.sizes[i])
				}
				if got := tb.NumBlocks(i); got != tt.blocks[i] {
					t.Errorf("NumBlocks(%d) = %d, want %d", i, got, tt.blocks[i])
				}
				sum += tb.PieceSize(i)
			}
			if sum != tt.total || tb.Left() != tt.total {
				t.Errorf("sizes sum to %d, Left() = %d, want %d", sum, tb.Left(), tt.total)
			}
			last := tt.n - 1
			b := tb.blockAt(last, tb.NumBlocks(last)-1)
			if b.Length != tt.lastLen || !tb.Valid(b) {
				t.Errorf("last block %v, want length %d and valid", b, tt.lastLen)
			}
			if tb.PieceSize(tt.n) != 0 || tb.NumBlocks(-1) != 0 {
				t.Errorf("out-of-range piece has a size")
			}
		})
	}
}

func TestTableValid(t *testing.T) {
	tb := NewTable(testPieces, testPieceLen, testTotal, nil)
	tests := []struct {
		name string
		b    Block
		want bool
	}{
		{"first block", Block{0, 0, BlockSize}, true},
		{"second block", Block{2, BlockSize, BlockSize}, true},
		{"short last block", Block{3, 0, 1696}, true},
		{"last block full length", Block{3, 0, BlockSize}, false},
		{"short length mid piece", Block{1, 0, 1000}, false},
		{"zero length", Block{0, 0, 0}, false},
		{"unaligned begin", Block{0, 100, BlockSize}, false},
		{"begin past piece", Block{0, 2 * BlockSize, BlockSize}, false},
		{"begin past last piece", Block{3, BlockSize, 1696}, false},
		{"index out of range", Block{4, 0, BlockSize}, false},
		{"huge index", Block{1<<32 - 1, 0, BlockSize}, false},
		{"oversized", Block{0, 0, 2 * BlockSize}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tb.Valid(tt.b); got != tt.want {
				t.Fatalf("Valid(%v) = %v, want %v", tt.b, got, tt.want)
			}
		})
	}
}

func TestMarkHaveLeftComplete(t *testing.T) {
	tb, _ := newTestTable(t, testPieces, testPieceLen, testTotal, 0)
	want := int64(testTotal)
	for _, i := range []int{3, 0, 0, 2, 1} {
		if !tb.Have().Has(i) {
			want -= tb.PieceSize(i)
		}
		tb.MarkHave(i)
		if tb.Left() != want {
			t.Fatalf("after MarkHave(%d) Left() = %d, want %d", i, tb.Left(), want)
		}
	}
	if !tb.Complete() || tb.Have().Count() != testPieces {
		t.Fatalf("Complete() = %v with %d pieces", tb.Complete(), tb.Have().Count())
	}
	tb.MarkBad(3)
	if tb.Complete() || tb.Have().Has(3) || tb.Left() != 1696 {
		t.Fatalf("MarkBad of a verified piece: Complete %v, Left %d", tb.Complete(), tb.Left())
	}
	if !tb.Pickable(3) {
		t.Fatalf("piece 3 not pickable after MarkBad")
	}
}

func TestMarkBadResets(t *testing.T) {
	tb, seed := newTestTable(t, testPieces, testPieceLen, testTotal, 0)
	tb.MarkHave(1)
	tb.MarkHave(2)
	tb.MarkHave(3)
	got := tb.Next(seed, nil, 10, nil)
	if len(got) != 2 || got[0].Index != 0 {
		t.Fatalf("Next = %v, want both blocks of piece 0", got)
	}
	tb.Received(got[0])
	tb.Unrequest(got[0])
	if !tb.InProgress(0) || tb.Outstanding(got[1]) != 1 {
		t.Fatalf("piece 0 not in progress with block 1 outstanding")
	}
	tb.MarkBad(0)
	if tb.InProgress(0) || tb.Outstanding(got[1]) != 0 {
		t.Fatalf("MarkBad left piece 0 in progress")
	}
	again := tb.Next(seed, nil, 10, nil)
	if len(again) != 2 || again[0] != got[0] || again[1] != got[1] {
		t.Fatalf("after MarkBad Next = %v, want %v", again, got)
	}
	if done, dup := tb.Received(again[0]); done || dup {
		t.Fatalf("Received after reset = done %v dup %v, want a fresh block", done, dup)
	}
}

func TestAvailability(t *testing.T) {
	tb := NewTable(10, testPieceLen, 10*testPieceLen, nil)
	a := bitfield(10, 0, 1, 2)
	b := bitfield(10, 2, 3)
	tb.AddAvail(a)
	tb.AddAvail(b)
	tb.IncAvail(9)
	tb.IncAvail(10) // out of range: ignored
	want := []int{1, 1, 2, 1, 0, 0, 0, 0, 0, 1}
	for i, w := range want {
		if tb.Avail(i) != w {
			t.Errorf("Avail(%d) = %d, want %d", i, tb.Avail(i), w)
		}
	}
	tb.RemoveAvail(a)
	tb.DecAvail(0) // never below zero
	tb.DecAvail(3)
	want = []int{0, 0, 1, 0, 0, 0, 0, 0, 0, 1}
	for i, w := range want {
		if tb.Avail(i) != w {
			t.Errorf("after RemoveAvail Avail(%d) = %d, want %d", i, tb.Avail(i), w)
		}
		if tb.Pickable(i) != (w > 0) {
			t.Errorf("Pickable(%d) = %v with availability %d", i, tb.Pickable(i), w)
		}
	}
	checkBuckets(t, tb)
}

// checkBuckets verifies that every candidate piece sits once in the bucket of
// its availability and no other piece does.
func checkBuckets(t *testing.T, tb *Table) {
	t.Helper()
	seen := make([]bool, tb.numPieces)
	for a, b := range tb.buckets {
		for p, i := range b {
			if int(tb.avail[i]) != a || int(tb.pos[i]) != p || seen[i] {
				t.Fatalf("piece %d in bucket %d at %d: avail %d pos %d", i, a, p, tb.avail[i], tb.pos[i])
			}
			seen[i] = true
		}
	}
	for i, s := range seen {
		candidate := !tb.have.Has(i) && !tb.started.Has(i)
		if s != candidate {
			t.Fatalf("piece %d: in a bucket %v, candidate %v", i, s, candidate)
		}
	}
}
