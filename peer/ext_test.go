package peer

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// ip6 is 2001:db8::1 in compact form.
const ip6 = "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"

// extHandshakes are handshakes as real clients send them, and handshakes
// with odd values that must be accepted with those values dropped,
// clamped or cleaned.
var extHandshakes = []struct {
	name    string
	payload string
	want    ExtHandshake
}{
	{
		name:    "qbittorrent short",
		payload: "d1:md11:ut_metadatai3e6:ut_pexi1ee13:metadata_sizei31235e1:pi6881e4:reqqi500e1:v17:qBittorrent/4.5.2e",
		want: ExtHandshake{M: map[string]uint8{"ut_metadata": 3, "ut_pex": 1},
			V: "qBittorrent/4.5.2", P: 6881, Reqq: 500, MetadataSize: 31235},
	},
	{
		name: "libtorrent 2.0",
		payload: "d12:complete_agoi-1e1:md11:lt_donthavei7e10:share_modei8e11:upload_onlyi3e" +
			"12:ut_holepunchi4e11:ut_metadatai2e6:ut_pexi1ee13:metadata_sizei5182e1:pi6881e" +
			"4:reqqi500e11:upload_onlyi0e1:v17:qBittorrent/4.6.36:yourip4:\xcb\x00\x71\x07e",
		want: ExtHandshake{
			M: map[string]uint8{"lt_donthave": 7, "share_mode": 8, "upload_only": 3,
				"ut_holepunch": 4, "ut_metadata": 2, "ut_pex": 1},
			V: "qBittorrent/4.6.3", P: 6881, Reqq: 500, MetadataSize: 5182,
			YourIP: netip.MustParseAddr("203.0.113.7"),
		},
	},
	{
		name: "transmission 4",
		payload: "d1:ei0e4:ipv616:" + ip6 + "1:md12:ut_holepunchi3e11:ut_metadatai2e6:ut_pexi1ee" +
			"13:metadata_sizei5182e1:pi51413e4:reqqi512e1:v18:Transmission 4.0.66:yourip4:\x0a\x00\x00\x05e",
		want: ExtHandshake{
			M: map[string]uint8{"ut_holepunch": 3, "ut_metadata": 2, "ut_pex": 1},
			V: "Transmission 4.0.6", P: 51413, Reqq: 512, MetadataSize: 5182,
			YourIP: netip.MustParseAddr("10.0.0.5"), IPv6: netip.MustParseAddr("2001:db8::1"),
		},
	},
	{
		name:    "unsorted keys, as some old clients send",
		payload: "d1:v15:\xc2\xb5Torrent 3.5.51:md6:ut_pexi1e11:ut_metadatai2ee1:pi12345ee",
		want:    ExtHandshake{M: map[string]uint8{"ut_metadata": 2, "ut_pex": 1}, V: "µTorrent 3.5.5", P: 12345},
	},
	{
		name:    "empty dictionary",
		payload: "de",
		want:    ExtHandshake{M: map[string]uint8{}},
	},
	{
		name:    "ut_metadata disabled",
		payload: "d1:md11:ut_metadatai0eee",
		want:    ExtHandshake{M: map[string]uint8{"ut_metadata": 0}},
	},
	{
		name: "m ids out of range or not integers are dropped",
		payload: "d1:md1:ai-1e1:bi1099511627776e1:ci99999999999999999999999e1:d1:x1:eli1ee" +
			"6:ut_pexi300e3:v_0i255eee",
		want: ExtHandshake{M: map[string]uint8{"v_0": 255}},
	},
	{
		name:    "m names empty or longer than 64 bytes are dropped",
		payload: "d1:md0:i1e65:" + strings.Repeat("x", 65) + "i2e64:" + strings.Repeat("y", 64) + "i3eee",
		want:    ExtHandshake{M: map[string]uint8{strings.Repeat("y", 64): 3}},
	},
	{
		name:    "only the first 64 names of 100 are kept",
		payload: "d1:m" + manyNames(100) + "e",
		want:    ExtHandshake{M: nameMap(64)},
	},
	{
		name:    "m of the wrong type is ignored",
		payload: "d1:m11:ut_metadata1:pi1ee",
		want:    ExtHandshake{M: map[string]uint8{}, P: 1},
	},
	{
		name:    "metadata_size negative is returned as is",
		payload: "d13:metadata_sizei-1ee",
		want:    ExtHandshake{M: map[string]uint8{}, MetadataSize: -1},
	},
	{
		name:    "metadata_size 2^40 is returned as is",
		payload: "d13:metadata_sizei1099511627776ee",
		want:    ExtHandshake{M: map[string]uint8{}, MetadataSize: 1 << 40},
	},
	{
		name:    "metadata_size beyond int64 is ignored",
		payload: "d13:metadata_sizei99999999999999999999ee",
		want:    ExtHandshake{M: map[string]uint8{}},
	},
	{
		name:    "port out of range",
		payload: "d1:pi70000ee",
		want:    ExtHandshake{M: map[string]uint8{}},
	},
	{
		name:    "port negative",
		payload: "d1:pi-1ee",
		want:    ExtHandshake{M: map[string]uint8{}},
	},
	{
		name:    "port as a string",
		payload: "d1:p4:6881e",
		want:    ExtHandshake{M: map[string]uint8{}},
	},
	{
		name:    "port 65535",
		payload: "d1:pi65535ee",
		want:    ExtHandshake{M: map[string]uint8{}, P: 65535},
	},
	{
		name:    "reqq negative clamps to 0",
		payload: "d4:reqqi-5ee",
		want:    ExtHandshake{M: map[string]uint8{}},
	},
	{
		name:    "reqq huge clamps to 65535",
		payload: "d4:reqqi1000000000000ee",
		want:    ExtHandshake{M: map[string]uint8{}, Reqq: 65535},
	},
	{
		name:    "v longer than 100 bytes is cut",
		payload: "d1:v200:" + strings.Repeat("a", 200) + "e",
		want:    ExtHandshake{M: map[string]uint8{}, V: strings.Repeat("a", 100)},
	},
	{
		name:    "v is cut at a rune boundary",
		payload: "d1:v101:" + strings.Repeat("a", 99) + "ée",
		want:    ExtHandshake{M: map[string]uint8{}, V: strings.Repeat("a", 99)},
	},
	{
		name:    "v with invalid UTF-8 and control characters",
		payload: "d1:v9:\xff\x00ab\n\x1b[2Je",
		want:    ExtHandshake{M: map[string]uint8{}, V: "\uFFFD\uFFFDab\uFFFD\uFFFD[2J"},
	},
	{
		name:    "v with a bidi override",
		payload: "d1:v5:a\u202ebe",
		want:    ExtHandshake{M: map[string]uint8{}, V: "a\uFFFDb"},
	},
	{
		name:    "v of the wrong type is ignored",
		payload: "d1:vi3ee",
		want:    ExtHandshake{M: map[string]uint8{}},
	},
	{
		name:    "yourip IPv4-mapped is unmapped",
		payload: "d6:yourip16:\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xc0\x00\x02\x01e",
		want:    ExtHandshake{M: map[string]uint8{}, YourIP: netip.MustParseAddr("192.0.2.1")},
	},
	{
		name:    "addresses of the wrong length are ignored",
		payload: "d4:ipv416:" + ip6 + "4:ipv64:\x01\x02\x03\x046:yourip5:\x01\x02\x03\x04\x05e",
		want:    ExtHandshake{M: map[string]uint8{}},
	},
	{
		name:    "ipv4",
		payload: "d4:ipv44:\xc6\x33\x64\x01e",
		want:    ExtHandshake{M: map[string]uint8{}, IPv4: netip.MustParseAddr("198.51.100.1")},
	},
	{
		name:    "repeated key keeps the last value",
		payload: "d1:pi1e1:pi2ee",
		want:    ExtHandshake{M: map[string]uint8{}, P: 2},
	},
	{
		name:    "unknown keys of every type, nested up to the limit",
		payload: "d1:x" + strings.Repeat("l", 7) + "i1e" + strings.Repeat("e", 7) + "1:yd1:zdee1:pi9ee",
		want:    ExtHandshake{M: map[string]uint8{}, P: 9},
	},
}

