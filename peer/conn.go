package peer

import (
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// MaxQueued is how many bytes WriteMsg lets wait before it writes them out
// itself: eight 16 KiB blocks, so a burst of Piece messages goes out in a
// few large writes.
const MaxQueued = 128 << 10

// Conn is a handshaken peer connection: a Reader on the receiving side and
// a gathering writer on the sending side. ReadMsg is called by exactly one
// goroutine (the peer's reader) and WriteMsg, Queued and Flush by exactly
// one other (the peer's writer); Close, RemoteAddr and the timeout setters
// may be called from any goroutine. After any error the Conn should be
// closed.
type Conn struct {
	nc net.Conn
	r  *Reader

	readTimeout  atomic.Int64 // time.Duration; 0 = none
	writeTimeout atomic.Int64 // time.Duration; 0 = none

	readDeadline  bool // a read deadline is set; owned by the reader
	writeDeadline bool // a write deadline is set; owned by the writer

	// The writing side, owned by the writer: encoded messages waiting in
	// small, cut by the blocks of Piece messages, which are not copied but
	// sent from where they lie with one writev (net.Buffers).
	small  []byte
	cutAt  int // small[:cutAt] is in segs already
	segs   []segment
	queued int
	vec    net.Buffers
}

// segment is a stretch of queued output: small[lo:hi], or a Piece's block.
type segment struct {
	lo, hi int
	block  []byte
}

// NewConn wraps the handshaken connection c, refusing incoming frames
// longer than maxLen (see MaxMsgLen; 0 means MaxMsgLen(0)).
func NewConn(c net.Conn, maxLen uint32) *Conn {
	return &Conn{nc: c, r: NewReader(c, maxLen)}
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

// WriteMsg queues the encoding of m, writing everything queued out (under
// the write timeout) once MaxQueued bytes wait. Call Flush to send what is
// queued. m may be reused once WriteMsg returns, but a Piece's Block is
// sent from where it lies: it must stay unchanged until the next Flush
// returns. That saves copying every uploaded block once more.
func (c *Conn) WriteMsg(m *Msg) error {
	lo := len(c.small)
	var tail []byte
	c.small, tail = appendHead(c.small, m)
	c.queued += len(c.small) - lo + len(tail)
	switch {
	case m.ID == Piece && !m.KeepAlive && len(tail) > 0:
		c.cut()
		c.segs = append(c.segs, segment{block: tail})
	default:
		c.small = append(c.small, tail...) // a bitfield or extension payload
	}
	if c.queued < MaxQueued {
		return nil
	}
	return c.Flush()
}

// Queued returns how many bytes WriteMsg has queued since the last write,
// so a caller can flush in batches.
func (c *Conn) Queued() int { return c.queued }

// Flush writes out every queued message in one gathering write, under the
// write timeout.
func (c *Conn) Flush() error {
	if c.queued == 0 {
		return nil
	}
	if err := c.setWriteDeadline(); err != nil {
		return err
	}
	c.cut()
	c.vec = c.vec[:0]
	for _, sg := range c.segs {
		if sg.block != nil {
			c.vec = append(c.vec, sg.block)
		} else {
			c.vec = append(c.vec, c.small[sg.lo:sg.hi])
		}
	}
	v := c.vec // WriteTo consumes its receiver; keep c.vec's array
	var err error
	if bw, ok := c.nc.(buffersWriter); ok {
		_, err = bw.WriteBuffers(&v) // an encrypting conn gathers what writev would
	} else {
		_, err = v.WriteTo(c.nc)
	}
	clear(c.vec) // drop the references to blocks the caller will reuse
	clear(c.segs)
	c.small, c.cutAt, c.segs, c.queued = c.small[:0], 0, c.segs[:0], 0
	if err != nil {
		return fmt.Errorf("peer: flush: %w", err)
	}
	return nil
}

// buffersWriter is a connection that writes a list of buffers better than
// one Write each (net.Buffers falls back to that for any conn but the
// standard library's own): mse's RC4 conn encrypts them into one write.
type buffersWriter interface {
	WriteBuffers(v *net.Buffers) (int64, error)
}

// cut closes the stretch of small bytes queued since the last cut.
func (c *Conn) cut() {
	if len(c.small) > c.cutAt {
		c.segs = append(c.segs, segment{lo: c.cutAt, hi: len(c.small)})
		c.cutAt = len(c.small)
	}
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
