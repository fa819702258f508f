package dht

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// compactNodes decodes a compact node string of ipLen-byte addresses
// (BEP 5 "nodes": 20-byte id, 4-byte IPv4, 2-byte port; BEP 32 "nodes6":
// the same with a 16-byte IPv6 address). raw may be absent (nil). Its
// length must be a multiple of the entry size; entries past MaxNodes are
// dropped.
func compactNodes(raw []byte, ipLen int) ([]NodeInfo, error) {
	if raw == nil {
		return nil, nil
	}
	s, ok := rawStr(raw)
	size := 20 + ipLen + 2
	if !ok || len(s)%size != 0 {
		return nil, fmt.Errorf("not a string of %d-byte entries", size)
	}
	n := min(len(s)/size, MaxNodes)
	if n == 0 {
		return nil, nil
	}
	nodes := make([]NodeInfo, n)
	for i := range nodes {
		e := s[i*size : (i+1)*size]
		copy(nodes[i].ID[:], e[:20])
		nodes[i].Addr, _ = compactAddr(e[20:])
	}
	return nodes, nil
}

// compactValues decodes the "values" list of a get_peers reply: strings
// of 6 bytes (IPv4 and port) or 18 bytes (IPv6 and port). raw may be
// absent. Elements past MaxValues are not decoded.
func compactValues(raw []byte) ([]netip.AddrPort, error) {
	if raw == nil {
		return nil, nil
	}
	var vals []netip.AddrPort
	bad := false
	ok := walkList(raw, func(v []byte) bool {
		if len(vals) == MaxValues {
			return false
		}
		s, _ := rawStr(v)
		a, ok := compactAddr(s)
		if !ok {
			bad = true
			return false
		}
		vals = append(vals, a)
		return true
	})
	if !ok || bad {
		return nil, fmt.Errorf("not a list of 6- or 18-byte strings")
	}
	return vals, nil
}

// compactAddr decodes a compact address: a 4-byte IPv4 or 16-byte IPv6
// address followed by a 2-byte big-endian port. An IPv4-mapped IPv6
// address is kept as sent, so it encodes back to 18 bytes.
func compactAddr(s []byte) (netip.AddrPort, bool) {
	if len(s) != 6 && len(s) != 18 {
		return netip.AddrPort{}, false
	}
	ip, _ := netip.AddrFromSlice(s[:len(s)-2])
	return netip.AddrPortFrom(ip, binary.BigEndian.Uint16(s[len(s)-2:])), true
}

// appendCompactAddr appends a's compact form: 6 bytes for an IPv4
// address, 18 for an IPv6 one.
func appendCompactAddr(b []byte, a netip.AddrPort) []byte {
	b = append(b, a.Addr().AsSlice()...)
	return binary.BigEndian.AppendUint16(b, a.Port())
}

// appendCompactNodes appends the compact string ("nodes" when v6 is
// false, "nodes6" when true) of the first MaxNodes entries of nodes whose
// address is of that family; others are skipped.
func appendCompactNodes(b []byte, nodes []NodeInfo, v6 bool) []byte {
	var s []byte
	n := 0
	for _, nd := range nodes {
		if n == MaxNodes {
			break
		}
		if a := nd.Addr.Addr(); !a.IsValid() || a.Is4() == v6 {
			continue
		}
		s = append(s, nd.ID[:]...)
		s = appendCompactAddr(s, nd.Addr)
		n++
	}
	return appendStr(b, s)
}
