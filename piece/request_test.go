package piece

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestNextPartialPiecesFirst(t *testing.T) {
	const n = 10
	tb := NewTable(n, 4*BlockSize, n*4*BlockSize, Sequential{})
	all := bitfield(n)
	all.SetAll()
	tb.AddAvail(all)

	// Two peers start pieces 5 and 2, one block each.
	if got := tb.Next(bitfield(n, 5), nil, 1, nil); len(got) != 1 || got[0] != tb.blockAt(5, 0) {
		t.Fatalf("peer with piece 5: Next = %v", got)
	}
	if got := tb.Next(bitfield(n, 2), nil, 1, nil); len(got) != 1 || got[0] != tb.blockAt(2, 0) {
		t.Fatalf("peer with piece 2: Next = %v", got)
	}
	// A seeder finishes piece 2, then 5, before starting a new piece.
	got := tb.Next(all, nil, 7, nil)
	want := []Block{
		tb.blockAt(2, 1), tb.blockAt(2, 2), tb.blockAt(2, 3),
		tb.blockAt(5, 1), tb.blockAt(5, 2), tb.blockAt(5, 3),
		tb.blockAt(0, 0),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Next = %v\nwant %v", got, want)
	}
	// Next appends to out and respects max.
	out := []Block{{Index: 99}}
	out = tb.Next(all, nil, 2, out)
	if len(out) != 3 || out[0].Index != 99 || out[1] != tb.blockAt(0, 1) {
		t.Fatalf("Next appended %v", out)
	}
}

func TestNextNoDuplicatesThenEndgame(t *testing.T) {
	const n = 50
	tb, _ := newTestTable(t, n, 3*BlockSize, n*3*BlockSize-100, 4)
	rng := rand.New(rand.NewPCG(3, 4))
	peers := make([]*Bitfield, 6)
	for p := range peers {
		peers[p] = bitfield(n)
		for i := range n {
			if rng.IntN(2) == 0 {
				peers[p].Set(i)
			}
		}
		peers[p].Clear(n - 1) // only the seeder has the last piece
		tb.AddAvail(peers[p])
	}
	seen := map[Block]bool{}
	mine := make([]map[Block]bool, len(peers))
	for p := range mine {
		mine[p] = map[Block]bool{}
	}
	for round := 0; ; round++ {
		handed := 0
		for p, has := range peers {
			for _, b := range tb.Next(has, nil, 1+rng.IntN(5), nil) {
				if seen[b] {
					t.Fatalf("round %d: block %v handed out twice", round, b)
				}
				if !has.Has(int(b.Index)) || !tb.Valid(b) {
					t.Fatalf("block %v for a peer without the piece or invalid", b)
				}
				seen[b], mine[p][b] = true, true
				handed++
			}
		}
		if handed == 0 {
			break
		}
	}
	// The seeder from newTestTable was never asked: it covers what peers lack.
	if tb.Endgame() {
		t.Fatalf("Endgame() true while pieces only the seeder has are unrequested")
	}
	seeder := bitfield(n)
	seeder.SetAll()
	for _, b := range tb.Next(seeder, nil, 1000, nil) {
		if seen[b] {
			t.Fatalf("seeder got %v twice", b)
		}
		seen[b] = true
	}
	total := 0
	for i := range n {
		total += tb.NumBlocks(i)
	}
	if len(seen) != total || !tb.Endgame() {
		t.Fatalf("handed out %d of %d blocks, Endgame() = %v", len(seen), total, tb.Endgame())
	}

	// Endgame: peer 0 gets only blocks outstanding elsewhere.
	skip := func(b Block) bool { return mine[0][b] }
	dups := tb.NextEndgame(peers[0], 1000, skip, nil)
	if len(dups) == 0 {
		t.Fatalf("NextEndgame handed out nothing")
	}
	for _, b := range dups {
		if mine[0][b] || !peers[0].Has(int(b.Index)) || tb.Outstanding(b) != 2 {
			t.Fatalf("NextEndgame gave %v: own %v, outstanding %d", b, mine[0][b], tb.Outstanding(b))
		}
	}
	if got := tb.NextEndgame(peers[0], 3, skip, nil); len(got) != 3 {
		t.Fatalf("NextEndgame with max 3 gave %d blocks", len(got))
	}
}

func TestUnrequest(t *testing.T) {
	tb, seed := newTestTable(t, testPieces, testPieceLen, testTotal, 0)
	got := tb.Next(seed, nil, 100, nil)
	if len(got) != 7 || !tb.Endgame() {
		t.Fatalf("Next gave %d blocks, want all 7; Endgame %v", len(got), tb.Endgame())
	}
	var b Block // the first block of a two-block piece
	for _, x := range got {
		if x.Begin == 0 && x.Index != 3 {
			b = x
		}
	}
	tb.NextEndgame(seed, 100, func(x Block) bool { return x != b }, nil)
	if tb.Outstanding(b) != 2 {
		t.Fatalf("Outstanding = %d, want 2", tb.Outstanding(b))
	}
	tb.Unrequest(b)
	if again := tb.Next(seed, nil, 100, nil); len(again) != 0 {
		t.Fatalf("block with a request left was handed out again: %v", again)
	}
	tb.Unrequest(b)
	tb.Unrequest(b) // not outstanding: ignored
	if tb.Endgame() {
		t.Fatalf("Endgame() true with a free block")
	}
	again := tb.Next(seed, nil, 100, nil)
	if len(again) != 1 || again[0] != b || tb.Outstanding(b) != 1 {
		t.Fatalf("after Unrequest Next = %v, want [%v]", again, b)
	}
	// A received block is not requestable again when its request goes.
	tb.Received(got[0])
	tb.Unrequest(got[0])
	if again := tb.Next(seed, nil, 100, nil); len(again) != 0 {
		t.Fatalf("received block handed out again: %v", again)
	}
	tb.Unrequest(Block{Index: 7}) // malformed: ignored
}

