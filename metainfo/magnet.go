package metainfo

import (
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on a magnet URI. Real magnet links are a few hundred bytes with a
// handful of trackers; the bounds keep a hostile link from costing much.
const (
	maxMagnetLen   = 64 << 10 // bytes of the URI, and of its canonical form
	maxMagnetTr    = 100      // distinct tr
	maxMagnetWS    = 100      // distinct ws
	maxMagnetPeers = 200      // distinct x.pe
	maxSelectItems = 10000    // items of so=
)

// base32Hash decodes the 32-character base32 form of an info hash (BEP 9:
// "for compatibility with existing links in the wild").
var base32Hash = base32.StdEncoding.WithPadding(base32.NoPadding)

// Magnet is a parsed magnet URI: BEP 9 with the BEP 53 select-only list.
// ParseMagnet returns a fresh one that the caller owns.
type Magnet struct {
	// InfoHash is the BitTorrent v1 info hash, from xt=urn:btih:.
	InfoHash [20]byte
	// Name is the display name (dn), "" when absent. It is only a hint:
	// the torrent's name comes with its metadata.
	Name string
	// Trackers holds every tr (and tr.N), one per tier (BEP 12), in the
	// order given, exact duplicates dropped.
	Trackers [][]string
	// WebSeeds holds every ws (BEP 19), in order, duplicates dropped.
	WebSeeds []string
	// Peers holds every x.pe as given, "host:port" or "[IPv6]:port", in
	// order, duplicates dropped. Names are not resolved here.
	Peers []string
	// Select is the BEP 53 so= list of files to download, as written; nil
	// when absent (download everything).
	Select []Range
}

// Range is an inclusive range of file indices from a magnet's so= (BEP 53);
// a single index has First == Last.
type Range struct{ First, Last int }

// String returns r as so= writes it: "4" or "4-6".
func (r Range) String() string {
	if r.First == r.Last {
		return strconv.Itoa(r.First)
	}
	return strconv.Itoa(r.First) + "-" + strconv.Itoa(r.Last)
}

// IsMagnet reports whether s is meant as a magnet link rather than a path:
// it starts with "magnet:", in any case.
func IsMagnet(s string) bool {
	return len(s) >= len("magnet:") && strings.EqualFold(s[:len("magnet:")], "magnet:")
}

// ParseMagnet parses a magnet URI. It takes the v1 info hash (xt=urn:btih:,
// 40 hex digits or 32 base32 characters, any case), dn, tr and tr.N (each
// its own tier), ws, x.pe and so, and ignores other keys. Input is treated
// as hostile: every value it keeps is checked (no control characters,
// valid UTF-8, URLs absolute, peers host:port), and the bounds on size and
// counts are enforced; anything else is an error naming the key.
func ParseMagnet(s string) (*Magnet, error) {
	if len(s) > maxMagnetLen {
		return nil, fmt.Errorf("metainfo: magnet: %d bytes, more than %d", len(s), maxMagnetLen)
	}
	const prefix = "magnet:?"
	if len(s) < len(prefix) || !IsMagnet(s) || s[len(prefix)-1] != '?' {
		return nil, errors.New(`metainfo: magnet: not a magnet URI (want "magnet:?xt=urn:btih:...")`)
	}
	p := &magnetParser{m: &Magnet{}, seen: make(map[string]bool), counts: make(map[string]int)}
	for rest := s[len(prefix):]; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		if part == "" {
			continue
		}
		if err := p.add(part); err != nil {
			return nil, fmt.Errorf("metainfo: magnet: %w", err)
		}
	}
	switch {
	case !p.v1 && p.v2:
		return nil, errors.New("metainfo: magnet: v2-only magnet links (urn:btmh) are not supported")
	case !p.v1:
		return nil, errors.New("metainfo: magnet: no info hash (xt=urn:btih:...)")
	}
	// The canonical form may be longer than s (hex for base32, escapes for
	// raw characters); bounding it too keeps String's output parseable.
	if n := len(p.m.String()); n > maxMagnetLen {
		return nil, fmt.Errorf("metainfo: magnet: %d bytes once re-encoded, more than %d", n, maxMagnetLen)
	}
	return p.m, nil
}

// magnetParser is the state of one ParseMagnet call.
type magnetParser struct {
	m      *Magnet
	v1, v2 bool            // an xt=urn:btih: / xt=urn:btmh: was seen
	named  bool            // a dn was seen (the first one wins)
	seen   map[string]bool // kind + "\x00" + value, for tr, ws and x.pe
	counts map[string]int  // distinct values kept, by kind
}

