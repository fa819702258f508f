package mse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
)

// maxPad is the longest PadA, PadB, PadC or PadD the specification allows.
const maxPad = 512

// MaxIA is the longest initial payload (IA) accepted or sent: one
// BitTorrent handshake, the limit libtorrent and aria2 enforce.
const MaxIA = 68

// maxRecv bounds what a peer may send during a handshake: a responder's
// whole step 1 and step 3 with the longest paddings and IA. An initiator
// receives less (Yb, PadB, VC, crypto_select, len(PadD), PadD).
const maxRecv = keyLen + maxPad + 20 + 20 + vcLen + 4 + 2 + maxPad + 2 + MaxIA

// reader holds the handshake bytes received from the peer in one buffer of
// fixed capacity, so no peer-sent length makes it grow. It never reads a
// byte the handshake has not certainly still to deliver: what follows the
// handshake stays in the socket for the caller. Owned by the handshake's
// goroutine.
type reader struct {
	c   net.Conn
	buf []byte // received so far; cap(buf) never changes
	off int    // buf[:off] is consumed
}

// newReader starts a reader whose buffer begins with prefix, bytes the
// caller read from c before the handshake.
func newReader(c net.Conn, prefix []byte) reader {
	buf := make([]byte, len(prefix), len(prefix)+maxRecv)
	copy(buf, prefix)
	return reader{c: c, buf: buf}
}

// next returns the next n bytes, reading exactly what is missing.
func (r *reader) next(n int) ([]byte, error) {
	if end := r.off + n; end > len(r.buf) {
		if end > cap(r.buf) {
			return nil, errors.New("mse: handshake buffer exhausted") // bounds are checked before
		}
		k, err := io.ReadFull(r.c, r.buf[len(r.buf):end])
		r.buf = r.buf[:len(r.buf)+k]
		if err != nil {
			return nil, err
		}
	}
	b := r.buf[r.off : r.off+n]
	r.off += n
	return b, nil
}

// sync consumes everything up to and including marker, which must end
// within window bytes of the current position (padding, then the marker).
// after is how many bytes the peer certainly sends after the marker; reads
// never go further than that.
func (r *reader) sync(marker []byte, window, after int) error {
	start, limit := r.off, r.off+window
	for {
		end := min(len(r.buf), limit)
		if i := bytes.Index(r.buf[start:end], marker); i >= 0 {
			r.off = start + i + len(marker)
			return nil
		}
		if end == limit {
			return ErrNoSync
		}
		k := len(marker) - partial(r.buf[start:], marker) + after
		k = min(k, limit-len(r.buf))
		n, err := r.c.Read(r.buf[len(r.buf) : len(r.buf)+k])
		r.buf = r.buf[:len(r.buf)+n]
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
	}
}

// partial returns the length of the longest proper prefix of marker that b
// ends with: how much of the marker may already have arrived.
func partial(b, marker []byte) int {
	for j := min(len(b), len(marker)-1); j > 0; j-- {
		if bytes.HasSuffix(b, marker[:j]) {
			return j
		}
	}
	return 0
}

// rest returns the received bytes not consumed: bytes past the handshake,
// possible only when the caller's prefix held them.
func (r *reader) rest() []byte { return r.buf[r.off:] }

// wrap names what was being read in a read error.
func wrap(what string, err error) error {
	return fmt.Errorf("mse: %s: %w", what, err)
}
