package peer

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// piece16K is a full metadata piece.
var piece16K = strings.Repeat("x", MetadataPieceLen)

// metadataMsgs are ut_metadata messages as clients send them, and odd ones
// that must still be accepted.
var metadataMsgs = []struct {
	name    string
	payload string
	want    MetadataMsg
}{
	{"request", "d8:msg_typei0e5:piecei0ee", MetadataMsg{Type: MetadataRequest}},
	{"request piece 2", "d8:msg_typei0e5:piecei2ee", MetadataMsg{Type: MetadataRequest, Piece: 2}},
	{"reject", "d8:msg_typei2e5:piecei1ee", MetadataMsg{Type: MetadataReject, Piece: 1}},
	{
		name:    "data, full piece",
		payload: "d8:msg_typei1e5:piecei0e10:total_sizei31235ee" + piece16K,
		want:    MetadataMsg{Type: MetadataData, TotalSize: 31235, Data: []byte(piece16K)},
	},
	{
		name:    "data, last piece",
		payload: "d8:msg_typei1e5:piecei1e10:total_sizei31235ee" + piece16K[:31235-MetadataPieceLen],
		want: MetadataMsg{Type: MetadataData, Piece: 1, TotalSize: 31235,
			Data: []byte(piece16K[:31235-MetadataPieceLen])},
	},
	{
		name:    "data without bytes",
		payload: "d8:msg_typei1e5:piecei0e10:total_sizei1ee",
		want:    MetadataMsg{Type: MetadataData, TotalSize: 1},
	},
	{
		name:    "data that looks like bencode",
		payload: "d8:msg_typei1e5:piecei0e10:total_sizei9ee" + "d4:name1:xe",
		want:    MetadataMsg{Type: MetadataData, TotalSize: 9, Data: []byte("d4:name1:xe")},
	},
	{
		name:    "unsorted keys and an unknown one",
		payload: "d5:piecei3e8:msg_typei0e3:fooli1eee",
		want:    MetadataMsg{Type: MetadataRequest, Piece: 3},
	},
	{
		name:    "bytes after a request are ignored",
		payload: "d8:msg_typei0e5:piecei0eeGARBAGE",
		want:    MetadataMsg{Type: MetadataRequest},
	},
	{
		name:    "total_size of a reject is ignored",
		payload: "d8:msg_typei2e5:piecei0e10:total_sizei-5ee",
		want:    MetadataMsg{Type: MetadataReject},
	},
	{
		name:    "unknown msg_type is returned as is",
		payload: "d8:msg_typei3e5:piecei0e10:total_sizei5eedata",
		want:    MetadataMsg{Type: 3},
	},
	{
		name:    "negative msg_type is returned as is",
		payload: "d8:msg_typei-1e5:piecei4ee",
		want:    MetadataMsg{Type: -1, Piece: 4},
	},
	{
		name:    "highest piece",
		payload: "d8:msg_typei0e5:piecei1048575ee",
		want:    MetadataMsg{Type: MetadataRequest, Piece: 1<<20 - 1},
	},
	{
		name:    "huge total_size is returned as is",
		payload: "d8:msg_typei1e5:piecei0e10:total_sizei1099511627776eeab",
		want:    MetadataMsg{Type: MetadataData, TotalSize: 1 << 40, Data: []byte("ab")},
	},
}

func TestParseMetadataMsg(t *testing.T) {
	for _, tt := range metadataMsgs {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMetadataMsg([]byte(tt.payload))
			if err != nil {
				t.Fatalf("ParseMetadataMsg: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseMetadataMsg:\n got %+v\nwant %+v", got, tt.want)
			}
			checkMetadataRoundTrip(t, got)
		})
	}
}

