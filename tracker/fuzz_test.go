package tracker

import "testing"

// FuzzParseResponse checks that ParseResponse never panics and that every
// peer it returns is usable: a valid address with a non-zero port.
func FuzzParseResponse(f *testing.F) {
	seeds := []string{
		"",
		"de",
		"d8:intervali1800e5:peers6:\x01\x02\x03\x04\x1a\xe1e",
		"d5:peers12:\x01\x02\x03\x04\x00\x00\x05\x06\x07\x08\x1a\xe1e",
		"d6:peers618:\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x1a\xe1e",
		"d5:peersld2:ip7:1.2.3.44:porti6881eed2:ip3:::14:porti0eeee",
		"d14:failure reason4:nopee",
		"d15:warning message3:hey12:min intervali-1e10:tracker id2:abe",
		"d5:peers5:12345e",
		"li1ee",
		"d1:x" + "llllllllllllllll",
		"d8:intervali99999999999999999999ee",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseResponse(body)
		if err != nil {
			return
		}
		for _, p := range r.Peers {
			if p.Port() == 0 || !p.Addr().IsValid() {
				t.Fatalf("peer %v from %q", p, body)
			}
		}
		if r.Interval < 0 || r.MinInterval < 0 || r.Complete < 0 || r.Incomplete < 0 {
			t.Fatalf("negative field in %+v", r)
		}
	})
}
