package mse

import (
	"encoding/binary"
	"fmt"
	"net"
	"time"
)

// responderAfterSync is what an initiator certainly sends after
// HASH('req1', S): the obfuscated info hash, VC, crypto_provide,
// len(PadC) and len(IA).
const responderAfterSync = 20 + vcLen + 4 + 2 + 2

// Accept runs the responder's side of the handshake on c. prefix holds the
// bytes the caller already read from c to tell MSE from a plain handshake
// (see IsPlainHandshake): the start of the initiator's public key.
//
// skeys maps HASH('req2', SKEY), which Accept recovers from the stream, to
// the info hash of a torrent served (see Req2); ok false refuses the
// connection. allow picks one method out of those the initiator provides
// (see PreferPlaintext, PreferRC4, RequireRC4); anything but a single
// provided method refuses the connection. Neither may be nil; both are
// called on Accept's goroutine.
//
// Accept returns the connection for the rest of the stream (c itself for
// plaintext unless prefix held bytes past the handshake, else a wrapper),
// the torrent, the selected method and the initiator's IA, decrypted: the
// first bytes of its stream, normally its BitTorrent handshake. IA may be
// empty; then the handshake comes on the returned connection.
//
// The whole handshake must finish within timeout (no limit when timeout
// <= 0); c's deadline is cleared before Accept returns. On error the
// caller closes c.
func Accept(c net.Conn, prefix []byte, skeys func(x [20]byte) ([20]byte, bool),
	allow func(provided Method) Method, timeout time.Duration,
) (conn net.Conn, infoHash [20]byte, sel Method, ia []byte, err error) {
	h, err := begin(c, prefix, timeout)
	if err != nil {
		return nil, infoHash, 0, nil, err
	}
	infoHash, sel, ia, err = h.accept(skeys, allow)
	if err = h.end(err); err != nil {
		return nil, [20]byte{}, 0, nil, err
	}
	return wrapConn(c, h, sel), infoHash, sel, ia, nil
}

// accept runs steps 1 to 4 on the responder's side.
func (h *handshake) accept(skeys func([20]byte) ([20]byte, bool), allow func(Method) Method) (
	ih [20]byte, sel Method, ia []byte, err error,
) {
	if err = h.peerKey("Ya"); err != nil {
		return ih, 0, nil, err
	}
	h.sendKey()
	req1 := sum("req1", h.s[:], nil)
	if err = h.r.sync(req1[:], maxPad+len(req1), responderAfterSync); err != nil {
		return ih, 0, nil, wrap("sync on HASH('req1', S)", err)
	}
	if ih, err = h.torrent(skeys); err != nil {
		return ih, 0, nil, err
	}
	if sel, err = h.provided(allow); err != nil {
		return ih, 0, nil, err
	}
	if ia, err = h.readIA(); err != nil {
		return ih, 0, nil, err
	}
	b := appendCrypto(nil, sel, padLen())
	h.enc.XORKeyStream(b, b)
	h.w.send(b)
	return ih, sel, ia, nil
}

// torrent reads HASH('req2', SKEY) xor HASH('req3', S), asks skeys which
// torrent it names and keys the streams for it; then it checks VC.
func (h *handshake) torrent(skeys func([20]byte) ([20]byte, bool)) (ih [20]byte, err error) {
	b, err := h.r.next(20 + vcLen)
	if err != nil {
		return ih, wrap("read obfuscated info hash", err)
	}
	req3 := sum("req3", h.s[:], nil)
	var x [20]byte
	for i := range x {
		x[i] = b[i] ^ req3[i]
	}
	ih, ok := skeys(x)
	if !ok {
		return ih, fmt.Errorf("mse: %w", ErrUnknownTorrent)
	}
	if err = h.setStreams(ih, false); err != nil {
		return ih, err
	}
	vc := b[20:]
	h.dec.XORKeyStream(vc, vc)
	if vc := binary.BigEndian.Uint64(vc); vc != 0 {
		return ih, fmt.Errorf("mse: VC %016x: %w", vc, ErrBadVC)
	}
	return ih, nil
}

// provided reads crypto_provide and PadC and lets allow select a method.
// The specification calls a zero crypto_provide invalid; so is a choice of
// allow that is not one of the methods provided.
func (h *handshake) provided(allow func(Method) Method) (Method, error) {
	provide, pad, err := h.readCrypto("crypto_provide")
	if err != nil {
		return 0, err
	}
	var sel Method
	if provide&both != 0 {
		sel = allow(provide & both)
	}
	if !sel.single() || sel&provide == 0 {
		return 0, fmt.Errorf("mse: initiator provides %v: %w", provide, ErrMethod)
	}
	return sel, h.skip("PadC", pad)
}

// readIA reads len(IA) and IA and returns IA decrypted, in a slice of its
// own.
func (h *handshake) readIA() ([]byte, error) {
	b, err := h.r.next(2)
	if err != nil {
		return nil, wrap("read len(IA)", err)
	}
	h.dec.XORKeyStream(b, b)
	n := int(binary.BigEndian.Uint16(b))
	if n > MaxIA {
		return nil, fmt.Errorf("mse: IA of %d bytes: %w", n, ErrIA)
	}
	if b, err = h.r.next(n); err != nil {
		return nil, wrap("read IA", err)
	}
	h.dec.XORKeyStream(b, b)
	return append([]byte(nil), b...), nil
}
