package peer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// compact returns the compact form of the address and port in s.
func compact(s string) string {
	ap := netip.MustParseAddrPort(s)
	b := ap.Addr().AsSlice()
	return string(binary.BigEndian.AppendUint16(b, ap.Port()))
}

// compacts returns n distinct compact entries: IPv4 ones from 10.0.x.y when
// v6 is false, 2001:db8::x:y ones otherwise.
func compacts(n int, v6 bool) string {
	var sb strings.Builder
	for i := range n {
		ip := "10.0." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256) + ":6881"
		if v6 {
			ip = "[2001:db8::" + strconv.FormatInt(int64(i), 16) + "]:6881"
		}
		sb.WriteString(compact(ip))
	}
	return sb.String()
}

// bstr bencodes s.
func bstr(s string) string {
	return strconv.Itoa(len(s)) + ":" + s
}

// ap parses an address and port.
func ap(s string) netip.AddrPort {
	return netip.MustParseAddrPort(s)
}

// pexMsgs are ut_pex messages as clients send them, and odd ones that must
// still be accepted.
var pexMsgs = []struct {
	name    string
	payload string
	want    Pex
}{
	{
		name: "libtorrent",
		payload: "d5:added" + bstr(compact("1.2.3.4:6881")+compact("5.6.7.8:51413")) +
			"7:added.f2:\x12\x03" + "6:added6" + bstr(compact("[2001:db8::1]:6881")) + "8:added6.f1:\x10" +
			"7:dropped" + bstr(compact("9.9.9.9:1")) + "8:dropped60:e",
		want: Pex{
			Added: []PexPeer{
				{ap("1.2.3.4:6881"), PexReachable | PexSeed},
				{ap("5.6.7.8:51413"), PexEncryption | PexSeed},
				{ap("[2001:db8::1]:6881"), PexReachable},
			},
			Dropped: []netip.AddrPort{ap("9.9.9.9:1")},
		},
	},
	{
		name:    "added only, no flags",
		payload: "d5:added" + bstr(compact("1.2.3.4:6881")) + "e",
		want:    Pex{Added: []PexPeer{{Addr: ap("1.2.3.4:6881")}}},
	},
	{
		name:    "dropped only",
		payload: "d7:dropped" + bstr(compact("1.2.3.4:6881")) + "8:dropped6" + bstr(compact("[2001:db8::2]:80")) + "e",
		want:    Pex{Dropped: []netip.AddrPort{ap("1.2.3.4:6881"), ap("[2001:db8::2]:80")}},
	},
	{
		name:    "empty",
		payload: "d5:added0:7:added.f0:6:added60:8:added6.f0:7:dropped0:8:dropped60:e",
		want:    Pex{},
	},
	{
		name:    "empty dictionary",
		payload: "de",
		want:    Pex{},
	},
	{
		name:    "flags shorter than the list",
		payload: "d5:added" + bstr(compact("1.2.3.4:1")+compact("1.2.3.5:2")) + "7:added.f1:\x01e",
		want:    Pex{Added: []PexPeer{{ap("1.2.3.4:1"), PexEncryption}, {Addr: ap("1.2.3.5:2")}}},
	},
	{
		name:    "flags longer than the list",
		payload: "d5:added" + bstr(compact("1.2.3.4:1")) + "7:added.f3:\x04\x08\x10e",
		want:    Pex{Added: []PexPeer{{ap("1.2.3.4:1"), PexUTP}}},
	},
	{
		name: "port 0 entries are skipped, flags stay aligned",
		payload: "d5:added" + bstr(compact("1.2.3.4:0")+compact("1.2.3.5:2")) + "7:added.f2:\x01\x02" +
			"7:dropped" + bstr(compact("1.2.3.6:0")) + "8:dropped6" + bstr(compact("[2001:db8::1]:0")) + "e",
		want: Pex{Added: []PexPeer{{ap("1.2.3.5:2"), PexSeed}}},
	},
	{
		name: "IPv4-mapped IPv6 addresses are unmapped and listed with IPv4",
		payload: "d5:added" + bstr(compact("1.2.3.4:1")) +
			"6:added6" + bstr(compact("[2001:db8::1]:2")+compact("[::ffff:5.6.7.8]:3")) + "8:added6.f2:\x01\x02" +
			"8:dropped6" + bstr(compact("[2001:db8::1]:4")+compact("[::ffff:5.6.7.8]:5")) + "e",
		want: Pex{
			Added: []PexPeer{
				{Addr: ap("1.2.3.4:1")},
				{ap("5.6.7.8:3"), PexSeed},
				{ap("[2001:db8::1]:2"), PexEncryption},
			},
			Dropped: []netip.AddrPort{ap("5.6.7.8:5"), ap("[2001:db8::1]:4")},
		},
	},
	{
		name:    "lists and flags of the wrong type are ignored",
		payload: "d5:addedi1e7:added.fi1e6:added6le7:dropped" + bstr(compact("1.2.3.4:1")) + "8:dropped6dee",
		want:    Pex{Dropped: []netip.AddrPort{ap("1.2.3.4:1")}},
	},
	{
		name:    "unsorted keys and an unknown one",
		payload: "d7:dropped" + bstr(compact("1.2.3.4:1")) + "5:added" + bstr(compact("1.2.3.5:2")) + "1:xi1ee",
		want:    Pex{Added: []PexPeer{{Addr: ap("1.2.3.5:2")}}, Dropped: []netip.AddrPort{ap("1.2.3.4:1")}},
	},
}

