package mse

import (
	"crypto/rc4"
	"crypto/sha1"
	"fmt"
)

// vcLen is the length of the verification constant VC, eight zero bytes.
const vcLen = 8

// discardLen is how much of each RC4 keystream both sides throw away
// before the first byte they encrypt, per the specification.
const discardLen = 1024

// sum returns HASH(tag, a, b): SHA-1 over the concatenation, tag being one
// of the four-byte labels of the specification ("req1", "keyA", ...).
func sum(tag string, a, b []byte) [20]byte {
	var buf [4 + keyLen + 20]byte
	n := copy(buf[:], tag)
	n += copy(buf[n:], a)
	n += copy(buf[n:], b)
	return sha1.Sum(buf[:n])
}

// Req2 returns HASH('req2', infoHash). A responder serving many torrents
// computes it once per torrent and matches it against the value its skeys
// callback gets from Accept.
func Req2(infoHash [20]byte) [20]byte { return sum("req2", infoHash[:], nil) }

// streams returns the RC4 ciphers of one connection: enc for what this side
// sends, dec for what it receives. The initiator (A) sends with
// HASH('keyA', S, SKEY) and receives with HASH('keyB', S, SKEY).
func streams(s *[keyLen]byte, skey [20]byte, initiator bool) (enc, dec *rc4.Cipher, err error) {
	a, err := newStream(sum("keyA", s[:], skey[:]))
	if err != nil {
		return nil, nil, err
	}
	b, err := newStream(sum("keyB", s[:], skey[:]))
	if err != nil {
		return nil, nil, err
	}
	if initiator {
		return a, b, nil
	}
	return b, a, nil
}

// newStream keys RC4 and discards the first discardLen bytes of keystream.
// It fails only where the runtime forbids RC4 (FIPS 140-only mode).
func newStream(key [20]byte) (*rc4.Cipher, error) {
	c, err := rc4.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("mse: %w", err)
	}
	var discard [discardLen]byte
	c.XORKeyStream(discard[:], discard[:])
	return c, nil
}
