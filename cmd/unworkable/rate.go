package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// parseRate reads a --upload-rate/--download-rate value: bytes per second
// as a number with an optional binary suffix k, M or G (case-insensitive,
// optionally followed by "B" or "iB"; a lone "B" is allowed too), so "512k" is 524288 and "1.5M" is
// 1572864. 0 means unlimited.
func parseRate(s string) (int64, error) {
	num := strings.TrimSpace(s)
	if t, ok := strings.CutSuffix(num, "iB"); ok && t != "" && strings.ContainsAny(t[len(t)-1:], "kKmMgG") {
		num = t
	} else if t, ok := strings.CutSuffix(num, "B"); ok && t != "" {
		num = t
	}
	mult := 1.0
	if num != "" {
		switch num[len(num)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult != 1 {
			num = num[:len(num)-1]
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || strings.ContainsAny(num, "eExXpP_") {
		return 0, fmt.Errorf("bad rate %q (want bytes per second, e.g. 512k, 10M)", s)
	}
	v := f * mult
	if v >= math.MaxInt64/2 {
		return 0, fmt.Errorf("rate %q too large", s)
	}
	if v > 0 && v < 1 {
		v = 1
	}
	return int64(v), nil
}
