package peer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// FuzzReadMsg decodes arbitrary input frame by frame and checks that every
// frame of a known ID re-encodes to exactly the bytes it was read from,
// and that every failure is one of the documented errors.
func FuzzReadMsg(f *testing.F) {
	for _, tt := range allMsgs {
		f.Add(AppendMsg(nil, &tt.m))
	}
	f.Add(frame(3, 99, 1, 2))
	f.Add(frame(0xffffffff, byte(Piece)))
	f.Add(frame(4, byte(Have), 0, 0, 1))
	const maxLen = 4096
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), maxLen)
		for off := 0; ; {
			var m Msg
			err := r.ReadMsg(&m)
			if err != nil {
				checkErr(t, err)
				return
			}
			n := int(binary.BigEndian.Uint32(data[off:]))
			in := data[off : off+4+n]
			off += 4 + n
			if !m.KeepAlive && !m.ID.Known() {
				if m.ID != ID(in[4]) || int(m.Length) != n-1 {
					t.Fatalf("unknown frame %x read as %+v", in, m)
				}
				continue
			}
			if out := AppendMsg(nil, &m); !bytes.Equal(out, in) {
				t.Fatalf("frame %x read as %v re-encodes to %x", in, &m, out)
			}
		}
	})
}

// checkErr fails unless err is one ReadMsg documents.
func checkErr(t *testing.T, err error) {
	t.Helper()
	for _, want := range []error{io.EOF, io.ErrUnexpectedEOF, ErrBadMsg, ErrTooLong} {
		if errors.Is(err, want) {
			return
		}
	}
	t.Fatalf("undocumented error %v", err)
}
