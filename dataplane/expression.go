package dataplane

import (
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/xdrhook/xdrhook/expression"
	"github.com/xdrhook/xdrhook/wire"
)

// Custom logic (package expression) runs here, at one place of the record
// path: after routing picked the profile, before the batchers encode. Each
// session has its own expression.Runner (expr's VM and scratch are not
// safe for concurrent use; a session runs on the one event loop or
// goroutine that owns its connection), made on the first record that needs
// it.

// exprMetrics count what expressions do; the per-record ones are counted
// by the loop (loopCounters) and added here when scraped.
type exprMetrics struct {
	skippedFilter *metrics.Counter
	errors        [3]*metrics.Counter // by section: filter, routing, transform
	records       *metrics.Counter
	seconds       *metrics.FloatCounter
}

const (
	secFilter = iota
	secRouting
	secTransform
)

var sectionNames = [3]string{"filter", "routing", "transform"}

func newExprMetrics(s *metrics.Set) *exprMetrics {
	m := &exprMetrics{}
	m.skippedFilter = s.NewCounter(`xdrhook_records_settled_total{outcome="skipped-filter"}`)
	for i, n := range sectionNames {
		m.errors[i] = s.NewCounter(`xdrhook_expression_errors_total{section="` + n + `"}`)
	}
	m.records = s.NewCounter("xdrhook_expression_records_total")
	m.seconds = s.NewFloatCounter("xdrhook_expression_seconds_total")
	return m
}

// evaluate applies p's logic to m: the filter, the route expression (its
// destinations replace dests), the transform (the message returned then
// points into the session's Runner, valid until the next record). ok false
// means the record is settled already (filtered out, or failed under
// expression-errors fail or skip).
func (s *session) evaluate(p *Profile, m *wire.Message, dests []*Destination) (_ *wire.Message, _ []*Destination, ok bool) {
	e, lg := s.e, p.Logic
	if s.ex == nil {
		s.ex = expression.NewRunner()
	}
	r := s.ex
	start := time.Now()
	defer func() {
		s.lp.c.exprRecords++
		s.lp.c.exprNanos += uint64(time.Since(start))
	}()
	r.Reset(m, e.clock.nowUnix())
	if lg.Filter != nil {
		keep, err := r.Filter(lg.Filter)
		if err != nil {
			if !s.exprError(lg, secFilter, err) {
				return m, nil, false
			}
			keep = true
		}
		if !keep {
			s.lp.c.skippedFilter++
			s.open(0, wire.RCOK)
			return m, nil, false
		}
	}
	if lg.Route != nil {
		if dests, ok = s.route(p, lg); !ok {
			return m, nil, false
		}
	}
	if lg.Transform != nil {
		out, err := r.Transform(lg.Transform, false)
		if err != nil {
			if !s.exprError(lg, secTransform, err) {
				return m, nil, false
			}
			out, _ = r.Transform(lg.Transform, true) // remove only: cannot fail
		}
		m = out
	}
	return m, dests, true
}

// route runs the route expression: the destinations named, each once (none:
// skipped); ok false when the record is settled (a failure under fail or
// skip).
func (s *session) route(p *Profile, lg *expression.Logic) (_ []*Destination, ok bool) {
	names, err := s.ex.Route(lg.Route, s.names[:0])
	s.names = names
	dests := s.dests[:0]
	for _, n := range names {
		if err != nil {
			break
		}
		d := p.RouteNames[n]
		if d == nil {
			err = &unknownDestination{name: n}
			break
		}
		dup := false
		for _, x := range dests {
			dup = dup || x == d
		}
		if !dup {
			dests = append(dests, d)
		}
	}
	s.dests = dests
	if err != nil {
		if !s.exprError(lg, secRouting, err) {
			return nil, false
		}
		return p.RouteDefault, true // pass: the default route
	}
	return dests, true
}

type unknownDestination struct{ name string }

func (u *unknownDestination) Error() string {
	return "the route names " + u.name + ", which is not a destination"
}

// exprError counts and logs a run-time failure of a section and applies
// the policy: true means go on (pass); false means the record is settled
// (fail: answered 4; skip: answered 0).
func (s *session) exprError(lg *expression.Logic, section int, err error) bool {
	e := s.e
	e.x.errors[section].Inc()
	if ok, n := e.limits.expr.allow(); ok {
		e.log.Warn("expression failed on a record", "section", sectionNames[section], "policy", lg.OnError.String(), "err", err, "suppressed", n)
	}
	switch lg.OnError {
	case expression.Pass:
		return true
	case expression.Skip:
		s.open(0, wire.RCOK)
	default:
		s.open(0, wire.RCParameter)
	}
	return false
}
