package session

import (
	"sync"
	"time"
)

// limiter is a token bucket shared by the peer goroutines of one direction
// (all readers, or all writers). It runs on debt: take subtracts what was
// just transferred and sleeps until the balance is positive again, so the
// average rate holds whatever the message sizes. A nil limiter does not
// limit. It has its own mutex because several goroutines share it; it holds
// no torrent state.
type limiter struct {
	mu     sync.Mutex
	rate   float64 // bytes per second
	burst  float64
	tokens float64
	last   time.Time
}

// newLimiter returns a limiter of rate bytes per second, nil for 0.
func newLimiter(rate int64) *limiter {
	if rate <= 0 {
		return nil
	}
	burst := max(float64(rate)/10, 64<<10) // a tenth of a second, at least 64 KiB
	return &limiter{rate: float64(rate), burst: burst, tokens: burst, last: time.Now()}
}

// take accounts for n bytes and waits until the bucket is out of debt, or
// until done is closed (it then returns false).
func (l *limiter) take(n int, done <-chan struct{}) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	now := time.Now()
	l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	l.tokens -= float64(n)
	var wait time.Duration
	if l.tokens < 0 {
		wait = time.Duration(-l.tokens / l.rate * float64(time.Second))
	}
	l.mu.Unlock()
	if wait <= 0 {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
