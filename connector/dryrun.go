package connector

import (
	"fmt"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/expression"
	"github.com/xdrhook/xdrhook/wire"
)

// DryRun applies a configuration to records without sending anything:
// `xdrhook decode --config` (a dry run for operators). For each record it
// says which profile applies, what the filter said, where the record goes,
// and the message it would carry, made by the same code as the dataplane's
// (the profile's encoder, the expression Runner). Record-ordering, which
// depends on the records before, is not applied. Not safe for concurrent
// use.
type DryRun struct {
	cfg      *config.Config
	profiles []dryProfile
	r        *expression.Runner
}

type dryProfile struct {
	lg  *expression.Logic
	enc encode.Encoder
}

// Outcome is what the connector would do with one record.
type Outcome struct {
	Profile int    `json:"profile"`
	Where   string `json:"where"` // where the profile is defined
	// Filter is the filter's result; nil without a filter (or when an
	// earlier step settled the record).
	Filter *bool `json:"filter,omitempty"`
	// Error is an expression's run-time failure, with its section and what
	// expression-errors made of it.
	Error string `json:"error,omitempty"`
	// RC is the answer XDR would get when the record is settled without
	// being sent (skipped: 0, failed: 4); -1 when it is sent.
	RC           int      `json:"rc"`
	Skipped      string   `json:"skipped,omitempty"` // why it is not sent
	Destinations []string `json:"destinations"`
	// Message is the record's message in the profile's format, as it goes
	// into a body (bin-transforms and transform applied); ContentType says
	// whether it is JSON text.
	Message     []byte `json:"-"`
	ContentType string `json:"-"`
}

// NewDryRun builds the profiles of cfg.
func NewDryRun(cfg *config.Config) (*DryRun, error) {
	d := &DryRun{cfg: cfg, r: expression.NewRunner()}
	for _, cp := range cfg.Profiles() {
		p, err := buildProfile(cp)
		if err != nil {
			return nil, err
		}
		d.profiles = append(d.profiles, dryProfile{lg: cp.Logic(), enc: p.NewEncoder()})
	}
	return d, nil
}

// Record runs m through the configuration. nowUnix is the time of receipt.
func (d *DryRun) Record(m *wire.Message, nowUnix int64) Outcome {
	cp := d.cfg.Profile(m.Namespace, m.Set)
	dp := &d.profiles[cp.ID]
	o := Outcome{Profile: cp.ID, Where: where(cp), RC: -1, Destinations: []string{}}
	names := routeNames(cp, m)
	lg := dp.lg
	failed := func(section string, err error) bool {
		o.Error = fmt.Sprintf("%s: %v (expression-errors: %s)", section, err, lg.OnError)
		switch lg.OnError {
		case expression.Pass:
			return false
		case expression.Skip:
			o.RC, o.Skipped = 0, "expression error"
		default:
			o.RC, o.Skipped = 4, "expression error"
		}
		return true
	}
	msg := m
	if lg != nil {
		d.r.Reset(m, nowUnix)
		if lg.Filter != nil {
			keep, err := d.r.Filter(lg.Filter)
			if err != nil {
				if failed("filter", err) {
					return o
				}
				keep = true
			}
			o.Filter = &keep
			if !keep {
				o.RC, o.Skipped = 0, "filter"
				return o
			}
		}
		if lg.Route != nil {
			got, err := d.r.Route(lg.Route, nil)
			names = names[:0]
			for _, n := range got {
				if err == nil && d.cfg.Destinations[n] == nil {
					err = fmt.Errorf("the route names %s, which is not a destination", n)
				}
				if err == nil && !contains(names, n) {
					names = append(names, n)
				}
			}
			if err != nil {
				if failed("routing", err) {
					return o
				}
				names = names[:0]
				if def := cp.Routing.Default; def != nil {
					names = append(names, def.Name)
				}
			}
		}
		if lg.Transform != nil {
			out, err := d.r.Transform(lg.Transform, false)
			if err != nil {
				if failed("transform", err) {
					return o
				}
				out, _ = d.r.Transform(lg.Transform, true)
			}
			msg = out
		}
	}
	o.Destinations = append(o.Destinations, names...)
	if len(names) == 0 {
		o.RC, o.Skipped = 0, "no route"
		return o
	}
	out, err := dp.enc.Append(nil, msg, nowUnix)
	if err != nil {
		o.RC, o.Skipped, o.Error = 4, "encode error", err.Error()
		return o
	}
	o.Message, o.ContentType = out, dp.enc.ContentType()
	return o
}

// routeNames is the routing of a non-expression mode, by destination name
// (the dataplane's router does the same with destinations).
func routeNames(cp *config.Profile, m *wire.Message) []string {
	rt := cp.Routing
	if rt.Mode == config.RouteStatic || rt.Mode == config.RouteStaticMulti {
		out := make([]string, len(rt.Destinations))
		for i, d := range rt.Destinations {
			out[i] = d.Name
		}
		return out
	}
	d := rt.Route(m)
	if d == nil {
		return nil
	}
	return []string{d.Name}
}

func where(cp *config.Profile) string {
	switch {
	case cp.ID == 0:
		return "top level"
	case cp.Set == "":
		return "namespace " + cp.Namespace
	}
	return "namespace " + cp.Namespace + ", set " + cp.Set
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
