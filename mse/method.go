package mse

import (
	"fmt"
	"strings"
)

// Method is a set of stream encryption methods: the crypto_provide and
// crypto_select bit fields of the handshake.
type Method uint32

// The methods of the specification. A Method value may hold both bits when
// it is what an initiator provides; what a responder selects holds one.
const (
	Plaintext Method = 0x01 // the stream after the handshake is not encrypted
	RC4       Method = 0x02 // the stream stays RC4-encrypted
)

// both is every method this package knows.
const both = Plaintext | RC4

// String names the methods in m, such as "plaintext|rc4".
func (m Method) String() string {
	var names []string
	if m&Plaintext != 0 {
		names = append(names, "plaintext")
	}
	if m&RC4 != 0 {
		names = append(names, "rc4")
	}
	if rest := m &^ both; rest != 0 || m == 0 {
		names = append(names, fmt.Sprintf("%#x", uint32(rest)))
	}
	return strings.Join(names, "|")
}

// single reports whether m is exactly one known method, as a selection
// must be.
func (m Method) single() bool { return m == Plaintext || m == RC4 }

// PreferPlaintext is an Accept policy: plaintext when the initiator offers
// it (only the handshake is obfuscated, the stream costs nothing), else RC4.
func PreferPlaintext(provided Method) Method {
	if provided&Plaintext != 0 {
		return Plaintext
	}
	return provided & RC4
}

// PreferRC4 is an Accept policy: RC4 when the initiator offers it, else
// plaintext.
func PreferRC4(provided Method) Method {
	if provided&RC4 != 0 {
		return RC4
	}
	return provided & Plaintext
}

// RequireRC4 is an Accept policy that selects RC4 and refuses an initiator
// offering only plaintext.
func RequireRC4(provided Method) Method { return provided & RC4 }

// IsPlainHandshake reports whether prefix, the first bytes read from an
// incoming connection, starts a plain BitTorrent handshake (byte 19, then
// "BitTorrent protocol") rather than an MSE public key. It needs 20 bytes.
func IsPlainHandshake(prefix []byte) bool {
	return len(prefix) >= 20 && prefix[0] == 19 && string(prefix[1:20]) == "BitTorrent protocol"
}