func TestParseMetadataMsgErrors(t *testing.T) {
	bad := []struct{ name, payload string }{
		{"msg_type missing", "d5:piecei0ee"},
		{"msg_type a string", "d8:msg_type1:05:piecei0ee"},
		{"msg_type beyond 32 bits", "d8:msg_typei4294967296e5:piecei0ee"},
		{"piece missing", "d8:msg_typei0ee"},
		{"piece -1", "d8:msg_typei0e5:piecei-1ee"},
		{"piece 1<<20", "d8:msg_typei0e5:piecei1048576ee"},
		{"piece beyond int64", "d8:msg_typei0e5:piecei99999999999999999999ee"},
		{"piece a list", "d8:msg_typei0e5:pieceli0eee"},
		{"data without total_size", "d8:msg_typei1e5:piecei0eexyz"},
		{"data with total_size 0", "d8:msg_typei1e5:piecei0e10:total_sizei0eexyz"},
		{"data with total_size negative", "d8:msg_typei1e5:piecei0e10:total_sizei-1eexyz"},
		{"data with total_size a string", "d8:msg_typei1e5:piecei0e10:total_size1:1exyz"},
		{"data longer than 16 KiB", "d8:msg_typei1e5:piecei0e10:total_sizei99999ee" + piece16K + "x"},
		{"dictionary cut short", "d8:msg_typei1e5:piecei0e10:total_sizei99999e"},
	}
	for _, tt := range append(bad, badExtPayloads...) {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMetadataMsg([]byte(tt.payload))
			if !errors.Is(err, ErrBadExt) {
				t.Fatalf("ParseMetadataMsg = %+v, %v; want ErrBadExt", m, err)
			}
		})
	}
}

func TestMetadataMsgEncode(t *testing.T) {
	tests := []struct {
		name string
		m    MetadataMsg
		want string
	}{
		{"request", MetadataMsg{Type: MetadataRequest, Piece: 7}, "d8:msg_typei0e5:piecei7ee"},
		{"reject drops size and data", MetadataMsg{Type: MetadataReject, Piece: 1, TotalSize: 9, Data: []byte("x")},
			"d8:msg_typei2e5:piecei1ee"},
		{"data", MetadataMsg{Type: MetadataData, Piece: 1, TotalSize: 16387, Data: []byte("abc")},
			"d8:msg_typei1e5:piecei1e10:total_sizei16387eeabc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Encode(); string(got) != tt.want {
				t.Fatalf("Encode:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestMetadataTypeString(t *testing.T) {
	for typ, want := range map[MetadataType]string{
		MetadataRequest: "request", MetadataData: "data", MetadataReject: "reject", 7: "unknown(7)",
	} {
		if got := typ.String(); got != want {
			t.Errorf("MetadataType(%d).String() = %q, want %q", int(typ), got, want)
		}
	}
}

// checkMetadataRoundTrip checks that m, a parsed message, encodes to bytes
// that parse back to m and encode again to the same bytes.
func checkMetadataRoundTrip(t *testing.T, m MetadataMsg) {
	t.Helper()
	enc := m.Encode()
	back, err := ParseMetadataMsg(enc)
	if err != nil {
		t.Fatalf("ParseMetadataMsg(Encode(%+v) = %q): %v", m, enc, err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Fatalf("round trip of %q:\n got %+v\nwant %+v", enc, back, m)
	}
	if again := back.Encode(); !bytes.Equal(again, enc) {
		t.Fatalf("Encode is not stable: %q then %q", enc, again)
	}
}

// FuzzParseMetadataMsg parses arbitrary payloads: ParseMetadataMsg must
// never panic, must fail only with ErrBadExt, must respect its bounds, and
// what it accepts must survive Encode and a second parse unchanged.
func FuzzParseMetadataMsg(f *testing.F) {
	for _, tt := range metadataMsgs {
		f.Add([]byte(tt.payload))
	}
	f.Add([]byte("d8:msg_typei1e5:piecei0e10:total_sizei0eexyz"))
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := ParseMetadataMsg(payload)
		if err != nil {
			if !errors.Is(err, ErrBadExt) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if m.Piece < 0 || m.Piece >= maxMetadataPiece || len(m.Data) > MetadataPieceLen {
			t.Fatalf("out of bounds: %+v", m)
		}
		if m.Type == MetadataData && m.TotalSize <= 0 {
			t.Fatalf("data message with total_size %d", m.TotalSize)
		}
		checkMetadataRoundTrip(t, m)
	})
}
