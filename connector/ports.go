package connector

import (
	"github.com/xdrhook/xdrhook/dataplane"
	"github.com/xdrhook/xdrhook/wire"
)

// Route implements dataplane.Router: the profile of the record's namespace
// and set, whatever port it came in on.
func (r *router) Route(m *wire.Message) (*dataplane.Profile, []*dataplane.Destination) {
	return r.routeProfile(r.cfg.Profile(m.Namespace, m.Set), m)
}

// RoutePort implements dataplane.PortRouter: port-based-config picks the
// profiles of the listener port the record came in on.
func (r *router) RoutePort(port int, m *wire.Message) (*dataplane.Profile, []*dataplane.Destination) {
	return r.routeProfile(r.cfg.ProfileFor(port, m.Namespace, m.Set), m)
}

var _ dataplane.PortRouter = (*router)(nil)
