package mse

import "errors"

// Errors a misbehaving or incompatible peer causes. Initiate and Accept wrap
// them with what they were doing; compare with errors.Is. Network errors
// (os.ErrDeadlineExceeded at the timeout, io.ErrUnexpectedEOF) come back
// wrapped the same way.
var (
	// ErrBadKey: the peer's public key lies outside [2, P-2].
	ErrBadKey = errors.New("public key out of range")
	// ErrNoSync: the peer's sync marker (HASH('req1', S) or the encrypted
	// VC) did not come within the padding bound.
	ErrNoSync = errors.New("no sync marker within bound")
	// ErrUnknownTorrent: the obfuscated info hash matches no torrent served.
	ErrUnknownTorrent = errors.New("unknown torrent")
	// ErrBadVC: the verification constant did not decrypt to zeros.
	ErrBadVC = errors.New("bad verification constant")
	// ErrMethod: no crypto method acceptable to both sides, or a selection
	// that was not offered.
	ErrMethod = errors.New("no acceptable crypto method")
	// ErrPad: a padding length above 512.
	ErrPad = errors.New("padding too long")
	// ErrIA: an initial payload longer than MaxIA.
	ErrIA = errors.New("initial payload too long")
)
