package tracker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/anacrolix/torrent/bencode"
)

// Sizes of one compact peer entry: BEP 23 (IPv4) and BEP 7 (IPv6), each an
// address followed by a big-endian port.
const (
	compactLen4 = 4 + 2
	compactLen6 = 16 + 2
)

// wireResponse mirrors the bencoded announce response dictionary. Scalar
// fields of the wrong type are ignored rather than failing the whole
// response; peers are kept raw because they come in two shapes.
type wireResponse struct {
	FailureReason *string       `bencode:"failure reason"`
	Warning       string        `bencode:"warning message,ignore_unmarshal_type_error"`
	Interval      int64         `bencode:"interval,ignore_unmarshal_type_error"`
	MinInterval   int64         `bencode:"min interval,ignore_unmarshal_type_error"`
	TrackerID     string        `bencode:"tracker id,ignore_unmarshal_type_error"`
	Complete      int64         `bencode:"complete,ignore_unmarshal_type_error"`
	Incomplete    int64         `bencode:"incomplete,ignore_unmarshal_type_error"`
	Peers         bencode.Bytes `bencode:"peers"`
	Peers6        bencode.Bytes `bencode:"peers6"`
}

// dictPeer is one entry of the BEP 3 dictionary peer list. The peer id is
// not needed (the handshake carries it) and is skipped.
type dictPeer struct {
	IP   string `bencode:"ip,ignore_unmarshal_type_error"`
	Port int64  `bencode:"port,ignore_unmarshal_type_error"`
}

// ParseResponse decodes an announce response body. It never panics. A body
// that is not a bencoded dictionary, or holds a peers string whose length is
// not a multiple of 6 (peers6: 18), is an error; a `failure reason` gives a
// *FailureError. A negative interval is treated as absent.
func ParseResponse(body []byte) (*Response, error) {
	return parseResponse(body, 0)
}

// parseResponse is ParseResponse keeping at most maxPeers peers (0 or less:
// all of them). Later peers are still validated but not collected.
func parseResponse(body []byte, maxPeers int) (*Response, error) {
	w, err := decodeWire(body)
	if err != nil {
		return nil, err
	}
	if w.FailureReason != nil {
		return nil, &FailureError{Reason: *w.FailureReason}
	}
	r := &Response{
		Interval:    seconds(w.Interval),
		MinInterval: seconds(w.MinInterval),
		TrackerID:   w.TrackerID,
		Warning:     w.Warning,
		Complete:    count(w.Complete),
		Incomplete:  count(w.Incomplete),
	}
	ps := newPeerSet(maxPeers)
	if err := ps.addRaw(w.Peers, compactLen4); err != nil {
		return nil, fmt.Errorf("tracker: parse peers: %w", err)
	}
	if err := ps.addRaw(w.Peers6, compactLen6); err != nil {
		return nil, fmt.Errorf("tracker: parse peers6: %w", err)
	}
	r.Peers = ps.list
	return r, nil
}

// decodeWire decodes the top-level dictionary. Trailing whitespace is
// tolerated (some trackers end the body with a newline); any other trailing
// byte is an error.
func decodeWire(body []byte) (*wireResponse, error) {
	if len(body) == 0 {
		return nil, errors.New("tracker: parse response: empty body")
	}
	if body[0] != 'd' {
		return nil, fmt.Errorf("tracker: parse response: not a bencoded dictionary (starts with %q)", body[0])
	}
	var w wireResponse
	d := bencode.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&w); err != nil {
		return nil, fmt.Errorf("tracker: parse response: %w", err)
	}
	if rest := body[d.Offset:]; len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("tracker: parse response: %d trailing bytes", len(rest))
	}
	return &w, nil
}

// seconds converts a bencoded count of seconds to a Duration: negative is
// absent (0), and huge values saturate instead of overflowing.
func seconds(n int64) time.Duration {
	if n <= 0 {
		return 0
	}
	if n > math.MaxInt64/int64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(n) * time.Second
}

// count converts a bencoded peer count to int, treating negatives as 0.
func count(n int64) int {
	if n < 0 {
		return 0
	}
	return int(min(n, math.MaxInt32))
}

// peerSet collects peers in order, without duplicates, up to max entries.
type peerSet struct {
	max  int
	seen map[netip.AddrPort]struct{}
	list []netip.AddrPort
}

func newPeerSet(max int) *peerSet {
	return &peerSet{max: max, seen: make(map[netip.AddrPort]struct{})}
}

// full reports whether no more peers will be kept.
func (ps *peerSet) full() bool {
	return ps.max > 0 && len(ps.list) >= ps.max
}

// add keeps ap unless it has port 0, is a duplicate, or the set is full.
// IPv4-mapped IPv6 addresses are unmapped so they match their IPv4 form.
func (ps *peerSet) add(ap netip.AddrPort) {
	if ap.Port() == 0 || !ap.Addr().IsValid() || ps.full() {
		return
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if _, dup := ps.seen[ap]; dup {
		return
	}
	ps.seen[ap] = struct{}{}
	ps.list = append(ps.list, ap)
}

// addRaw adds peers from one raw bencoded value: a compact string of
// entries of size n, or (BEP 3) a list of dictionaries. An absent value adds
// nothing.
func (ps *peerSet) addRaw(raw []byte, n int) error {
	if len(raw) == 0 {
		return nil
	}
	switch c := raw[0]; {
	case c >= '0' && c <= '9':
		var s []byte
		if err := bencode.Unmarshal(raw, &s); err != nil {
			return err
		}
		return ps.addCompact(s, n)
	case c == 'l':
		return ps.addDicts(raw)
	}
	return fmt.Errorf("neither a string nor a list (starts with %q)", raw[0])
}

// addCompact adds peers from a compact string (BEP 23, BEP 7): each entry is
// an address of n-2 bytes followed by a big-endian port.
func (ps *peerSet) addCompact(s []byte, n int) error {
	if len(s)%n != 0 {
		return fmt.Errorf("compact length %d is not a multiple of %d", len(s), n)
	}
	for i := 0; i+n <= len(s) && !ps.full(); i += n {
		addr, _ := netip.AddrFromSlice(s[i : i+n-2])
		port := binary.BigEndian.Uint16(s[i+n-2 : i+n])
		ps.add(netip.AddrPortFrom(addr, port))
	}
	return nil
}

// addDicts adds peers from a BEP 3 list of {ip, port, peer id}
// dictionaries. Entries that are malformed, carry a host name instead of an
// IP literal, or have a port outside 1-65535 are skipped.
func (ps *peerSet) addDicts(raw []byte) error {
	var items []bencode.Bytes
	if err := bencode.Unmarshal(raw, &items); err != nil {
		return err
	}
	for _, it := range items {
		if ps.full() {
			break
		}
		var p dictPeer
		if len(it) == 0 || it[0] != 'd' || bencode.Unmarshal(it, &p) != nil {
			continue
		}
		addr, err := netip.ParseAddr(p.IP)
		if err != nil || p.Port <= 0 || p.Port > math.MaxUint16 {
			continue
		}
		ps.add(netip.AddrPortFrom(addr.WithZone(""), uint16(p.Port)))
	}
	return nil
}
