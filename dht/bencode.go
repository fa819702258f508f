package dht

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// maxDepth is how deeply dictionaries and lists may nest in a KRPC
// message, the outer dictionary included. The deepest legitimate value is
// a string inside a list inside "a" or "r" ("want", "values"): depth 3.
const maxDepth = 4

// dict holds the raw bencoded values of the keys a parser asked for, as
// sub-slices of the datagram.
type dict map[string][]byte

// scanDict checks that b starts with a well-formed bencoded dictionary
// nested at most maxDepth deep and returns the raw values of those of its
// keys listed in keys, and n, the number of bytes the dictionary takes.
// Keys need not be sorted and a repeated key keeps its last value. The
// scan allocates nothing for skipped keys and never sizes anything from a
// length the sender claims.
func scanDict(b []byte, keys ...string) (d dict, n int, err error) {
	if len(b) == 0 || b[0] != 'd' {
		return nil, 0, fmt.Errorf("not a dictionary")
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
		return nil, 0, err
	}
	return d, s.off, nil
}

// subDict returns the values of keys in raw, a well-formed bencoded value
// already checked by scanDict. ok is false when raw is not a dictionary.
func subDict(raw []byte, keys ...string) (d dict, ok bool) {
	if len(raw) == 0 || raw[0] != 'd' {
		return nil, false
	}
	d, _, err := scanDict(raw, keys...)
	return d, err == nil
}

// walkList calls fn with each raw element of raw, a well-formed bencoded
// value, until fn returns false. ok is false when raw is not a list.
func walkList(raw []byte, fn func(val []byte) bool) (ok bool) {
	if len(raw) == 0 || raw[0] != 'l' {
		return false
	}
	s := scanner{b: raw, off: 1}
	for s.off < len(raw) && raw[s.off] != 'e' {
		v, err := s.value()
		if err != nil || !fn(v) {
			return err == nil
		}
	}
	return true
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
// refused as soon as it is read, so a claimed length never overflows.
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
	if i-s.off > 1 && s.b[s.off] == '0' {
		return nil, s.errorf("non-canonical string length")
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
	if s.depth++; s.depth > maxDepth {
		return s.errorf("nested deeper than %d", maxDepth)
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
