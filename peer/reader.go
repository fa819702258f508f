package peer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrBadMsg means a frame's size does not fit its message ID, for example
// a Have frame that is not exactly 5 bytes. The peer is broken or hostile.
var ErrBadMsg = errors.New("peer: malformed message")

// ErrTooLong means a frame (or a Piece block, or an Extended payload) is
// larger than this client accepts. It is reported before anything is
// allocated for it.
var ErrTooLong = errors.New("peer: message too long")

// readBufSize is the size of the bufio.Reader NewReader puts under a
// plain io.Reader: two 16 KiB blocks with their headers.
const readBufSize = 32 << 10

// Reader decodes length-prefixed frames from a byte stream. It is owned by
// the one goroutine that calls ReadMsg. After any error other than a clean
// io.EOF the stream position is undefined and the Reader must be dropped.
type Reader struct {
	br     *bufio.Reader
	maxLen uint32
	buf    [12]byte // fixed-size payloads and the length prefix
	// Alloc, if set, returns the buffer for a Piece block of n bytes
	// (len n), so a caller can recycle blocks instead of allocating one
	// per message. Nil means make.
	Alloc func(n int) []byte
}

// NewReader returns a Reader of r that refuses frames whose length prefix
// exceeds maxLen (0 means MaxMsgLen(0)). It wraps r in a 32 KiB
// bufio.Reader unless r already is a *bufio.Reader.
func NewReader(r io.Reader, maxLen uint32) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, readBufSize)
	}
	if maxLen == 0 {
		maxLen = MaxMsgLen(0)
	}
	return &Reader{br: br, maxLen: maxLen}
}

// ReadMsg reads the next frame into *m, which it resets first. The length
// prefix is checked against the limit before anything is allocated, and
// the payload size is checked exactly against the ID. Bits, Block and Ext
// are freshly allocated and owned by the caller. A frame with an unknown
// ID is not an error: BEP 3 says to ignore such messages, so its payload
// is discarded and m comes back with only ID (and Length, the discarded
// size) set. At the end of the stream between frames ReadMsg returns
// io.EOF itself; a frame cut short wraps io.ErrUnexpectedEOF. Other errors
// wrap ErrBadMsg, ErrTooLong or the underlying read error.
func (r *Reader) ReadMsg(m *Msg) error {
	*m = Msg{}
	n, err := r.readLen()
	if err != nil {
		return err
	}
	if n == 0 {
		m.KeepAlive = true
		return nil
	}
	if n > r.maxLen {
		return fmt.Errorf("peer: frame of %d bytes, limit %d: %w", n, r.maxLen, ErrTooLong)
	}
	id, err := r.br.ReadByte()
	if err != nil {
		return fmt.Errorf("peer: read message id: %w", noEOF(err))
	}
	m.ID = ID(id)
	return r.readPayload(m, n-1)
}

// readLen reads a frame's length prefix. io.EOF before its first byte is
// the clean end of the stream and is returned as is.
func (r *Reader) readLen() (uint32, error) {
	_, err := io.ReadFull(r.br, r.buf[:4])
	if err == io.EOF {
		return 0, io.EOF
	}
	if err != nil {
		return 0, fmt.Errorf("peer: read length: %w", err)
	}
	return binary.BigEndian.Uint32(r.buf[:4]), nil
}

// readPayload decodes the n payload bytes that follow m.ID.
func (r *Reader) readPayload(m *Msg, n uint32) error {
	switch m.ID {
	case Choke, Unchoke, Interested, NotInterested, HaveAll, HaveNone:
		_, err := r.fixed(m.ID, n, 0)
		return err
	case Have, Suggest, AllowedFast:
		return r.readIndex(m, n)
	case Request, Cancel, Reject:
		return r.readRequest(m, n)
	case Port:
		return r.readPort(m, n)
	case Bitfield:
		return r.readBitfield(m, n)
	case Piece:
		return r.readPiece(m, n)
	case Extended:
		return r.readExtended(m, n)
	}
	return r.skip(m, n)
}

// fixed reads the payload of a message whose size BEP 3 or BEP 6 fixes at
// want bytes, into r.buf.
func (r *Reader) fixed(id ID, n, want uint32) ([]byte, error) {
	if n != want {
		return nil, fmt.Errorf("peer: %v payload of %d bytes, want %d: %w", id, n, want, ErrBadMsg)
	}
	b := r.buf[:want]
	if err := readFull(r.br, b); err != nil {
		return nil, fmt.Errorf("peer: read %v: %w", id, err)
	}
	return b, nil
}

