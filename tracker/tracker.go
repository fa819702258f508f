// Package tracker announces to BitTorrent trackers: a Request goes in, a
// Response (interval and peer addresses) comes out. It speaks the HTTP(S)
// tracker protocol of BEP 3 with compact peers (BEP 23) and IPv6 peers
// (BEP 7), the UDP tracker protocol of BEP 15 with BEP 41 URL data (udp.go,
// udpwire.go), and walks announce-list tiers, HTTP and UDP mixed, as BEP 12
// describes.
//
// The package is a leaf: it trades plain values ([20]byte, netip.AddrPort)
// and knows nothing of sessions, pieces or storage.
package tracker

import (
	"errors"
	"net/netip"
	"strconv"
	"time"
)

// Event is the optional `event` announce parameter of BEP 3. It tells the
// tracker why this announce is sent.
type Event int

// Events as defined by BEP 3. None is a regular, periodic announce and sends
// no event parameter at all.
const (
	None Event = iota
	Started
	Completed
	Stopped
)

// String returns the wire name of the event: "", "started", "completed" or
// "stopped". Unknown values print as "Event(n)" so they are visible in logs;
// the client never sends them.
func (e Event) String() string {
	switch e {
	case None:
		return ""
	case Started:
		return "started"
	case Completed:
		return "completed"
	case Stopped:
		return "stopped"
	}
	return "Event(" + strconv.Itoa(int(e)) + ")"
}

// Request holds the parameters of one announce. The session fills it from
// its counters; the client turns it into a query string.
type Request struct {
	// InfoHash and PeerID are sent raw, percent-encoded byte by byte.
	InfoHash, PeerID [20]byte
	// Port is the port this client listens on for peers.
	Port uint16
	// Uploaded, Downloaded and Left are byte counts, sent in base ten.
	Uploaded, Downloaded, Left int64
	// Event is omitted from the query when None.
	Event Event
	// NumWant is how many peers we would like; a negative value omits it.
	NumWant int
	// Key identifies this client across IP changes (BEP 7); it is sent as
	// eight hex digits.
	Key uint32
	// TrackerID echoes the `tracker id` of an earlier response; it is sent
	// as trackerid when non-empty.
	TrackerID string
	// IP is the optional `ip` parameter; omitted when empty.
	IP string
	// Crypto says what we speak of MSE/PE: SupportCrypto sends
	// supportcrypto=1, RequireCrypto requirecrypto=1 as well (trackers
	// that know them hand such peers out first, or only); 0 sends neither.
	Crypto Crypto
}

// Crypto is the MSE/PE support an announce states.
type Crypto int

// Crypto values.
const (
	NoCrypto Crypto = iota
	SupportCrypto
	RequireCrypto
)

// Response is a decoded, successful announce response.
type Response struct {
	// Interval and MinInterval are the tracker's re-announce delays; 0 when
	// absent (or negative in the response).
	Interval, MinInterval time.Duration
	// Peers merges compact (BEP 23), dictionary (BEP 3) and peers6 (BEP 7)
	// peers, deduplicated in order of appearance; entries with port 0 or an
	// address that is not a literal IP are dropped.
	Peers []netip.AddrPort
	// TrackerID is the `tracker id` to echo on later announces.
	TrackerID string
	// Warning is the tracker's `warning message`, if any.
	Warning string
	// Complete and Incomplete are the seeder and leecher counts (0 when
	// absent).
	Complete, Incomplete int
}

// FailureError is returned when the tracker answered with `failure reason`:
// the tracker was reached and refused the announce.
type FailureError struct{ Reason string }

// Error returns the tracker's reason, prefixed with the package name.
func (e *FailureError) Error() string {
	return "tracker: failure: " + e.Reason
}

// ErrUnsupported is wrapped by Announce for URL schemes it cannot speak
// (anything but http, https and udp).
var ErrUnsupported = errors.New("tracker: unsupported URL scheme")