func TestParsePex(t *testing.T) {
	for _, tt := range pexMsgs {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePex([]byte(tt.payload))
			if err != nil {
				t.Fatalf("ParsePex: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParsePex:\n got %+v\nwant %+v", got, tt.want)
			}
			checkPexRoundTrip(t, got)
		})
	}
}

func TestParsePexLimit(t *testing.T) {
	payload := "d5:added" + bstr(compacts(100, false)) + "6:added6" + bstr(compacts(100, true)) +
		"7:dropped" + bstr(compacts(150, false)) + "8:dropped6" + bstr(compacts(50, true)) + "e"
	p, err := ParsePex([]byte(payload))
	if err != nil {
		t.Fatalf("ParsePex of %d added and dropped: %v", MaxPexPeers, err)
	}
	if len(p.Added) != MaxPexPeers || len(p.Dropped) != MaxPexPeers {
		t.Fatalf("ParsePex: %d added, %d dropped, want %d each", len(p.Added), len(p.Dropped), MaxPexPeers)
	}
	checkPexRoundTrip(t, p)
}

func TestParsePexErrors(t *testing.T) {
	bad := []struct{ name, payload string }{
		{"added of 7 bytes", "d5:added7:\x01\x02\x03\x04\x1a\xe1\x00e"},
		{"added6 of 17 bytes", "d6:added6" + bstr(compact("[2001:db8::1]:1")[:17]) + "e"},
		{"dropped of 5 bytes", "d7:dropped5:\x01\x02\x03\x04\x1ae"},
		{"dropped6 of 19 bytes", "d8:dropped6" + bstr(compact("[2001:db8::1]:1")+"x") + "e"},
		{"201 added", "d5:added" + bstr(compacts(201, false)) + "e"},
		{"201 added over both families", "d5:added" + bstr(compacts(101, false)) + "6:added6" + bstr(compacts(100, true)) + "e"},
		{"201 dropped", "d8:dropped6" + bstr(compacts(201, true)) + "e"},
		{"201 added with port 0", "d5:added" + bstr(strings.Repeat("\x01\x02\x03\x04\x00\x00", 201)) + "e"},
		{"trailing bytes", "dex"},
	}
	for _, tt := range append(bad, badExtPayloads...) {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePex([]byte(tt.payload))
			if !errors.Is(err, ErrBadExt) {
				t.Fatalf("ParsePex = %+v, %v; want ErrBadExt", p, err)
			}
		})
	}
}

func TestPexEncode(t *testing.T) {
	tests := []struct {
		name string
		p    Pex
		want string
	}{
		{"empty", Pex{}, "d5:added0:7:added.f0:6:added60:8:added6.f0:7:dropped0:8:dropped60:e"},
		{
			name: "both families, mapped and invalid addresses",
			p: Pex{
				Added: []PexPeer{
					{ap("1.2.3.4:6881"), PexReachable | PexSeed},
					{ap("[2001:db8::1]:51413"), PexEncryption},
					{ap("[::ffff:5.6.7.8]:80"), PexSeed},
					{Flags: PexUTP},
				},
				Dropped: []netip.AddrPort{ap("[2001:db8::1]:2"), ap("9.9.9.9:1"), {}},
			},
			want: "d5:added" + bstr(compact("1.2.3.4:6881")+compact("5.6.7.8:80")) + "7:added.f2:\x12\x02" +
				"6:added6" + bstr(compact("[2001:db8::1]:51413")) + "8:added6.f1:\x01" +
				"7:dropped" + bstr(compact("9.9.9.9:1")) + "8:dropped6" + bstr(compact("[2001:db8::1]:2")) + "e",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Encode(); string(got) != tt.want {
				t.Fatalf("Encode:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// checkPexRoundTrip checks that p, a parsed message, encodes to bytes that
// parse back to p and encode again to the same bytes.
func checkPexRoundTrip(t *testing.T, p Pex) {
	t.Helper()
	enc := p.Encode()
	back, err := ParsePex(enc)
	if err != nil {
		t.Fatalf("ParsePex(Encode(%+v) = %q): %v", p, enc, err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Fatalf("round trip of %q:\n got %+v\nwant %+v", enc, back, p)
	}
	if again := back.Encode(); !bytes.Equal(again, enc) {
		t.Fatalf("Encode is not stable: %q then %q", enc, again)
	}
}

// FuzzParsePex parses arbitrary payloads: ParsePex must never panic, must
// fail only with ErrBadExt, must respect its bounds, and what it accepts
// must survive Encode and a second parse unchanged.
func FuzzParsePex(f *testing.F) {
	for _, tt := range pexMsgs {
		f.Add([]byte(tt.payload))
	}
	f.Add([]byte("d5:added7:\x01\x02\x03\x04\x1a\xe1\x00e"))
	f.Fuzz(func(t *testing.T, payload []byte) {
		p, err := ParsePex(payload)
		if err != nil {
			if !errors.Is(err, ErrBadExt) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if len(p.Added) > MaxPexPeers || len(p.Dropped) > MaxPexPeers {
			t.Fatalf("%d added, %d dropped", len(p.Added), len(p.Dropped))
		}
		for _, pp := range p.Added {
			if pp.Addr.Port() == 0 || pp.Addr.Addr().Is4In6() {
				t.Fatalf("kept added %v", pp.Addr)
			}
		}
		for _, a := range p.Dropped {
			if a.Port() == 0 || a.Addr().Is4In6() {
				t.Fatalf("kept dropped %v", a)
			}
		}
		checkPexRoundTrip(t, p)
	})
}