// readIndex decodes Have, Suggest and AllowedFast: <index>.
func (r *Reader) readIndex(m *Msg, n uint32) error {
	b, err := r.fixed(m.ID, n, 4)
	if err != nil {
		return err
	}
	m.Index = binary.BigEndian.Uint32(b)
	return nil
}

// readRequest decodes Request, Cancel and Reject: <index><begin><length>.
// The Length value itself is the session's to judge.
func (r *Reader) readRequest(m *Msg, n uint32) error {
	b, err := r.fixed(m.ID, n, 12)
	if err != nil {
		return err
	}
	m.Index = binary.BigEndian.Uint32(b)
	m.Begin = binary.BigEndian.Uint32(b[4:])
	m.Length = binary.BigEndian.Uint32(b[8:])
	return nil
}

// readPort decodes Port (BEP 5): <listen-port>, two bytes.
func (r *Reader) readPort(m *Msg, n uint32) error {
	b, err := r.fixed(m.ID, n, 2)
	if err != nil {
		return err
	}
	m.Port = binary.BigEndian.Uint16(b)
	return nil
}

// readBitfield decodes Bitfield: any number of bytes here (already bounded
// by the frame limit); whether it fits the torrent is the session's check.
func (r *Reader) readBitfield(m *Msg, n uint32) error {
	var err error
	m.Bits, err = r.bytes(m.ID, n)
	return err
}

// readPiece decodes Piece: <index><begin><block>, with a block of at most
// MaxBlockLen bytes.
func (r *Reader) readPiece(m *Msg, n uint32) error {
	if n < 8 {
		return fmt.Errorf("peer: piece payload of %d bytes, want 8 or more: %w", n, ErrBadMsg)
	}
	if n-8 > MaxBlockLen {
		return fmt.Errorf("peer: piece block of %d bytes, limit %d: %w", n-8, MaxBlockLen, ErrTooLong)
	}
	if err := readFull(r.br, r.buf[:8]); err != nil {
		return fmt.Errorf("peer: read piece: %w", err)
	}
	m.Index = binary.BigEndian.Uint32(r.buf[:4])
	m.Begin = binary.BigEndian.Uint32(r.buf[4:8])
	if r.Alloc == nil {
		var err error
		m.Block, err = r.bytes(m.ID, n-8)
		return err
	}
	m.Block = r.Alloc(int(n - 8))
	if err := readFull(r.br, m.Block); err != nil {
		m.Block = nil
		return fmt.Errorf("peer: read %v: %w", m.ID, err)
	}
	return nil
}

// readExtended decodes Extended (BEP 10): <extended id><payload>, with a
// payload of at most MaxExtLen bytes kept opaque.
func (r *Reader) readExtended(m *Msg, n uint32) error {
	if n < 1 {
		return fmt.Errorf("peer: extended payload of 0 bytes, want 1 or more: %w", ErrBadMsg)
	}
	if n-1 > MaxExtLen {
		return fmt.Errorf("peer: extended payload of %d bytes, limit %d: %w", n-1, MaxExtLen, ErrTooLong)
	}
	id, err := r.br.ReadByte()
	if err != nil {
		return fmt.Errorf("peer: read extended id: %w", noEOF(err))
	}
	m.ExtID = id
	m.Ext, err = r.bytes(m.ID, n-1)
	return err
}

// skip discards the payload of an unknown message. BEP 3: unknown
// messages are ignored.
func (r *Reader) skip(m *Msg, n uint32) error {
	m.Length = n
	if _, err := r.br.Discard(int(n)); err != nil {
		return fmt.Errorf("peer: skip %v: %w", m.ID, noEOF(err))
	}
	return nil
}

// bytes reads n payload bytes into a new slice the caller will own. n has
// been bounded by the frame limit before this is called.
func (r *Reader) bytes(id ID, n uint32) ([]byte, error) {
	b := make([]byte, n)
	if err := readFull(r.br, b); err != nil {
		return nil, fmt.Errorf("peer: read %v: %w", id, err)
	}
	return b, nil
}

// noEOF turns io.EOF inside a frame into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
