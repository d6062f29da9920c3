package dataplane

import "github.com/xdrhook/xdrhook/wire"

// StaticRouter sends every record to the same destinations with one
// profile (routing modes static and static-multi-destination without
// overrides). It is also what the demo and tests use.
type StaticRouter struct {
	Profile *Profile
	Dests   []*Destination
}

// Route implements Router.
func (r *StaticRouter) Route(*wire.Message) (*Profile, []*Destination) { return r.Profile, r.Dests }
