package mse

import (
	"fmt"
	"net"
	"time"
)

// initiatorAfterVC is what a responder certainly sends after the encrypted
// VC: crypto_select and len(PadD).
const initiatorAfterVC = 4 + 2

// Initiate runs the initiator's side of the handshake on c for the torrent
// infoHash, offering the methods in provide, and sends ia (at most MaxIA
// bytes, normally our BitTorrent handshake; may be empty) encrypted inside
// step 3. It returns the connection to use for the rest of the stream, in
// whichever method the responder selected: c itself for plaintext, an RC4
// wrapper otherwise.
//
// The whole handshake must finish within timeout (no limit when timeout
// <= 0); c's deadline is cleared before Initiate returns. On error the
// caller closes c.
func Initiate(c net.Conn, infoHash [20]byte, provide Method, ia []byte, timeout time.Duration) (net.Conn, Method, error) {
	if provide == 0 || provide&^both != 0 {
		return nil, 0, fmt.Errorf("mse: initiate: providing %v: %w", provide, ErrMethod)
	}
	if len(ia) > MaxIA {
		return nil, 0, fmt.Errorf("mse: initiate: %d bytes: %w", len(ia), ErrIA)
	}
	h, err := begin(c, nil, timeout)
	if err != nil {
		return nil, 0, err
	}
	sel, err := h.initiate(infoHash, provide, ia)
	if err = h.end(err); err != nil {
		return nil, 0, err
	}
	return wrapConn(c, h, sel), sel, nil
}

// initiate runs steps 1 to 4 on the initiator's side and returns the
// responder's selection.
func (h *handshake) initiate(skey [20]byte, provide Method, ia []byte) (Method, error) {
	h.sendKey()
	if err := h.peerKey("Yb"); err != nil {
		return 0, err
	}
	if err := h.setStreams(skey, true); err != nil {
		return 0, err
	}
	h.w.send(h.step3(skey, provide, ia))
	var vc [vcLen]byte
	h.dec.XORKeyStream(vc[:], vc[:])
	if err := h.r.sync(vc[:], maxPad+vcLen, initiatorAfterVC); err != nil {
		return 0, wrap("sync on VC", err)
	}
	sel, pad, err := h.readCrypto("crypto_select")
	if err != nil {
		return 0, err
	}
	if !sel.single() || sel&provide == 0 {
		return 0, fmt.Errorf("mse: responder selected %v of %v: %w", sel, provide, ErrMethod)
	}
	return sel, h.skip("PadD", pad)
}

// step3 builds the initiator's third message: the sync hash, the
// obfuscated info hash, then VC, crypto_provide, PadC, len(IA) and IA,
// encrypted.
func (h *handshake) step3(skey [20]byte, provide Method, ia []byte) []byte {
	req1 := sum("req1", h.s[:], nil)
	req2 := Req2(skey)
	req3 := sum("req3", h.s[:], nil)
	b := make([]byte, 0, 20+20+vcLen+4+2+maxPad+2+len(ia))
	b = append(b, req1[:]...)
	for i := range req2 {
		b = append(b, req2[i]^req3[i])
	}
	b = appendCrypto(b, provide, padLen())
	b = append(b, byte(len(ia)>>8), byte(len(ia)))
	b = append(b, ia...)
	h.enc.XORKeyStream(b[40:], b[40:])
	return b
}
