package session

import (
	"fmt"
	"net/netip"
	"strings"
)

// LoopbackEnv names the environment variable that, set to 1, keeps the
// process on loopback: cmd/unworkable reads it once into
// HostConfig.LoopbackOnly, and the tests and scripts set it (issue 10's
// network rule: nothing leaves 127.0.0.0/8 or ::1).
const LoopbackEnv = "UNWORKABLE_LOOPBACK_ONLY"

// LoopbackError is the refusal of an address that is not a loopback one
// while the guard is on.
type LoopbackError struct {
	Host string // the address or name refused
}

func (e *LoopbackError) Error() string {
	return fmt.Sprintf("refused: %s=1 and %s is not a loopback address", LoopbackEnv, e.Host)
}

// CheckLoopback returns a *LoopbackError unless host is an IP literal in
// 127.0.0.0/8 or ::1 (IPv4-mapped and zoned forms included) or the name
// localhost. It never resolves a name, so checking sends nothing.
func CheckLoopback(host string) error {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Unmap().IsLoopback() {
			return nil
		}
		return &LoopbackError{Host: host}
	}
	if strings.EqualFold(strings.TrimSuffix(h, "."), "localhost") {
		return nil
	}
	return &LoopbackError{Host: host}
}

// checkDial returns the refusal of dialling a under HostConfig.LoopbackOnly,
// or nil.
func (h *Host) checkDial(a netip.AddrPort) error {
	if !h.cfg.LoopbackOnly || a.Addr().Unmap().IsLoopback() {
		return nil
	}
	return &LoopbackError{Host: a.Addr().String()}
}
