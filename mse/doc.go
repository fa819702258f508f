// Package mse implements BitTorrent Message Stream Encryption, also called
// Protocol Encryption (MSE/PE), on both sides of a connection, as the
// Azureus/Vuze specification describes it and libtorrent, aria2 and
// anacrolix/torrent implement it.
//
// The handshake has four steps; A is the initiator (Initiate), B the
// responder (Accept):
//
//	1 A->B: Ya, PadA
//	2 B->A: Yb, PadB
//	3 A->B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
//	        ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
//	4 B->A: ENCRYPT(VC, crypto_select, len(PadD), PadD)
//
// Ya and Yb are 768-bit Diffie-Hellman public keys, S the shared secret,
// SKEY the torrent's info hash, VC eight zero bytes, IA the initiator's
// first application bytes (its BitTorrent handshake). ENCRYPT is RC4 keyed
// with HASH('keyA', S, SKEY) from A to B and HASH('keyB', S, SKEY) from B to
// A, the first 1024 bytes of each keystream discarded. After step 4 the
// stream continues in RC4 or in plaintext, as crypto_select says.
//
// MSE is obfuscation against traffic shaping, not security: nothing
// authenticates the peer.
//
// Both sides read no byte past the end of the handshake, so for plaintext
// the original net.Conn comes back unwrapped and keeps its fast paths.
// Wrapped connections forward deadlines, Close and addresses, and have a
// NetConn method returning the socket underneath.
package mse
