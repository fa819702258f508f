package mse

import (
	"crypto/rc4"
	"net"
)

// wbufLen is the size of an RC4 connection's encryption buffer: what one
// Write or WriteBuffers hands to the socket at most per call.
const wbufLen = 32 << 10

// wrapConn returns the connection for the stream after a handshake on c
// that selected sel. Bytes the reader holds past the handshake (possible
// only from a long prefix) are served first.
func wrapConn(c net.Conn, h *handshake, sel Method) net.Conn {
	rest := h.r.rest()
	if sel == RC4 {
		h.dec.XORKeyStream(rest, rest)
		return &rc4Conn{Conn: c, dec: h.dec, enc: h.enc, pending: nonEmpty(rest)}
	}
	if len(rest) == 0 {
		return c
	}
	return &plainConn{Conn: c, pending: rest}
}

// nonEmpty returns b, or nil when b is empty, so an empty pending slice
// never pins a handshake buffer.
func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// rc4Conn is a connection whose stream is RC4-encrypted both ways. One
// goroutine may Read while another writes (Write or WriteBuffers); the
// other methods are those of the embedded connection.
type rc4Conn struct {
	net.Conn
	dec, enc *rc4.Cipher
	pending  []byte // decrypted bytes received before the wrapper existed; owned by Read
	wbuf     []byte // encryption buffer, made on the first write; owned by the writer
	werr     error  // a failed write left enc ahead of the peer; owned by the writer
}

// Read reads and decrypts in place in b, serving pending bytes first. It
// neither copies nor allocates.
func (c *rc4Conn) Read(b []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(b, c.pending)
		c.pending = nonEmpty(c.pending[n:])
		return n, nil
	}
	n, err := c.Conn.Read(b)
	c.dec.XORKeyStream(b[:n], b[:n])
	return n, err
}

// Write encrypts b into the connection's own buffer, leaving b untouched
// (it may be read-only memory, such as a mapping of a file being seeded),
// and writes that. After a failed write the keystream is ahead of what the
// peer received, so every later write fails with the same error.
func (c *rc4Conn) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		k := min(len(b), wbufLen)
		if err := c.writeEncrypted(b[:k], true); err != nil {
			return n, err
		}
		n += k
		b = b[k:]
	}
	return n, nil
}

// WriteBuffers writes the concatenation of *v like (*net.Buffers).WriteTo,
// which cannot see past a wrapper, but gathers small buffers into one
// write of up to wbufLen bytes: a message header and its block leave in one
// segment. It consumes *v and does not touch the bytes it points to.
func (c *rc4Conn) WriteBuffers(v *net.Buffers) (int64, error) {
	var n int64
	for {
		buf := c.buffer()
		k, _ := v.Read(buf) // copies and consumes; io.EOF once empty
		if k == 0 {
			return n, nil
		}
		if err := c.writeEncrypted(buf[:k], false); err != nil {
			return n, err
		}
		n += int64(k)
	}
}

// writeEncrypted encrypts p (copying it into the buffer first when
// fromCaller, else in place, p being the buffer) and writes it.
func (c *rc4Conn) writeEncrypted(p []byte, fromCaller bool) error {
	if c.werr != nil {
		return c.werr
	}
	out := c.buffer()[:len(p)]
	if fromCaller {
		c.enc.XORKeyStream(out, p)
	} else {
		c.enc.XORKeyStream(out, out)
	}
	if _, err := c.Conn.Write(out); err != nil {
		c.werr = err
		return err
	}
	return nil
}

// buffer returns the encryption buffer, making it on first use.
func (c *rc4Conn) buffer() []byte {
	if c.wbuf == nil {
		c.wbuf = make([]byte, wbufLen)
	}
	return c.wbuf
}

// NetConn returns the connection underneath, for addresses and socket
// options; reading or writing it directly breaks the stream.
func (c *rc4Conn) NetConn() net.Conn { return c.Conn }

// plainConn is a plaintext connection that first serves bytes received
// past the handshake before it was made.
type plainConn struct {
	net.Conn
	pending []byte // owned by Read
}

// Read serves pending bytes first, then reads from the connection.
func (c *plainConn) Read(b []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(b, c.pending)
		c.pending = nonEmpty(c.pending[n:])
		return n, nil
	}
	return c.Conn.Read(b)
}

// WriteBuffers writes *v with (*net.Buffers).WriteTo on the connection
// underneath, keeping its writev.
func (c *plainConn) WriteBuffers(v *net.Buffers) (int64, error) { return v.WriteTo(c.Conn) }

// NetConn returns the connection underneath; once the pending bytes are
// read it may be used directly.
func (c *plainConn) NetConn() net.Conn { return c.Conn }
