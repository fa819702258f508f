// Package peer implements the BitTorrent peer wire protocol and nothing
// above it: the handshake (BEP 3) with the reserved bits of the Fast
// extension (BEP 6), the extension protocol (BEP 10) and DHT (BEP 5),
// length-prefixed message framing, and the encoding and decoding of every
// BEP 3 and BEP 6 message. A BEP 10 extended message is carried as an
// (ExtID, payload) pair; ext.go, metadata.go and pex.go decode and encode
// the payloads of the extension handshake, ut_metadata (BEP 9) and ut_pex
// (BEP 11). Which id means which extension is the session's business.
//
// The package holds no session state: choking, interest, requests and
// bitfield semantics (such as the right bitfield length for a torrent) are
// checked by the caller. What this package guarantees is that every frame it
// returns has the exact size its message ID requires and that no frame
// larger than the configured limit is ever buffered.
package peer
