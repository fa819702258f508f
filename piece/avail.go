package piece

// Availability counts how many connected peers have each piece. Call AddAvail
// with a peer's bitfield when it arrives (and with a full bitfield on a BEP 6
// HaveAll), IncAvail on each Have, and RemoveAvail with the peer's bitfield
// when the peer goes away. Pieces nobody has are never picked.

// AddAvail counts every piece set in b once more: a peer's bitfield arrived.
func (t *Table) AddAvail(b *Bitfield) {
	if b == nil {
		return
	}
	b.forEachSet(t.numPieces, t.incAvail)
}

// RemoveAvail undoes AddAvail (and the IncAvails since) for a peer that went
// away, given its final bitfield. Counts never go below zero.
func (t *Table) RemoveAvail(b *Bitfield) {
	if b == nil {
		return
	}
	b.forEachSet(t.numPieces, t.decAvail)
}

// IncAvail counts piece i once more: a peer sent Have for it. An out-of-range
// i is ignored.
func (t *Table) IncAvail(i int) {
	if i >= 0 && i < t.numPieces {
		t.incAvail(i)
	}
}

// DecAvail counts piece i once less, for a peer that no longer has it (the
// lt_donthave extension, BEP 54). An out-of-range i is ignored.
func (t *Table) DecAvail(i int) {
	if i >= 0 && i < t.numPieces {
		t.decAvail(i)
	}
}

// Avail returns how many peers have piece i (0 for an out-of-range i).
func (t *Table) Avail(i int) int {
	if i < 0 || i >= t.numPieces {
		return 0
	}
	return int(t.avail[i])
}

// incAvail raises piece i's count by one.
func (t *Table) incAvail(i int) { t.setAvail(i, t.avail[i]+1) }

// decAvail lowers piece i's count by one, never below zero.
func (t *Table) decAvail(i int) {
	if t.avail[i] > 0 {
		t.setAvail(i, t.avail[i]-1)
	}
}

// setAvail sets piece i's count to a, keeping the present set and, for a
// candidate, its bucket in step.
func (t *Table) setAvail(i int, a int32) {
	candidate := t.pos[i] >= 0
	if candidate {
		t.removeCandidate(i)
	}
	t.avail[i] = a
	if a > 0 {
		t.present.Set(i)
	} else {
		t.present.Clear(i)
	}
	if candidate {
		t.addCandidate(i)
	}
}

// addCandidate puts piece i into the bucket of its availability.
func (t *Table) addCandidate(i int) {
	a := int(t.avail[i])
	for len(t.buckets) <= a {
		t.buckets = append(t.buckets, nil)
	}
	t.pos[i] = int32(len(t.buckets[a]))
	t.buckets[a] = append(t.buckets[a], int32(i))
}

// removeCandidate takes piece i out of its bucket (swapping the last one in),
// if it is there.
func (t *Table) removeCandidate(i int) {
	p := t.pos[i]
	if p < 0 {
		return
	}
	a := t.avail[i]
	b := t.buckets[a]
	last := b[len(b)-1]
	b[p] = last
	t.pos[last] = p
	t.buckets[a] = b[:len(b)-1]
	t.pos[i] = -1
}