// add handles one key=value part of the query.
func (p *magnetParser) add(part string) error {
	rawKey, rawVal, _ := strings.Cut(part, "=")
	key, err := url.QueryUnescape(rawKey)
	if err != nil {
		return fmt.Errorf("key %s: %v", brief(rawKey), err)
	}
	val, err := url.QueryUnescape(rawVal)
	if err != nil {
		return fmt.Errorf("%s: %v", keyName(key), err)
	}
	kind := kindOf(key)
	if kind == "" {
		return nil // kt, xl, as, xs, x.*: not used
	}
	if err := checkText(val); err != nil {
		return fmt.Errorf("%s: %v", key, err)
	}
	switch kind {
	case "xt":
		err = p.addTopic(val)
	case "dn":
		if !p.named {
			p.m.Name, p.named = val, true
		}
	case "tr":
		err = p.addList(kind, val, maxMagnetTr, "trackers", checkURL, func() {
			p.m.Trackers = append(p.m.Trackers, []string{val})
		})
	case "ws":
		err = p.addList(kind, val, maxMagnetWS, "web seeds", checkURL, func() {
			p.m.WebSeeds = append(p.m.WebSeeds, val)
		})
	case "x.pe":
		err = p.addList(kind, val, maxMagnetPeers, "peers", checkPeer, func() {
			p.m.Peers = append(p.m.Peers, val)
		})
	case "so":
		err = p.addSelect(val)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// kindOf returns the key a magnet key counts as ("tr.1" is a tr, as aria2
// and libtorrent read it), or "" for a key ParseMagnet ignores.
func kindOf(key string) string {
	switch key {
	case "xt", "dn", "tr", "ws", "x.pe", "so":
		return key
	}
	if n, ok := strings.CutPrefix(key, "tr."); ok && n != "" && strings.Trim(n, "0123456789") == "" {
		return "tr"
	}
	return ""
}

// addTopic handles one xt. Several btih giving the same hash are fine;
// other topics (urn:btmh, urn:sha1, urn:ed2k, ...) are noted or ignored.
func (p *magnetParser) addTopic(v string) error {
	switch {
	case hasPrefixFold(v, "urn:btih:"):
		h, err := parseInfoHash(v[len("urn:btih:"):])
		if err != nil {
			return fmt.Errorf("info hash: %v", err)
		}
		if p.v1 && h != p.m.InfoHash {
			return fmt.Errorf("two different info hashes, %x and %x", p.m.InfoHash, h)
		}
		p.m.InfoHash, p.v1 = h, true
	case hasPrefixFold(v, "urn:btmh:"):
		p.v2 = true // BitTorrent v2; a hybrid link also has a btih
	}
	return nil
}

// parseInfoHash decodes 40 hex digits or 32 base32 characters, any case.
func parseInfoHash(s string) ([20]byte, error) {
	var h [20]byte
	switch len(s) {
	case 2 * len(h):
		if _, err := hex.Decode(h[:], []byte(s)); err != nil {
			return h, fmt.Errorf("%s: bad hex digit", brief(s))
		}
	case 32:
		// 32 characters of 5 bits are exactly 20 bytes: no padding, no
		// spare bits, so each hash has one base32 form.
		n, err := base32Hash.Decode(h[:], []byte(strings.ToUpper(s)))
		if err != nil || n != len(h) {
			return h, fmt.Errorf("%s: bad base32 (RFC 4648 alphabet A-Z, 2-7)", brief(s))
		}
	default:
		return h, fmt.Errorf("%d characters, want 40 hex or 32 base32", utf8.RuneCountInString(s))
	}
	return h, nil
}

// addList adds a tr, ws or x.pe value: duplicates are dropped, then the
// count is bounded, then the value checked and kept.
func (p *magnetParser) addList(kind, v string, limit int, what string, check func(string) error, keep func()) error {
	k := kind + "\x00" + v // checkText refused NUL in v
	if p.seen[k] {
		return nil
	}
	if p.counts[kind] == limit {
		return fmt.Errorf("more than %d %s", limit, what)
	}
	if err := check(v); err != nil {
		return err
	}
	p.seen[k] = true
	p.counts[kind]++
	keep()
	return nil
}

// addSelect adds the items of one so= (BEP 53: "0,2,4,6-8").
func (p *magnetParser) addSelect(v string) error {
	for rest, more := v, true; more; {
		var item string
		item, rest, more = strings.Cut(rest, ",")
		if len(p.m.Select) == maxSelectItems {
			return fmt.Errorf("more than %d items", maxSelectItems)
		}
		r, err := parseRange(item)
		if err != nil {
			return err
		}
		p.m.Select = append(p.m.Select, r)
	}
	return nil
}

// parseRange parses an so= item: a file index or an inclusive range "a-b"
// of them, in decimal digits only, each below MaxFiles.
func parseRange(s string) (Range, error) {
	a, b, isRange := strings.Cut(s, "-")
	if !isRange {
		b = a
	}
	first, ok1 := parseIndex(a)
	last, ok2 := parseIndex(b)
	switch {
	case !ok1 || !ok2:
		return Range{}, fmt.Errorf("%s is not a file index or range a-b from 0 to %d", brief(s), MaxFiles-1)
	case last < first:
		return Range{}, fmt.Errorf("range %s: %d is after %d", brief(s), first, last)
	}
	return Range{first, last}, nil
}

// parseIndex parses a file index: decimal digits only, below MaxFiles.
func parseIndex(s string) (int, bool) {
	if s == "" || len(s) > 10 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n < MaxFiles
}

// checkText refuses a value that is not valid UTF-8 or holds a control
// character (C0, DEL or C1): CR/LF could forge lines in a tracker request
// or a log, ESC could drive a terminal.
func checkText(v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s is not valid UTF-8", brief(v))
	}
	if i := strings.IndexFunc(v, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(v[i:])
		return fmt.Errorf("%s holds control character %U", brief(v), r)
	}
	return nil
}

// checkURL refuses a tracker or web seed that is not an absolute URL with
// a host. Any scheme is kept: the tracker layer reports unknown ones.
func checkURL(v string) error {
	u, err := url.Parse(v)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: %v", brief(v), err)
	}
	if !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("%s is not an absolute URL with a host", brief(v))
	}
	return nil
}

