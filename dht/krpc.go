package dht

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
)

// ErrBadMsg means a datagram is not a usable KRPC message: not one
// bencoded dictionary, truncated, nested too deeply, missing a required
// key, a required key of the wrong type, or a bound broken. Every error
// ParseMsg returns wraps it.
var ErrBadMsg = errors.New("dht: malformed KRPC message")

// Message types, the values of "y". BEP 5: "q" for query, "r" for
// response, "e" for error.
const (
	TypeQuery    = "q"
	TypeResponse = "r"
	TypeError    = "e"
)

// Query names, the values of "q", of BEP 5. Other names are kept as sent.
const (
	QueryPing         = "ping"
	QueryFindNode     = "find_node"
	QueryGetPeers     = "get_peers"
	QueryAnnouncePeer = "announce_peer"
)

// Error codes of BEP 5 for "e" messages.
const (
	ErrGeneric       = 201
	ErrServer        = 202
	ErrProtocol      = 203 // malformed packet, invalid arguments or bad token
	ErrMethodUnknown = 204
)

// Bounds on what one datagram may make ParseMsg accept or keep.
const (
	MaxMsgLen    = 64 << 10 // largest datagram parsed; a UDP payload cannot be longer
	MaxTxIDLen   = 16       // longest "t"; BEP 5 examples use 2 bytes
	MaxTokenLen  = 64       // longest "token"
	MaxQueryLen  = 64       // longest "q" name
	MaxErrMsgLen = 256      // bytes of an error message kept; the rest is cut
	MaxNodes     = 16       // entries kept from each of "nodes" and "nodes6" (twice k)
	MaxValues    = 100      // entries kept from "values"
)

// Want is the BEP 32 "want" argument of find_node and get_peers: which
// address families the requester wants nodes for.
type Want uint8

// Want flags. BEP 32: "n4" asks for "nodes", "n6" for "nodes6".
const (
	WantNodes4 Want = 1 << iota // "n4"
	WantNodes6                  // "n6"
)

// NodeInfo is a node's contact: its id and UDP address, the element of
// the compact "nodes" (BEP 5, 26 bytes) and "nodes6" (BEP 32, 38 bytes)
// strings.
type NodeInfo struct {
	ID   ID
	Addr netip.AddrPort
}

// Msg is one KRPC message (BEP 5), with the query arguments ("a") and the
// response values ("r") flattened into one struct. A field is zero when
// its key is absent. Query-only fields (Q, Target, InfoHash, Port,
// ImpliedPort, Want) are read from and written to "a"; reply-only fields
// (Nodes, Nodes6, Values) to "r"; ID and Token to whichever of the two
// the type calls for; ErrCode and ErrMsg to "e". It is a plain value:
// ParseMsg returns one that shares no memory with the datagram.
type Msg struct {
	T []byte // transaction id, 0 to 16 bytes, echoed in the reply
	Y string // TypeQuery, TypeResponse or TypeError
	Q string // query name, for queries only

	ID          ID     // the sender's node id ("id"), required in queries and responses
	Target      ID     // find_node "target"
	InfoHash    ID     // get_peers and announce_peer "info_hash"
	Token       []byte // get_peers reply and announce_peer argument, at most 64 bytes; nil when absent or empty
	Port        int    // announce_peer "port", 0..65535
	ImpliedPort bool   // announce_peer "implied_port": use the datagram's source port
	Want        Want   // BEP 32 "want"

	Nodes  []NodeInfo       // "nodes": IPv4 contacts, at most MaxNodes kept
	Nodes6 []NodeInfo       // "nodes6" (BEP 32): IPv6 contacts, at most MaxNodes kept
	Values []netip.AddrPort // "values": peers, at most MaxValues kept

	ErrCode int    // error code of an "e" message
	ErrMsg  string // error message of an "e" message, at most MaxErrMsgLen bytes kept

	IP netip.AddrPort // BEP 42 "ip": the requester's address as the responder sees it
	RO bool           // BEP 43 "ro": the sender is read-only and should not be queried
}

// ParseMsg decodes a datagram as one KRPC message. The datagram must be
// exactly one bencoded dictionary of at most MaxMsgLen bytes, nested at
// most 4 deep, with a string "t" of at most MaxTxIDLen bytes and a "y" of
// "q", "r" or "e". A query needs a "q" name and an "a" dictionary with a
// 20-byte "id"; find_node also needs "target", get_peers "info_hash", and
// announce_peer "info_hash", "token" and "port" (or "implied_port"). A
// response needs an "r" dictionary with a 20-byte "id"; an error an "e"
// list starting with an integer code.
//
// Compact lists are checked whole: a "nodes" string whose length is not a
// multiple of 26, a "nodes6" not a multiple of 38, or a "values" element
// of neither 6 nor 18 bytes is an error. Longer lists than the bounds
// (MaxNodes, MaxValues) are truncated rather than refused: BEP 5 replies
// carry k = 8 nodes, some nodes send more, and the first ones are as good
// as any. Optional keys of the wrong type are ignored. ParseMsg never
// panics and allocates in proportion to what it keeps, not to lengths the
// sender claims.
func ParseMsg(b []byte) (Msg, error) {
	var m Msg
	if err := m.parse(b); err != nil {
		return Msg{}, fmt.Errorf("dht: parse message: %w: %w", err, ErrBadMsg)
	}
	return m, nil
}

