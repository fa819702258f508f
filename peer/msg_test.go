package peer

import (
	"bytes"
	"encoding/hex"
	"math"
	"reflect"
	"strings"
	"testing"
)

// allMsgs holds one message of every kind, with the BEP 3 / BEP 6 / BEP 10
// wire encoding written out by hand.
var allMsgs = []struct {
	name string
	m    Msg
	hex  string
}{
	{"keepalive", Msg{KeepAlive: true}, "00000000"},
	{"choke", Msg{ID: Choke}, "0000000100"},
	{"unchoke", Msg{ID: Unchoke}, "0000000101"},
	{"interested", Msg{ID: Interested}, "0000000102"},
	{"not_interested", Msg{ID: NotInterested}, "0000000103"},
	{"have", Msg{ID: Have, Index: 0x01020304}, "000000050401020304"},
	{"bitfield", Msg{ID: Bitfield, Bits: []byte{0xff, 0x80}}, "0000000305ff80"},
	{"request", Msg{ID: Request, Index: 3, Begin: 16384, Length: 16384},
		"0000000d06000000030000400000004000"},
	{"piece", Msg{ID: Piece, Index: 3, Begin: 0, Block: []byte("abc")},
		"0000000c070000000300000000616263"},
	{"cancel", Msg{ID: Cancel, Index: 1, Begin: 2, Length: 3},
		"0000000d08000000010000000200000003"},
	{"port", Msg{ID: Port, Port: 6881}, "00000003091ae1"},
	{"suggest", Msg{ID: Suggest, Index: 7}, "000000050d00000007"},
	{"have_all", Msg{ID: HaveAll}, "000000010e"},
	{"have_none", Msg{ID: HaveNone}, "000000010f"},
	{"reject", Msg{ID: Reject, Index: 9, Begin: 32768, Length: 100},
		"0000000d10000000090000800000000064"},
	{"allowed_fast", Msg{ID: AllowedFast, Index: 42}, "00000005110000002a"},
	{"extended", Msg{ID: Extended, ExtID: 0, Ext: []byte("de")}, "000000041400" + "6465"},
	{"extended empty", Msg{ID: Extended, ExtID: 3, Ext: []byte{}}, "000000021403"},
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendMsg(t *testing.T) {
	for _, tt := range allMsgs {
		t.Run(tt.name, func(t *testing.T) {
			want := mustHex(t, tt.hex)
			prefix := []byte("xy")
			got := AppendMsg(prefix, &tt.m)
			if !bytes.Equal(got[:2], prefix) || !bytes.Equal(got[2:], want) {
				t.Errorf("AppendMsg = %x, want 7879%x", got, want)
			}
			var buf bytes.Buffer
			if err := WriteMsg(&buf, &tt.m); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("WriteMsg = %x, want %x", buf.Bytes(), want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range allMsgs {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(AppendMsg(nil, &tt.m)), MaxMsgLen(100))
			got := Msg{Index: 99, Bits: []byte{1}} // must be reset
			if err := r.ReadMsg(&got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.m) {
				t.Errorf("read %+v, want %+v", got, tt.m)
			}
		})
	}
}

func TestAppendMsgNoAlloc(t *testing.T) {
	buf := make([]byte, 0, 64<<10)
	m := Msg{ID: Piece, Index: 1, Begin: 16384, Block: make([]byte, 16384)}
	allocs := testing.AllocsPerRun(100, func() { buf = AppendMsg(buf[:0], &m) })
	if allocs != 0 {
		t.Errorf("AppendMsg allocates %v times per piece", allocs)
	}
}

func TestIDString(t *testing.T) {
	tests := []struct {
		id   ID
		want string
	}{
		{Choke, "choke"}, {Unchoke, "unchoke"}, {Interested, "interested"},
		{NotInterested, "not_interested"}, {Have, "have"}, {Bitfield, "bitfield"},
		{Request, "request"}, {Piece, "piece"}, {Cancel, "cancel"}, {Port, "port"},
		{Suggest, "suggest"}, {HaveAll, "have_all"}, {HaveNone, "have_none"},
		{Reject, "reject"}, {AllowedFast, "allowed_fast"}, {Extended, "extended"},
		{10, "unknown(10)"}, {42, "unknown(42)"}, {255, "unknown(255)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.id.String(); got != tt.want {
				t.Errorf("ID(%d).String() = %q, want %q", uint8(tt.id), got, tt.want)
			}
			if got, want := tt.id.Known(), !strings.HasPrefix(tt.want, "unknown"); got != want {
				t.Errorf("ID(%d).Known() = %v, want %v", uint8(tt.id), got, want)
			}
		})
	}
}

func TestMsgString(t *testing.T) {
	tests := []struct {
		m    *Msg
		want string
	}{
		{nil, "<nil>"},
		{&Msg{KeepAlive: true, ID: Piece}, "keepalive"},
		{&Msg{ID: Choke}, "choke"},
		{&Msg{ID: HaveNone}, "have_none"},
		{&Msg{ID: Have, Index: 7}, "have 7"},
		{&Msg{ID: AllowedFast, Index: 8}, "allowed_fast 8"},
		{&Msg{ID: Request, Index: 3, Begin: 16384, Length: 16384}, "request 3 16384+16384"},
		{&Msg{ID: Reject, Index: 1, Begin: 0, Length: 5}, "reject 1 0+5"},
		{&Msg{ID: Piece, Index: 3, Begin: 0, Block: make([]byte, 16384)}, "piece 3 0+16384"},
		{&Msg{ID: Bitfield, Bits: make([]byte, 12)}, "bitfield 12B"},
		{&Msg{ID: Port, Port: 6881}, "port 6881"},
		{&Msg{ID: Extended, ExtID: 1, Ext: make([]byte, 120)}, "extended 1 120B"},
		{&Msg{ID: 42, Length: 10}, "unknown(42) 10B"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.m.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMaxMsgLen(t *testing.T) {
	ext := uint32(2 + MaxExtLen)
	tests := []struct {
		name      string
		numPieces int
		want      uint32
	}{
		{"zero", 0, ext},
		{"negative", -5, ext},
		{"small", 1000, ext},
		{"bitfield wins", 16 << 20, 1 + 2<<20},
		{"bitfield rounds up", 16<<20 + 1, 2 + 2<<20},
		{"huge", math.MaxInt, math.MaxUint32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaxMsgLen(tt.numPieces); got != tt.want {
				t.Errorf("MaxMsgLen(%d) = %d, want %d", tt.numPieces, got, tt.want)
			}
			if got := MaxMsgLen(tt.numPieces); got < 9+MaxBlockLen {
				t.Errorf("MaxMsgLen(%d) = %d, below a full Piece frame", tt.numPieces, got)
			}
		})
	}
}
