package metainfo

import (
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The info hash the magnet tests use, in its three spellings.
const (
	magnetHex    = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
	magnetBase32 = "YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK" // Python's base64.b32encode of the same bytes
	magnetURI    = "magnet:?xt=urn:btih:" + magnetHex
)

// magnetHash is magnetHex decoded.
var magnetHash = [20]byte{0xc1, 0x2f, 0xe1, 0xc0, 0x6b, 0xba, 0x25, 0x4a, 0x9d, 0xc9,
	0xf5, 0x19, 0xb3, 0x35, 0xaa, 0x7c, 0x13, 0x67, 0xa8, 0x8a}

// repeatParam returns n "&key=value" parameters with N in key and value
// replaced by 0, 1, ... n-1, so that each value is distinct.
func repeatParam(n int, key, value string) string {
	var b strings.Builder
	for i := range n {
		r := strings.NewReplacer("N", strconv.Itoa(i))
		b.WriteString("&" + r.Replace(key) + "=" + r.Replace(value))
	}
	return b.String()
}

// validMagnets are links ParseMagnet accepts, with what it must make of them.
var validMagnets = []struct {
	name string
	uri  string
	want Magnet
}{
	{"hex lower case", magnetURI, Magnet{InfoHash: magnetHash}},
	{"hex upper case", "magnet:?xt=urn:btih:" + strings.ToUpper(magnetHex), Magnet{InfoHash: magnetHash}},
	{"base32 upper case", "magnet:?xt=urn:btih:" + magnetBase32, Magnet{InfoHash: magnetHash}},
	{"base32 lower case", "magnet:?xt=urn:btih:" + strings.ToLower(magnetBase32), Magnet{InfoHash: magnetHash}},
	{"scheme and urn in upper case", "MAGNET:?xt=URN:BTIH:" + magnetHex, Magnet{InfoHash: magnetHash}},
	{"same hash twice, hex and base32", magnetURI + "&xt=urn:btih:" + magnetBase32, Magnet{InfoHash: magnetHash}},
	{"xt last", "magnet:?dn=x&xt=urn:btih:" + magnetHex, Magnet{InfoHash: magnetHash, Name: "x"}},
	{"dn with + and %20", magnetURI + "&dn=a+b%20c", Magnet{InfoHash: magnetHash, Name: "a b c"}},
	{"dn in UTF-8", magnetURI + "&dn=caf%C3%A9+d%C3%A9j%C3%A0", Magnet{InfoHash: magnetHash, Name: "café déjà"}},
	{"dn with escaped + & =", magnetURI + "&dn=1%2B1%3D2%26x", Magnet{InfoHash: magnetHash, Name: "1+1=2&x"}},
	{"first dn wins", magnetURI + "&dn=one&dn=two", Magnet{InfoHash: magnetHash, Name: "one"}},
	{"trackers in order, one tier each", magnetURI +
		"&tr=udp%3A%2F%2Fb.example%3A1337%2Fannounce&tr=http://a.example/announce&tr.1=wss://c.example/x" +
		"&tr=http://a.example/announce&tr.2=udp%3A%2F%2Fb.example%3A1337%2Fannounce",
		Magnet{InfoHash: magnetHash, Trackers: [][]string{
			{"udp://b.example:1337/announce"}, {"http://a.example/announce"}, {"wss://c.example/x"}}}},
	{"tracker with a query", magnetURI + "&tr=http%3A%2F%2Fa%2Fann%3Fk%3D1%26p%3D2",
		Magnet{InfoHash: magnetHash, Trackers: [][]string{{"http://a/ann?k=1&p=2"}}}},
	{"unknown scheme kept", magnetURI + "&tr=gopher://t.example/",
		Magnet{InfoHash: magnetHash, Trackers: [][]string{{"gopher://t.example/"}}}},
	{"web seeds", magnetURI + "&ws=http%3A%2F%2Fs1.example%2F&ws=https://s2.example/d/&ws=http://s1.example/",
		Magnet{InfoHash: magnetHash, WebSeeds: []string{"http://s1.example/", "https://s2.example/d/"}}},
	{"peers", magnetURI + "&x.pe=1.2.3.4:6881&x.pe=%5B%3A%3A1%5D%3A6881&x.pe=peer.example:51413&x.pe=1.2.3.4:6881",
		Magnet{InfoHash: magnetHash, Peers: []string{"1.2.3.4:6881", "[::1]:6881", "peer.example:51413"}}},
	{"select only", magnetURI + "&so=0,2,4-6,7-7,007",
		Magnet{InfoHash: magnetHash, Select: []Range{{0, 0}, {2, 2}, {4, 6}, {7, 7}, {7, 7}}}},
	{"select only given twice", magnetURI + "&so=1&so=3-4",
		Magnet{InfoHash: magnetHash, Select: []Range{{1, 1}, {3, 4}}}},
	{"hybrid btmh and btih", "magnet:?xt=urn:btmh:1220" + strings.Repeat("ab", 32) + "&xt=urn:btih:" + magnetHex,
		Magnet{InfoHash: magnetHash}},
	{"unknown keys ignored", magnetURI + "&&kt=a+b&xl=%1B&as=x&xs=y&x.foo=%FF&tr.=x&tr.a=y&TR=z&xt=urn:ed2k:zz&",
		Magnet{InfoHash: magnetHash}},
	{"5000 copies of one tracker", magnetURI + strings.Repeat("&tr=udp://t:1", 5000),
		Magnet{InfoHash: magnetHash, Trackers: [][]string{{"udp://t:1"}}}},
	{"100 trackers", magnetURI + repeatParam(100, "tr", "http://tN/"), Magnet{InfoHash: magnetHash, Trackers: func() [][]string {
		var tiers [][]string
		for i := range 100 {
			tiers = append(tiers, []string{"http://t" + strconv.Itoa(i) + "/"})
		}
		return tiers
	}()}},
}

// TestParseMagnet checks what ParseMagnet makes of valid links, and that
// String gives a link that parses back to the same Magnet.
func TestParseMagnet(t *testing.T) {
	for _, tt := range validMagnets {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMagnet(tt.uri)
			if err != nil {
				t.Fatalf("ParseMagnet: %v", err)
			}
			if !reflect.DeepEqual(*m, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", *m, tt.want)
			}
			s := m.String()
			again, err := ParseMagnet(s)
			if err != nil {
				t.Fatalf("ParseMagnet(String()) %q: %v", s, err)
			}
			if !reflect.DeepEqual(again, m) {
				t.Fatalf("round trip through %q:\n got  %+v\nwant %+v", s, *again, *m)
			}
			if again.String() != s {
				t.Errorf("String not stable: %q then %q", s, again.String())
			}
		})
	}
}

