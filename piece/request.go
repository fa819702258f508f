package piece

// Requests: which blocks to ask a peer for, and what became of them. A block
// is requestable ("free") while it is neither received nor outstanding; Next
// hands out free blocks only, so outside endgame no block is asked of two
// peers at once.

// Next appends to out up to max blocks for a peer with the pieces in has and
// returns the extended slice. It first takes free blocks of pieces already in
// progress that the peer has, lowest-numbered piece first, so partial pieces
// are finished before new ones are started; then it starts the piece the
// Picker chooses and takes its blocks, repeatedly, until max blocks or nothing
// is left. Returned blocks are marked requested (outstanding count +1). If
// allowed is non-nil (the BEP 6 allowed-fast set while the peer chokes us),
// only pieces in it are eligible.
func (t *Table) Next(has, allowed *Bitfield, max int, out []Block) []Block {
	if has == nil || max <= 0 {
		return out
	}
	want := len(out) + max
	for _, pr := range t.active {
		if len(out) >= want {
			return out
		}
		if pr.free > 0 && has.Has(pr.index) && (allowed == nil || allowed.Has(pr.index)) {
			out = t.take(pr, want, out)
		}
	}
	pool := has
	if allowed != nil {
		pool = t.intersect(has, allowed)
	}
	for len(out) < want {
		i, ok := t.picker.Pick(t, pool)
		if !ok || !t.Pickable(i) || !pool.Has(i) {
			break
		}
		t.start(i)
		out = t.take(t.prog[i], want, out)
	}
	return out
}

// Endgame reports whether every block of every missing piece has been
// received or is outstanding, so the only way to go faster is to ask other
// peers for blocks already requested (NextEndgame). It is false once the
// torrent is complete.
func (t *Table) Endgame() bool {
	candidates := t.numPieces - t.haveCount - len(t.active)
	return !t.Complete() && candidates == 0 && t.free == 0
}

// NextEndgame appends up to max blocks the peer has that are missing and
// already outstanding elsewhere, skipping blocks for which skip(b) is true
// (the caller's own outstanding set for this peer; nil skips nothing), and
// marks them requested again (count +1). The first copy to arrive wins; the
// caller cancels the others.
func (t *Table) NextEndgame(has *Bitfield, max int, skip func(Block) bool, out []Block) []Block {
	if has == nil || max <= 0 {
		return out
	}
	want := len(out) + max
	for _, pr := range t.active {
		if !has.Has(pr.index) {
			continue
		}
		for j, n := range pr.reqs {
			if len(out) >= want {
				return out
			}
			if n == 0 || pr.got.Has(j) {
				continue
			}
			b := t.blockAt(pr.index, j)
			if skip != nil && skip(b) {
				continue
			}
			pr.reqs[j]++
			out = append(out, b)
		}
	}
	return out
}

// Unrequest records that one outstanding request for b is gone: the peer
// choked us, rejected it, timed out or died, we cancelled it, or it arrived.
// The block becomes requestable again when its count reaches 0 and it was not
// received. Blocks that are malformed, not in progress or not outstanding are
// ignored.
func (t *Table) Unrequest(b Block) {
	pr, j, ok := t.lookup(b)
	if !ok || pr.reqs[j] == 0 {
		return
	}
	pr.reqs[j]--
	if pr.reqs[j] == 0 && !pr.got.Has(j) {
		pr.free++
		t.free++
		pr.hint = min(pr.hint, j)
	}
}

// Received records block b's data as stored. It returns done=true when this
// made every block of the piece received (the caller then hashes it), and
// dup=true if the block had already been received (an endgame duplicate) or
// is not tracked at all (malformed, or its piece is not in progress: verified
// already or reset by MarkBad); the caller ignores a dup and should not write
// it over a verified piece. Received does not touch the outstanding count: the
// caller calls Unrequest for its own request.
func (t *Table) Received(b Block) (done, dup bool) {
	pr, j, ok := t.lookup(b)
	if !ok || pr.got.Has(j) {
		return false, true
	}
	pr.got.Set(j)
	pr.nGot++
	if pr.reqs[j] == 0 {
		pr.free--
		t.free--
	}
	return pr.nGot == len(pr.reqs), false
}

// Outstanding returns how many requests are outstanding for b (0 if b is not
// a block of a piece in progress).
func (t *Table) Outstanding(b Block) int {
	pr, j, ok := t.lookup(b)
	if !ok {
		return 0
	}
	return int(pr.reqs[j])
}

// take appends free blocks of pr, in order, until out has want blocks or the
// piece has none left, and marks them requested.
func (t *Table) take(pr *progress, want int, out []Block) []Block {
	j := pr.hint
	for ; j < len(pr.reqs) && pr.free > 0 && len(out) < want; j++ {
		if pr.reqs[j] != 0 || pr.got.Has(j) {
			continue
		}
		pr.reqs[j] = 1
		pr.free--
		t.free--
		out = append(out, t.blockAt(pr.index, j))
	}
	pr.hint = j
	return out
}

// intersect returns has ∧ allowed in the table's scratch bitfield, valid until
// the next call.
func (t *Table) intersect(has, allowed *Bitfield) *Bitfield {
	if t.scratch.n != t.numPieces {
		t.scratch = NewBitfield(t.numPieces)
	}
	for k := range t.scratch.w {
		t.scratch.w[k] = 0
		if k < len(has.w) && k < len(allowed.w) {
			t.scratch.w[k] = has.w[k] & allowed.w[k] & t.span(k)
		}
	}
	return &t.scratch
}
