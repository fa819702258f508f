package dht

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"net/netip"
	"time"
)

// TokenRotate is how often the token secret changes. BEP 5: the secret
// changes every five minutes and tokens up to ten minutes old are
// accepted.
const TokenRotate = 5 * time.Minute

// Tokens makes and checks the tokens a node hands out in get_peers
// replies and requires in announce_peer queries (BEP 5). A token is
// HMAC-SHA1(secret, requester's IP): the requester must have received it
// at that IP, and we keep no per-requester state. A token made with the
// current or previous secret is valid, so a token lives 5 to 10 minutes.
// Owned by the node's loop goroutine.
type Tokens struct {
	now       func() time.Time
	cur, prev [20]byte
	rotated   time.Time // when cur was made
}

// NewTokens returns a token source reading the time from now (time.Now
// when nil), so tests can move the clock.
func NewTokens(now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	t := &Tokens{now: now}
	rand.Read(t.cur[:])
	rand.Read(t.prev[:])
	t.rotated = now()
	return t
}

// rotate brings the secrets up to date: one rotation per TokenRotate
// elapsed, at most two (after which both secrets are new).
func (t *Tokens) rotate() {
	now := t.now()
	for i := 0; i < 2 && now.Sub(t.rotated) >= TokenRotate; i++ {
		t.prev = t.cur
		rand.Read(t.cur[:])
		t.rotated = t.rotated.Add(TokenRotate)
	}
	if now.Sub(t.rotated) >= TokenRotate {
		t.rotated = now
	}
}

// Token returns the token for a requester at ip: 20 bytes.
func (t *Tokens) Token(ip netip.Addr) []byte {
	t.rotate()
	return token(t.cur, ip)
}

// ValidToken reports whether tok is a token we gave to a requester at ip
// with the current or the previous secret.
func (t *Tokens) ValidToken(tok []byte, ip netip.Addr) bool {
	t.rotate()
	return hmac.Equal(tok, token(t.cur, ip)) || hmac.Equal(tok, token(t.prev, ip))
}

// token returns HMAC-SHA1(secret, ip), ip in its 4- or 16-byte form (an
// IPv4-mapped address counts as IPv4).
func token(secret [20]byte, ip netip.Addr) []byte {
	h := hmac.New(sha1.New, secret[:])
	h.Write(ip.Unmap().AsSlice())
	return h.Sum(nil)
}