// TestMagnetString checks the canonical form: hex hash, then dn, tr, ws,
// x.pe and so, values escaped as MetaInfo.Magnet escapes them.
func TestMagnetString(t *testing.T) {
	m := Magnet{
		InfoHash: magnetHash, Name: "a b&c",
		Trackers: [][]string{{"http://a/ann?k=1"}, {"udp://b:1"}},
		WebSeeds: []string{"http://s/"}, Peers: []string{"[::1]:6881"},
		Select: []Range{{0, 0}, {2, 2}, {4, 6}},
	}
	want := magnetURI + "&dn=a+b%26c&tr=http%3A%2F%2Fa%2Fann%3Fk%3D1&tr=udp%3A%2F%2Fb%3A1" +
		"&ws=http%3A%2F%2Fs%2F&x.pe=%5B%3A%3A1%5D%3A6881&so=0,2,4-6"
	if got := m.String(); got != want {
		t.Errorf("String:\n got %q\nwant %q", got, want)
	}
	for r, want := range map[Range]string{{3, 3}: "3", {0, 9}: "0-9"} {
		if got := r.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", r, got, want)
		}
	}
}

// TestMagnetOfTorrent parses the link MetaInfo.Magnet writes for each
// golden torrent: same hash, name and trackers, and String gives it back.
func TestMagnetOfTorrent(t *testing.T) {
	for _, name := range []string{"single.torrent", "multi.torrent", "utf8.torrent"} {
		t.Run(name, func(t *testing.T) {
			mi, err := Load(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			link := mi.Magnet()
			m, err := ParseMagnet(link)
			if err != nil {
				t.Fatalf("ParseMagnet(%q): %v", link, err)
			}
			var flat [][]string
			for _, tier := range mi.Trackers() {
				for _, u := range tier {
					flat = append(flat, []string{u})
				}
			}
			if m.InfoHash != mi.InfoHash || m.Name != mi.Info.Name || !reflect.DeepEqual(m.Trackers, flat) {
				t.Errorf("got %x %q %q, want %x %q %q", m.InfoHash, m.Name, m.Trackers, mi.InfoHash, mi.Info.Name, flat)
			}
			if m.String() != link {
				t.Errorf("String:\n got %q\nwant %q", m.String(), link)
			}
		})
	}
}

// TestIsMagnet checks the test that picks a magnet link over a path.
func TestIsMagnet(t *testing.T) {
	for s, want := range map[string]bool{
		magnetURI: true, "MAGNET:?xt": true, "Magnet:": true, "magnet:": true,
		"magnet": false, "x.torrent": false, "": false, "./magnet:x": false, "/tmp/magnet:?": false,
	} {
		if got := IsMagnet(s); got != want {
			t.Errorf("IsMagnet(%q) = %v, want %v", s, got, want)
		}
	}
}

// hostileMagnets are links ParseMagnet must refuse, with a part of the
// error it must give.
var hostileMagnets = []struct {
	name, uri, want string
}{
	{"empty", "", "not a magnet URI"},
	{"wrong scheme", "http://example.com/?xt=urn:btih:" + magnetHex, "not a magnet URI"},
	{"no ?", "magnet:xt=urn:btih:" + magnetHex, "not a magnet URI"},
	{"no parameters", "magnet:?", "no info hash (xt=urn:btih:...)"},
	{"no xt", "magnet:?dn=x&tr=http://t/", "no info hash"},
	{"other xt only", "magnet:?xt=urn:sha1:" + magnetBase32, "no info hash"},
	{"xt key upper case", "magnet:?XT=urn:btih:" + magnetHex, "no info hash"},
	{"two different btih", magnetURI + "&xt=urn:btih:" + strings.Repeat("0", 40),
		"xt: two different info hashes, " + magnetHex + " and " + strings.Repeat("0", 40)},
	{"btmh only", "magnet:?xt=urn:btmh:1220" + strings.Repeat("ab", 32),
		"metainfo: magnet: v2-only magnet links (urn:btmh) are not supported"},
	{"39 hex digits", "magnet:?xt=urn:btih:" + magnetHex[:39], "metainfo: magnet: xt: info hash: 39 characters, want 40 hex or 32 base32"},
	{"41 hex digits", magnetURI + "0", "info hash: 41 characters, want 40 hex or 32 base32"},
	{"empty hash", "magnet:?xt=urn:btih:", "info hash: 0 characters"},
	{"bad hex digit", "magnet:?xt=urn:btih:" + magnetHex[:39] + "g", "info hash: \"" + magnetHex[:39] + "g\": bad hex digit"},
	{"bad base32 digit", "magnet:?xt=urn:btih:" + magnetBase32[:31] + "1", "bad base32"},
	{"base32 with padding", "magnet:?xt=urn:btih:" + magnetBase32[:30] + "==", "bad base32"},
	{"101 trackers", magnetURI + repeatParam(101, "tr", "http://tN/"), "metainfo: magnet: tr: more than 100 trackers"},
	{"101 numbered trackers", magnetURI + repeatParam(101, "tr.N", "http://tN/"), "tr.100: more than 100 trackers"},
	{"10000 trackers", magnetURI + repeatParam(10000, "tr", "http://tN/"), "more than 65536"},
	{"101 web seeds", magnetURI + repeatParam(101, "ws", "http://sN/"), "ws: more than 100 web seeds"},
	{"201 peers", magnetURI + repeatParam(201, "x.pe", "10.0.0.1:1N"), "x.pe: more than 200 peers"},
	{"CRLF in tracker", magnetURI + "&tr=http://t/a%0D%0AX-Evil:+1", "tr: \"http://t/a\\r\\nX-Evil: 1\" holds control character U+000D"},
	{"LF in web seed", magnetURI + "&ws=http://s/%0A", "ws: \"http://s/\\n\" holds control character U+000A"},
	{"ESC in dn", magnetURI + "&dn=evil%1B%5B2J", "dn: \"evil\\x1b[2J\" holds control character U+001B"},
	{"C1 CSI in dn", magnetURI + "&dn=evil%C2%9B2J", "dn: \"evil\\u009b2J\" holds control character U+009B"},
	{"NUL in dn", magnetURI + "&dn=a%00b", "control character U+0000"},
	{"raw DEL in dn", magnetURI + "&dn=a\x7fb", "control character U+007F"},
	{"invalid UTF-8 in dn", magnetURI + "&dn=caf%FF", "dn: \"caf\\xff\" is not valid UTF-8"},
	{"bad percent escape in dn", magnetURI + "&dn=100%zz", "dn: invalid URL escape \"%zz\""},
	{"truncated escape in tr", magnetURI + "&tr=http://t/%2", "tr: invalid URL escape \"%2\""},
	{"bad escape in unknown key's value", magnetURI + "&x.foo=%", "x.foo: invalid URL escape"},
	{"bad escape in a key", magnetURI + "&d%n=x", "key \"d%n\": invalid URL escape"},
	{"relative tracker", magnetURI + "&tr=/announce", "tr: \"/announce\" is not an absolute URL with a host"},
	{"tracker without host", magnetURI + "&tr=http:///announce", "is not an absolute URL with a host"},
	{"empty tracker", magnetURI + "&tr=", "tr: \"\" is not an absolute URL"},
	{"tracker with bad port", magnetURI + "&tr=http://t:port/", "tr: \"http://t:port/\": invalid port"},
	{"web seed without scheme", magnetURI + "&ws=s.example/d", "ws: \"s.example/d\" is not an absolute URL"},
	{"peer without port", magnetURI + "&x.pe=1.2.3.4", "x.pe: \"1.2.3.4\": missing port in address"},
	{"peer port 0", magnetURI + "&x.pe=1.2.3.4:0", "x.pe: \"1.2.3.4:0\": port \"0\" not in 1-65535"},
	{"peer port 70000", magnetURI + "&x.pe=1.2.3.4:70000", "port \"70000\" not in 1-65535"},
	{"peer port +80", magnetURI + "&x.pe=1.2.3.4:%2B80", "port \"+80\" not in 1-65535"},
	{"peer port empty", magnetURI + "&x.pe=1.2.3.4:", "port \"\" not in 1-65535"},
	{"peer without host", magnetURI + "&x.pe=:6881", "\"\" is not a host name or IPv4 address"},
	{"peer host with a space", magnetURI + "&x.pe=a+b:6881", "\"a b\" is not a host name"},
	{"IPv6 peer without brackets", magnetURI + "&x.pe=::1:6881", "too many colons"},
	{"bracketed non-IPv6 peer", magnetURI + "&x.pe=[1.2.3.4]:6881", "\"1.2.3.4\" is not an IPv6 address"},
	{"select only backwards range", magnetURI + "&so=3-1", "so: range \"3-1\": 3 is after 1"},
	{"select only letter", magnetURI + "&so=a", "so: \"a\" is not a file index or range a-b from 0 to 1048575"},
	{"select only empty", magnetURI + "&so=", "so: \"\" is not a file index or range"},
	{"select only empty item", magnetURI + "&so=1,,2", "so: \"\" is not a file index or range"},
	{"select only negative", magnetURI + "&so=-1", "so: \"-1\" is not a file index or range"},
	{"select only open range", magnetURI + "&so=1-", "so: \"1-\" is not a file index or range"},
	{"select only two dashes", magnetURI + "&so=1-2-3", "so: \"1-2-3\" is not a file index or range"},
	{"select only space", magnetURI + "&so=1,+2", "so: \" 2\" is not a file index or range"},
	{"select only huge index", magnetURI + "&so=99999999999999999999", "is not a file index"},
	{"select only index too big", magnetURI + "&so=1048576", "\"1048576\" is not a file index or range a-b from 0 to 1048575"},
	{"select only 10001 items", magnetURI + "&so=" + strings.Repeat("1,", 10000) + "1", "so: more than 10000 items"},
	{"over 64 KiB", magnetURI + "&dn=" + strings.Repeat("x", 64<<10), "metainfo: magnet: 65600 bytes, more than 65536"},
	{"over 64 KiB once re-encoded", magnetURI + "&dn=" + strings.Repeat("/", 30000), "bytes once re-encoded, more than 65536"},
}

// TestParseMagnetHostile checks that hostile links are refused with an
// error that says what is wrong.
func TestParseMagnetHostile(t *testing.T) {
	for _, tt := range hostileMagnets {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMagnet(tt.uri)
			if err == nil {
				t.Fatalf("accepted: %+v", *m)
			}
			if !strings.HasPrefix(err.Error(), "metainfo: magnet: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
			if len(err.Error()) > 300 {
				t.Errorf("error of %d bytes: %.300q", len(err.Error()), err)
			}
		})
	}
}

// FuzzParseMagnet feeds arbitrary strings to ParseMagnet. It must never
// panic, and what it accepts must survive String: ParseMagnet(m.String())
// gives m again, and every kept value is free of control characters.
func FuzzParseMagnet(f *testing.F) {
	for _, tt := range validMagnets {
		f.Add(tt.uri)
	}
	for _, tt := range hostileMagnets {
		if len(tt.uri) < 4096 {
			f.Add(tt.uri)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMagnet(s)
		if err != nil {
			return
		}
		again, err := ParseMagnet(m.String())
		if err != nil {
			t.Fatalf("ParseMagnet(%q) = %+v, but its String %q: %v", s, *m, m.String(), err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip of %q through %q:\n got  %+v\nwant %+v", s, m.String(), *again, *m)
		}
		values := []string{m.Name}
		for _, tier := range m.Trackers {
			values = append(values, tier...)
		}
		values = append(append(values, m.WebSeeds...), m.Peers...)
		for _, v := range values {
			if checkText(v) != nil {
				t.Fatalf("kept %q", v)
			}
		}
	})
}
