package peer

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
)

// Flags of an added peer in a ut_pex message, one byte per peer in
// "added.f" and "added6.f". BEP 11: other bits are reserved.
const (
	PexEncryption = 0x01 // prefers encryption (the "e" key of its handshake)
	PexSeed       = 0x02 // is a seed / upload only
	PexUTP        = 0x04 // supports uTP
	PexHolepunch  = 0x08 // supports ut_holepunch
	PexReachable  = 0x10 // outgoing connection: the address is connectable
)

// MaxPexPeers is the most added entries (IPv4 and IPv6 together) and the
// most dropped entries accepted in one ut_pex message. Clients agree to
// send at most 50 of each; more than MaxPexPeers is a flood.
const MaxPexPeers = 200

// Sizes of compact peer entries: address then big-endian port (BEP 23 for
// IPv4, BEP 7 for IPv6).
const (
	compact4Len = 4 + 2
	compact6Len = 16 + 2
)

// pexOp names ut_pex messages in errors.
const pexOp = "ut_pex message"

// PexPeer is one added peer of a ut_pex message.
type PexPeer struct {
	Addr  netip.AddrPort
	Flags byte // Pex* bits
}

// Pex is a BEP 11 ut_pex message: the peers the sender connected to and
// disconnected from since its previous message. It is a plain value.
// Parsed lists hold the IPv4 entries first, then the IPv6 ones, each in
// wire order; they are nil when empty.
type Pex struct {
	Added   []PexPeer
	Dropped []netip.AddrPort
}

// ParsePex decodes the payload of a ut_pex extended message, which must be
// exactly one bencoded dictionary. The lists "added", "added6", "dropped"
// and "dropped6" are optional (ignored when not strings); each must hold
// whole compact entries, and at most MaxPexPeers entries may be added, and
// as many dropped, in one message. A flag string may be shorter than its
// list (missing flags are 0) or absent. Entries with port 0 are skipped
// and IPv4-mapped IPv6 addresses are unmapped.
func ParsePex(payload []byte) (Pex, error) {
	d, n, err := decodeDict(payload, pexOp,
		"added", "added.f", "added6", "added6.f", "dropped", "dropped6")
	if err != nil {
		return Pex{}, err
	}
	if n != len(payload) {
		return Pex{}, trailingErr(pexOp, len(payload)-n)
	}
	var lists [4][]byte
	for i, key := range [4]string{"added", "added6", "dropped", "dropped6"} {
		if lists[i], err = compactList(d, key); err != nil {
			return Pex{}, err
		}
	}
	added := len(lists[0])/compact4Len + len(lists[1])/compact6Len
	dropped := len(lists[2])/compact4Len + len(lists[3])/compact6Len
	if added > MaxPexPeers || dropped > MaxPexPeers {
		return Pex{}, fmt.Errorf("peer: %s with %d added and %d dropped peers, limit %d: %w",
			pexOp, added, dropped, MaxPexPeers, ErrBadExt)
	}
	f4, _ := d.str("added.f")
	f6, _ := d.str("added6.f")
	var p Pex
	p.Added = appendPexPeers(p.Added, lists[0], f4, compact4Len)
	p.Added = appendPexPeers(p.Added, lists[1], f6, compact6Len)
	p.Dropped = appendAddrPorts(p.Dropped, lists[2], compact4Len)
	p.Dropped = appendAddrPorts(p.Dropped, lists[3], compact6Len)
	// Unmapped entries of added6 and dropped6 join the IPv4 ones, so that
	// Encode, which sorts by family, gives back the same order.
	slices.SortStableFunc(p.Added, func(a, b PexPeer) int { return byFamily(a.Addr, b.Addr) })
	slices.SortStableFunc(p.Dropped, byFamily)
	return p, nil
}

