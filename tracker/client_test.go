package tracker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serve starts a test tracker running h and returns its announce URL.
func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/announce"
}

// reply returns a handler answering every request with body.
func reply(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { w.Write(body) }
}

// rawParams splits a raw query into its parameters, unescaping each value
// byte by byte with url.PathUnescape semantics (no '+' for space).
func rawParams(t *testing.T, raw string) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte)
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		dec, err := unescapeBytes(v)
		if err != nil {
			t.Fatalf("parameter %s=%s: %v", k, v, err)
		}
		out[k] = dec
	}
	return out
}

// unescapeBytes decodes %XX escapes; it is written here rather than taken
// from net/url so the test checks the encoding independently.
func unescapeBytes(s string) ([]byte, error) {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return nil, fmt.Errorf("short escape at %d", i)
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return nil, err
		}
		b = append(b, byte(n))
		i += 2
	}
	return b, nil
}

func testRequest() Request {
	var req Request
	for i := range req.InfoHash {
		req.InfoHash[i] = byte(i * 13) // covers unreserved, reserved and high bytes
		req.PeerID[i] = byte(255 - i*7)
	}
	copy(req.PeerID[:], "-UW0001-")
	req.Port, req.Uploaded, req.Downloaded, req.Left = 6881, 1, 2, 1<<40
	req.Key, req.NumWant = 0xbeef, 50
	return req
}

func TestAnnounceQuery(t *testing.T) {
	tests := []struct {
		name   string
		prefix string // query already in the announce URL
		mod    func(*Request)
		want   map[string]string
		absent []string
	}{
		{"regular", "", func(r *Request) {},
			map[string]string{"compact": "1", "key": "0000beef", "port": "6881", "left": "1099511627776",
				"uploaded": "1", "downloaded": "2", "numwant": "50"},
			[]string{"event", "trackerid", "ip"}},
		{"started", "passkey=abc", func(r *Request) { r.Event, r.NumWant = Started, -1 },
			map[string]string{"event": "started", "passkey": "abc", "compact": "1"},
			[]string{"numwant"}},
		{"stopped with id", "", func(r *Request) { r.Event, r.TrackerID, r.IP = Stopped, "a b&c", "10.1.2.3" },
			map[string]string{"event": "stopped", "trackerid": "a b&c", "ip": "10.1.2.3"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := testRequest()
			tt.mod(&req)
			var raw, ua string
			u := serve(t, func(w http.ResponseWriter, r *http.Request) {
				raw, ua = r.URL.RawQuery, r.UserAgent()
				w.Write([]byte("d8:intervali60ee"))
			})
			if tt.prefix != "" {
				u += "?" + tt.prefix
			}
			if _, err := NewClient("unworkable/test").Announce(context.Background(), u, req); err != nil {
				t.Fatal(err)
			}
			checkQuery(t, raw, req, tt.want, tt.absent)
			if ua != "unworkable/test" {
				t.Errorf("User-Agent = %q", ua)
			}
		})
	}
}

func checkQuery(t *testing.T, raw string, req Request, want map[string]string, absent []string) {
	t.Helper()
	p := rawParams(t, raw)
	if string(p["info_hash"]) != string(req.InfoHash[:]) {
		t.Errorf("info_hash = %x, want %x (raw query %s)", p["info_hash"], req.InfoHash, raw)
	}
	if string(p["peer_id"]) != string(req.PeerID[:]) {
		t.Errorf("peer_id = %x, want %x", p["peer_id"], req.PeerID)
	}
	for k, v := range want {
		if string(p[k]) != v {
			t.Errorf("%s = %q, want %q", k, p[k], v)
		}
	}
	for _, k := range absent {
		if _, ok := p[k]; ok {
			t.Errorf("%s present, want absent", k)
		}
	}
}

func TestAnnounceResponses(t *testing.T) {
	tests := []struct {
		name  string
		h     http.HandlerFunc
		peers int
		err   string // "" for success
	}{
		{"compact", reply(benc(t, map[string]any{"interval": 60, "peers": compact(ap("1.2.3.4:5"))})), 1, ""},
		{"garbage", reply([]byte("hello world")), 0, "not a bencoded dictionary"},
		{"non-dict", reply([]byte("l4:spame")), 0, "not a bencoded dictionary"},
		{"http 500", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, 0, "500"},
		{"failure on 400", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			w.Write(benc(t, map[string]any{"failure reason": "bad key"}))
		}, 0, "failure: bad key"},
		{"huge body", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("d5:peers"))
			chunk := make([]byte, 64<<10)
			for range 200 { // 12.8 MiB, streamed without Content-Length
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, 0, "exceeds limit"},
		{"huge content-length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(DefaultMaxBody+1))
			w.Write([]byte("d"))
		}, 0, "exceeds limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewClient("").Announce(context.Background(), serve(t, tt.h), testRequest())
			if tt.err == "" {
				if err != nil || len(r.Peers) != tt.peers {
					t.Fatalf("Announce = %+v, %v; want %d peers", r, err, tt.peers)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Announce = %+v, %v; want error containing %q", r, err, tt.err)
			}
		})
	}
}

