package dht

import "net/netip"

// Encode returns m as canonical bencode: keys sorted, each value in its
// shortest form. It writes the body m.Y calls for ("a" for a query, "r"
// for a response, "e" for an error) and leaves out zero fields, except
// those BEP 5 requires: "id" always; "target" in find_node; "info_hash"
// in get_peers and announce_peer; "port" and "token" in announce_peer.
// Lists are cut to the bounds ParseMsg keeps (MaxNodes, MaxValues), nodes
// of the wrong address family for "nodes" or "nodes6" are skipped, and
// invalid addresses are left out. Encode does not check that the result
// fits in one UDP datagram: a node picks how many contacts to send.
func (m *Msg) Encode() []byte {
	b := []byte{'d'}
	switch m.Y {
	case TypeQuery:
		b = m.appendArgs(appendStr(b, "a"))
	case TypeError:
		b = append(appendStr(b, "e"), 'l')
		b = appendInt(b, int64(m.ErrCode))
		b = append(appendStr(b, m.ErrMsg), 'e')
	}
	if m.IP.Addr().IsValid() {
		b = appendStr(appendStr(b, "ip"), appendCompactAddr(nil, m.IP))
	}
	if m.Y == TypeQuery {
		b = appendStr(appendStr(b, "q"), m.Q)
	}
	if m.Y == TypeResponse {
		b = m.appendReturns(appendStr(b, "r"))
	}
	if m.RO {
		b = appendInt(appendStr(b, "ro"), 1)
	}
	b = appendStr(appendStr(b, "t"), m.T)
	b = appendStr(appendStr(b, "y"), m.Y)
	return append(b, 'e')
}

// appendArgs appends the "a" dictionary of a query, keys sorted.
func (m *Msg) appendArgs(b []byte) []byte {
	announce := m.Q == QueryAnnouncePeer
	b = append(b, 'd')
	b = appendStr(appendStr(b, "id"), m.ID[:])
	if m.ImpliedPort {
		b = appendInt(appendStr(b, "implied_port"), 1)
	}
	if announce || m.Q == QueryGetPeers || !m.InfoHash.IsZero() {
		b = appendStr(appendStr(b, "info_hash"), m.InfoHash[:])
	}
	if announce || m.Port != 0 {
		b = appendInt(appendStr(b, "port"), int64(m.Port))
	}
	if m.Q == QueryFindNode || !m.Target.IsZero() {
		b = appendStr(appendStr(b, "target"), m.Target[:])
	}
	if announce || len(m.Token) > 0 {
		b = appendStr(appendStr(b, "token"), m.Token)
	}
	if m.Want != 0 {
		b = append(appendStr(b, "want"), 'l')
		if m.Want&WantNodes4 != 0 {
			b = appendStr(b, "n4")
		}
		if m.Want&WantNodes6 != 0 {
			b = appendStr(b, "n6")
		}
		b = append(b, 'e')
	}
	return append(b, 'e')
}

// appendReturns appends the "r" dictionary of a response, keys sorted.
func (m *Msg) appendReturns(b []byte) []byte {
	b = append(b, 'd')
	b = appendStr(appendStr(b, "id"), m.ID[:])
	if hasFamily(m.Nodes, false) {
		b = appendCompactNodes(appendStr(b, "nodes"), m.Nodes, false)
	}
	if hasFamily(m.Nodes6, true) {
		b = appendCompactNodes(appendStr(b, "nodes6"), m.Nodes6, true)
	}
	if len(m.Token) > 0 {
		b = appendStr(appendStr(b, "token"), m.Token)
	}
	if vals := validAddrs(m.Values); len(vals) > 0 {
		b = append(appendStr(b, "values"), 'l')
		for _, v := range vals {
			b = appendStr(b, appendCompactAddr(nil, v))
		}
		b = append(b, 'e')
	}
	return append(b, 'e')
}

// hasFamily reports whether any of nodes has an IPv6 address (v6) or an
// IPv4 one (!v6), that is whether appendCompactNodes would write one.
func hasFamily(nodes []NodeInfo, v6 bool) bool {
	for _, n := range nodes {
		if a := n.Addr.Addr(); a.IsValid() && a.Is4() != v6 {
			return true
		}
	}
	return false
}

// validAddrs returns the first MaxValues valid addresses of vals.
func validAddrs(vals []netip.AddrPort) []netip.AddrPort {
	var out []netip.AddrPort
	for _, v := range vals {
		if len(out) == MaxValues {
			break
		}
		if v.Addr().IsValid() {
			out = append(out, v)
		}
	}
	return out
}
