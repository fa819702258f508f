package tracker

import (
	"math/rand/v2"
	"time"
)

// Delays between announces. The defaults follow common tracker practice; the
// clamps keep a broken or hostile tracker from making us hammer it or go
// silent for days.
const (
	// DefaultInterval is used when a response carries no interval.
	DefaultInterval = 30 * time.Minute
	// MinAnnounceInterval is the shortest delay NextInterval returns.
	MinAnnounceInterval = 30 * time.Second
	// MaxAnnounceInterval is the longest delay NextInterval returns.
	MaxAnnounceInterval = 2 * time.Hour
	// BackoffBase is the delay after the first failed announce.
	BackoffBase = 15 * time.Second
	// BackoffMax caps the delay after repeated failures.
	BackoffMax = 30 * time.Minute
)

// Backoff returns how long to wait before retrying after n consecutive
// failed announces (n >= 1; smaller n counts as 1): 15 s doubling up to
// 30 min, with +-10% jitter so many clients do not retry in lockstep.
func Backoff(n int) time.Duration {
	d := BackoffBase
	for i := 1; i < n && d < BackoffMax; i++ {
		d *= 2
	}
	d = min(d, BackoffMax)
	spread := int64(d / 10)
	return d + time.Duration(rand.Int64N(2*spread+1)-spread)
}

// NextInterval picks the delay until the next regular announce from a
// response: Interval if positive else 30 min, at least MinInterval, clamped
// to [30 s, 2 h]. A nil response gives the default.
func NextInterval(r *Response) time.Duration {
	d := DefaultInterval
	if r != nil {
		if r.Interval > 0 {
			d = r.Interval
		}
		d = max(d, r.MinInterval)
	}
	return min(max(d, MinAnnounceInterval), MaxAnnounceInterval)
}
