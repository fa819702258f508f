package dht

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// Messages of BEP 5's examples (ids "abcdefghij0123456789" and
// "mnopqrstuvwxyz123456"), and BEP 32 and 42 variants.
const (
	pingQuery    = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"
	pingReply    = "d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re"
	findNode     = "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe"
	getPeers     = "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe"
	announcePeer = "d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe"
	errorMsg     = "d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee"
)

// valuesReply is a get_peers reply with a token and two peers, one IPv4
// and one IPv6, and a BEP 42 "ip".
var valuesReply = "d2:ip6:\x7f\x00\x00\x01\x1a\xe11:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u18:" +
	"\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x1a\xe1ee1:t2:aa1:y1:re"

// nodesReply is a find_node reply with one IPv4 and one IPv6 contact.
var nodesReply = "d1:rd2:id20:0123456789abcdefghij5:nodes26:mnopqrstuvwxyz123456\x7f\x00\x00\x02\x1a\xe1" +
	"6:nodes638:mnopqrstuvwxyz123457\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x1a\xe2e1:t2:aa1:y1:re"

func id20(s string) ID {
	var id ID
	copy(id[:], s)
	return id
}

func TestParseMsg(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Msg
	}{
		{"ping query", pingQuery, Msg{T: []byte("aa"), Y: "q", Q: "ping", ID: id20("abcdefghij0123456789")}},
		{"ping reply", pingReply, Msg{T: []byte("aa"), Y: "r", ID: id20("mnopqrstuvwxyz123456")}},
		{"find_node", findNode, Msg{T: []byte("aa"), Y: "q", Q: "find_node", ID: id20("abcdefghij0123456789"),
			Target: id20("mnopqrstuvwxyz123456")}},
		{"get_peers", getPeers, Msg{T: []byte("aa"), Y: "q", Q: "get_peers", ID: id20("abcdefghij0123456789"),
			InfoHash: id20("mnopqrstuvwxyz123456")}},
		{"announce_peer", announcePeer, Msg{T: []byte("aa"), Y: "q", Q: "announce_peer", ID: id20("abcdefghij0123456789"),
			InfoHash: id20("mnopqrstuvwxyz123456"), Port: 6881, ImpliedPort: true, Token: []byte("aoeusnth")}},
		{"error", errorMsg, Msg{T: []byte("aa"), Y: "e", ErrCode: 201, ErrMsg: "A Generic Error Ocurred"}},
		{"values", valuesReply, Msg{T: []byte("aa"), Y: "r", ID: id20("abcdefghij0123456789"), Token: []byte("aoeusnth"),
			Values: []netip.AddrPort{netip.MustParseAddrPort("97.120.106.101:11893"), netip.MustParseAddrPort("[1::1]:6881")},
			IP:     netip.MustParseAddrPort("127.0.0.1:6881")}},
		{"nodes", nodesReply, Msg{T: []byte("aa"), Y: "r", ID: id20("0123456789abcdefghij"),
			Nodes:  []NodeInfo{{id20("mnopqrstuvwxyz123456"), netip.MustParseAddrPort("127.0.0.2:6881")}},
			Nodes6: []NodeInfo{{id20("mnopqrstuvwxyz123457"), netip.MustParseAddrPort("[::1]:6882")}}}},
		{"want and ro", "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz1234564:wantl2:n42:n62:xxee1:q9:find_node2:roi1e1:t0:1:y1:qe",
			Msg{T: []byte{}, Y: "q", Q: "find_node", ID: id20("abcdefghij0123456789"), Target: id20("mnopqrstuvwxyz123456"),
				Want: WantNodes4 | WantNodes6, RO: true}},
		{"unknown query kept", "d1:ad2:id20:abcdefghij0123456789e1:q9:vote_more1:t1:x1:y1:qe",
			Msg{T: []byte("x"), Y: "q", Q: "vote_more", ID: id20("abcdefghij0123456789")}},
		{"unsorted keys", "d1:y1:q1:t2:aa1:q4:ping1:ad2:id20:abcdefghij0123456789ee",
			Msg{T: []byte("aa"), Y: "q", Q: "ping", ID: id20("abcdefghij0123456789")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMsg([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseMsg: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseMsg =\n%+v\nwant\n%+v", got, tt.want)
			}
			again, err := ParseMsg(got.Encode())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("round trip: %v\n%+v", err, again)
			}
		})
	}
}

