package peer

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
)

// ID is the one-byte message type that follows a frame's length prefix.
type ID uint8

// Message IDs. BEP 3 defines 0-8, BEP 5 adds Port, BEP 6 the Fast
// extension messages 0x0d-0x11 and BEP 10 the Extended message.
const (
	Choke         ID = 0
	Unchoke       ID = 1
	Interested    ID = 2
	NotInterested ID = 3
	Have          ID = 4
	Bitfield      ID = 5
	Request       ID = 6
	Piece         ID = 7
	Cancel        ID = 8
	Port          ID = 9
	Suggest       ID = 0x0d
	HaveAll       ID = 0x0e
	HaveNone      ID = 0x0f
	Reject        ID = 0x10
	AllowedFast   ID = 0x11
	Extended      ID = 20
)

// idNames holds the trace names of the known IDs.
var idNames = map[ID]string{
	Choke: "choke", Unchoke: "unchoke", Interested: "interested",
	NotInterested: "not_interested", Have: "have", Bitfield: "bitfield",
	Request: "request", Piece: "piece", Cancel: "cancel", Port: "port",
	Suggest: "suggest", HaveAll: "have_all", HaveNone: "have_none",
	Reject: "reject", AllowedFast: "allowed_fast", Extended: "extended",
}

// String returns the snake_case name of id ("have_all"), or "unknown(N)"
// for an ID this package does not decode.
func (id ID) String() string {
	if s, ok := idNames[id]; ok {
		return s
	}
	return "unknown(" + strconv.Itoa(int(id)) + ")"
}

// Known reports whether id is one of the IDs this package decodes; frames
// with other IDs are skipped by Reader.ReadMsg.
func (id ID) Known() bool {
	_, ok := idNames[id]
	return ok
}

// MaxBlockLen is the largest Piece block accepted from the wire. BEP 3
// clients request 16 KiB blocks and drop peers asking for more than
// 128 KiB, so anything larger is a broken or hostile peer.
const MaxBlockLen = 128 << 10

// MaxExtLen is the largest BEP 10 extended payload accepted from the wire.
const MaxExtLen = 1 << 20

// MaxMsgLen returns the frame-length limit (the value of the length
// prefix) for a torrent of numPieces pieces: the largest of a Piece frame
// carrying MaxBlockLen bytes, a Bitfield frame for numPieces and an
// Extended frame carrying MaxExtLen bytes.
func MaxMsgLen(numPieces int) uint32 {
	limit := uint64(1 + 8 + MaxBlockLen)
	limit = max(limit, 1+1+MaxExtLen)
	if numPieces > 0 {
		limit = max(limit, 1+(uint64(numPieces)+7)/8)
	}
	return uint32(min(limit, math.MaxUint32))
}

// Msg is one peer message, a flat struct switched on ID so that reading
// one allocates nothing but its payload. KeepAlive set means a zero-length
// frame and ID is ignored. Fields used per ID:
//
//	Have, Suggest, AllowedFast: Index
//	Request, Cancel, Reject:    Index, Begin, Length
//	Piece:                      Index, Begin, Block
//	Bitfield:                   Bits
//	Port:                       Port
//	Extended:                   ExtID, Ext
//
// For an unknown ID, Reader.ReadMsg sets Length to the size of the
// discarded payload (for traces).
type Msg struct {
	KeepAlive            bool
	ID                   ID
	Index, Begin, Length uint32
	Bits                 []byte
	Block                []byte
	Port                 uint16
	ExtID                uint8
	Ext                  []byte
}

// String returns a compact form of m for the trace file, for example
// "request 3 16384+16384", "piece 3 0+16384" or "bitfield 12B".
func (m *Msg) String() string {
	switch {
	case m == nil:
		return "<nil>"
	case m.KeepAlive:
		return "keepalive"
	}
	switch m.ID {
	case Have, Suggest, AllowedFast:
		return fmt.Sprintf("%v %d", m.ID, m.Index)
	case Request, Cancel, Reject:
		return fmt.Sprintf("%v %d %d+%d", m.ID, m.Index, m.Begin, m.Length)
	case Piece:
		return fmt.Sprintf("%v %d %d+%d", m.ID, m.Index, m.Begin, len(m.Block))
	case Bitfield:
		return fmt.Sprintf("%v %dB", m.ID, len(m.Bits))
	case Port:
		return fmt.Sprintf("%v %d", m.ID, m.Port)
	case Extended:
		return fmt.Sprintf("%v %d %dB", m.ID, m.ExtID, len(m.Ext))
	}
	if !m.ID.Known() {
		return fmt.Sprintf("%v %dB", m.ID, m.Length)
	}
	return m.ID.String()
}

// AppendMsg appends the wire encoding of m, length prefix included, to dst
// and returns the extended slice. It does not allocate when dst has room.
// A message with an unknown ID is encoded as the bare ID with no payload.
func AppendMsg(dst []byte, m *Msg) []byte {
	dst, tail := appendHead(dst, m)
	return append(dst, tail...)
}

// WriteMsg writes the encoding of m to w in one Write call. It is meant
// for tests and simple uses; Conn buffers its writes.
func WriteMsg(w io.Writer, m *Msg) error {
	if _, err := w.Write(AppendMsg(nil, m)); err != nil {
		return fmt.Errorf("peer: write %v: %w", m.ID, err)
	}
	return nil
}

// appendHead appends everything of m's encoding up to its variable-length
// payload (Bits, Block or Ext), which it returns as tail, so a buffered
// writer can copy a large block once instead of twice.
func appendHead(dst []byte, m *Msg) (head, tail []byte) {
	if m.KeepAlive {
		return binary.BigEndian.AppendUint32(dst, 0), nil
	}
	be := binary.BigEndian
	switch m.ID {
	case Have, Suggest, AllowedFast:
		dst = appendPrefix(dst, m.ID, 4)
		return be.AppendUint32(dst, m.Index), nil
	case Request, Cancel, Reject:
		dst = appendPrefix(dst, m.ID, 12)
		dst = be.AppendUint32(dst, m.Index)
		dst = be.AppendUint32(dst, m.Begin)
		return be.AppendUint32(dst, m.Length), nil
	case Piece:
		dst = appendPrefix(dst, m.ID, 8+len(m.Block))
		dst = be.AppendUint32(dst, m.Index)
		return be.AppendUint32(dst, m.Begin), m.Block
	case Bitfield:
		return appendPrefix(dst, m.ID, len(m.Bits)), m.Bits
	case Port:
		dst = appendPrefix(dst, m.ID, 2)
		return be.AppendUint16(dst, m.Port), nil
	case Extended:
		dst = appendPrefix(dst, m.ID, 1+len(m.Ext))
		return append(dst, m.ExtID), m.Ext
	}
	return appendPrefix(dst, m.ID, 0), nil
}

// appendPrefix appends the length prefix of a frame whose payload after
// the ID byte is n bytes long, then the ID byte.
func appendPrefix(dst []byte, id ID, n int) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(1+n))
	return append(dst, byte(id))
}
