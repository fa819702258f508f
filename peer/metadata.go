package peer

import (
	"fmt"
	"math"
	"strconv"
)

// MetadataPieceLen is the size of a metadata piece. BEP 9: the metadata
// (the info dictionary) is sent in 16 KiB pieces, all full but the last.
const MetadataPieceLen = 16 << 10

// maxMetadataPiece bounds the piece index of a ut_metadata message: pieces
// 0 to 1<<20-1, 16 GiB of metadata, far beyond any real info dictionary.
const maxMetadataPiece = 1 << 20

// metadataOp names ut_metadata messages in errors.
const metadataOp = "ut_metadata message"

// MetadataType is the "msg_type" of a BEP 9 ut_metadata message.
type MetadataType int

// BEP 9 message types. BEP 9: a message of any other type is ignored.
const (
	MetadataRequest MetadataType = 0 // asks for a piece
	MetadataData    MetadataType = 1 // carries a piece after the dictionary
	MetadataReject  MetadataType = 2 // refuses a request
)

// String returns "request", "data", "reject" or "unknown(N)", for traces.
func (t MetadataType) String() string {
	switch t {
	case MetadataRequest:
		return "request"
	case MetadataData:
		return "data"
	case MetadataReject:
		return "reject"
	}
	return "unknown(" + strconv.Itoa(int(t)) + ")"
}

// MetadataMsg is one BEP 9 ut_metadata message. It is a plain value; Data
// of a parsed message points into the payload it was parsed from.
type MetadataMsg struct {
	Type      MetadataType
	Piece     int
	TotalSize int64  // data messages: "total_size"
	Data      []byte // data messages: the bytes after the dictionary (a sub-slice of the payload), nil when none
}

// ParseMetadataMsg decodes the payload of a ut_metadata extended message: a
// bencoded dictionary with the integers "msg_type" (which must fit in 32
// bits) and "piece" (0 to 1<<20-1), followed, for a data message, by the
// piece itself. A data message must also carry a positive "total_size" and
// at most MetadataPieceLen bytes of data. Bytes after the dictionary of any
// other message are ignored, as BEP 9 clients do. A message of an unknown
// type is returned as is for the caller to ignore; only its Type and Piece
// are set.
func ParseMetadataMsg(payload []byte) (MetadataMsg, error) {
	d, n, err := decodeDict(payload, metadataOp, "msg_type", "piece", "total_size")
	if err != nil {
		return MetadataMsg{}, err
	}
	typ, ok := d.int("msg_type")
	if !ok || typ < math.MinInt32 || typ > math.MaxInt32 {
		return MetadataMsg{}, fmt.Errorf("peer: %s without a valid msg_type: %w", metadataOp, ErrBadExt)
	}
	piece, ok := d.int("piece")
	if !ok || piece < 0 || piece >= maxMetadataPiece {
		return MetadataMsg{}, fmt.Errorf("peer: %s without a valid piece: %w", metadataOp, ErrBadExt)
	}
	m := MetadataMsg{Type: MetadataType(typ), Piece: int(piece)}
	if m.Type != MetadataData {
		return m, nil
	}
	size, ok := d.int("total_size")
	if !ok || size <= 0 {
		return MetadataMsg{}, fmt.Errorf("peer: %s piece %d without a valid total_size: %w", metadataOp, piece, ErrBadExt)
	}
	data := payload[n:]
	if len(data) > MetadataPieceLen {
		return MetadataMsg{}, fmt.Errorf("peer: %s piece %d of %d bytes, limit %d: %w",
			metadataOp, piece, len(data), MetadataPieceLen, ErrBadExt)
	}
	m.TotalSize = size
	if len(data) > 0 {
		m.Data = data
	}
	return m, nil
}

// Encode returns the payload for Msg.Ext: the dictionary with "msg_type",
// "piece" and, for a data message, "total_size", followed for a data
// message by Data. TotalSize and Data of other messages are not sent.
func (m *MetadataMsg) Encode() []byte {
	b := make([]byte, 0, 64+len(m.Data))
	b = append(b, 'd')
	b = appendInt(appendStr(b, "msg_type"), int64(m.Type))
	b = appendInt(appendStr(b, "piece"), int64(m.Piece))
	if m.Type != MetadataData {
		return append(b, 'e')
	}
	b = appendInt(appendStr(b, "total_size"), m.TotalSize)
	b = append(b, 'e')
	return append(b, m.Data...)
}
