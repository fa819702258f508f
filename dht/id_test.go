package dht

import (
	"encoding/hex"
	"net/netip"
	"slices"
	"testing"
)

// BEP 42's table of test vectors: an IP, the random byte r, and an
// example node id whose first 21 bits and last byte are fixed.
var bep42Vectors = []struct {
	ip   string
	r    byte
	want string
}{
	{"124.31.75.21", 1, "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401"},
	{"21.75.31.124", 86, "5a3ce9c14e7a08645677bbd1cfe7d8f956d53256"},
	{"65.23.51.170", 22, "a5d43220bc8f112a3d426c84764f8c2a1150e616"},
	{"84.124.73.14", 65, "1b0321dd1bb1fe518101ceef99462b947a01ff41"},
	{"43.213.53.83", 90, "e56f6cbf5b7c4be0237986d5243b87aa6d51305a"},
}

func TestSecureIDVectors(t *testing.T) {
	for _, v := range bep42Vectors {
		t.Run(v.ip, func(t *testing.T) {
			ip := netip.MustParseAddr(v.ip)
			var want ID
			hex.Decode(want[:], []byte(v.want))
			got := SecureID(ip, v.r)
			if got[0] != want[0] || got[1] != want[1] || got[2]&0xf8 != want[2]&0xf8 || got[19] != v.r {
				t.Errorf("SecureID(%s, %d) = %s, want prefix of %s", ip, v.r, got, want)
			}
			if !IsSecure(want, ip) {
				t.Errorf("IsSecure(%s, %s) = false for BEP 42's own example", want, ip)
			}
			if !IsSecure(got, ip) {
				t.Errorf("IsSecure(SecureID) = false")
			}
			bad := want
			bad[0] ^= 0x80
			if IsSecure(bad, ip) {
				t.Errorf("IsSecure accepts a flipped top bit")
			}
			bad = want
			bad[19] ^= 0x01 // another r changes the expected prefix
			if IsSecure(bad, ip) {
				t.Errorf("IsSecure accepts a changed r")
			}
		})
	}
}

func TestIsSecureExempt(t *testing.T) {
	var id ID // all zeros: secure for no public address
	tests := []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.3.4.5", true},
		{"::1", true},
		{"10.1.2.3", true},
		{"172.16.9.9", true},
		{"192.168.1.1", true},
		{"169.254.1.1", true},
		{"fd00::1", true},
		{"::ffff:127.0.0.1", true},
		{"124.31.75.21", false},
		{"2001:db8::1", false},
	}
	for _, tt := range tests {
		if got := IsSecure(id, netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("IsSecure(zero, %s) = %v, want %v", tt.ip, got, tt.want)
		}
	}
	if IsSecure(id, netip.Addr{}) {
		t.Error("IsSecure(invalid addr) = true")
	}
}

func TestSecureIDv6(t *testing.T) {
	ip := netip.MustParseAddr("2001:db8:1234:5678::1")
	for r := range 8 {
		id := SecureID(ip, byte(r))
		if !IsSecure(id, ip) {
			t.Errorf("IsSecure(SecureID(%s, %d)) = false", ip, r)
		}
	}
}

func TestCommonPrefixLen(t *testing.T) {
	var a ID
	tests := []struct {
		name string
		flip int // bit to flip in b, -1 for none
		want int
	}{
		{"equal", -1, 160},
		{"top bit", 0, 0},
		{"bit 7", 7, 7},
		{"bit 8", 8, 8},
		{"last bit", 159, 159},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := a
			if tt.flip >= 0 {
				b[tt.flip/8] ^= 0x80 >> (tt.flip % 8)
			}
			if got := a.CommonPrefixLen(b); got != tt.want {
				t.Errorf("CommonPrefixLen = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestDistanceOrder(t *testing.T) {
	var target ID
	mk := func(b0, b19 byte) ID { var id ID; id[0], id[19] = b0, b19; return id }
	ids := []ID{mk(0x80, 0), mk(0, 1), mk(0x01, 0), mk(0, 0), mk(0x40, 0xff)}
	slices.SortFunc(ids, func(x, y ID) int { return target.Cmp(x, y) })
	want := []ID{mk(0, 0), mk(0, 1), mk(0x01, 0), mk(0x40, 0xff), mk(0x80, 0)}
	if !slices.Equal(ids, want) {
		t.Errorf("sorted = %v, want %v", ids, want)
	}
	if !target.Closer(mk(0, 1), mk(0x01, 0)) || target.Closer(mk(1, 0), mk(1, 0)) {
		t.Error("Closer wrong")
	}
	if d := mk(0xff, 1).Xor(mk(0x0f, 1)); d != mk(0xf0, 0) {
		t.Errorf("Xor = %s", d)
	}
}
