package session

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestEncryptionModes downloads between two of our hosts in each pair of
// modes: the stream method the leecher's trace shows, or the failure when
// the modes cannot meet (require against off).
func TestEncryptionModes(t *testing.T) {
	for _, tc := range []struct {
		seed, leech Encryption
		want        string // the leecher's connection, "" when none can be made
	}{
		{EncPrefer, EncPrefer, "enc=mse-plaintext"},
		{EncRequire, EncRequire, "enc=rc4"},
		{EncRequire, EncPrefer, "enc=rc4"},
		{EncPrefer, EncRequire, "enc=rc4"},
		{EncOff, EncPrefer, "enc=plain"}, // MSE fails, the plain redial works
		{EncPrefer, EncOff, "enc=plain"},
		{EncRequire, EncOff, ""},
		{EncOff, EncRequire, ""},
	} {
		src := t.TempDir() // a seeder per case: each holds its files until the test ends
		m := makeTorrent(t, src, []int64{1 << 20}, 1<<16)
		seed := netip.MustParseAddrPort(runListeningHost(t, HostConfig{Version: "test", Encryption: tc.seed},
			Config{Meta: m, Dir: src, Seed: true}))
		tr := &traceBuf{}
		h := NewHost(HostConfig{Version: "test", LoopbackOnly: true, Encryption: tc.leech})
		cfg := Config{Meta: m, Dir: t.TempDir(), Peers: []netip.AddrPort{seed}, Trace: tr}
		if tc.want == "" {
			cfg.Timeout = time.Second
		}
		s, err := New(h, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		err = s.Run(ctx)
		cancel()
		t.Logf("seed %d, leech %d: %v in %v", tc.seed, tc.leech, err, time.Since(start).Round(time.Millisecond))
		switch {
		case tc.want == "" && !errors.Is(err, ErrNoProgress):
			t.Errorf("seed %d, leech %d: %v, want no progress:\n%s", tc.seed, tc.leech, err, tr)
		case tc.want != "" && (err != nil || !strings.Contains(tr.String(), tc.want)):
			t.Errorf("seed %d, leech %d: %v, want a download with %s:\n%s", tc.seed, tc.leech, err, tc.want, tr)
		}
	}
}
