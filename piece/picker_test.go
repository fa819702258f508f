package piece

import (
	"math/rand/v2"
	"testing"
)

// startOrder calls Next for a peer with every piece, one piece's worth at a
// time, and returns the pieces in the order they were started.
func startOrder(tb *Table, blocksPerPiece int) []int {
	all := bitfield(tb.NumPieces())
	all.SetAll()
	var order []int
	for {
		got := tb.Next(all, nil, blocksPerPiece, nil)
		if len(got) == 0 {
			return order
		}
		order = append(order, int(got[0].Index))
	}
}

func TestRarestFirstOrder(t *testing.T) {
	const n = 13
	tb := NewTable(n, 2*BlockSize, n*2*BlockSize,
		&RarestFirst{RandomFirst: 2, Rand: rand.New(rand.NewPCG(9, 9))})
	// Availability: piece i has extra[i] more peers than the one seeder;
	// pieces 0 and 1 are verified so the random phase is over. Nobody has
	// piece 12, so it is never started.
	extra := []int{0, 0, 5, 3, 9, 1, 7, 2, 8, 6, 4, 3, 0}
	seed := bitfield(n)
	seed.SetAll()
	seed.Clear(12)
	tb.AddAvail(seed)
	for i, e := range extra {
		for range e {
			tb.IncAvail(i)
		}
	}
	tb.MarkHave(0)
	tb.MarkHave(1)
	got := startOrder(tb, 2)
	// Pieces 3 and 11 tie at availability 4: either may come first.
	want := [][]int{{5}, {7}, {3, 11}, {3, 11}, {10}, {2}, {9}, {6}, {8}, {4}}
	if len(got) != len(want) {
		t.Fatalf("start order %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w[0] && (len(w) == 1 || got[k] != w[1]) {
			t.Fatalf("start order %v: position %d is %d, want one of %v", got, k, got[k], w)
		}
	}
	if got[2] == got[3] {
		t.Fatalf("piece %d started twice", got[2])
	}
}

func TestRarestFirstTiesRandom(t *testing.T) {
	const n = 10
	tb, seed := newTestTable(t, n, BlockSize, n*BlockSize, 0)
	p := &RarestFirst{RandomFirst: -1}
	counts := make([]int, n)
	for range 1000 {
		i, ok := p.Pick(tb, seed)
		if !ok {
			t.Fatalf("Pick found nothing")
		}
		counts[i]++
	}
	for i, c := range counts {
		if c == 0 {
			t.Fatalf("piece %d never picked among equals: %v", i, counts)
		}
	}
}

func TestRandomFirstEligibleOnly(t *testing.T) {
	const n = 40
	tb := NewTable(n, BlockSize, n*BlockSize, nil)
	// Availability rises with the index, so rarest first would always pick
	// the lowest eligible piece.
	for i := range n {
		for range i + 1 {
			tb.IncAvail(i)
		}
	}
	tb.MarkHave(10)                       // verified
	tb.Next(bitfield(n, 11), nil, 1, nil) // in progress
	has := bitfield(n, 3, 10, 11, 12, 20, 30, 39)
	has.Set(41) // out of range: never picked
	tb.RemoveAvail(bitfield(n, 12))
	for range 12 {
		tb.DecAvail(12) // nobody has 12 any more
	}
	eligible := map[int]int{3: 0, 20: 0, 30: 0, 39: 0}
	p := &RarestFirst{RandomFirst: 4, Rand: rand.New(rand.NewPCG(1, 1))}
	for range 2000 {
		i, ok := p.Pick(tb, has)
		if _, good := eligible[i]; !ok || !good {
			t.Fatalf("random phase picked %d (ok %v), eligible %v", i, ok, eligible)
		}
		eligible[i]++
	}
	for i, c := range eligible {
		if c < 300 {
			t.Fatalf("piece %d picked %d of 2000 times, want about 500: %v", i, c, eligible)
		}
	}
	if i, ok := p.Pick(tb, bitfield(n, 10, 11, 12)); ok {
		t.Fatalf("Pick with nothing eligible returned %d", i)
	}
}

func TestSequential(t *testing.T) {
	const n = 8
	tb := NewTable(n, BlockSize, n*BlockSize, Sequential{})
	tb.AddAvail(bitfield(n, 0, 1, 3, 4, 5, 6, 7))
	tb.MarkHave(0)
	tb.Next(bitfield(n, 1), nil, 1, nil) // piece 1 in progress
	got := startOrder(tb, 1)
	want := []int{3, 4, 5, 6, 7} // 2: nobody has it
	if len(got) != len(want) {
		t.Fatalf("sequential order %v, want %v", got, want)
	}
	for k := range want {
		if got[k] != want[k] {
			t.Fatalf("sequential order %v, want %v", got, want)
		}
	}
}

func TestNextAllowedFast(t *testing.T) {
	const n = 10
	tb, seed := newTestTable(t, n, 2*BlockSize, n*2*BlockSize, 0)
	tb.Next(bitfield(n, 5), nil, 1, nil) // piece 5 partly requested
	allowed := bitfield(n, 3, 8)
	got := tb.Next(seed, allowed, 100, nil)
	if len(got) != 4 {
		t.Fatalf("allowed-fast Next = %v, want the 4 blocks of pieces 3 and 8", got)
	}
	for _, b := range got {
		if b.Index != 3 && b.Index != 8 {
			t.Fatalf("allowed-fast Next gave %v outside the allowed set", b)
		}
	}
	if more := tb.Next(seed, allowed, 100, nil); len(more) != 0 {
		t.Fatalf("second allowed-fast Next = %v, want nothing", more)
	}
	if rest := tb.Next(seed, nil, 100, nil); len(rest) != 2*n-4-1 || rest[0] != tb.blockAt(5, 1) {
		t.Fatalf("unrestricted Next gave %d blocks starting %v", len(rest), rest[0])
	}
}

// badPicker returns a fixed answer, however wrong.
type badPicker struct{ i int }

func (p badPicker) Pick(*Table, *Bitfield) (int, bool) { return p.i, true }

func TestNextRefusesBadPicks(t *testing.T) {
	for _, i := range []int{-1, 0, 1, 2, 4} {
		tb := NewTable(4, BlockSize, 4*BlockSize, badPicker{i})
		tb.AddAvail(bitfield(4, 1, 2, 3))
		tb.MarkHave(2)
		if got := tb.Next(bitfield(4, 0, 2, 3), nil, 10, nil); len(got) != 0 {
			t.Fatalf("picker answering %d: Next = %v, want nothing", i, got)
		}
	}
}

func TestWants(t *testing.T) {
	const n = 70
	tb := NewTable(n, BlockSize, n*BlockSize, nil)
	tb.MarkHave(3)
	tb.MarkHave(69)
	long := NewBitfield(n + 10)
	long.Set(n + 2) // a piece past the end is not wanted
	tests := []struct {
		name string
		has  *Bitfield
		want bool
	}{
		{"nothing", bitfield(n), false},
		{"only what we have", bitfield(n, 3, 69), false},
		{"something new", bitfield(n, 3, 68), true},
		{"past the end", &long, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tb.Wants(tt.has); got != tt.want {
				t.Fatalf("Wants = %v, want %v", got, tt.want)
			}
		})
	}
}
