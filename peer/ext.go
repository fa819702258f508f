package peer

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ExtHandshakeID is the extended message id of the BEP 10 handshake. BEP 10:
// extended message id 0 is always the handshake; every other id is one the
// receiver chose in its own handshake's "m" dictionary.
const ExtHandshakeID = 0

// Extension names this package decodes, as they appear in the "m"
// dictionary of a BEP 10 handshake.
const (
	ExtMetadata = "ut_metadata" // BEP 9
	ExtPex      = "ut_pex"      // BEP 11
)

// ErrBadExt means an extension message (the payload of an Extended frame)
// is malformed: not a bencoded dictionary, truncated, nested too deeply,
// missing a required key or breaking a bound. Every error returned by
// ParseExtHandshake, ParseMetadataMsg and ParsePex wraps it.
var ErrBadExt = errors.New("peer: malformed extension message")

// maxExtDepth is how deeply dictionaries and lists may nest in any
// extension message, the outer dictionary included.
const maxExtDepth = 8

// Bounds on what a peer's handshake may make this package keep.
const (
	maxExtNames   = 64    // entries kept from "m"
	maxExtNameLen = 64    // longest extension name kept
	maxVersionLen = 100   // bytes kept of "v"
	maxReqq       = 65535 // largest "reqq" reported
)

// extHandshakeOp names the handshake in errors.
const extHandshakeOp = "extension handshake"

// ExtHandshake is the BEP 10 handshake dictionary. BEP 10: every key is
// optional and unknown keys are ignored. It is a plain value: the parser
// returns a fresh one and keeps no reference to the payload.
type ExtHandshake struct {
	M            map[string]uint8 // extension name -> the id the sender wants to receive it as; 0 = disabled
	V            string           // client name and version ("v"), printable UTF-8, at most 100 bytes
	P            uint16           // the sender's TCP listen port ("p"), 0 when absent or out of range
	Reqq         int              // "reqq", 0 when absent; clamped to 0..65535
	YourIP       netip.Addr       // "yourip" (4 or 16 bytes, IPv4-mapped unmapped), invalid when absent or of another length
	IPv4         netip.Addr       // "ipv4" (4 bytes), optional
	IPv6         netip.Addr       // "ipv6" (16 bytes), optional
	MetadataSize int64            // "metadata_size" (BEP 9) as sent, 0 when absent (the caller checks its range)
}

// ParseExtHandshake decodes the payload of an extended message with id
// ExtHandshakeID. The payload must be exactly one bencoded dictionary.
// Optional keys of the wrong type are ignored, as are "m" entries whose id
// is not an integer in 0..255 or whose name is empty or longer than 64
// bytes; of the rest, the first 64 names sent are kept. M is never nil. V
// has non-UTF-8 bytes and non-printable characters replaced by U+FFFD and
// is cut to 100 bytes, since it ends up in trace files. The result shares
// no memory with payload.
func ParseExtHandshake(payload []byte) (ExtHandshake, error) {
	d, n, err := decodeDict(payload, extHandshakeOp,
		"m", "v", "p", "reqq", "metadata_size", "yourip", "ipv4", "ipv6")
	if err != nil {
		return ExtHandshake{}, err
	}
	if n != len(payload) {
		return ExtHandshake{}, trailingErr(extHandshakeOp, len(payload)-n)
	}
	h := ExtHandshake{M: extNames(d["m"])}
	if v, ok := d.str("v"); ok {
		h.V = cleanVersion(v)
	}
	if p, ok := d.int("p"); ok && p > 0 && p <= math.MaxUint16 {
		h.P = uint16(p)
	}
	if q, ok := d.int("reqq"); ok {
		h.Reqq = int(min(max(q, 0), maxReqq))
	}
	if size, ok := d.int("metadata_size"); ok {
		h.MetadataSize = size
	}
	h.YourIP = d.ip("yourip").Unmap()
	if a := d.ip("ipv4"); a.Is4() {
		h.IPv4 = a
	}
	if a := d.ip("ipv6"); a.Is6() {
		h.IPv6 = a
	}
	return h, nil
}

// Encode returns the bencoded handshake, the payload for Msg.Ext with
// ExtID ExtHandshakeID. Keys are sorted as bencode requires; zero fields
// are left out, except "m", which is always present (an empty dictionary
// when M is empty). IPv4 is written only when it is an IPv4 address, IPv6
// only when it is an IPv6 one.
func (h *ExtHandshake) Encode() []byte {
	b := []byte{'d'}
	if a := h.IPv4.Unmap(); a.Is4() {
		b = appendStr(appendStr(b, "ipv4"), a.AsSlice())
	}
	if h.IPv6.Is6() {
		a := h.IPv6.As16()
		b = appendStr(appendStr(b, "ipv6"), a[:])
	}
	b = append(appendStr(b, "m"), 'd')
	for _, name := range slices.Sorted(maps.Keys(h.M)) {
		b = appendInt(appendStr(b, name), int64(h.M[name]))
	}
	b = append(b, 'e')
	if h.MetadataSize != 0 {
		b = appendInt(appendStr(b, "metadata_size"), h.MetadataSize)
	}
	if h.P != 0 {
		b = appendInt(appendStr(b, "p"), int64(h.P))
	}
	if h.Reqq != 0 {
		b = appendInt(appendStr(b, "reqq"), int64(h.Reqq))
	}
	if h.V != "" {
		b = appendStr(appendStr(b, "v"), h.V)
	}
	if a := h.YourIP.Unmap(); a.IsValid() {
		b = appendStr(appendStr(b, "yourip"), a.AsSlice())
	}
	return append(b, 'e')
}

