package piece

import (
	"bytes"
	"errors"
	"math/bits"
	"testing"
)

func TestBitfieldWireOrder(t *testing.T) {
	tests := []struct {
		name string
		n    int
		set  []int
		want []byte
	}{
		{"piece 0 is the high bit", 8, []int{0}, []byte{0x80}},
		{"piece 7 is the low bit", 8, []int{7}, []byte{0x01}},
		{"second byte", 10, []int{0, 9}, []byte{0x80, 0x40}},
		{"across a word", 70, []int{63, 64, 69}, []byte{0, 0, 0, 0, 0, 0, 0, 0x01, 0x84}},
		{"empty", 0, nil, []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBitfield(tt.n)
			for _, i := range tt.set {
				b.Set(i)
			}
			got := b.Bytes()
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("Bytes() = %x, want %x", got, tt.want)
			}
			back, err := FromBytes(got, tt.n)
			if err != nil {
				t.Fatalf("FromBytes: %v", err)
			}
			for i := range tt.n {
				if back.Has(i) != b.Has(i) {
					t.Errorf("round trip: Has(%d) = %v, want %v", i, back.Has(i), b.Has(i))
				}
			}
			if back.Count() != len(tt.set) {
				t.Errorf("Count() = %d, want %d", back.Count(), len(tt.set))
			}
		})
	}
}

func TestFromBytesRefuses(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		n    int
	}{
		{"too short", []byte{0xff}, 9},
		{"too long", []byte{0xff, 0x00}, 8},
		{"empty for one piece", nil, 1},
		{"spare bit set", []byte{0xff, 0x20}, 10},
		{"lowest spare bit set", []byte{0x01}, 7},
		{"negative length", nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromBytes(tt.b, tt.n)
			if !errors.Is(err, ErrBitfield) {
				t.Fatalf("FromBytes(%x, %d) error = %v, want ErrBitfield", tt.b, tt.n, err)
			}
		})
	}
}

func TestBitfieldCountFull(t *testing.T) {
	tests := []struct {
		name string
		n    int
		set  []int
		full bool
	}{
		{"none", 100, nil, false},
		{"some", 100, []int{0, 1, 64, 99}, false},
		{"twice is once", 100, []int{5, 5}, false},
		{"single full", 1, []int{0}, true},
		{"out of range ignored", 3, []int{-1, 3, 1000}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBitfield(tt.n)
			want := map[int]bool{}
			for _, i := range tt.set {
				b.Set(i)
				if i >= 0 && i < tt.n {
					want[i] = true
				}
			}
			if b.Count() != len(want) {
				t.Errorf("Count() = %d, want %d", b.Count(), len(want))
			}
			if b.Full() != tt.full {
				t.Errorf("Full() = %v, want %v", b.Full(), tt.full)
			}
		})
	}
}

func TestBitfieldSetAllClear(t *testing.T) {
	for _, n := range []int{1, 7, 8, 63, 64, 65, 70, 128} {
		b := NewBitfield(n)
		b.SetAll()
		if b.Count() != n || !b.Full() {
			t.Fatalf("n=%d: after SetAll Count() = %d, Full() = %v", n, b.Count(), b.Full())
		}
		if _, err := FromBytes(b.Bytes(), n); err != nil {
			t.Fatalf("n=%d: SetAll left spare bits set: %v", n, err)
		}
		b.Clear(n - 1)
		if b.Has(n-1) || b.Count() != n-1 || b.Full() {
			t.Fatalf("n=%d: Clear(%d) did not clear it", n, n-1)
		}
		if b.Has(n) || b.Has(-1) {
			t.Fatalf("n=%d: Has out of range is true", n)
		}
	}
}

func TestBitfieldClone(t *testing.T) {
	a := NewBitfield(16)
	a.Set(3)
	c := a.Clone()
	c.Set(4)
	a.Clear(3)
	if a.Has(4) || !c.Has(3) || !c.Has(4) {
		t.Fatalf("Clone shares storage: a=%x c=%x", a.Bytes(), c.Bytes())
	}
	if c.Len() != 16 {
		t.Fatalf("Clone Len() = %d, want 16", c.Len())
	}
}

func TestBitfieldNextSet(t *testing.T) {
	set := []int{0, 2, 63, 64, 130, 199}
	b := NewBitfield(200)
	for _, i := range set {
		b.Set(i)
	}
	var got []int
	for i := b.NextSet(0); i >= 0; i = b.NextSet(i + 1) {
		got = append(got, i)
	}
	if len(got) != len(set) {
		t.Fatalf("NextSet walk = %v, want %v", got, set)
	}
	for k := range set {
		if got[k] != set[k] {
			t.Fatalf("NextSet walk = %v, want %v", got, set)
		}
	}
	if i := b.NextSet(200); i != -1 {
		t.Fatalf("NextSet(200) = %d, want -1", i)
	}
}

func TestNthSet(t *testing.T) {
	x := uint64(0b1011) << 60 // bits at positions 0, 2, 3 from the top
	for k, want := range []int{0, 2, 3} {
		if got := nthSet(x, k); got != want {
			t.Errorf("nthSet(%b, %d) = %d, want %d", x, k, got, want)
		}
	}
}

func FuzzFromBytes(f *testing.F) {
	f.Add([]byte{0x80}, 1)
	f.Add([]byte{0xff, 0xc0}, 10)
	f.Add([]byte{0xff, 0xe0}, 10)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n > 1<<16 {
			return
		}
		bf, err := FromBytes(b, n)
		if err != nil {
			return
		}
		if got := bf.Bytes(); !bytes.Equal(got, b) {
			t.Fatalf("Bytes() = %x, want %x", got, b)
		}
		want := 0
		for _, c := range b {
			want += bits.OnesCount8(c)
		}
		if bf.Count() != want {
			t.Fatalf("Count() = %d, want %d", bf.Count(), want)
		}
	})
}
