package dht

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// TestStateRoundTrip saves a state with IPv4 and IPv6 nodes and loads it
// back unchanged, through a directory SaveState creates.
func TestStateRoundTrip(t *testing.T) {
	st := State{ID: RandomID(), Nodes: []NodeInfo{
		{ID: RandomID(), Addr: netip.MustParseAddrPort("127.0.0.1:6881")},
		{ID: RandomID(), Addr: netip.MustParseAddrPort("[::1]:6882")},
		{ID: RandomID(), Addr: netip.MustParseAddrPort("127.0.1.1:7000")},
	}}
	path := filepath.Join(t.TempDir(), "sub", "dht.state")
	if err := SaveState(path, st); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != st.ID || len(got.Nodes) != 3 {
		t.Fatalf("loaded %v with %d nodes, want %v with 3", got.ID, len(got.Nodes), st.ID)
	}
	want := map[NodeInfo]bool{}
	for _, n := range st.Nodes {
		want[n] = true
	}
	for _, n := range got.Nodes {
		if !want[n] {
			t.Errorf("loaded node %v %v, not saved", n.ID, n.Addr)
		}
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".dht-state-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestStateBad refuses files that are not a whole state.
func TestStateBad(t *testing.T) {
	good := State{ID: RandomID()}.Encode()
	for name, b := range map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-1],
		"trailing":  append(append([]byte{}, good...), 'x'),
		"short id":  []byte("d2:id3:abce"),
		"no id":     []byte("d5:nodes0:e"),
		"bad nodes": []byte("d2:id20:aaaaaaaaaaaaaaaaaaaa5:nodes3:abce"),
		"too long":  bytes.Repeat([]byte("x"), MaxStateLen+1),
	} {
		if _, err := ParseState(b); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
	if _, err := LoadState(filepath.Join(t.TempDir(), "none")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v, want not-exist", err)
	}
}

// FuzzParseState: any bytes give a state or an error, and a parsed state
// encodes to something that parses to the same id.
func FuzzParseState(f *testing.F) {
	f.Add(State{ID: RandomID(), Nodes: []NodeInfo{{Addr: netip.MustParseAddrPort("127.0.0.1:1")}}}.Encode())
	f.Add([]byte("d2:id20:aaaaaaaaaaaaaaaaaaaa5:nodes0:6:nodes60:e"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseState(b)
		if err != nil {
			return
		}
		again, err := ParseState(st.Encode())
		if err != nil || again.ID != st.ID {
			t.Fatalf("re-encoded state: %v, id %v want %v", err, again.ID, st.ID)
		}
	})
}
