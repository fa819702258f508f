package mse

import (
	"crypto/rand"
	"fmt"
	"math/big"
)

// keyLen is the length in bytes of a public key and of the shared secret S
// on the wire: big-endian, left-padded with zeros to the size of the prime.
const keyLen = 96

// prime is P, the 768-bit prime of the MSE key exchange (the Oakley group 1
// prime of RFC 2409); the generator is 2.
var prime, primeMinus1, two = dhGroup()

// dhGroup parses P once and derives the constants the key checks need.
func dhGroup() (p, pm1, g *big.Int) {
	p, ok := new(big.Int).SetString("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"+
		"29024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6D"+
		"F25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563", 16)
	if !ok {
		panic("mse: bad prime literal")
	}
	return p, new(big.Int).Sub(p, big.NewInt(1)), big.NewInt(2)
}

// dhKey is one side's key pair: a random 160-bit private exponent x, as the
// specification asks, and the public key 2^x mod P in wire form.
type dhKey struct {
	x   *big.Int
	pub [keyLen]byte
}

// newKey makes a fresh key pair for one handshake.
func newKey() dhKey {
	var r [20]byte
	rand.Read(r[:]) // never fails (crypto/rand, Go 1.24+)
	k := dhKey{x: new(big.Int).SetBytes(r[:])}
	new(big.Int).Exp(two, k.x, prime).FillBytes(k.pub[:])
	return k
}

// secret computes S = y^x mod P from the peer's public key y (keyLen
// bytes). Like libtorrent it refuses y outside [2, P-2]: those keys put S in
// a trivial subgroup (0, 1 or P-1), which a meddler could predict.
func (k dhKey) secret(y []byte) (s [keyLen]byte, err error) {
	yi := new(big.Int).SetBytes(y)
	if yi.Cmp(two) < 0 || yi.Cmp(primeMinus1) >= 0 {
		return s, fmt.Errorf("mse: public key: %w", ErrBadKey)
	}
	new(big.Int).Exp(yi, k.x, prime).FillBytes(s[:])
	return s, nil
}
