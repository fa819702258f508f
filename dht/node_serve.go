package dht

import (
	"net/netip"
	"time"
)

// Serving bounds. libtorrent drops sources sending above 5 packets a
// second; we answer 10 queries a second per source, enough for a few
// lookups of a neighbour passing through us at once, and 500 replies a
// second in all, so that a flood costs us bounded bandwidth and takes 50
// sources to crowd out everyone else. A source is an IP address under
// OnePerIP, an address and port under OnePerAddrPort (loopback swarms
// share one IP).
const (
	MaxQueriesPerSource = 10   // queries answered per source per second
	MaxVerifyPerSecond  = 20   // pings sent per second to queriers not in the table
	MaxRepliesPerSecond = 500  // replies sent per second to nodes not in the table
	MaxRateSources      = 4096 // sources tracked per second; queries from more are dropped
	MaxValuesReply      = 50   // peers in one get_peers reply (about 400 bytes of IPv4)
)

// limits counts the queries answered in the current one-second window.
// Owned by the loop goroutine.
type limits struct {
	window    time.Time
	perSource map[netip.AddrPort]int
	replies   int
	verifies  int // pings to new queriers (Node.verify)
}

// allow reports whether a query from src may be answered now, and counts
// it if so. A node of our routing table (known) is held to the per-source
// bound only: a flood from strangers, however many, does not cut off the
// neighbours that answered us. The map is cleared every second, so it
// holds at most MaxRateSources entries.
func (l *limits) allow(src netip.AddrPort, known bool, now time.Time) bool {
	if now.Sub(l.window) >= time.Second || now.Before(l.window) {
		clear(l.perSource)
		l.replies, l.verifies = 0, 0
		l.window = now
	}
	c, seen := l.perSource[src]
	if c >= MaxQueriesPerSource || !known && (l.replies >= MaxRepliesPerSecond || !seen && len(l.perSource) >= MaxRateSources) {
		return false
	}
	l.perSource[src] = c + 1
	if !known {
		l.replies++
	}
	return true
}

// serve answers a query within the rate bounds, and learns of the node
// that sent it (unless BEP 43 read-only): see verify.
func (n *Node) serve(from netip.AddrPort, m Msg) {
	now := n.now()
	key := n.table.addrKey(from)
	if !n.limits.allow(key, inTable(n.table, NodeInfo{ID: m.ID, Addr: from}), now) {
		n.counts.limited++
		return
	}
	if !m.RO {
		n.verify(NodeInfo{ID: m.ID, Addr: from}, n.limits.perSource[key] == 1)
	}
	r := n.answer(from, m)
	n.write(from, r.Encode())
}

// verify takes a querier into account. A node of the table is refreshed
// (BEP 5: good if it answered us once and queries us). A new one is not
// inserted as it is: a flood from many ports would fill the table with
// addresses that never answer, which we would hand out as good nodes.
// It is pinged instead (on its first query of the second, at most
// MaxVerifyPerSecond in all), and enters the table when it answers, as
// libtorrent's unconfirmed nodes do once pinged.
func (n *Node) verify(ni NodeInfo, first bool) {
	if inTable(n.table, ni) {
		n.table.Insert(ni, n.now())
		return
	}
	if !first || n.limits.verifies >= MaxVerifyPerSecond {
		return
	}
	n.limits.verifies++
	n.send(query{to: ni.Addr, msg: Msg{Q: QueryPing}})
}

// answer returns the reply to query m from from: one small handler per
// BEP 5 query, error 204 for any other.
func (n *Node) answer(from netip.AddrPort, m Msg) Msg {
	r := Msg{T: m.T, Y: TypeResponse, ID: n.id, IP: from}
	switch m.Q {
	case QueryPing:
	case QueryFindNode:
		n.addNodes(&r, from, m.Want, m.Target)
	case QueryGetPeers:
		r.Token = n.tokens.Token(from.Addr())
		r.Values = n.store.Peers(m.InfoHash, MaxValuesReply)
		if self, ok := n.self(from, m.InfoHash); ok {
			r.Values = append(r.Values[:min(len(r.Values), MaxValuesReply-1)], self)
		}
		// Nodes too, even with values (as libtorrent does): a lookup that
		// meets peers early still walks on to the nodes closest to the
		// hash, where its announce belongs.
		n.addNodes(&r, from, m.Want, m.InfoHash)
	case QueryAnnouncePeer:
		return n.announced(from, m, r)
	default:
		return krpcError(m.T, ErrMethodUnknown, "method unknown")
	}
	return r
}

// addNodes puts the K nodes closest to target in r: "nodes" for an IPv4
// requester or one wanting "n4", "nodes6" for IPv6 or "n6" (BEP 32).
func (n *Node) addNodes(r *Msg, from netip.AddrPort, want Want, target ID) {
	closest := n.table.Closest(target, K)
	if want&WantNodes4 != 0 || want == 0 && from.Addr().Is4() {
		r.Nodes = closest
	}
	if want&WantNodes6 != 0 || want == 0 && from.Addr().Is6() {
		r.Nodes6 = closest
	}
}

// announced stores an announce_peer whose token is one we gave to from's
// IP. BEP 5: with implied_port the peer's port is the datagram's source
// port; a bad token is error 203.
func (n *Node) announced(from netip.AddrPort, m Msg, r Msg) Msg {
	if !n.tokens.ValidToken(m.Token, from.Addr()) {
		return krpcError(m.T, ErrProtocol, "bad token")
	}
	port := m.Port
	if m.ImpliedPort {
		port = int(from.Port())
	}
	if port == 0 {
		return krpcError(m.T, ErrProtocol, "bad port")
	}
	n.store.Add(m.InfoHash, netip.AddrPortFrom(from.Addr(), uint16(port)))
	return r
}

// self returns our own peer address for a get_peers from from, when we
// serve infoHash (Config.Local) and know an address from can reach us at:
// the socket's own IP when it is bound to one, else the loopback address
// of from's family when from is on loopback. A lone node of ours is then
// enough for another client to find our torrent; elsewhere the nodes we
// announce to hand us out.
func (n *Node) self(from netip.AddrPort, infoHash ID) (netip.AddrPort, bool) {
	if n.cfg.Local == nil {
		return netip.AddrPort{}, false
	}
	port, ok := n.cfg.Local(infoHash)
	if !ok || port == 0 {
		return netip.AddrPort{}, false
	}
	ip := n.localIP
	switch {
	case ip.IsValid() && !ip.IsUnspecified() && ip.Is4() == from.Addr().Is4():
	case from.Addr().Is4() && from.Addr().IsLoopback():
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	case from.Addr().IsLoopback():
		ip = netip.IPv6Loopback()
	default:
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip, uint16(port)), true
}

// krpcError returns a KRPC error reply.
func krpcError(t []byte, code int, msg string) Msg {
	return Msg{T: t, Y: TypeError, ErrCode: code, ErrMsg: msg}
}
