package piece

import (
	"math/bits"
	"math/rand/v2"
)

// Picker chooses the next piece to start for a peer that has the pieces in
// has. It is pluggable so the session can download rarest-first now and
// sequentially (for streaming) later. Pick must return a piece for which
// t.Pickable(i) and has.Has(i) are both true, or ok=false; Table.Next starts
// the piece it returns.
type Picker interface {
	Pick(t *Table, has *Bitfield) (index int, ok bool)
}

// DefaultRandomFirst is how many pieces RarestFirst picks at random before it
// turns to rarest first, when its RandomFirst field is 0.
const DefaultRandomFirst = 4

// RarestFirst picks uniformly at random among eligible pieces while fewer than
// RandomFirst pieces are complete (so a new peer soon has something to trade,
// and peers starting together do not all fetch the same piece), then the
// eligible piece with the lowest availability, ties broken at random (a random
// starting point in the bucket of that availability). Eligible means the peer
// has it, we do not have it, it is not in progress, and availability > 0.
//
// RandomFirst 0 means DefaultRandomFirst and a negative value turns the random
// phase off; a nil Rand is replaced by a randomly seeded one on first use.
// Owned by the loop goroutine, like the Table it serves.
type RarestFirst struct {
	RandomFirst int
	Rand        *rand.Rand
}

// Pick implements Picker.
func (r *RarestFirst) Pick(t *Table, has *Bitfield) (int, bool) {
	if t == nil || has == nil {
		return 0, false
	}
	if r.Rand == nil {
		r.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	n := r.RandomFirst
	if n == 0 {
		n = DefaultRandomFirst
	}
	if t.haveCount < n {
		return t.pickRandom(has, r.Rand)
	}
	return t.pickRarest(has, r.Rand)
}

// Sequential picks the lowest-index eligible piece, for streaming: the
// beginning of a file becomes playable first.
type Sequential struct{}

// Pick implements Picker.
func (Sequential) Pick(t *Table, has *Bitfield) (int, bool) {
	if t == nil || has == nil {
		return 0, false
	}
	for k := range t.words(has) {
		if x := t.eligible(has, k); x != 0 {
			return k<<6 + bits.LeadingZeros64(x), true
		}
	}
	return 0, false
}

// Pickable reports whether piece i may be started: it is in range, not
// verified, not in progress, and at least one peer has it. Custom pickers use
// it to filter their choice.
func (t *Table) Pickable(i int) bool {
	return i >= 0 && i < t.numPieces && t.pos[i] >= 0 && t.avail[i] > 0
}

// Wants reports whether has holds a piece we have not verified: whether we
// are interested in a peer with that bitfield (BEP 3 interested).
func (t *Table) Wants(has *Bitfield) bool {
	if has == nil {
		return false
	}
	for k := range t.words(has) {
		if has.w[k]&^t.have.w[k]&t.span(k) != 0 {
			return true
		}
	}
	return false
}

// pickRandom returns a piece chosen uniformly among the eligible ones.
func (t *Table) pickRandom(has *Bitfield, rng *rand.Rand) (int, bool) {
	count := 0
	for k := range t.words(has) {
		count += bits.OnesCount64(t.eligible(has, k))
	}
	if count == 0 {
		return 0, false
	}
	nth := rng.IntN(count)
	for k := range t.words(has) {
		x := t.eligible(has, k)
		if c := bits.OnesCount64(x); nth >= c {
			nth -= c
			continue
		}
		return k<<6 + nthSet(x, nth), true
	}
	return 0, false
}

// pickRarest returns an eligible piece of the lowest availability, scanning
// the buckets upward from availability 1 and each bucket from a random start.
func (t *Table) pickRarest(has *Bitfield, rng *rand.Rand) (int, bool) {
	for a := 1; a < len(t.buckets); a++ {
		b := t.buckets[a]
		if len(b) == 0 {
			continue
		}
		s := rng.IntN(len(b))
		for j := range b {
			if i := int(b[(s+j)%len(b)]); has.Has(i) {
				return i, true
			}
		}
	}
	return 0, false
}

// words returns how many words of has line up with the table's bitfields.
func (t *Table) words(has *Bitfield) int { return min(len(has.w), len(t.have.w)) }

// span returns word k of a bitfield with every piece of the torrent set.
func (t *Table) span(k int) uint64 {
	if r := t.numPieces - k<<6; r < 64 {
		return ^uint64(0) << (64 - r)
	}
	return ^uint64(0)
}

// eligible returns word k of the pieces a peer with has could start for us.
func (t *Table) eligible(has *Bitfield, k int) uint64 {
	return has.w[k] & t.present.w[k] &^ t.have.w[k] &^ t.started.w[k]
}