func TestAnnounceMaxPeers(t *testing.T) {
	var b strings.Builder
	for i := range 100000 {
		b.WriteString(compact(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 6881)))
	}
	u := serve(t, reply(benc(t, map[string]any{"peers": b.String()})))
	for _, max := range []int{0, 10} {
		c := NewClient("")
		c.MaxPeers = max
		start := time.Now()
		r, err := c.Announce(context.Background(), u, testRequest())
		if err != nil {
			t.Fatal(err)
		}
		want := max
		if max == 0 {
			want = DefaultMaxPeers
		}
		if len(r.Peers) != want {
			t.Errorf("MaxPeers %d: kept %d peers, want %d", max, len(r.Peers), want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("MaxPeers %d: announce took %v", max, d)
		}
	}
}

func TestAnnounceRedirect(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/announce", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/real?"+r.URL.RawQuery, http.StatusFound)
	})
	mux.HandleFunc("/real", func(w http.ResponseWriter, r *http.Request) {
		w.Write(benc(t, map[string]any{"tracker id": r.URL.Query().Get("port")}))
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop2?"+r.URL.RawQuery, http.StatusFound)
	})
	mux.HandleFunc("/loop2", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop?"+r.URL.RawQuery, http.StatusFound)
	})
	var hops atomic.Int32
	mux.HandleFunc("/chain/", func(w http.ResponseWriter, r *http.Request) {
		n := hops.Add(1)
		http.Redirect(w, r, "/chain/"+strconv.Itoa(int(n)), http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := NewClient("")

	r, err := c.Announce(context.Background(), srv.URL+"/announce", testRequest())
	if err != nil || r.TrackerID != "6881" {
		t.Errorf("redirect: Announce = %+v, %v; want tracker id 6881", r, err)
	}
	if _, err := c.Announce(context.Background(), srv.URL+"/loop", testRequest()); err == nil || !strings.Contains(err.Error(), "redirect loop") {
		t.Errorf("loop: err = %v, want redirect loop", err)
	}
	if _, err := c.Announce(context.Background(), srv.URL+"/chain/x", testRequest()); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("chain: err = %v, want too many redirects", err)
	}
	if n := hops.Load(); n != MaxRedirects+1 {
		t.Errorf("chain: %d requests, want %d", n, MaxRedirects+1)
	}
}

func TestAnnounceSlow(t *testing.T) {
	u := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	t.Run("ctx", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := NewClient("").Announce(ctx, u, testRequest())
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Errorf("err = %v after %v, want deadline exceeded quickly", err, time.Since(start))
		}
	})
	t.Run("client timeout", func(t *testing.T) {
		c := NewClient("")
		c.HTTP.Timeout = 100 * time.Millisecond
		start := time.Now()
		_, err := c.Announce(context.Background(), u, testRequest())
		if err == nil || time.Since(start) > 5*time.Second {
			t.Errorf("err = %v after %v, want a timeout quickly", err, time.Since(start))
		}
	})
}

func TestAnnounceBadURL(t *testing.T) {
	tests := []struct {
		url         string
		unsupported bool
	}{
		{"ws://tracker.example.org/announce", true},
		{"udp://127.0.0.1/announce", false}, // no port: refused before any packet
		{"wss://tracker.example.org/announce", true},
		{"announce", true},
		{"http://[::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := (&Client{}).Announce(context.Background(), tt.url, testRequest())
			if err == nil || errors.Is(err, ErrUnsupported) != tt.unsupported {
				t.Errorf("err = %v, want error (unsupported: %v)", err, tt.unsupported)
			}
		})
	}
}

// TestZeroClient checks that a Client literal without NewClient works.
func TestZeroClient(t *testing.T) {
	u := serve(t, reply([]byte("d8:completei9ee")))
	r, err := (&Client{}).Announce(context.Background(), u, testRequest())
	if err != nil || r.Complete != 9 {
		t.Fatalf("Announce = %+v, %v", r, err)
	}
}

// TestQueryCrypto: supportcrypto and requirecrypto follow Request.Crypto.
func TestQueryCrypto(t *testing.T) {
	for c, want := range map[Crypto][2]bool{NoCrypto: {false, false}, SupportCrypto: {true, false}, RequireCrypto: {true, true}} {
		q := Query(Request{Crypto: c})
		if got := [2]bool{strings.Contains(q, "&supportcrypto=1"), strings.Contains(q, "&requirecrypto=1")}; got != want {
			t.Errorf("Crypto %d: %q; want supportcrypto %v, requirecrypto %v", c, q, want[0], want[1])
		}
	}
}
