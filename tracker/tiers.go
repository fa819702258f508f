package tracker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
)

// Tiers implements BEP 12 announce-list processing: tiers are tried in
// order, the URLs of each tier were shuffled once at creation, and a URL
// that answers successfully moves to the front of its tier so it is tried
// first next time.
//
// Not safe for concurrent use: the session hands it to one announcing
// goroutine at a time.
type Tiers struct {
	tiers [][]string
}

// NewTiers builds Tiers from an announce-list. Empty URLs are dropped, a URL
// listed more than once is kept at its first place only, and empty tiers
// disappear. Each tier is shuffled with r (math/rand/v2); a nil r uses the
// default source.
func NewTiers(lists [][]string, r *rand.Rand) *Tiers {
	shuffle := rand.Shuffle
	if r != nil {
		shuffle = r.Shuffle
	}
	seen := make(map[string]bool)
	t := &Tiers{}
	for _, list := range lists {
		var tier []string
		for _, u := range list {
			if u == "" || seen[u] {
				continue
			}
			seen[u] = true
			tier = append(tier, u)
		}
		if len(tier) == 0 {
			continue
		}
		shuffle(len(tier), func(i, j int) { tier[i], tier[j] = tier[j], tier[i] })
		t.tiers = append(t.tiers, tier)
	}
	return t
}

// Len returns the number of URLs in all tiers.
func (t *Tiers) Len() int {
	n := 0
	for _, tier := range t.tiers {
		n += len(tier)
	}
	return n
}

// URLs returns a copy of the tiers in their current try order, for status
// displays and tests.
func (t *Tiers) URLs() [][]string {
	out := make([][]string, len(t.tiers))
	for i, tier := range t.tiers {
		out[i] = append([]string(nil), tier...)
	}
	return out
}

// Announce walks the tiers and returns the first answer with the URL that
// gave it. Transport errors and unparsable bodies move on to the next URL;
// a *FailureError is a definite answer from that tracker and is returned at
// once (the URL is not promoted). If no URL answered, the error joins every
// attempt's error. A cancelled ctx stops the walk.
func (t *Tiers) Announce(ctx context.Context, c *Client, req Request) (*Response, string, error) {
	if t.Len() == 0 {
		return nil, "", errors.New("tracker: no tracker URLs")
	}
	var errs []error
	for _, tier := range t.tiers {
		for i, u := range tier {
			resp, err := c.Announce(ctx, u, req)
			if err == nil {
				promote(tier, i)
				return resp, u, nil
			}
			var fe *FailureError
			if errors.As(err, &fe) {
				return nil, u, err
			}
			errs = append(errs, fmt.Errorf("%s: %w", u, err))
			if ctx.Err() != nil {
				return nil, "", errors.Join(errs...)
			}
		}
	}
	return nil, "", errors.Join(errs...)
}

// promote moves tier[i] to the front, keeping the others' relative order
// (BEP 12: tracker3,tracker2,tracker1 after tracker3 answers).
func promote(tier []string, i int) {
	u := tier[i]
	copy(tier[1:i+1], tier[:i])
	tier[0] = u
}
