package metainfo

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// Scanner states for each open container: a list, or a dictionary waiting
// for a key or for the value of the key just read.
const (
	inList    = 'l'
	wantKey   = 'k'
	wantValue = 'v'
)

// errTruncated reports input that ends inside a bencode value.
var errTruncated = errors.New("truncated")

// scan checks that data holds exactly one well-formed bencode value, nested
// no deeper than MaxDepth, with nothing after it, and no dictionary holding
// the same key twice. It keeps an explicit stack instead of recursing, so
// hostile nesting costs memory bounded by MaxDepth and never the goroutine
// stack. The decoder recurses per level; scanning first is what makes
// handing it the data safe.
//
// Duplicate keys are refused because readers disagree on them (the decoder
// keeps the last, others the first), so two clients could see different
// names or info dictionaries in one file. Keys out of order are accepted:
// BEP 3 asks for sorted keys, but hand-made torrents break that harmlessly,
// since the info hash is taken over the bytes as they are.
func scan(data []byte) error {
	var stack []byte
	var keys [][]span // the keys of each open dictionary (nil for a list)
	i := 0
	for {
		if i >= len(data) {
			return fmt.Errorf("metainfo: bencode: offset %d: %w", i, errTruncated)
		}
		depth := len(stack)
		isKey := depth > 0 && stack[depth-1] == wantKey && data[i] != 'e'
		next, err := scanItem(data, i, &stack)
		if err != nil {
			return fmt.Errorf("metainfo: bencode: offset %d: %w", i, err)
		}
		switch {
		case len(stack) > depth: // a container opened
			keys = append(keys, nil)
		case len(stack) < depth: // a container closed
			if err := checkKeys(data, keys[len(keys)-1]); err != nil {
				return fmt.Errorf("metainfo: bencode: offset %d: %w", i, err)
			}
			keys = keys[:len(keys)-1]
		case isKey:
			k := &keys[len(keys)-1]
			*k = append(*k, keySpan(data, i, next))
		}
		i = next
		if len(stack) == 0 {
			if i != len(data) {
				return fmt.Errorf("metainfo: bencode: offset %d: trailing data", i)
			}
			return nil
		}
	}
}

// span is the offset and length of a dictionary key's bytes in the data.
type span struct{ off, n int }

// keySpan returns the span of the bytes of the string from i to next.
func keySpan(data []byte, i, next int) span {
	colon := bytes.IndexByte(data[i:next], ':')
	return span{i + colon + 1, next - (i + colon + 1)}
}

// checkKeys refuses a dictionary whose keys hold a duplicate. Sorted keys
// (the common case) are checked pairwise; unsorted ones are sorted first.
func checkKeys(data []byte, keys []span) error {
	key := func(s span) []byte { return data[s.off : s.off+s.n] }
	cmp := func(a, b span) int { return bytes.Compare(key(a), key(b)) }
	if !slices.IsSortedFunc(keys, cmp) {
		keys = slices.Clone(keys)
		slices.SortFunc(keys, cmp)
	}
	for j := 1; j < len(keys); j++ {
		if cmp(keys[j-1], keys[j]) == 0 {
			return fmt.Errorf("duplicate dictionary key %q", key(keys[j]))
		}
	}
	return nil
}

// scanItem consumes one token at data[i]: a whole string or integer, the
// start of a container, or a container's closing 'e'. It updates the stack
// and returns the offset after the token.
func scanItem(data []byte, i int, stack *[]byte) (int, error) {
	s := *stack
	top := byte(0)
	if len(s) > 0 {
		top = s[len(s)-1]
	}
	c := data[i]
	if c == 'e' {
		switch top {
		case 0:
			return 0, errors.New("unexpected 'e'")
		case wantValue:
			return 0, errors.New("dictionary key without value")
		}
		*stack = s[:len(s)-1]
		completed(*stack)
		return i + 1, nil
	}
	if top == wantKey && (c < '0' || c > '9') {
		return 0, errors.New("dictionary key is not a string")
	}
	switch {
	case c == 'l' || c == 'd':
		if len(s) >= MaxDepth {
			return 0, fmt.Errorf("nesting deeper than %d", MaxDepth)
		}
		state := byte(inList)
		if c == 'd' {
			state = wantKey
		}
		*stack = append(s, state)
		return i + 1, nil
	case c == 'i':
		end, err := scanInt(data, i+1, 'e')
		if err != nil {
			return 0, err
		}
		completed(s)
		return end + 1, nil
	case c >= '0' && c <= '9':
		end, err := scanString(data, i)
		if err != nil {
			return 0, err
		}
		completed(s)
		return end, nil
	}
	return 0, fmt.Errorf("unknown value type %q", c)
}

// completed records that a value finished inside the container on top of the
// stack: a dictionary alternates between key and value.
func completed(s []byte) {
	if len(s) == 0 {
		return
	}
	switch s[len(s)-1] {
	case wantKey:
		s[len(s)-1] = wantValue
	case wantValue:
		s[len(s)-1] = wantKey
	}
}

// scanInt checks the decimal integer starting at data[i] and ending at the
// terminator byte, and returns the terminator's offset. Per BEP 3 "-0" and
// leading zeros are invalid.
func scanInt(data []byte, i int, term byte) (int, error) {
	start := i
	if i < len(data) && data[i] == '-' && term == 'e' {
		i++
	}
	digits := i
	for i < len(data) && data[i] >= '0' && data[i] <= '9' {
		i++
	}
	if i >= len(data) {
		return 0, errTruncated
	}
	if data[i] != term {
		return 0, fmt.Errorf("bad byte %q in integer", data[i])
	}
	n := i - digits
	switch {
	case n == 0:
		return 0, errors.New("empty integer")
	case data[digits] == '0' && n > 1:
		return 0, errors.New("integer with leading zero")
	case data[digits] == '0' && digits > start:
		return 0, errors.New("negative zero")
	}
	return i, nil
}

// scanString checks the length-prefixed string starting at data[i] and
// returns the offset just after it.
func scanString(data []byte, i int) (int, error) {
	colon, err := scanInt(data, i, ':')
	if err != nil {
		return 0, err
	}
	rest := len(data) - (colon + 1)
	n := 0
	for _, d := range data[i:colon] {
		n = n*10 + int(d-'0')
		if n > rest {
			return 0, errTruncated
		}
	}
	return colon + 1 + n, nil
}
