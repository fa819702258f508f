package peer

import (
	"errors"
	"os"
	"reflect"
	"testing"
	"time"
)

// conns returns two Conns joined by a net.Pipe, closed when the test ends.
func conns(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	a, b := pipe(t)
	return NewConn(a, 0), NewConn(b, 0)
}

func TestConnExchange(t *testing.T) {
	a, b := conns(t)
	big := make([]byte, MaxBlockLen) // larger than the write buffer's free space
	for i := range big {
		big[i] = byte(i * 7)
	}
	want := []Msg{{ID: Piece, Index: 5, Begin: 16384, Block: big}}
	for _, tt := range allMsgs {
		want = append(want, tt.m)
	}
	done := make(chan error, 1)
	go func() {
		for i := range want {
			if err := a.WriteMsg(&want[i]); err != nil {
				done <- err
				return
			}
		}
		done <- a.Flush()
	}()
	expectMsgs(t, b, want, done)
}

func TestConnBuffersUntilFlush(t *testing.T) {
	a, b := conns(t)
	if err := a.WriteMsg(&Msg{ID: Interested}); err != nil {
		t.Fatal(err)
	}
	b.SetReadTimeout(30 * time.Millisecond)
	var m Msg
	if err := b.ReadMsg(&m); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("before Flush: read %v, %v; want a timeout", &m, err)
	}
	// The timed-out read consumed nothing, so the stream is still whole.
	b.SetReadTimeout(0)
	go a.Flush()
	if err := b.ReadMsg(&m); err != nil || m.ID != Interested {
		t.Fatalf("after Flush: read %v, %v; want interested", &m, err)
	}
}

func TestConnReadTimeout(t *testing.T) {
	a, b := conns(t)
	b.SetReadTimeout(30 * time.Millisecond)
	var m Msg
	start := time.Now()
	if err := b.ReadMsg(&m); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("silent peer: err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout took %v", d)
	}
	// With the timeout removed, a message sent later than the old
	// timeout must still arrive.
	b.SetReadTimeout(0)
	go func() {
		time.Sleep(60 * time.Millisecond)
		a.WriteMsg(&Msg{ID: Unchoke})
		a.Flush()
	}()
	if err := b.ReadMsg(&m); err != nil || m.ID != Unchoke {
		t.Fatalf("without timeout: read %v, %v; want unchoke", &m, err)
	}
}

func TestConnWriteTimeout(t *testing.T) {
	a, _ := conns(t) // nobody reads the other end
	a.SetWriteTimeout(30 * time.Millisecond)
	if err := a.WriteMsg(&Msg{ID: Have, Index: 1}); err != nil {
		t.Fatalf("buffered write: %v", err)
	}
	if err := a.Flush(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Flush to a stalled peer: err = %v, want a timeout", err)
	}
}

func TestConnAccessors(t *testing.T) {
	x, _ := pipe(t)
	c := NewConn(x, 0)
	if c.NetConn() != x {
		t.Error("NetConn is not the wrapped connection")
	}
	if c.RemoteAddr() != x.RemoteAddr() {
		t.Errorf("RemoteAddr = %v, want %v", c.RemoteAddr(), x.RemoteAddr())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Write([]byte{0}); err == nil {
		t.Error("Close left the connection open")
	}
}

// TestConnGather interleaves Piece blocks, which Conn sends from where they
// lie, with small messages past MaxQueued: everything arrives in order, and
// WriteMsg writes out by itself once MaxQueued bytes wait.
func TestConnGather(t *testing.T) {
	a, b := conns(t)
	var want []Msg
	for i := range 20 {
		block := make([]byte, 16<<10)
		for j := range block {
			block[j] = byte(i + j)
		}
		want = append(want, Msg{ID: Piece, Index: uint32(i), Block: block}, Msg{ID: Have, Index: uint32(i)})
	}
	done := make(chan error, 1)
	go func() {
		autoFlushed := false
		for i := range want {
			if err := a.WriteMsg(&want[i]); err != nil {
				done <- err
				return
			}
			if a.Queued() > MaxQueued {
				done <- errors.New("more than MaxQueued bytes queued")
				return
			}
			autoFlushed = autoFlushed || a.Queued() == 0
		}
		if !autoFlushed {
			done <- errors.New("WriteMsg never wrote out by itself")
			return
		}
		done <- a.Flush()
	}()
	expectMsgs(t, b, want, done)
}

// expectMsgs reads want from b, in order, then the writer's result from done.
func expectMsgs(t *testing.T, b *Conn, want []Msg, done <-chan error) {
	t.Helper()
	for i, w := range want {
		var m Msg
		if err := b.ReadMsg(&m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !reflect.DeepEqual(m, w) {
			t.Fatalf("message %d: got %v, want %v", i, &m, &w)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