func TestUnrequestAroundOutstanding(t *testing.T) {
	tb, seed := newTestTable(t, 1, 3*BlockSize, 3*BlockSize, 0)
	got := tb.Next(seed, nil, 3, nil)
	if len(got) != 3 {
		t.Fatalf("Next = %v, want 3 blocks", got)
	}
	tb.Unrequest(got[2])
	tb.Unrequest(got[0])
	again := tb.Next(seed, nil, 3, nil)
	if len(again) != 2 || again[0] != got[0] || again[1] != got[2] {
		t.Fatalf("Next = %v, want blocks 0 and 2 but not the outstanding 1", again)
	}
}

func TestReceived(t *testing.T) {
	tb, seed := newTestTable(t, testPieces, testPieceLen, testTotal, 0)
	blocks := tb.Next(seed, nil, 100, nil)
	byPiece := map[uint32][]Block{}
	for _, b := range blocks {
		byPiece[b.Index] = append(byPiece[b.Index], b)
	}
	tests := []struct {
		name      string
		b         Block
		done, dup bool
	}{
		{"first of two", byPiece[0][0], false, false},
		{"same again", byPiece[0][0], false, true},
		{"second of two", byPiece[0][1], true, false},
		{"second again", byPiece[0][1], false, true},
		{"single short block", byPiece[3][0], true, false},
		{"malformed", Block{Index: 1, Begin: 1, Length: BlockSize}, false, true},
		{"out of range", Block{Index: 9, Length: BlockSize}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done, dup := tb.Received(tt.b)
			if done != tt.done || dup != tt.dup {
				t.Fatalf("Received(%v) = %v, %v; want %v, %v", tt.b, done, dup, tt.done, tt.dup)
			}
		})
	}
	if tb.Outstanding(byPiece[0][0]) != 1 {
		t.Fatalf("Received changed the outstanding count")
	}
	tb.MarkHave(0)
	if done, dup := tb.Received(byPiece[0][0]); done || !dup {
		t.Fatalf("block of a verified piece: done %v dup %v", done, dup)
	}
	if tb.InProgress(0) || tb.Outstanding(byPiece[0][0]) != 0 {
		t.Fatalf("verified piece still in progress")
	}
}

// TestFullDownload simulates peers downloading the whole torrent, blocks
// arriving out of order, some requests lost, one piece failing its hash check
// once. Every piece must be verified exactly once.
func TestFullDownload(t *testing.T) {
	tests := []struct {
		name   string
		picker Picker
	}{
		{"rarest first", &RarestFirst{Rand: rand.New(rand.NewPCG(5, 6))}},
		{"sequential", Sequential{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 37
			tb := NewTable(n, 2*BlockSize, n*2*BlockSize-5000, tt.picker)
			simulate(t, tb, rand.New(rand.NewPCG(7, 8)))
		})
	}
}

// simulate runs three peers against tb until it is complete.
func simulate(t *testing.T, tb *Table, rng *rand.Rand) {
	t.Helper()
	n := tb.NumPieces()
	peers := []*Bitfield{bitfield(n), bitfield(n), bitfield(n)}
	peers[0].SetAll()
	for i := range n {
		peers[1+i%2].Set(i)
	}
	for _, p := range peers {
		tb.AddAvail(p)
	}
	verified := make([]int, n)
	failed := false
	var inflight []Block
	for steps := 0; !tb.Complete(); steps++ {
		if steps > 100000 {
			t.Fatalf("no progress: %d of %d verified", tb.Have().Count(), n)
		}
		for _, p := range peers {
			inflight = tb.Next(p, nil, rng.IntN(4), inflight)
		}
		if tb.Endgame() {
			own := func(b Block) bool { return slices.Contains(inflight, b) }
			inflight = tb.NextEndgame(peers[0], 2, own, inflight)
		}
		if len(inflight) == 0 {
			continue
		}
		k := rng.IntN(len(inflight))
		b := inflight[k]
		inflight = slices.Delete(inflight, k, k+1)
		if rng.IntN(10) == 0 { // request lost
			tb.Unrequest(b)
			continue
		}
		done, dup := tb.Received(b)
		tb.Unrequest(b)
		if dup || !done {
			continue
		}
		i := int(b.Index)
		if i == n/2 && !failed {
			failed = true
			tb.MarkBad(i)
			continue
		}
		verified[i]++
		tb.MarkHave(i)
	}
	for i, v := range verified {
		if v != 1 {
			t.Fatalf("piece %d verified %d times", i, v)
		}
	}
	if tb.Left() != 0 || tb.Endgame() || len(tb.active) != 0 || tb.free != 0 {
		t.Fatalf("complete but Left %d, Endgame %v, %d active", tb.Left(), tb.Endgame(), len(tb.active))
	}
	checkBuckets(t, tb)
}