// TestEncodeCanonical checks that messages already in canonical form
// encode back to the same bytes.
func TestEncodeCanonical(t *testing.T) {
	for _, in := range []string{pingQuery, pingReply, findNode, getPeers, announcePeer, errorMsg, valuesReply, nodesReply} {
		m, err := ParseMsg([]byte(in))
		if err != nil {
			t.Fatalf("ParseMsg(%q): %v", in, err)
		}
		if got := m.Encode(); string(got) != in {
			t.Errorf("Encode =\n%q\nwant\n%q", got, in)
		}
	}
}

func TestParseMsgBounds(t *testing.T) {
	node := "mnopqrstuvwxyz123456\x7f\x00\x00\x02\x1a\xe1"
	many := strings.Repeat(node, 40)
	m, err := ParseMsg([]byte("d1:rd2:id20:0123456789abcdefghij5:nodes1040:" + many + "e1:t2:aa1:y1:re"))
	if err != nil || len(m.Nodes) != MaxNodes {
		t.Errorf("40 nodes: %d kept, %v; want %d", len(m.Nodes), err, MaxNodes)
	}
	vals := "l" + strings.Repeat("6:abcdef", 300) + "e"
	m, err = ParseMsg([]byte("d1:rd2:id20:0123456789abcdefghij6:values" + vals + "e1:t2:aa1:y1:re"))
	if err != nil || len(m.Values) != MaxValues {
		t.Errorf("300 values: %d kept, %v; want %d", len(m.Values), err, MaxValues)
	}
	tok := strings.Repeat("x", MaxTokenLen)
	m, err = ParseMsg([]byte("d1:rd2:id20:0123456789abcdefghij5:token64:" + tok + "e1:t2:aa1:y1:re"))
	if err != nil || string(m.Token) != tok {
		t.Errorf("64-byte token: %v", err)
	}
}