// manyNames returns a bencoded "m" dictionary of n names "e000", "e001", ...
// with ids 1 to n (mod 256).
func manyNames(n int) string {
	var sb strings.Builder
	sb.WriteString("d")
	for i := range n {
		fmt.Fprintf(&sb, "4:e%03di%de", i, (i+1)%256)
	}
	sb.WriteString("e")
	return sb.String()
}

// nameMap returns the first n entries manyNames encodes.
func nameMap(n int) map[string]uint8 {
	m := make(map[string]uint8)
	for i := range n {
		m[fmt.Sprintf("e%03d", i)] = uint8(i + 1)
	}
	return m
}

func TestParseExtHandshake(t *testing.T) {
	for _, tt := range extHandshakes {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExtHandshake([]byte(tt.payload))
			if err != nil {
				t.Fatalf("ParseExtHandshake: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseExtHandshake:\n got %+v\nwant %+v", got, tt.want)
			}
			checkExtHandshakeRoundTrip(t, got)
		})
	}
}

// nested returns n list openings followed by n closings.
func nested(n int) string {
	return strings.Repeat("l", n) + strings.Repeat("e", n)
}

// badExtPayloads are payloads every extension parser must refuse.
var badExtPayloads = []struct {
	name    string
	payload string
}{
	{"empty", ""},
	{"list", "le"},
	{"list holding a dictionary", "ld1:pi1eee"},
	{"integer", "i1e"},
	{"string", "3:abc"},
	{"garbage", "hello"},
	{"truncated dictionary", "d"},
	{"truncated key", "d1:"},
	{"key without value", "d1:me"},
	{"truncated value", "d1:md11:ut_metadatai3e"},
	{"truncated integer", "d1:xi12"},
	{"string longer than the payload", "d1:x100:abce"},
	{"huge string length", "d1:x99999999999999999999:e"},
	{"integer key", "di1ei2ee"},
	{"list key", "dlei2ee"},
	{"integer -0", "d1:xi-0ee"},
	{"integer with a leading zero", "d1:xi03ee"},
	{"integer with a dot", "d1:xi1.5ee"},
	{"integer without digits", "d1:xiee"},
	{"integer of a minus sign", "d1:xi-ee"},
	{"string length without colon", "d1:x3abce"},
	{"negative string length", "d1:x-1:ae"},
	{"bad type byte", "d1:xze"},
	{"nested deeper than 8", "d1:x" + nested(8) + "e"},
	{"1 MiB of nested lists", strings.Repeat("l", MaxExtLen)},
	{"1 MiB of nested lists in a dictionary", "d1:x" + strings.Repeat("l", MaxExtLen-4)},
	{"over MaxExtLen", "d1:x1048576:" + strings.Repeat("a", MaxExtLen) + "e"},
}

