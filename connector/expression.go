package connector

import (
	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/dataplane"
)

// withLogic gives a dataplane profile the custom logic of its
// configuration profile (filter, route expression, transform): the
// programs, and the destinations a route expression can name.
func withLogic(p *dataplane.Profile, cp *config.Profile, cfg *config.Config, dests []*dataplane.Destination) {
	lg := cp.Logic()
	if lg == nil {
		return
	}
	p.Logic = lg
	if lg.Route == nil {
		return
	}
	p.RouteNames = make(map[string]*dataplane.Destination, len(dests))
	for _, cd := range cfg.DestinationList() {
		p.RouteNames[cd.Name] = dests[cd.ID]
	}
	if d := cp.Routing.Default; d != nil {
		p.RouteDefault = []*dataplane.Destination{dests[d.ID]}
	}
}
