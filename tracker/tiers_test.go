package tracker

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

func TestNewTiers(t *testing.T) {
	lists := [][]string{
		{"http://a/1", "http://a/2", "http://a/3", "http://a/4", "http://a/5", "", "http://a/1"},
		{},
		{"http://a/2", ""},
		{"http://b/1"},
	}
	tr := NewTiers(lists, rand.New(rand.NewPCG(1, 2)))
	if tr.Len() != 6 {
		t.Errorf("Len = %d, want 6", tr.Len())
	}
	got := tr.URLs()
	if len(got) != 2 || !slices.Equal(got[1], []string{"http://b/1"}) {
		t.Fatalf("tiers = %v, want two tiers, the second [http://b/1]", got)
	}
	want := slices.Clone(lists[0][:5])
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(want), func(i, j int) { want[i], want[j] = want[j], want[i] })
	if !slices.Equal(got[0], want) {
		t.Errorf("first tier = %v, want seeded shuffle %v", got[0], want)
	}
	again := NewTiers(lists, rand.New(rand.NewPCG(1, 2))).URLs()
	if !slices.Equal(again[0], got[0]) {
		t.Errorf("same seed gave %v then %v", got[0], again[0])
	}
	if NewTiers(nil, nil).Len() != 0 || NewTiers(lists, nil).Len() != 6 {
		t.Error("nil rand or nil lists mishandled")
	}
}

func TestPromote(t *testing.T) {
	tests := []struct {
		in   []string
		i    int
		want []string
	}{
		{[]string{"t1", "t2", "t3"}, 0, []string{"t1", "t2", "t3"}},
		{[]string{"t1", "t2", "t3"}, 1, []string{"t2", "t1", "t3"}},
		{[]string{"t2", "t1", "t3"}, 2, []string{"t3", "t2", "t1"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.in, ","), func(t *testing.T) {
			got := slices.Clone(tt.in)
			promote(got, tt.i)
			if !slices.Equal(got, tt.want) {
				t.Errorf("promote(%v, %d) = %v, want %v", tt.in, tt.i, got, tt.want)
			}
		})
	}
}

// dead returns the URL of a tracker that answers garbage.
func dead(t *testing.T) string { return serve(t, reply([]byte("not bencode"))) }

func TestTiersAnnounce(t *testing.T) {
	good := serve(t, reply([]byte("d8:intervali99ee")))
	down1, down2 := dead(t), dead(t)
	c := NewClient("")

	tr := &Tiers{tiers: [][]string{{down1, "wss://x:1/announce", down2}, {"http://127.0.0.1:1/closed", good}}}
	r, u, err := tr.Announce(context.Background(), c, testRequest())
	if err != nil || u != good || r.Interval.Seconds() != 99 {
		t.Fatalf("Announce = %+v, %q, %v; want the second tier's good tracker", r, u, err)
	}
	want := [][]string{{down1, "wss://x:1/announce", down2}, {good, "http://127.0.0.1:1/closed"}}
	if got := tr.URLs(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("after announce tiers = %v, want %v", got, want)
	}
}

func TestTiersAnnounceFailure(t *testing.T) {
	var goodHits atomic.Int32
	refuse := serve(t, reply(benc(t, map[string]any{"failure reason": "go away"})))
	good := serve(t, func(w http.ResponseWriter, r *http.Request) { goodHits.Add(1); w.Write([]byte("de")) })
	tr := &Tiers{tiers: [][]string{{dead(t), refuse, good}}}
	_, u, err := tr.Announce(context.Background(), NewClient(""), testRequest())
	var fe *FailureError
	if !errors.As(err, &fe) || fe.Reason != "go away" || u != refuse {
		t.Errorf("Announce = %q, %v; want the failure reason from %s", u, err, refuse)
	}
	if n := goodHits.Load(); n != 0 {
		t.Errorf("tracker after a failure reason was asked %d times", n)
	}
}

func TestTiersAnnounceAllFail(t *testing.T) {
	urls := []string{dead(t), "wss://x:1/announce", dead(t)}
	tr := NewTiers([][]string{urls[:1], urls[1:]}, nil)
	_, u, err := tr.Announce(context.Background(), NewClient(""), testRequest())
	if err == nil || u != "" {
		t.Fatalf("Announce = %q, %v; want an error", u, err)
	}
	for _, want := range urls {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("joined error %v does not wrap ErrUnsupported", err)
	}
	if _, _, err := NewTiers(nil, nil).Announce(context.Background(), NewClient(""), testRequest()); err == nil {
		t.Error("empty Tiers: want an error")
	}
}

func TestTiersAnnounceCancelled(t *testing.T) {
	var hits atomic.Int32
	h := serve(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tr := &Tiers{tiers: [][]string{{h, h + "?b"}, {h + "?c"}}}
	if _, _, err := tr.Announce(ctx, NewClient(""), testRequest()); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests made after cancel", n)
	}
}