// parse fills m from b; see ParseMsg.
func (m *Msg) parse(b []byte) error {
	if len(b) > MaxMsgLen {
		return fmt.Errorf("%d bytes, limit %d", len(b), MaxMsgLen)
	}
	d, n, err := scanDict(b, "t", "y", "q", "a", "r", "e", "ip", "ro")
	if err != nil {
		return err
	}
	if n != len(b) {
		return fmt.Errorf("%d bytes after the dictionary", len(b)-n)
	}
	t, ok := rawStr(d["t"])
	if !ok || len(t) > MaxTxIDLen {
		return errors.New(`missing, non-string or long "t"`)
	}
	m.T = bytes.Clone(t)
	if m.T == nil {
		m.T = []byte{}
	}
	y, _ := rawStr(d["y"])
	m.Y = string(y)
	if ip, ok := rawStr(d["ip"]); ok {
		m.IP, _ = compactAddr(ip)
	}
	if ro, ok := rawInt(d["ro"]); ok && ro == 1 {
		m.RO = true
	}
	switch m.Y {
	case TypeQuery:
		return m.parseQuery(d["q"], d["a"])
	case TypeResponse:
		return m.parseResponse(d["r"])
	case TypeError:
		return m.parseError(d["e"])
	}
	return fmt.Errorf("unknown type %q", y)
}

// parseQuery reads the query name q and the arguments a.
func (m *Msg) parseQuery(q, a []byte) error {
	name, ok := rawStr(q)
	if !ok || len(name) == 0 || len(name) > MaxQueryLen {
		return errors.New(`missing, non-string or long "q"`)
	}
	m.Q = string(name)
	d, ok := subDict(a, "id", "target", "info_hash", "token", "port", "implied_port", "want")
	if !ok {
		return errors.New(`"a" is not a dictionary`)
	}
	if err := m.parseIDs(d); err != nil {
		return err
	}
	if p, ok := d["port"]; ok {
		port, ok := rawInt(p)
		if !ok || port < 0 || port > math.MaxUint16 {
			return errors.New(`"port" is not an integer in 0..65535`)
		}
		m.Port = int(port)
	}
	if ip, ok := rawInt(d["implied_port"]); ok && ip != 0 {
		m.ImpliedPort = true
	}
	walkList(d["want"], func(v []byte) bool {
		switch s, _ := rawStr(v); string(s) {
		case "n4":
			m.Want |= WantNodes4
		case "n6":
			m.Want |= WantNodes6
		}
		return true
	})
	return m.checkArgs(d)
}

// checkArgs checks that the arguments a known query needs are present.
// BEP 5 lists them per query; unknown queries need only "id".
func (m *Msg) checkArgs(d dict) error {
	var need []string
	switch m.Q {
	case QueryFindNode:
		need = []string{"target"}
	case QueryGetPeers:
		need = []string{"info_hash"}
	case QueryAnnouncePeer:
		need = []string{"info_hash", "token"}
		if !m.ImpliedPort {
			need = append(need, "port")
		}
	}
	for _, k := range need {
		if _, ok := d[k]; !ok {
			return fmt.Errorf("%s without %q", m.Q, k)
		}
	}
	return nil
}

// parseResponse reads the return values r.
func (m *Msg) parseResponse(r []byte) error {
	d, ok := subDict(r, "id", "token", "nodes", "nodes6", "values")
	if !ok {
		return errors.New(`"r" is not a dictionary`)
	}
	if err := m.parseIDs(d); err != nil {
		return err
	}
	var err error
	if m.Nodes, err = compactNodes(d["nodes"], 4); err != nil {
		return fmt.Errorf(`"nodes": %w`, err)
	}
	if m.Nodes6, err = compactNodes(d["nodes6"], 16); err != nil {
		return fmt.Errorf(`"nodes6": %w`, err)
	}
	if m.Values, err = compactValues(d["values"]); err != nil {
		return fmt.Errorf(`"values": %w`, err)
	}
	return nil
}

// parseIDs reads the 20-byte strings of a query or response (a required
// "id", optional "target" and "info_hash") and "token".
func (m *Msg) parseIDs(d dict) error {
	for _, f := range []struct {
		key      string
		dst      *ID
		required bool
	}{{"id", &m.ID, true}, {"target", &m.Target, false}, {"info_hash", &m.InfoHash, false}} {
		raw, present := d[f.key]
		if !present && !f.required {
			continue
		}
		s, ok := rawStr(raw)
		if !ok || len(s) != len(f.dst) {
			return fmt.Errorf("%q is not a 20-byte string", f.key)
		}
		copy(f.dst[:], s)
	}
	if raw, present := d["token"]; present {
		tok, ok := rawStr(raw)
		if !ok || len(tok) > MaxTokenLen {
			return errors.New(`"token" is not a string of at most 64 bytes`)
		}
		if len(tok) > 0 {
			m.Token = bytes.Clone(tok)
		}
	}
	return nil
}

// parseError reads e, a list of an integer code and a string message.
// BEP 5: "The first element is an integer representing the error code.
// The second element is a string containing the error message." A missing
// or non-string message is left empty.
func (m *Msg) parseError(e []byte) error {
	i := 0
	codeOK := false
	ok := walkList(e, func(v []byte) bool {
		switch i {
		case 0:
			var code int64
			code, codeOK = rawInt(v)
			codeOK = codeOK && code >= math.MinInt32 && code <= math.MaxInt32
			m.ErrCode = int(code)
		case 1:
			s, _ := rawStr(v)
			m.ErrMsg = string(s[:min(len(s), MaxErrMsgLen)])
		}
		i++
		return i < 2
	})
	if !ok || !codeOK {
		return errors.New(`"e" is not a list starting with an integer code`)
	}
	return nil
}
