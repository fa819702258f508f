package session

import (
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