// checkPeer refuses an x.pe that is not host:port (BEP 9: "hostname:port,
// ipv4-literal:port or [ipv6-literal]:port") with a port from 1 to 65535.
func checkPeer(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			err = errors.New(ae.Err)
		}
		return fmt.Errorf("%s: %v", brief(v), err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || strings.Trim(port, "0123456789") != "" || n < 1 || n > 65535 {
		return fmt.Errorf("%s: port %s not in 1-65535", brief(v), brief(port))
	}
	if strings.HasPrefix(v, "[") {
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return fmt.Errorf("%s: %s is not an IPv6 address", brief(v), brief(host))
		}
		return nil
	}
	if !isHostname(host) {
		return fmt.Errorf("%s: %s is not a host name or IPv4 address", brief(v), brief(host))
	}
	return nil
}

// isHostname reports whether s could be a DNS name or an IPv4 literal:
// 1 to 253 letters, digits, '-', '_' and '.'.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// brief quotes s for an error message, cut to 64 bytes: values come from
// hostile links and may be long or hold anything.
func brief(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// keyName is key as an error names it: bare when it is short plain ASCII,
// else quoted by brief.
func keyName(key string) string {
	if key == "" || len(key) > 32 || strings.ContainsFunc(key, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return brief(key)
	}
	return key
}

// String returns the canonical magnet URI of m: xt (hex), dn, every tr,
// ws and x.pe, and so, with values escaped by url.QueryEscape, the form
// MetaInfo.Magnet writes. For a Magnet from ParseMagnet, ParseMagnet of
// the result gives m back.
func (m *Magnet) String() string {
	var b strings.Builder
	b.WriteString("magnet:?xt=urn:btih:")
	b.WriteString(hex.EncodeToString(m.InfoHash[:]))
	param := func(key, v string) {
		b.WriteString("&" + key + "=")
		b.WriteString(url.QueryEscape(v))
	}
	if m.Name != "" {
		param("dn", m.Name)
	}
	for _, tier := range m.Trackers {
		for _, u := range tier {
			param("tr", u)
		}
	}
	for _, u := range m.WebSeeds {
		param("ws", u)
	}
	for _, a := range m.Peers {
		param("x.pe", a)
	}
	for i, r := range m.Select {
		if i == 0 {
			b.WriteString("&so=")
		} else {
			b.WriteByte(',')
		}
		b.WriteString(r.String()) // digits, '-' and ',' need no escape
	}
	return b.String()
}
