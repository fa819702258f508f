package tracker

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
)

// benc marshals v for test bodies.
func benc(t testing.TB, v any) []byte {
	t.Helper()
	b, err := bencode.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	return b
}

// compact packs peers in BEP 23 / BEP 7 form.
func compact(aps ...netip.AddrPort) string {
	var b []byte
	for _, ap := range aps {
		b = append(b, ap.Addr().AsSlice()...)
		b = binary.BigEndian.AppendUint16(b, ap.Port())
	}
	return string(b)
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name string
		body map[string]any
		want Response
	}{
		{
			name: "compact",
			body: map[string]any{"interval": 1800, "peers": compact(ap("1.2.3.4:6881"), ap("10.0.0.1:51413"))},
			want: Response{Interval: 1800 * time.Second, Peers: []netip.AddrPort{ap("1.2.3.4:6881"), ap("10.0.0.1:51413")}},
		},
		{
			name: "dictionary peers",
			body: map[string]any{"peers": []any{
				map[string]any{"ip": "192.168.1.2", "port": 7000, "peer id": strings.Repeat("a", 20)},
				map[string]any{"ip": "2001:db8::1", "port": 7001},
				map[string]any{"ip": "tracker.example.org", "port": 7002},
				map[string]any{"ip": "1.1.1.1", "port": 70000},
				map[string]any{"ip": "1.1.1.2", "port": 0},
				map[string]any{"ip": 5, "port": 7003},
				"not a dict",
			}},
			want: Response{Peers: []netip.AddrPort{ap("192.168.1.2:7000"), ap("[2001:db8::1]:7001")}},
		},
		{
			name: "peers6 and dedup",
			body: map[string]any{
				"peers":  compact(ap("1.2.3.4:1"), ap("1.2.3.4:1"), ap("5.6.7.8:0")),
				"peers6": compact(ap("[2001:db8::2]:2"), ap("[::ffff:1.2.3.4]:1")),
			},
			want: Response{Peers: []netip.AddrPort{ap("1.2.3.4:1"), ap("[2001:db8::2]:2")}},
		},
		{
			name: "fields",
			body: map[string]any{
				"interval": 900, "min interval": 60, "tracker id": "tid-7",
				"warning message": "be nice", "complete": 3, "incomplete": 4, "peers": "",
			},
			want: Response{Interval: 900 * time.Second, MinInterval: time.Minute, TrackerID: "tid-7",
				Warning: "be nice", Complete: 3, Incomplete: 4},
		},
		{
			name: "negative and mistyped intervals",
			body: map[string]any{"interval": -5, "min interval": "soon", "complete": -1},
			want: Response{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResponse(benc(t, tt.body))
			if err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			checkResponse(t, got, &tt.want)
		})
	}
}

func checkResponse(t *testing.T, got, want *Response) {
	t.Helper()
	if !slices.Equal(got.Peers, want.Peers) {
		t.Errorf("peers = %v, want %v", got.Peers, want.Peers)
	}
	type fields struct {
		interval, minInterval time.Duration
		trackerID, warning    string
		complete, incomplete  int
	}
	g := fields{got.Interval, got.MinInterval, got.TrackerID, got.Warning, got.Complete, got.Incomplete}
	w := fields{want.Interval, want.MinInterval, want.TrackerID, want.Warning, want.Complete, want.Incomplete}
	if g != w {
		t.Errorf("response = %+v, want %+v", g, w)
	}
}

func TestParseResponseErrors(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want string // substring of the error
	}{
		{"empty", nil, "empty body"},
		{"garbage", []byte("<html>oops</html>"), "not a bencoded dictionary"},
		{"list", []byte("li1ee"), "not a bencoded dictionary"},
		{"integer", []byte("i42e"), "not a bencoded dictionary"},
		{"truncated", []byte("d8:intervali5e5:peers"), "parse response"},
		{"bad length", benc(t, map[string]any{"peers": "12345"}), "not a multiple of 6"},
		{"bad length 6", benc(t, map[string]any{"peers6": strings.Repeat("x", 20)}), "not a multiple of 18"},
		{"peers int", benc(t, map[string]any{"peers": 5}), "neither a string nor a list"},
		{"trailing", []byte("d8:intervali5eexyz"), "trailing"},
		{"deep", []byte(strings.Repeat("l", 100000)), "not a bencoded dictionary"},
		{"deep dict", []byte("d1:x" + strings.Repeat("l", 100000)), "parse response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseResponse(tt.body)
			if err == nil {
				t.Fatalf("ParseResponse = %+v, want error", r)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "tracker: ") {
				t.Errorf("error %q, want it to start with tracker: and contain %q", err, tt.want)
			}
		})
	}
}

func TestParseResponseTrailingNewline(t *testing.T) {
	body := append(benc(t, map[string]any{"interval": 7}), "\r\n"...)
	r, err := ParseResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	if r.Interval != 7*time.Second {
		t.Errorf("interval = %v, want 7s", r.Interval)
	}
}

func TestParseResponseFailure(t *testing.T) {
	body := benc(t, map[string]any{"failure reason": "unregistered torrent", "interval": 60})
	r, err := ParseResponse(body)
	var fe *FailureError
	if !errors.As(err, &fe) {
		t.Fatalf("ParseResponse = %v, %v; want *FailureError", r, err)
	}
	if fe.Reason != "unregistered torrent" {
		t.Errorf("reason = %q", fe.Reason)
	}
	if !strings.Contains(err.Error(), "unregistered torrent") {
		t.Errorf("Error() = %q does not include the reason", err)
	}
}

func TestParseResponseMaxPeers(t *testing.T) {
	const n = 100000
	var b strings.Builder
	for i := range n {
		b.WriteString(compact(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 1+uint16(i%60000))))
	}
	body := benc(t, map[string]any{"peers": b.String()})
	all, err := ParseResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Peers) != n {
		t.Errorf("ParseResponse kept %d peers, want %d", len(all.Peers), n)
	}
	some, err := parseResponse(body, 50)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(some.Peers, all.Peers[:50]) {
		t.Errorf("capped peers = %v, want the first 50 of %d", some.Peers, n)
	}
}
