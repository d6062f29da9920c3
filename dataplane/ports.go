package dataplane

import (
	"net"

	"github.com/xdrhook/xdrhook/wire"
)

// PortRouter is a Router whose decision also depends on the listener port
// a record arrived on (config port-based-config). The engine calls
// RoutePort instead of Route when its router has it; the same rules apply
// (no allocation, safe for concurrent use).
type PortRouter interface {
	RoutePort(port int, m *wire.Message) (p *Profile, dests []*Destination)
}

// route routes a record that arrived on listener port port.
func (e *Engine) route(port int, m *wire.Message) (*Profile, []*Destination) {
	if e.portRouter != nil {
		return e.portRouter.RoutePort(port, m)
	}
	return e.router.Route(m)
}

// localPort is the port of a connection's local address (the listener's
// port), 0 if unknown.
func localPort(a net.Addr) int {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.Port
	}
	return 0
}
