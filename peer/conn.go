package peer

import (
	"bufio"
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// writeBufSize is the size of the Conn's bufio.Writer: a few 16 KiB
// blocks, so a burst of Piece messages goes out in large writes.
const writeBufSize = 32 << 10

// Conn is a handshaken peer connection: a Reader on the receiving side and
// a buffered writer on the sending side. ReadMsg is called by exactly one
// goroutine (the peer's reader) and WriteMsg and Flush by exactly one other
// (the peer's writer); Close, RemoteAddr and the timeout setters may be
// called from any goroutine. After any error the Conn should be closed.
type Conn struct {
	nc net.Conn
	r  *Reader
	w  *bufio.Writer

	readTimeout  atomic.Int64 // time.Duration; 0 = none
	writeTimeout atomic.Int64 // time.Duration; 0 = none

	readDeadline  bool   // a read deadline is set; owned by the reader
	writeDeadline bool   // a write deadline is set; owned by the writer
	head          []byte // encoding scratch; owned by the writer
}

// NewConn wraps the handshaken connection c, refusing incoming frames
// longer than maxLen (see MaxMsgLen; 0 means MaxMsgLen(0)).
func NewConn(c net.Conn, maxLen uint32) *Conn {
	return &Conn{
		nc:   c,
		r:    NewReader(c, maxLen),
		w:    bufio.NewWriterSize(c, writeBufSize),
		head: make([]byte, 0, 64),
	}
}

// SetAlloc sets the Piece block allocator of the reading side (see
// Reader.Alloc). Call it before the first ReadMsg.
func (c *Conn) SetAlloc(f func(n int) []byte) { c.r.Alloc = f }

// SetReadTimeout makes each later ReadMsg fail (with an error wrapping
// os.ErrDeadlineExceeded) unless a complete frame arrives within d of its
// start. 0, the default, means wait forever.
func (c *Conn) SetReadTimeout(d time.Duration) { c.readTimeout.Store(int64(d)) }

// SetWriteTimeout makes each later WriteMsg or Flush fail (with an error
// wrapping os.ErrDeadlineExceeded) if the network write it performs does
// not finish within d. 0, the default, means wait forever.
func (c *Conn) SetWriteTimeout(d time.Duration) { c.writeTimeout.Store(int64(d)) }

// ReadMsg reads the next message into *m, under the read timeout. See
// Reader.ReadMsg for what is checked and which errors come back.
func (c *Conn) ReadMsg(m *Msg) error {
	if err := deadline(c.nc.SetReadDeadline, &c.readDeadline, c.readTimeout.Load()); err != nil {
		return fmt.Errorf("peer: set read deadline: %w", err)
	}
	return c.r.ReadMsg(m)
}

// WriteMsg queues the encoding of m in the write buffer, writing the
// buffer out (under the write timeout) when it fills. Call Flush to send
// what is queued. m, including its Block, may be reused once WriteMsg
// returns.
func (c *Conn) WriteMsg(m *Msg) error {
	if err := c.setWriteDeadline(); err != nil {
		return err
	}
	head, tail := appendHead(c.head[:0], m)
	c.head = head
	if _, err := c.w.Write(head); err != nil {
		return fmt.Errorf("peer: write %v: %w", m.ID, err)
	}
	if _, err := c.w.Write(tail); err != nil {
		return fmt.Errorf("peer: write %v: %w", m.ID, err)
	}
	return nil
}

// Flush writes out every queued message, under the write timeout.
func (c *Conn) Flush() error {
	if err := c.setWriteDeadline(); err != nil {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("peer: flush: %w", err)
	}
	return nil
}

// Close closes the network connection, which also ends a ReadMsg or
// WriteMsg blocked in another goroutine.
func (c *Conn) Close() error { return c.nc.Close() }

// RemoteAddr returns the address of the remote peer.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// NetConn returns the underlying connection, for addresses and socket
// options; reading or writing it directly would corrupt the framing.
func (c *Conn) NetConn() net.Conn { return c.nc }

// setWriteDeadline applies the write timeout before a write.
func (c *Conn) setWriteDeadline() error {
	if err := deadline(c.nc.SetWriteDeadline, &c.writeDeadline, c.writeTimeout.Load()); err != nil {
		return fmt.Errorf("peer: set write deadline: %w", err)
	}
	return nil
}

// deadline calls set with now+d, or clears a deadline set earlier when d
// is 0, so a connection without timeouts makes no deadline calls at all.
// isSet tracks whether a deadline is in place.
func deadline(set func(time.Time) error, isSet *bool, d int64) error {
	if d <= 0 {
		if !*isSet {
			return nil
		}
		*isSet = false
		return set(time.Time{})
	}
	*isSet = true
	return set(time.Now().Add(time.Duration(d)))
}
