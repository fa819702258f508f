package main

// In-process tests of the pieces of the scripting contract: rate sizes,
// status addresses, the JSON encoding and the non-blocking line queue.

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/unworkable/unworkable/session"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1000", 1000, true},
		{"512k", 512 << 10, true},
		{"512K", 512 << 10, true},
		{"10M", 10 << 20, true},
		{"10m", 10 << 20, true},
		{"1.5M", 3 << 19, true},
		{"2G", 2 << 30, true},
		{"10MiB", 10 << 20, true},
		{"64kB", 64 << 10, true},
		{"0.1", 1, true},
		{"", 0, false},
		{"M", 0, false},
		{"-1", 0, false},
		{"fast", 0, false},
		{"1e6", 0, false},
		{"inf", 0, false},
		{"NaN", 0, false},
		{"0x10", 0, false},
		{"10T", 0, false},
		{"10B", 10, true},
		{"10iB", 0, false},
		{"10b", 0, false},
		{"99999999999G", 0, false},
	}
	for _, tc := range tests {
		got, err := parseRate(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseRate(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseStatusAddr(t *testing.T) {
	tests := []struct {
		in      string
		public  bool
		network string // "" refused
		addr    string
	}{
		{"/run/unworkable.sock", false, "unix", "/run/unworkable.sock"},
		{"./s", false, "unix", "./s"},
		{"status.sock", false, "unix", "status.sock"},
		{"127.0.0.1:7000", false, "tcp", "127.0.0.1:7000"},
		{"127.1.2.3:7000", false, "tcp", "127.1.2.3:7000"},
		{"[::1]:7000", false, "tcp", "[::1]:7000"},
		{"localhost:7000", false, "tcp", "127.0.0.1:7000"},
		{"192.0.2.7:7000", true, "tcp", "192.0.2.7:7000"},
		{"[2001:db8::1]:7000", true, "tcp", "[2001:db8::1]:7000"},
		{"192.0.2.7:7000", false, "", ""},
		{"0.0.0.0:7000", false, "", ""},
		{"0.0.0.0:7000", true, "", ""},
		{"[::]:7000", true, "", ""},
		{":7000", true, "", ""},
		{"example.com:7000", true, "", ""},
		{"127.0.0.1", false, "", ""},
	}
	for _, tc := range tests {
		got, err := parseStatusAddr(tc.in, tc.public)
		if tc.network == "" {
			if err == nil {
				t.Errorf("parseStatusAddr(%q, %v) = %v, want an error", tc.in, tc.public, got)
			}
			continue
		}
		if err != nil || got.network != tc.network || got.addr != tc.addr {
			t.Errorf("parseStatusAddr(%q, %v) = %v, %v; want %s %s", tc.in, tc.public, got, err, tc.network, tc.addr)
		}
	}
}

func TestEncodeEvent(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 123e6, time.UTC)
	st := session.Stats{Name: "x", Pieces: 10, Have: 4, Total: 1000, Left: 600, Downloaded: 400,
		Uploaded: 7, DownRate: 99.6, UpRate: 1, Peers: 2, Seeds: 1, Elapsed: 1500 * time.Millisecond}
	withDHT := st
	withDHT.DHT, withDHT.DHTNodes, withDHT.DHTPeers = true, 12, 3
	tests := []struct {
		ev    session.Event
		extra map[string]any
	}{
		{session.Event{Type: session.EvProgress, Time: at, Stats: st}, nil},
		{session.Event{Type: session.EvProgress, Time: at, Stats: withDHT}, map[string]any{"dht_nodes": 12.0, "dht_peers": 3.0}},
		{session.Event{Type: session.EvPieceFailed, Time: at, Stats: st, Piece: 0}, map[string]any{"piece": 0.0}},
		{session.Event{Type: session.EvStopped, Time: at, Stats: st, Reason: "seed-ratio"}, map[string]any{"reason": "seed-ratio"}},
		{session.Event{Type: session.EvError, Time: at, Stats: st, Reason: "disk full"}, map[string]any{"message": "disk full"}},
	}
	for _, tc := range tests {
		line := encodeEvent(tc.ev)
		if len(line) == 0 || line[len(line)-1] != '\n' || strings.Count(string(line), "\n") != 1 {
			t.Fatalf("%s: not one line: %q", tc.ev.Type, line)
		}
		e, err := parseEvent(string(line))
		if err != nil {
			t.Fatalf("%s: %v", tc.ev.Type, err)
		}
		var m map[string]any
		json.Unmarshal(line, &m)
		if len(m) != len(schemaKeys)+len(tc.extra) {
			t.Errorf("%s: %d keys, want %d: %s", tc.ev.Type, len(m), len(schemaKeys)+len(tc.extra), line)
		}
		for k, v := range tc.extra {
			if m[k] != v {
				t.Errorf("%s: %s = %v, want %v", tc.ev.Type, k, m[k], v)
			}
		}
		if e.Event != string(tc.ev.Type) || e.Time != "2026-11-25T10:00:00.123Z" || m["down_rate"] != 100.0 ||
			e.ElapsedS != 1.5 || e.Left != 600 || e.Name != "x" {
			t.Errorf("%s: fields wrong: %s", tc.ev.Type, line)
		}
	}
}

// TestLineQueueStalled pushes events into a queue whose reader does not
// read: pushes never block, progress lines are dropped beyond the soft
// limit, and stopped is still delivered, last, once the reader reads.
func TestLineQueueStalled(t *testing.T) {
	r, w := io.Pipe()
	q := newLineQueue(w)
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		for range 10 * q.softLimit {
			q.push([]byte("progress\n"), dropFirst)
		}
		q.push([]byte("peers\n"), dropLater)
		q.push([]byte("stopped\n"), neverDrop)
	}()
	select {
	case <-pushed:
	case <-time.After(20 * time.Second):
		t.Fatal("push blocked on a stalled writer")
	}
	closed := make(chan bool, 1)
	go func() { closed <- q.close(20 * time.Second); w.Close() }()
	var lines []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if !<-closed {
		t.Fatal("close: queue not flushed")
	}
	// At most softLimit queued plus one batch (of at most softLimit) that
	// the writer took off the queue before the pipe stalled it.
	n := len(lines)
	if n < 3 || n > 2*q.softLimit+2 || lines[n-1] != "stopped" || lines[n-2] != "peers" {
		t.Fatalf("%d lines (soft limit %d), ending %q", n, q.softLimit, lines[max(0, n-2):])
	}
	q.push([]byte("late\n"), neverDrop) // after close: dropped, no panic
}

// TestProgressLineDHT: the progress line counts the DHT's nodes when the
// torrent uses the DHT, and says nothing of it otherwise.
func TestProgressLineDHT(t *testing.T) {
	st := session.Stats{Name: "x", Pieces: 10, Total: 1000, Left: 600, Peers: 2, Phase: "transfer"}
	if l := progressLine(st, 100); strings.Contains(l, "dht") {
		t.Errorf("without the DHT: %q", l)
	}
	st.DHT, st.DHTNodes = true, 37
	if l := progressLine(st, 100); !strings.HasSuffix(l, " dht 37") {
		t.Errorf("with the DHT: %q, want it to end in \" dht 37\"", l)
	}
	st.Phase = "metadata"
	if l := progressLine(st, 100); !strings.HasSuffix(l, " dht 37") {
		t.Errorf("fetching metadata: %q, want it to end in \" dht 37\"", l)
	}
}
