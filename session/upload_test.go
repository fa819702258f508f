package session

import (
	"testing"
	"time"

	"github.com/unworkable/unworkable/peer"
)

// TestFillSlots checks that an upload slot freed between rechokes (a peer
// left or lost interest) goes at once to the best choked, interested peer,
// and that no more than uploadSlots+1 interested peers are ever unchoked.
func TestFillSlots(t *testing.T) {
	m := makeTorrent(t, t.TempDir(), []int64{1 << 20}, 1<<18)
	s, err := openSession(t, Config{Meta: m, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	add := func(rate float64, choked bool) *peerConn {
		p := &peerConn{out: make(chan *peer.Msg, 8), amChoking: choked, peerInterested: true}
		p.down.rate = rate
		s.sw.peers[p] = struct{}{}
		return p
	}
	var busy []*peerConn
	for range uploadSlots + 1 {
		busy = append(busy, add(10, false))
	}
	slow, fast, mid := add(1, true), add(3, true), add(2, true)
	s.fillSlots(time.Now())
	for _, p := range []*peerConn{slow, fast, mid} {
		if !p.amChoking {
			t.Fatalf("a peer at rate %v was unchoked with every slot taken", p.down.rate)
		}
	}
	busy[0].peerInterested = false // it finished
	busy[1].dead = true            // it left
	s.fillSlots(time.Now())
	if fast.amChoking || mid.amChoking {
		t.Errorf("the two best choked peers still choked after two slots were freed")
	}
	if !slow.amChoking {
		t.Errorf("the slowest peer was unchoked beyond the slots")
	}
	if len(fast.out) != 1 || (<-fast.out).ID != peer.Unchoke {
		t.Errorf("no Unchoke message queued for the unchoked peer")
	}
}
