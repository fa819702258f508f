package dht

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseMsg checks that ParseMsg never panics and that every message
// it accepts survives Encode and ParseMsg unchanged, and encodes to the
// same bytes twice (Encode is canonical).
func FuzzParseMsg(f *testing.F) {
	for _, s := range []string{pingQuery, pingReply, findNode, getPeers, announcePeer, errorMsg, valuesReply, nodesReply} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMsg(b)
		if err != nil {
			return
		}
		enc := m.Encode()
		again, err := ParseMsg(enc)
		if err != nil {
			t.Fatalf("ParseMsg(Encode(%+v)) = %v\n%q", m, err, enc)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, again)
		}
		if enc2 := again.Encode(); string(enc2) != string(enc) {
			t.Fatalf("Encode not stable:\n%q\n%q", enc, enc2)
		}
	})
}

// TestFuzzSeedsParse checks that every seed of FuzzParseMsg's corpus is
// a valid message, so that the fuzzer starts from the accepting paths.
func TestFuzzSeedsParse(t *testing.T) {
	files, err := filepath.Glob("testdata/fuzz/FuzzParseMsg/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no seeds: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		q := strings.TrimSuffix(strings.TrimPrefix(lines[len(lines)-1], "[]byte("), ")")
		s, err := strconv.Unquote(q)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := ParseMsg([]byte(s)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