// Encode returns the payload for Msg.Ext: "added", "added.f", "added6",
// "added6.f", "dropped" and "dropped6", all present, in compact form.
// Addresses are split by family after unmapping; invalid ones are left
// out. The caller keeps each list within the 50 entries clients agree on
// (and ports nonzero).
func (p *Pex) Encode() []byte {
	var a4, f4, a6, f6, d4, d6 []byte
	for _, pp := range p.Added {
		switch a := pp.Addr.Addr().Unmap(); {
		case a.Is4():
			a4 = appendCompact(a4, a, pp.Addr.Port())
			f4 = append(f4, pp.Flags)
		case a.Is6():
			a6 = appendCompact(a6, a, pp.Addr.Port())
			f6 = append(f6, pp.Flags)
		}
	}
	for _, ap := range p.Dropped {
		switch a := ap.Addr().Unmap(); {
		case a.Is4():
			d4 = appendCompact(d4, a, ap.Port())
		case a.Is6():
			d6 = appendCompact(d6, a, ap.Port())
		}
	}
	b := make([]byte, 0, 64+len(a4)+len(f4)+len(a6)+len(f6)+len(d4)+len(d6))
	b = append(b, 'd')
	b = appendStr(appendStr(b, "added"), a4)
	b = appendStr(appendStr(b, "added.f"), f4)
	b = appendStr(appendStr(b, "added6"), a6)
	b = appendStr(appendStr(b, "added6.f"), f6)
	b = appendStr(appendStr(b, "dropped"), d4)
	b = appendStr(appendStr(b, "dropped6"), d6)
	return append(b, 'e')
}

// compactList returns the compact peer list under key, nil when the key is
// absent or not a string. Keys ending in 6 hold IPv6 entries. A list that
// is not a whole number of entries is an error.
func compactList(d dict, key string) ([]byte, error) {
	s, ok := d.str(key)
	if !ok {
		return nil, nil
	}
	size := compactLen(key)
	if len(s)%size != 0 {
		return nil, fmt.Errorf("peer: %s: %q of %d bytes, not a multiple of %d: %w", pexOp, key, len(s), size, ErrBadExt)
	}
	return s, nil
}

// compactLen returns the entry size of the list named key.
func compactLen(key string) int {
	if key[len(key)-1] == '6' {
		return compact6Len
	}
	return compact4Len
}

// appendPexPeers appends the entries of a compact list of size-byte
// entries, with their flags, skipping port 0.
func appendPexPeers(dst []PexPeer, list, flags []byte, size int) []PexPeer {
	for i := 0; i*size < len(list); i++ {
		ap := compactAddrPort(list[i*size : (i+1)*size])
		if ap.Port() == 0 {
			continue
		}
		var f byte
		if i < len(flags) {
			f = flags[i]
		}
		dst = append(dst, PexPeer{Addr: ap, Flags: f})
	}
	return dst
}

// appendAddrPorts appends the entries of a compact list of size-byte
// entries, skipping port 0.
func appendAddrPorts(dst []netip.AddrPort, list []byte, size int) []netip.AddrPort {
	for i := 0; i < len(list); i += size {
		if ap := compactAddrPort(list[i : i+size]); ap.Port() != 0 {
			dst = append(dst, ap)
		}
	}
	return dst
}

// compactAddrPort decodes one compact entry of 6 or 18 bytes, unmapping an
// IPv4-mapped IPv6 address.
func compactAddrPort(e []byte) netip.AddrPort {
	n := len(e) - 2
	a, _ := netip.AddrFromSlice(e[:n])
	return netip.AddrPortFrom(a.Unmap(), binary.BigEndian.Uint16(e[n:]))
}

// appendCompact appends the compact form of a (4 or 16 bytes) and port.
func appendCompact(b []byte, a netip.Addr, port uint16) []byte {
	b = append(b, a.AsSlice()...)
	return binary.BigEndian.AppendUint16(b, port)
}

// byFamily orders IPv4 addresses before IPv6 ones.
func byFamily(a, b netip.AddrPort) int {
	return family(a) - family(b)
}

// family is 0 for an IPv4 address and 1 otherwise.
func family(ap netip.AddrPort) int {
	if ap.Addr().Is4() {
		return 0
	}
	return 1
}
