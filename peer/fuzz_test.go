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

// FuzzReadHandshake reads a handshake from arbitrary bytes. ReadHandshake
// must never panic; a handshake it accepts re-encodes to exactly the first
// HandshakeLen bytes; every failure is a documented error; and check (what
// Initiate and Accept apply) passes only a handshake for our torrent from
// someone other than us.
func FuzzReadHandshake(f *testing.F) {
	ours := hs("01234567890123456789", "-UW0100-abcdefghijkl", true, false)
	var good bytes.Buffer
	WriteHandshake(&good, hs("01234567890123456789", "-XX0000-zzzzzzzzzzzz", true, true))
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:HandshakeLen-1])
	f.Add([]byte("\x13BitTorrent protocoX"))
	f.Add([]byte("\x14BitTorrent protocol!"))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ReadHandshake(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrProtocol) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		var out bytes.Buffer
		WriteHandshake(&out, h)
		if !bytes.Equal(out.Bytes(), data[:HandshakeLen]) {
			t.Fatalf("handshake %x re-encodes to %x", data[:HandshakeLen], out.Bytes())
		}
		err = check(ours, h)
		if (err == nil) != (h.InfoHash == ours.InfoHash && h.PeerID != ours.PeerID) {
			t.Fatalf("check(%+v) = %v", h, err)
		}
	})
}
