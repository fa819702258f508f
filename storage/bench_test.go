package storage

import (
	"crypto/sha1"
	"testing"
)

// benchStore opens a 64 MiB store with default options for benchmarks.
func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.TempDir(), []File{{"a", 32 << 20}, {"b", 32 << 20}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// benchBlocks moves 16 KiB blocks (BEP 3 BlockSize) into the store (with
// pwrite) or out of it (through the mapping), front to back and around
// again, reporting MB/s.
func benchBlocks(b *testing.B, write bool) {
	s := benchStore(b)
	block := pattern(16<<10, 1)
	if !write { // fault the pages in once so reads measure the copy
		for off := int64(0); off < s.Len(); off += int64(len(block)) {
			if err := s.WriteAt(block, off); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.SetBytes(int64(len(block)))
	var off int64
	for b.Loop() {
		var err error
		if write {
			err = s.WriteAt(block, off)
		} else {
			err = s.ReadAt(block, off)
		}
		if err != nil {
			b.Fatal(err)
		}
		off = (off + int64(len(block))) % s.Len()
	}
}

func BenchmarkWriteAt(b *testing.B) { benchBlocks(b, true) }

func BenchmarkReadAt(b *testing.B) { benchBlocks(b, false) }

// BenchmarkWriteBlocks writes runs of 16 blocks of 16 KiB with one
// WriteBlocks each, as the session writes a fast peer's blocks.
func BenchmarkWriteBlocks(b *testing.B) {
	s := benchStore(b)
	run := make([][]byte, 16)
	for i := range run {
		run[i] = pattern(16<<10, uint64(i))
	}
	n := int64(len(run)) * 16 << 10
	b.SetBytes(n)
	var off int64
	for b.Loop() {
		if err := s.WriteBlocks(run, off); err != nil {
			b.Fatal(err)
		}
		off = (off + n) % s.Len()
	}
}

// BenchmarkViewSHA1 hashes 1 MiB pieces straight from the mapping, as the
// session's hashers do (one core; the session runs one hasher per core).
func BenchmarkViewSHA1(b *testing.B) {
	s := benchStore(b)
	const pieceLen = 1 << 20
	block := pattern(pieceLen, 2)
	for off := int64(0); off < s.Len(); off += pieceLen {
		if err := s.WriteAt(block, off); err != nil {
			b.Fatal(err)
		}
	}
	h := sha1.New()
	b.SetBytes(pieceLen)
	b.ReportAllocs()
	var off int64
	for b.Loop() {
		h.Reset()
		if err := s.View(off, pieceLen, func(p []byte) { h.Write(p) }); err != nil {
			b.Fatal(err)
		}
		off = (off + pieceLen) % s.Len()
	}
}
