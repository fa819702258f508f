package session

import (
	"net/netip"

	"github.com/unworkable/unworkable/piece"
)

// suspect is one block of a piece that failed its hash check: who sent it
// and the SHA-1 of what they sent.
type suspect struct {
	addr  netip.AddrPort
	block int
	sum   [20]byte
}

// noteSender remembers that addr sent block b, to judge it if the piece
// fails its hash check.
func (s *Session) noteSender(b piece.Block, addr netip.AddrPort) {
	i := int(b.Index)
	from := s.senders[i]
	if from == nil {
		from = make([]netip.AddrPort, s.table.NumBlocks(i))
		s.senders[i] = from
	}
	from[b.Begin/piece.BlockSize] = addr
}

// judgeFailure handles a piece that failed its hash check. When one peer
// sent all of it, that peer gets a strike (banStrikes strikes: banned).
// When several did, nobody is blamed yet: the hash of every block is kept,
// and once the piece passes, judgeSuccess bans the peers whose blocks
// differed from the good data. Innocent peers that shared a piece with a
// liar are never banned.
func (s *Session) judgeFailure(i int, sums [][20]byte) {
	from := s.senders[i]
	delete(s.senders, i)
	distinct := map[netip.AddrPort]bool{}
	for j, a := range from {
		if a.IsValid() {
			distinct[a] = true
			if j < len(sums) {
				s.suspects[i] = append(s.suspects[i], suspect{addr: a, block: j, sum: sums[j]})
			}
		}
	}
	if len(distinct) == 1 {
		for a := range distinct {
			s.strike(a, "sent corrupt data")
		}
	}
}

// judgeSuccess bans every peer that earlier sent a block of piece i that
// differs from the verified data.
func (s *Session) judgeSuccess(i int, sums [][20]byte) {
	delete(s.senders, i)
	sus := s.suspects[i]
	delete(s.suspects, i)
	for _, x := range sus {
		if x.block < len(sums) && sums[x.block] != x.sum {
			s.sw.strikes[x.addr] = banStrikes - 1
			s.strike(x.addr, "sent corrupt data")
		}
	}
}

// strike counts one offence of addr and bans it at banStrikes.
func (s *Session) strike(a netip.AddrPort, why string) {
	s.sw.strikes[a]++
	if s.sw.strikes[a] < banStrikes {
		return
	}
	if p := s.sw.byAddr[a]; p != nil && !p.dead {
		s.ban(p, why)
	} else if c := s.sw.known[a]; c != nil {
		c.banned = true
	}
}
