package session

import (
	"context"
	"net/netip"
	"os"
	"testing"
)

// BenchmarkDownload downloads 64 MiB over loopback from a seeding session
// in the same process, with a fresh leecher and output directory per
// iteration: the whole receiving path (wire decoding, the loop, block
// runs, pwritev, hashing through the mapping) in one figure, measurable
// without the team's harness. Both sessions share the process, so a
// -cpuprofile shows the seeder's work too.
func BenchmarkDownload(b *testing.B) {
	src := b.TempDir()
	m := makeTorrent(b, src, []int64{64 << 20}, 1<<20)
	seed := startSeeder(b, m, src)
	// One download before the clock starts: a leecher that connects while
	// the seeder still checks its data is turned away and redials 5 s
	// later, which the first iteration would otherwise time.
	if err := download(b, m, b.TempDir(), &traceBuf{}, seed); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(m.Info.Length)
	for b.Loop() {
		dst, err := os.MkdirTemp(b.TempDir(), "dst")
		if err != nil {
			b.Fatal(err)
		}
		if err := download(b, m, dst, &traceBuf{}, seed); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(dst)
	}
}

// BenchmarkDownloadRC4 is BenchmarkDownload with both sides requiring MSE
// with RC4: the cost RC4 adds to the receiving path (and to the seeder's
// sending path, in the same process), beside BenchmarkDownload's figure.
func BenchmarkDownloadRC4(b *testing.B) {
	src := b.TempDir()
	m := makeTorrent(b, src, []int64{64 << 20}, 1<<20)
	seed := netip.MustParseAddrPort(runListeningHost(b, HostConfig{Version: "test", Encryption: EncRequire},
		Config{Meta: m, Dir: src, Seed: true}))
	b.SetBytes(m.Info.Length)
	for i := 0; i == 0 || b.Loop(); i++ { // i == 0: a warm-up, as in BenchmarkDownload
		dst, err := os.MkdirTemp(b.TempDir(), "dst")
		if err != nil {
			b.Fatal(err)
		}
		h := NewHost(HostConfig{Version: "test", LoopbackOnly: true, Encryption: EncRequire})
		s, err := New(h, Config{Meta: m, Dir: dst, Peers: []netip.AddrPort{seed}, Trace: &traceBuf{}})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(dst)
	}
}
