package dht

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"hash/crc32"
	"math/bits"
	"net/netip"
)

// IDLen is the length of a node id and an info hash in bytes. BEP 5: node
// ids are chosen from the same 160-bit space as info hashes.
const IDLen = 20

// ID is a node id, or an info hash or lookup target in the same space.
// A [20]byte (an info hash from metainfo) is assignable to an ID and back.
type ID [IDLen]byte

// RandomID returns a uniformly random id. BEP 5: node ids are chosen at
// random.
func RandomID() ID {
	var id ID
	rand.Read(id[:])
	return id
}

// String returns id in lower-case hex.
func (id ID) String() string {
	return hex.EncodeToString(id[:])
}

// IsZero reports whether every byte of id is zero.
func (id ID) IsZero() bool {
	return id == ID{}
}

// Xor returns the XOR distance between id and o. BEP 5: distance(A, B) =
// |A xor B|, read as an unsigned big-endian integer; smaller is closer.
func (id ID) Xor(o ID) ID {
	var d ID
	for i := range d {
		d[i] = id[i] ^ o[i]
	}
	return d
}

// Cmp compares the distances of a and b to id: -1 when a is closer, +1
// when b is, 0 when a == b. It sorts contacts by closeness to a target:
// slices.SortFunc(ns, func(x, y NodeInfo) int { return t.Cmp(x.ID, y.ID) }).
func (id ID) Cmp(a, b ID) int {
	da, db := id.Xor(a), id.Xor(b)
	return bytes.Compare(da[:], db[:])
}

// Closer reports whether a is strictly closer to id than b is.
func (id ID) Closer(a, b ID) bool {
	return id.Cmp(a, b) < 0
}

// CommonPrefixLen returns how many leading bits id and o share, 0 to 160.
// It is 160 only when they are equal.
func (id ID) CommonPrefixLen(o ID) int {
	for i := range id {
		if x := id[i] ^ o[i]; x != 0 {
			return i*8 + bits.LeadingZeros8(x)
		}
	}
	return IDLen * 8
}

// BEP 42 masks applied to an address before hashing: they keep more of
// the bits that change hands between subscribers (the low ones) and fewer
// of the network's prefix.
var (
	v4Mask = [4]byte{0x03, 0x0f, 0x3f, 0xff}
	v6Mask = [8]byte{0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff}
)

// castagnoli is the CRC32-C table BEP 42 hashes with.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// secureCRC returns BEP 42's crc32c((ip & mask) | (r << 29)) for ip, an
// IPv4 address (4 bytes hashed) or IPv6 address (its first 8 bytes
// hashed). Only the low 3 bits of r count.
func secureCRC(ip netip.Addr, r byte) uint32 {
	var buf []byte
	if ip = ip.Unmap(); ip.Is4() {
		a := ip.As4()
		for i := range a {
			a[i] &= v4Mask[i]
		}
		buf = a[:]
	} else {
		a16 := ip.As16()
		var a [8]byte
		for i := range a {
			a[i] = a16[i] & v6Mask[i]
		}
		buf = a[:]
	}
	buf[0] |= (r & 7) << 5
	return crc32.Checksum(buf, castagnoli)
}

// SecureID returns a BEP 42 node id for a node whose external address is
// ip: the top 21 bits are those of the CRC32-C of the masked ip with r's
// low 3 bits in its top bits, the last byte is r, and the rest is random.
// ip must be valid.
func SecureID(ip netip.Addr, r byte) ID {
	return secureID(ip, r, RandomID())
}

// secureID is SecureID with the random bits taken from rnd.
func secureID(ip netip.Addr, r byte, rnd ID) ID {
	crc := secureCRC(ip, r)
	id := rnd
	id[0] = byte(crc >> 24)
	id[1] = byte(crc >> 16)
	id[2] = byte(crc>>8)&0xf8 | rnd[2]&0x07
	id[IDLen-1] = r
	return id
}

// IsSecure reports whether id is a valid BEP 42 id for a node at ip: its
// top 21 bits match the CRC32-C of ip masked and combined with the id's
// last byte. BEP 42 exempts local addresses, which are not globally
// unique: IsSecure returns true for loopback (127.0.0.0/8, ::1), private
// (10/8, 172.16/12, 192.168/16, and fc00::/7) and link-local (169.254/16,
// fe80::/10) addresses whatever the id. An invalid ip is never secure.
func IsSecure(id ID, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() {
		return true
	}
	crc := secureCRC(ip, id[IDLen-1])
	return id[0] == byte(crc>>24) && id[1] == byte(crc>>16) && id[2]&0xf8 == byte(crc>>8)&0xf8
}