func TestParseMsgHostile(t *testing.T) {
	id := "2:id20:abcdefghij0123456789"
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"not a dict", "le"},
		{"integer", "i1e"},
		{"truncated", pingQuery[:len(pingQuery)-1]},
		{"trailing bytes", pingQuery + "x"},
		{"no t", "d1:ad" + id + "e1:q4:ping1:y1:qe"},
		{"t not a string", "d1:ad" + id + "e1:q4:ping1:ti1e1:y1:qe"},
		{"t too long", "d1:ad" + id + "e1:q4:ping1:t17:aaaaaaaaaaaaaaaaa1:y1:qe"},
		{"no y", "d1:ad" + id + "e1:q4:ping1:t2:aae"},
		{"unknown y", "d1:ad" + id + "e1:q4:ping1:t2:aa1:y1:xe"},
		{"no q", "d1:ad" + id + "e1:t2:aa1:y1:qe"},
		{"empty q", "d1:ad" + id + "e1:q0:1:t2:aa1:y1:qe"},
		{"no a", "d1:q4:ping1:t2:aa1:y1:qe"},
		{"a is a list", "d1:al" + id + "e1:q4:ping1:t2:aa1:y1:qe"},
		{"no id", "d1:ade1:q4:ping1:t2:aa1:y1:qe"},
		{"short id", "d1:ad2:id19:abcdefghij012345678e1:q4:ping1:t2:aa1:y1:qe"},
		{"id an integer", "d1:ad2:idi5ee1:q4:ping1:t2:aa1:y1:qe"},
		{"find_node without target", "d1:ad" + id + "e1:q9:find_node1:t2:aa1:y1:qe"},
		{"get_peers without info_hash", "d1:ad" + id + "e1:q9:get_peers1:t2:aa1:y1:qe"},
		{"announce without port", "d1:ad" + id + "9:info_hash20:mnopqrstuvwxyz1234565:token1:xe1:q13:announce_peer1:t2:aa1:y1:qe"},
		{"announce without token", "d1:ad" + id + "9:info_hash20:mnopqrstuvwxyz1234564:porti1ee1:q13:announce_peer1:t2:aa1:y1:qe"},
		{"port too large", "d1:ad" + id + "4:porti65536ee1:q4:ping1:t2:aa1:y1:qe"},
		{"negative port", "d1:ad" + id + "4:porti-1ee1:q4:ping1:t2:aa1:y1:qe"},
		{"token too long", "d1:rd" + id + "5:token65:" + strings.Repeat("x", 65) + "e1:t2:aa1:y1:re"},
		{"nodes of 25 bytes", "d1:rd" + id + "5:nodes25:" + strings.Repeat("x", 25) + "e1:t2:aa1:y1:re"},
		{"nodes of 27 bytes", "d1:rd" + id + "5:nodes27:" + strings.Repeat("x", 27) + "e1:t2:aa1:y1:re"},
		{"nodes6 of 26 bytes", "d1:rd" + id + "6:nodes626:" + strings.Repeat("x", 26) + "e1:t2:aa1:y1:re"},
		{"nodes a list", "d1:rd" + id + "5:nodesleee1:t2:aa1:y1:re"},
		{"value of 7 bytes", "d1:rd" + id + "6:valuesl7:abcdefgee1:t2:aa1:y1:re"},
		{"values a string", "d1:rd" + id + "6:values6:abcdefe1:t2:aa1:y1:re"},
		{"value an integer", "d1:rd" + id + "6:valuesli1eee1:t2:aa1:y1:re"},
		{"no r", "d1:t2:aa1:y1:re"},
		{"e empty", "d1:ele1:t2:aa1:y1:ee"},
		{"e code a string", "d1:el3:2013:bade1:t2:aa1:y1:ee"},
		{"e a dict", "d1:ede1:t2:aa1:y1:ee"},
		{"nested 5 deep", "d1:ad" + id + "1:xllleeee1:q4:ping1:t2:aa1:y1:qe"},
		{"huge claimed string", "d1:t99999999999999999999:aa1:y1:qe"},
		{"non-canonical int", "d1:ad" + id + "4:porti01ee1:q4:ping1:t2:aa1:y1:qe"},
		{"negative zero", "d1:ad" + id + "4:porti-0ee1:q4:ping1:t2:aa1:y1:qe"},
		{"key not a string", "di1ei2ee"},
		{"over 64 KiB", "d1:t2:aa1:y1:q1:x65536:" + strings.Repeat("x", 65536) + "e"},
		{"deep lists", strings.Repeat("l", 10000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMsg([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseMsg = %+v, want an error", m)
			}
			if !errors.Is(err, ErrBadMsg) || !strings.HasPrefix(err.Error(), "dht: ") {
				t.Errorf("error %q does not wrap ErrBadMsg", err)
			}
		})
	}
}

// TestParseMsgNoAlias checks that a parsed message shares no memory with
// the datagram, which the socket loop reuses.
func TestParseMsgNoAlias(t *testing.T) {
	b := []byte(announcePeer)
	m, err := ParseMsg(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'z'
	}
	if string(m.T) != "aa" || string(m.Token) != "aoeusnth" {
		t.Errorf("message changed with the buffer: %+v", m)
	}
}

func TestEncodeSkipsWrongFamily(t *testing.T) {
	m := Msg{T: []byte("t"), Y: TypeResponse,
		Nodes:  []NodeInfo{{Addr: netip.MustParseAddrPort("[::1]:1")}, {Addr: netip.MustParseAddrPort("127.0.0.1:2")}},
		Nodes6: []NodeInfo{{Addr: netip.MustParseAddrPort("127.0.0.1:3")}},
		Values: []netip.AddrPort{{}, netip.MustParseAddrPort("127.0.0.1:4")},
	}
	got, err := ParseMsg(m.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Nodes) != 1 || got.Nodes[0].Addr.Port() != 2 || got.Nodes6 != nil || len(got.Values) != 1 {
		t.Errorf("got %+v", got)
	}
	if bytes.Contains(m.Encode(), []byte("nodes6")) {
		t.Error("empty nodes6 written")
	}
}
