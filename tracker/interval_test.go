package tracker

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		n    int
		base time.Duration
	}{
		{-1, 15 * time.Second},
		{1, 15 * time.Second},
		{2, 30 * time.Second},
		{3, time.Minute},
		{7, 16 * time.Minute},
		{8, 30 * time.Minute},
		{9, 30 * time.Minute},
		{1000, 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(time.Duration(tt.n).String(), func(t *testing.T) {
			lo, hi := tt.base-tt.base/10, tt.base+tt.base/10
			seen := make(map[time.Duration]bool)
			for range 200 {
				d := Backoff(tt.n)
				if d < lo || d > hi {
					t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", tt.n, d, lo, hi)
				}
				seen[d] = true
			}
			if len(seen) < 2 {
				t.Errorf("Backoff(%d) has no jitter: %v", tt.n, seen)
			}
		})
	}
}

func TestNextInterval(t *testing.T) {
	tests := []struct {
		name string
		r    *Response
		want time.Duration
	}{
		{"nil", nil, 30 * time.Minute},
		{"absent", &Response{}, 30 * time.Minute},
		{"interval", &Response{Interval: 20 * time.Minute}, 20 * time.Minute},
		{"min interval wins", &Response{Interval: time.Minute, MinInterval: 5 * time.Minute}, 5 * time.Minute},
		{"min without interval", &Response{MinInterval: time.Hour}, time.Hour},
		{"too short", &Response{Interval: time.Second}, 30 * time.Second},
		{"too long", &Response{Interval: 48 * time.Hour}, 2 * time.Hour},
		{"min too long", &Response{Interval: time.Minute, MinInterval: 5 * time.Hour}, 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NextInterval(tt.r); got != tt.want {
				t.Errorf("NextInterval = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEventString(t *testing.T) {
	tests := []struct {
		e    Event
		want string
	}{{None, ""}, {Started, "started"}, {Completed, "completed"}, {Stopped, "stopped"}, {Event(9), "Event(9)"}}
	for _, tt := range tests {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("Event(%d).String() = %q, want %q", int(tt.e), got, tt.want)
		}
	}
}
