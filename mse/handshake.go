package mse

import (
	"crypto/rand"
	"crypto/rc4"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"time"
)

// handshake is the state one Initiate or Accept call shares between its
// steps. Owned by the calling goroutine, except c's writes, which the
// sender makes.
type handshake struct {
	c        net.Conn
	r        reader
	w        *sender
	key      dhKey
	s        [keyLen]byte // the shared secret S
	enc, dec *rc4.Cipher
}

// begin sets the deadline for the whole handshake (none when timeout <= 0),
// makes a key pair and starts the sender.
func begin(c net.Conn, prefix []byte, timeout time.Duration) (*handshake, error) {
	if timeout > 0 {
		if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
			return nil, wrap("set deadline", err)
		}
	}
	return &handshake{c: c, r: newReader(c, prefix), w: startSender(c), key: newKey()}, nil
}

// end waits for the sender, cutting its write short when the handshake
// failed, and clears c's deadline. It returns err, or the write error of a
// handshake that otherwise succeeded.
func (h *handshake) end(err error) error {
	if err != nil {
		h.c.SetWriteDeadline(time.Unix(1, 0)) // unblock a write the peer no longer reads
	}
	werr := h.w.wait()
	h.c.SetDeadline(time.Time{})
	if err == nil && werr != nil {
		err = wrap("write", werr)
	}
	return err
}

// sendKey queues our public key and a random PadA or PadB, both in the
// clear (random bytes, so nothing marks the stream as MSE).
func (h *handshake) sendKey() {
	b := make([]byte, keyLen+padLen())
	copy(b, h.key.pub[:])
	rand.Read(b[keyLen:])
	h.w.send(b)
}

// peerKey reads the peer's public key and computes S.
func (h *handshake) peerKey(what string) error {
	y, err := h.r.next(keyLen)
	if err != nil {
		return wrap("read "+what, err)
	}
	h.s, err = h.key.secret(y)
	return err
}

// setStreams keys enc and dec for the torrent skey.
func (h *handshake) setStreams(skey [20]byte, initiator bool) (err error) {
	h.enc, h.dec, err = streams(&h.s, skey, initiator)
	return err
}

// appendCrypto appends VC, a crypto_provide or crypto_select field, a
// padding length and as many zero padding bytes, in the clear. The caller
// encrypts them; under RC4 zeros look as random as random bytes.
func appendCrypto(b []byte, m Method, pad int) []byte {
	b = append(b, make([]byte, vcLen)...)
	b = binary.BigEndian.AppendUint32(b, uint32(m))
	b = binary.BigEndian.AppendUint16(b, uint16(pad))
	return append(b, make([]byte, pad)...)
}

// readCrypto reads and decrypts crypto_provide or crypto_select and the
// padding length that follows it, refusing a padding above maxPad.
func (h *handshake) readCrypto(what string) (Method, int, error) {
	b, err := h.r.next(4 + 2)
	if err != nil {
		return 0, 0, wrap("read "+what, err)
	}
	h.dec.XORKeyStream(b, b)
	m := Method(binary.BigEndian.Uint32(b))
	pad := int(binary.BigEndian.Uint16(b[4:]))
	if pad > maxPad {
		return 0, 0, fmt.Errorf("mse: %s padding of %d bytes: %w", what, pad, ErrPad)
	}
	return m, pad, nil
}

// skip reads and decrypts n padding bytes, keeping the keystream in step.
func (h *handshake) skip(what string, n int) error {
	b, err := h.r.next(n)
	if err != nil {
		return wrap("read "+what, err)
	}
	h.dec.XORKeyStream(b, b)
	return nil
}

// padLen picks a padding length, uniform in [0, maxPad].
func padLen() int { return mrand.IntN(maxPad + 1) }
