package mse

import (
	"io"
	"net"
	"syscall"
	"testing"
)

// TestRC4WriteReadOnly writes from a read-only mapping, as a seeder writes
// blocks of an mmap'd file: any store into the caller's bytes would fault.
func TestRC4WriteReadOnly(t *testing.T) {
	const n = 64 << 10
	ro, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Skip("mmap:", err)
	}
	defer syscall.Munmap(ro)
	a, b := tcpPair(t)
	ini, resp := streamPair(t)
	w := &rc4Conn{Conn: a, enc: ini.enc}
	go func() {
		w.Write(ro)
		v := net.Buffers{ro[:13], ro}
		w.WriteBuffers(&v)
		a.Close()
	}()
	got, err := io.ReadAll(&rc4Conn{Conn: b, dec: resp.dec})
	if err != nil || len(got) != 2*n+13 {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	for i, c := range got {
		if c != 0 {
			t.Fatalf("byte %d is %d, want 0", i, c)
		}
	}
}
