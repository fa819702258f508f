package peer

import (
	"errors"
	"testing"
	"time"
)

// TestSelfDialBothSides connects Initiate and Accept with the same peer id,
// as when a tracker hands us our own address: both sides must report
// ErrSelf, so the dialer can stop dialing that address (it would otherwise
// see only a closed connection and retry).
func TestSelfDialBothSides(t *testing.T) {
	a, b := pipe(t)
	ours := hs("01234567890123456789", "-UW0100-abcdefghijkl", true, false)
	acc := goAccept(b, ours, 5*time.Second)
	_, err := Initiate(a, ours, 5*time.Second)
	if !errors.Is(err, ErrSelf) {
		t.Errorf("Initiate: %v, want ErrSelf", err)
	}
	if r := <-acc; !errors.Is(r.err, ErrSelf) {
		t.Errorf("Accept: %v, want ErrSelf", r.err)
	}
}
