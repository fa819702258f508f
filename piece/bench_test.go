package piece

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkNext measures the cost per block of Next with rarest-first picking
// in a swarm of eight peers with uneven availability: each iteration requests
// one block, receives it and verifies finished pieces. The table is rebuilt
// (untimed) when the download completes.
func BenchmarkNext(b *testing.B) {
	for _, bc := range []struct {
		name string
		n    int
	}{{"1000pieces", 1000}, {"100000pieces", 100000}} {
		b.Run(bc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			build := func() (*Table, *Bitfield) {
				tb := NewTable(bc.n, 4*BlockSize, int64(bc.n)*4*BlockSize,
					&RarestFirst{Rand: rand.New(rand.NewPCG(3, 4))})
				for range 8 {
					p := bitfield(bc.n)
					for i := range bc.n {
						if rng.IntN(10) < 7 {
							p.Set(i)
						}
					}
					tb.AddAvail(p)
				}
				all := bitfield(bc.n)
				all.SetAll()
				tb.AddAvail(all)
				return tb, all
			}
			tb, all := build()
			out := make([]Block, 0, 1)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				out = tb.Next(all, nil, 1, out[:0])
				if len(out) == 0 {
					b.StopTimer()
					tb, all = build()
					b.StartTimer()
					continue
				}
				blk := out[0]
				done, _ := tb.Received(blk)
				tb.Unrequest(blk)
				if done {
					tb.MarkHave(int(blk.Index))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/block")
		})
	}
}
