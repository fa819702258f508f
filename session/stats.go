package session

import (
	"strings"
	"time"
)

// Stats is a snapshot of the session for the progress meter and summary.
type Stats struct {
	Name             string
	Pieces, Have     int
	Total, Left      int64
	Downloaded       int64 // verified payload bytes downloaded this run
	Uploaded         int64
	Wasted           int64 // duplicate, unrequested or corrupt bytes
	DownRate, UpRate float64
	Peers, Seeds     int
	Elapsed          time.Duration
	Complete, Final  bool // Final: the last report, after shutdown
	StartLeft        int64
	Phase            string          // "metadata", "checking" or "transfer"
	Checked          int             // checking: pieces hashed so far
	MetaPeers        int             // metadata: peers offering the info dictionary
	MetaSize         int             // metadata: its size in bytes, 0 until a peer offers it
	MetaHave         int             // metadata: bytes of it received
	Sources          [numSources]int // connected peers by the source of their address
	DHT              bool            // the torrent uses the DHT (on, and not private)
	DHTNodes         int             // nodes in the routing table of the host's DHT node
	DHTPeers         int             // peer addresses the DHT lookups found, in all
}

// SourceName is the name of the source of Stats.Sources[i], as in the
// JSON progress event's peers_by_source.
func SourceName(i int) string { return source(i).String() }

// ewma is an exponentially weighted rate in bytes per second, fed with a
// running byte counter.
type ewma struct {
	rate  float64
	last  int64
	at    time.Time
	valid bool
}

// update folds the bytes counted since the last update into the rate.
func (e *ewma) update(now time.Time, total int64) {
	if !e.valid {
		e.valid, e.at, e.last = true, now, total
		return
	}
	dt := now.Sub(e.at).Seconds()
	if dt <= 0 {
		return
	}
	inst := float64(total-e.last) / dt
	const alpha = 0.4
	e.rate = alpha*inst + (1-alpha)*e.rate
	e.at, e.last = now, total
}

// rates holds the session-wide rates.
type rates struct{ down, up ewma }

// update refreshes both rates.
func (r *rates) update(now time.Time, down, up int64) {
	r.down.update(now, down)
	r.up.update(now, up)
}

// stats takes a snapshot of the session.
func (s *Session) stats(final bool) Stats {
	st := Stats{
		Name: s.name(), StartLeft: s.count.startLeft, Phase: s.phase.String(),
		Downloaded: s.count.downloaded, Uploaded: s.count.uploaded, Wasted: s.count.wasted,
		DownRate: s.rate.down.rate, UpRate: s.rate.up.rate,
		Elapsed: time.Since(s.started), Final: final,
		MetaPeers: s.md.peers, MetaSize: s.md.size, MetaHave: s.md.have,
	}
	if s.dhtAllowed() {
		st.DHT, st.DHTPeers = true, s.dht.found
		st.DHTNodes, _ = s.host.cfg.DHT.Stats()
	}
	if s.meta != nil { // the metadata is complete, wherever it came from
		st.MetaSize, st.MetaHave = len(s.meta.InfoBytes), len(s.meta.InfoBytes)
	}
	if s.table != nil {
		st.Pieces, st.Have = s.table.NumPieces(), s.table.Have().Count()
		st.Total, st.Left = s.info.Length, s.table.Left()
		st.Complete = s.ready() && s.table.Complete()
		st.Checked = st.Pieces - s.chk.left
	}
	for p := range s.sw.peers {
		if p.dead {
			continue
		}
		st.Peers++
		st.Sources[p.src]++
		if s.ready() && p.has.Full() {
			st.Seeds++
		}
	}
	return st
}

// report sends a snapshot to Config.Progress and a progress event, about
// once a second (and always for the final one); a change in the number of
// peers is an event of its own. Events come only after start: before it
// the meter shows the metadata fetch and the check, and metadata events
// tell scripts about the fetch.
func (s *Session) report(final bool) {
	now := time.Now()
	if !final && now.Sub(s.lastReport) < time.Second {
		return
	}
	s.lastReport = now
	st := s.stats(final)
	if s.cfg.Progress != nil {
		s.cfg.Progress(st)
	}
	if !s.ready() {
		return // before start: the meter only (and metadata events)
	}
	if st.Peers != s.lastPeers {
		s.lastPeers = st.Peers
		s.emit(EvPeers, 0, "")
	}
	if !final {
		s.emit(EvProgress, 0, "")
	}
}

// peerIDVersion turns a version such as "v0.1.0-3-gabc" into the four
// digits of an Azureus-style peer id ("0100"), "0000" when unknown.
func peerIDVersion(v string) string {
	digits := make([]byte, 0, 4)
	for _, part := range strings.Split(strings.TrimPrefix(v, "v"), ".") {
		if len(digits) == 4 {
			break
		}
		if len(part) > 0 && part[0] >= '0' && part[0] <= '9' {
			digits = append(digits, part[0])
		}
	}
	for len(digits) < 4 {
		digits = append(digits, '0')
	}
	return string(digits)
}
