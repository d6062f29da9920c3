package dataplane

import "github.com/xdrhook/xdrhook/wire"

// Router decides where each record goes. Route must not allocate and must be
// safe for concurrent use (it runs on every event loop). No destinations
// means the record is skipped on purpose (answered 0).
type Router interface {
	Route(m *wire.Message) (p *Profile, dests []*Destination)
}

// StaticRouter sends every record to the same destinations with one
// profile (routing modes static and static-multi-destination without
// overrides); the tests use it. The configured routing modes are in
// package connector.
type StaticRouter struct {
	Profile *Profile
	Dests   []*Destination
}

// Route implements Router.
func (r *StaticRouter) Route(*wire.Message) (*Profile, []*Destination) { return r.Profile, r.Dests }
