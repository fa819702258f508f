package session

import (
	"net/netip"

	"github.com/unworkable/unworkable/tracker"
)

// checkDial returns the refusal of dialling a under HostConfig.LoopbackOnly
// (see tracker.LoopbackEnv), or nil.
func (h *Host) checkDial(a netip.AddrPort) error {
	if !h.cfg.LoopbackOnly || a.Addr().Unmap().IsLoopback() {
		return nil
	}
	return &tracker.LoopbackError{Host: a.Addr().String()}
}