func TestParseExtHandshakeErrors(t *testing.T) {
	bad := append(badExtPayloads[:len(badExtPayloads):len(badExtPayloads)],
		struct{ name, payload string }{"trailing bytes", "d1:pi1eex"},
		struct{ name, payload string }{"two dictionaries", "dede"},
	)
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseExtHandshake([]byte(tt.payload))
			if !errors.Is(err, ErrBadExt) {
				t.Fatalf("ParseExtHandshake = %+v, %v; want ErrBadExt", h, err)
			}
		})
	}
}

func TestExtHandshakeEncode(t *testing.T) {
	tests := []struct {
		name string
		h    ExtHandshake
		want string
	}{
		{"zero", ExtHandshake{}, "d1:mdee"},
		{
			name: "every field",
			h: ExtHandshake{
				M: map[string]uint8{"ut_pex": 1, "ut_metadata": 2, "lt_donthave": 0},
				V: "unworkable/0.1", P: 6881, Reqq: 250, MetadataSize: 31235,
				YourIP: netip.MustParseAddr("203.0.113.7"),
				IPv4:   netip.MustParseAddr("198.51.100.1"),
				IPv6:   netip.MustParseAddr("2001:db8::1"),
			},
			want: "d4:ipv44:\xc6\x33\x64\x014:ipv616:" + ip6 +
				"1:md11:lt_donthavei0e11:ut_metadatai2e6:ut_pexi1ee13:metadata_sizei31235e" +
				"1:pi6881e4:reqqi250e1:v14:unworkable/0.16:yourip4:\xcb\x00\x71\x07e",
		},
		{
			name: "IPv6 yourip, misplaced families left out",
			h: ExtHandshake{M: map[string]uint8{}, YourIP: netip.MustParseAddr("2001:db8::1"),
				IPv4: netip.MustParseAddr("2001:db8::1"), IPv6: netip.MustParseAddr("192.0.2.1")},
			want: "d1:mde6:yourip16:" + ip6 + "e",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.h.Encode(); string(got) != tt.want {
				t.Fatalf("Encode:\n got %q\nwant %q", got, tt.want)
			}
			got, err := ParseExtHandshake([]byte(tt.want))
			if err != nil {
				t.Fatalf("ParseExtHandshake: %v", err)
			}
			checkExtHandshakeRoundTrip(t, got)
		})
	}
}

// checkExtHandshakeRoundTrip checks that h, a parsed handshake, encodes to
// canonical bytes that parse back to h.
func checkExtHandshakeRoundTrip(t *testing.T, h ExtHandshake) {
	t.Helper()
	enc := h.Encode()
	back, err := ParseExtHandshake(enc)
	if err != nil {
		t.Fatalf("ParseExtHandshake(Encode(%+v) = %q): %v", h, enc, err)
	}
	if !reflect.DeepEqual(back, h) {
		t.Fatalf("round trip of %q:\n got %+v\nwant %+v", enc, back, h)
	}
	if again := back.Encode(); !bytes.Equal(again, enc) {
		t.Fatalf("Encode is not stable: %q then %q", enc, again)
	}
}

// FuzzParseExtHandshake parses arbitrary payloads: ParseExtHandshake must
// never panic, must fail only with ErrBadExt, must respect its bounds, and
// what it accepts must survive Encode and a second parse unchanged.
func FuzzParseExtHandshake(f *testing.F) {
	for _, tt := range extHandshakes {
		f.Add([]byte(tt.payload))
	}
	for _, tt := range badExtPayloads[:len(badExtPayloads)-3] {
		f.Add([]byte(tt.payload))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		h, err := ParseExtHandshake(payload)
		if err != nil {
			if !errors.Is(err, ErrBadExt) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if h.M == nil || len(h.M) > maxExtNames {
			t.Fatalf("M of %d entries (nil %v)", len(h.M), h.M == nil)
		}
		for name := range h.M {
			if name == "" || len(name) > maxExtNameLen {
				t.Fatalf("kept extension name %q", name)
			}
		}
		if len(h.V) > maxVersionLen || !utf8.ValidString(h.V) {
			t.Fatalf("V %q", h.V)
		}
		if h.Reqq < 0 || h.Reqq > maxReqq {
			t.Fatalf("Reqq %d", h.Reqq)
		}
		checkExtHandshakeRoundTrip(t, h)
	})
}