// extNames returns the usable entries of raw, a handshake's "m" value:
// names of 1 to 64 bytes with an integer id in 0..255, the first 64 such
// names in the order sent. A repeated name keeps its last usable id. M is
// an empty map, not nil, when raw is absent or not a dictionary.
func extNames(raw []byte) map[string]uint8 {
	names := make(map[string]uint8)
	walkDict(raw, func(name, val []byte) {
		id, ok := rawInt(val)
		if !ok || id < 0 || id > math.MaxUint8 || len(name) == 0 || len(name) > maxExtNameLen {
			return
		}
		if _, seen := names[string(name)]; !seen && len(names) == maxExtNames {
			return
		}
		names[string(name)] = uint8(id)
	})
	return names
}

// cleanVersion turns a peer's "v" into text safe for a trace file: invalid
// UTF-8 and non-printable runes become U+FFFD, and the result is cut at a
// rune boundary to at most maxVersionLen bytes. Cleaning a cleaned string
// changes nothing.
func cleanVersion(v []byte) string {
	var sb strings.Builder
	for len(v) > 0 {
		r, size := utf8.DecodeRune(v)
		v = v[size:]
		if !unicode.IsPrint(r) {
			r = utf8.RuneError
		}
		if sb.Len()+utf8.RuneLen(r) > maxVersionLen {
			break
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// dict holds the raw bencoded values of the keys a parser asked for, as
// sub-slices of the payload.
type dict map[string][]byte

// decodeDict checks that b starts with a well-formed bencoded dictionary
// nested at most maxExtDepth deep, and returns the raw values of those of
// its keys listed in keys, and n, the number of bytes the dictionary takes.
// Keys need not be sorted (not every client sorts them) and a repeated key
// keeps its last value. The scan allocates nothing for the keys it skips
// and never sizes anything from a length the peer claims, so a hostile
// 1 MiB payload costs one pass over its bytes. what names the message in
// errors.
func decodeDict(b []byte, what string, keys ...string) (d dict, n int, err error) {
	if len(b) > MaxExtLen {
		return nil, 0, fmt.Errorf("peer: %s of %d bytes, limit %d: %w", what, len(b), MaxExtLen, ErrBadExt)
	}
	if len(b) == 0 || b[0] != 'd' {
		return nil, 0, fmt.Errorf("peer: %s is not a dictionary: %w", what, ErrBadExt)
	}
	d = make(dict, len(keys))
	s := scanner{b: b}
	err = s.container(func(key, val []byte) {
		for _, k := range keys {
			if string(key) == k {
				d[k] = val
			}
		}
	})
	if err != nil {
		return nil, 0, fmt.Errorf("peer: decode %s: %v: %w", what, err, ErrBadExt)
	}
	return d, s.off, nil
}

// trailingErr reports n stray bytes after the dictionary of a message that
// must be exactly one dictionary.
func trailingErr(what string, n int) error {
	return fmt.Errorf("peer: %s: %d bytes after the dictionary: %w", what, n, ErrBadExt)
}

// int returns the integer under key. ok is false when the key is absent or
// its value is not an integer that fits in an int64.
func (d dict) int(key string) (n int64, ok bool) {
	return rawInt(d[key])
}

// str returns the byte string under key. ok is false when the key is
// absent or its value is not a string.
func (d dict) str(key string) (s []byte, ok bool) {
	return rawStr(d[key])
}

// ip returns the compact IP address under key, a string of 4 bytes
// (IPv4) or 16 bytes (IPv6), or the invalid Addr when there is none.
func (d dict) ip(key string) netip.Addr {
	s, _ := d.str(key)
	a, _ := netip.AddrFromSlice(s)
	return a
}

// rawInt decodes raw, a well-formed bencoded value, as an integer. ok is
// false when it is not an integer or does not fit in an int64.
func rawInt(raw []byte) (n int64, ok bool) {
	if len(raw) < 3 || raw[0] != 'i' {
		return 0, false
	}
	digits, neg := raw[1:len(raw)-1], raw[1] == '-'
	if neg {
		digits = digits[1:]
	}
	if len(digits) > 19 { // 10^19 > math.MaxInt64
		return 0, false
	}
	var u uint64
	for _, c := range digits {
		u = u*10 + uint64(c-'0')
	}
	switch {
	case !neg && u <= math.MaxInt64:
		return int64(u), true
	case neg && u <= -math.MinInt64:
		return -int64(u), true
	}
	return 0, false
}

// rawStr decodes raw, a well-formed bencoded value, as a byte string. ok
// is false when it is not a string.
func rawStr(raw []byte) (s []byte, ok bool) {
	if len(raw) == 0 || !isDigit(raw[0]) {
		return nil, false
	}
	i := bytes.IndexByte(raw, ':')
	return raw[i+1:], true
}

// walkDict calls fn with each key and raw value of raw, a well-formed
// bencoded value, in wire order. It does nothing when raw is not a
// dictionary.
func walkDict(raw []byte, fn func(key, val []byte)) {
	if len(raw) == 0 || raw[0] != 'd' {
		return
	}
	s := scanner{b: raw}
	_ = s.container(fn) // raw was checked when the payload was scanned
}

// scanner checks the syntax of bencoded values in b from off on, without
// copying them. depth counts the dictionaries and lists open at off.
type scanner struct {
	b     []byte
	off   int
	depth int
}

// errorf returns a syntax error at the current offset.
func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("bencode: offset %d: %s", s.off, fmt.Sprintf(format, args...))
}

// value checks the value at s.off, moves past it and returns its bytes.
func (s *scanner) value() ([]byte, error) {
	start := s.off
	if s.off == len(s.b) {
		return nil, s.errorf("unexpected end")
	}
	var err error
	switch c := s.b[s.off]; {
	case c == 'i':
		err = s.integer()
	case isDigit(c):
		_, err = s.str()
	case c == 'l' || c == 'd':
		err = s.container(nil)
	default:
		err = s.errorf("unexpected byte %q", c)
	}
	if err != nil {
		return nil, err
	}
	return s.b[start:s.off], nil
}

// integer checks the integer at s.off ("i", an optional minus, decimal
// digits without leading zeros, "e"; no "-0") and moves past it.
func (s *scanner) integer() error {
	i := s.off + 1
	neg := i < len(s.b) && s.b[i] == '-'
	if neg {
		i++
	}
	digits := i
	for i < len(s.b) && isDigit(s.b[i]) {
		i++
	}
	switch n := i - digits; {
	case i == len(s.b):
		return s.errorf("unterminated integer")
	case s.b[i] != 'e' || n == 0:
		return s.errorf("malformed integer")
	case s.b[digits] == '0' && (n > 1 || neg):
		return s.errorf("non-canonical integer")
	}
	s.off = i + 1
	return nil
}

// str checks the string at s.off (a decimal length, ":", that many bytes),
// moves past it and returns its contents. A length beyond the end of b is
// refused as soon as it is read.
func (s *scanner) str() ([]byte, error) {
	i, n := s.off, 0
	for i < len(s.b) && isDigit(s.b[i]) {
		n = n*10 + int(s.b[i]-'0')
		if n > len(s.b) {
			return nil, s.errorf("string longer than the message")
		}
		i++
	}
	if i == len(s.b) || s.b[i] != ':' {
		return nil, s.errorf("malformed string length")
	}
	i++
	if n > len(s.b)-i {
		return nil, s.errorf("string longer than the message")
	}
	s.off = i + n
	return s.b[i:s.off], nil
}

// container checks the list or dictionary at s.off and moves past it. For
// a dictionary, whose keys must be strings, it calls fn (if not nil) with
// each key and raw value.
func (s *scanner) container(fn func(key, val []byte)) error {
	isDict := s.b[s.off] == 'd'
	if s.depth++; s.depth > maxExtDepth {
		return s.errorf("nested deeper than %d", maxExtDepth)
	}
	s.off++
	for {
		if s.off == len(s.b) {
			return s.errorf("unexpected end")
		}
		if s.b[s.off] == 'e' {
			s.off++
			s.depth--
			return nil
		}
		var key []byte
		if isDict {
			if !isDigit(s.b[s.off]) {
				return s.errorf("dictionary key is not a string")
			}
			var err error
			if key, err = s.str(); err != nil {
				return err
			}
		}
		val, err := s.value()
		if err != nil {
			return err
		}
		if isDict && fn != nil {
			fn(key, val)
		}
	}
}

// isDigit reports whether c is an ASCII decimal digit.
func isDigit(c byte) bool {
	return '0' <= c && c <= '9'
}

// appendStr appends the bencoding of the byte string s.
func appendStr[S string | []byte](b []byte, s S) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// appendInt appends the bencoding of the integer n.
func appendInt(b []byte, n int64) []byte {
	b = append(b, 'i')
	b = strconv.AppendInt(b, n, 10)
	return append(b, 'e')
}
