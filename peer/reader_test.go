package peer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// frame builds a frame from a length prefix and the bytes after it.
func frame(n uint32, rest ...byte) []byte {
	return append([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, rest...)
}

func TestReadMsgMalformed(t *testing.T) {
	const maxLen = 1000
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"huge prefix", frame(0xffffffff, byte(Piece)), ErrTooLong},
		{"bitfield over maxLen", frame(maxLen+1, append([]byte{byte(Bitfield)}, make([]byte, maxLen)...)...), ErrTooLong},
		{"choke with payload", frame(2, byte(Choke), 0), ErrBadMsg},
		{"have_all with payload", frame(2, byte(HaveAll), 0), ErrBadMsg},
		{"have with 3 bytes", frame(4, byte(Have), 0, 0, 1), ErrBadMsg},
		{"have with 5 bytes", frame(6, byte(Have), 0, 0, 0, 1, 0), ErrBadMsg},
		{"suggest with 0 bytes", frame(1, byte(Suggest)), ErrBadMsg},
		{"allowed_fast with 3 bytes", frame(4, byte(AllowedFast), 0, 0, 1), ErrBadMsg},
		{"request with 11", frame(12, append([]byte{byte(Request)}, make([]byte, 11)...)...), ErrBadMsg},
		{"request with 13", frame(14, append([]byte{byte(Request)}, make([]byte, 13)...)...), ErrBadMsg},
		{"cancel with 11", frame(12, append([]byte{byte(Cancel)}, make([]byte, 11)...)...), ErrBadMsg},
		{"reject with 11", frame(12, append([]byte{byte(Reject)}, make([]byte, 11)...)...), ErrBadMsg},
		{"port with 1", frame(2, byte(Port), 1), ErrBadMsg},
		{"port with 3", frame(4, byte(Port), 1, 2, 3), ErrBadMsg},
		{"piece with 7", frame(8, append([]byte{byte(Piece)}, make([]byte, 7)...)...), ErrBadMsg},
		{"extended with 0", frame(1, byte(Extended)), ErrBadMsg},
		{"truncated prefix", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"truncated before id", frame(1), io.ErrUnexpectedEOF},
		{"truncated have", frame(5, byte(Have), 0, 0), io.ErrUnexpectedEOF},
		{"truncated request", frame(13, byte(Request), 0, 0, 0, 1), io.ErrUnexpectedEOF},
		{"truncated piece header", frame(20, byte(Piece), 0, 0, 0), io.ErrUnexpectedEOF},
		{"truncated piece block", frame(20, byte(Piece), 0, 0, 0, 1, 0, 0, 0, 0, 'a'), io.ErrUnexpectedEOF},
		{"truncated bitfield", frame(10, byte(Bitfield), 0xff), io.ErrUnexpectedEOF},
		{"truncated extended id", frame(5, byte(Extended)), io.ErrUnexpectedEOF},
		{"truncated extended", frame(5, byte(Extended), 1, 'd'), io.ErrUnexpectedEOF},
		{"truncated unknown", frame(5, 99, 1), io.ErrUnexpectedEOF},
		{"truncated port", frame(3, byte(Port)), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Msg
			err := NewReader(bytes.NewReader(tt.input), maxLen).ReadMsg(&m)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestReadMsgBlockLimits(t *testing.T) {
	big := MaxMsgLen(1 << 30) // a limit far above the per-ID caps
	tests := []struct {
		name  string
		id    ID
		extra int // payload bytes beyond the ID's cap
		want  error
	}{
		{"piece at cap", Piece, 0, nil},
		{"piece over cap", Piece, 1, ErrTooLong},
		{"extended at cap", Extended, 0, nil},
		{"extended over cap", Extended, 1, ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Msg{ID: tt.id, Block: make([]byte, MaxBlockLen+tt.extra)}
			if tt.id == Extended {
				m = Msg{ID: tt.id, ExtID: 1, Ext: make([]byte, MaxExtLen+tt.extra)}
			}
			var got Msg
			err := NewReader(bytes.NewReader(AppendMsg(nil, &m)), big).ReadMsg(&got)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// repeat is an endless stream of the same bytes.
type repeat struct {
	b   []byte
	off int
}

func (r *repeat) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.b[r.off:])
		n += c
		r.off = (r.off + c) % len(r.b)
	}
	return n, nil
}

func TestReadMsgHugePrefixDoesNotAllocate(t *testing.T) {
	r := NewReader(&repeat{b: frame(0xffffffff)}, 0xfffffffe)
	var m Msg
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	allocs := testing.AllocsPerRun(50, func() {
		if err := r.ReadMsg(&m); !errors.Is(err, ErrTooLong) {
			t.Fatalf("err = %v, want ErrTooLong", err)
		}
	})
	runtime.ReadMemStats(&after)
	// Only the error value may be allocated, never the payload.
	if allocs > 8 {
		t.Errorf("a rejected huge prefix costs %v allocations", allocs)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Errorf("51 rejected huge prefixes allocated %d bytes", n)
	}
}

func TestReadMsgStream(t *testing.T) {
	var stream []byte
	for _, tt := range allMsgs {
		stream = AppendMsg(stream, &tt.m)
	}
	stream = append(stream, frame(3, 99, 'x', 'y')...) // unknown ID
	stream = AppendMsg(stream, &Msg{ID: HaveAll})
	r := NewReader(bytes.NewReader(stream), 0)
	var m Msg
	for _, tt := range allMsgs {
		if err := r.ReadMsg(&m); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got, want := m.String(), tt.m.String(); got != want {
			t.Fatalf("read %s, want %s", got, want)
		}
	}
	if err := r.ReadMsg(&m); err != nil || m.ID != 99 || m.Length != 2 || m.KeepAlive {
		t.Fatalf("unknown frame: got %+v, %v; want ID 99 with Length 2", m, err)
	}
	if err := r.ReadMsg(&m); err != nil || m.ID != HaveAll {
		t.Fatalf("after the unknown frame: got %v, %v; want have_all", &m, err)
	}
	if err := r.ReadMsg(&m); err != io.EOF {
		t.Fatalf("at the end: err = %v, want io.EOF", err)
	}
}

func TestReadMsgKeepAlive(t *testing.T) {
	r := NewReader(bytes.NewReader(frame(0)), 0)
	m := Msg{ID: Piece, Block: []byte("stale")}
	if err := r.ReadMsg(&m); err != nil {
		t.Fatal(err)
	}
	if !m.KeepAlive || m.Block != nil || m.ID != 0 {
		t.Errorf("got %+v, want a bare keep-alive", m)
	}
}

func TestReadMsgOwnsSlices(t *testing.T) {
	var stream []byte
	stream = AppendMsg(stream, &Msg{ID: Piece, Block: []byte("first")})
	stream = AppendMsg(stream, &Msg{ID: Piece, Block: []byte("later")})
	r := NewReader(bytes.NewReader(stream), 0)
	var m1, m2 Msg
	if err := r.ReadMsg(&m1); err != nil {
		t.Fatal(err)
	}
	if err := r.ReadMsg(&m2); err != nil {
		t.Fatal(err)
	}
	if string(m1.Block) != "first" || string(m2.Block) != "later" {
		t.Errorf("blocks share memory: %q, %q", m1.Block, m2.Block)
	}
}

func TestNewReader(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader(""), 16)
	if r := NewReader(br, 10); r.br != br {
		t.Error("NewReader wrapped a *bufio.Reader again")
	}
	r := NewReader(strings.NewReader(""), 0)
	if r.br.Size() != readBufSize {
		t.Errorf("buffer size %d, want %d", r.br.Size(), readBufSize)
	}
	if r.maxLen != MaxMsgLen(0) {
		t.Errorf("maxLen 0 gave limit %d, want %d", r.maxLen, MaxMsgLen(0))
	}
}
