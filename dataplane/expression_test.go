package dataplane

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/expression"
)

func compile(t testing.TB, k expression.Kind, src string) *expression.Program {
	t.Helper()
	p, err := expression.Compile(k, src)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// logicEngine runs an engine with destinations a and b (a is the route
// default) and one profile, json one record per request, with lg.
func logicEngine(t *testing.T, lg *expression.Logic, urls ...string) *testEngine {
	t.Helper()
	var dests []*Destination
	names := map[string]*Destination{}
	for i, u := range urls {
		snd, err := newTestHTTP1(HTTPOptions{URLs: []string{u}})
		if err != nil {
			t.Fatal(err)
		}
		d := newTestDestination(DestinationOptions{Name: string(rune('a' + i)), Sender: snd, Retry: RetryPolicy{MaxAttempts: 1}})
		dests = append(dests, d)
		names[d.Name()] = d
	}
	p := &Profile{
		NewEncoder: func() encode.Encoder { return &encode.JSON{} },
		Logic:      lg, RouteNames: names, RouteDefault: dests[:1],
	}
	o := Options{
		Listen: []string{freeAddr(t)}, Profiles: []*Profile{p}, Destinations: dests, Loops: 2,
		Router: &StaticRouter{Profile: p}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	e, err := newTestEngine(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	return &testEngine{Engine: e, addr: o.Listen[0]}
}

// TestExpressionPolicies sends records 0..9 through a filter, a route
// expression and a transform that each fail on one record (5, 7, 8), under
// each expression-errors policy, and checks every reply, every message
// delivered and the counters.
func TestExpressionPolicies(t *testing.T) {
	for _, c := range []struct {
		policy  expression.Policy
		rcs     string // reply code per record 0..9
		a, b    string // records delivered to a and b, with their computed bin d
		skipped int
	}{
		{expression.Fail, "0000040440", "2:4 4:8", "1:2", 4},
		{expression.Skip, "0000000000", "2:4 4:8", "1:2", 4},
		{expression.Pass, "0000000000", "2:4 4:8 7:14 8:-", "1:2 5:10", 4},
	} {
		t.Run(c.policy.String(), func(t *testing.T) {
			lg := &expression.Logic{
				Filter: compile(t, expression.Filter, `bins.i % 3 != 0 && (bins.i != 5 || [1][bins.i] == 1)`),
				Route:  compile(t, expression.Route, `bins.i == 7 ? ["nosuch"] : bins.i % 2 == 0 ? ["a"] : ["b"]`),
				Transform: expression.NewTransform([]expression.SetBin{
					{Name: "d", Program: compile(t, expression.Value, `bins.i * 2`)},
					{Name: "e", Program: compile(t, expression.Value, `bins.i == 8 ? bins.i + "x" : 1`)},
				}, []string{"e"}),
				OnError: c.policy,
			}
			a, b := newCapture(t), newCapture(t)
			e := logicEngine(t, lg, a.srv.URL, b.srv.URL)
			x := dialXDR(t, e.addr)
			x.c.Write(frames(10))
			var rcs strings.Builder
			for _, rc := range x.replies(t, 10, 5*time.Second) {
				rcs.WriteByte('0' + rc)
			}
			if rcs.String() != c.rcs {
				t.Errorf("replies %s, want %s", rcs.String(), c.rcs)
			}
			if got := delivered(t, a); got != c.a {
				t.Errorf("a: %s, want %s", got, c.a)
			}
			if got := delivered(t, b); got != c.b {
				t.Errorf("b: %s, want %s", got, c.b)
			}
			e.fold()
			if n := e.x.skippedFilter.Get(); n != uint64(c.skipped) {
				t.Errorf("skipped-filter %d", n)
			}
			for i, want := range []uint64{1, 1, 1} {
				if n := e.x.errors[i].Get(); n != want {
					t.Errorf("%s errors: %d, want %d", sectionNames[i], n, want)
				}
			}
			if e.x.records.Get() != 10 || e.x.seconds.Get() <= 0 {
				t.Errorf("records %d seconds %v", e.x.records.Get(), e.x.seconds.Get())
			}
		})
	}
}

// TestRouteEmptySkips: a route expression that returns [] skips the
// record: answered 0, sent nowhere, counted as skipped (not as filtered,
// not as an expression error).
func TestRouteEmptySkips(t *testing.T) {
	lg := &expression.Logic{
		Route:   compile(t, expression.Route, `bins.i % 2 == 0 ? ["a"] : []`),
		OnError: expression.Fail,
	}
	a, b := newCapture(t), newCapture(t)
	e := logicEngine(t, lg, a.srv.URL, b.srv.URL)
	x := dialXDR(t, e.addr)
	x.c.Write(frames(10))
	for i, rc := range x.replies(t, 10, 5*time.Second) {
		if rc != 0 {
			t.Errorf("record %d answered %d, want 0", i, rc)
		}
	}
	if got := delivered(t, a); got != "0:- 2:- 4:- 6:- 8:-" {
		t.Errorf("a: %s", got)
	}
	if got := delivered(t, b); got != "" {
		t.Errorf("b: %s", got)
	}
	e.fold()
	if n := e.m.skipped.Get(); n != 5 {
		t.Errorf("skipped %d, want 5", n)
	}
	if n := e.x.skippedFilter.Get(); n != 0 {
		t.Errorf("skipped-filter %d, want 0", n)
	}
	for i := range sectionNames {
		if n := e.x.errors[i].Get(); n != 0 {
			t.Errorf("%s errors: %d", sectionNames[i], n)
		}
	}
}

// delivered lists the records a capture got as "i:d" (d the computed bin,
// "-" without it), sorted.
func delivered(t *testing.T, c *capture) string {
	t.Helper()
	var out []string
	for _, l := range c.lines() {
		if strings.Contains(l, `"name":"e"`) {
			t.Errorf("removed bin e sent: %s", l)
		}
		i := between(l, `{"name":"i","type":"int","value":`, `}`)
		d := between(l, `{"name":"d","type":"int","value":`, `}`)
		if d == "" {
			d = "-"
		}
		out = append(out, i+":"+d)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	return s[:strings.Index(s, to)]
}

// TestSteadyStateAllocationsWithLogic: a filter, a literal route and a
// computed bin of one concatenation add no allocation to the record path
// (the budget of a concatenation is one). The bound, 0.05 per record, is
// far below one allocation per record and above what refilling pools after
// a GC costs a run (0.015 seen once in CI).
func TestSteadyStateAllocationsWithLogic(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	for _, c := range []struct {
		name string
		lg   func(d *Destination) (*expression.Logic, map[string]*Destination)
		max  float64
	}{
		{"filter+route", func(d *Destination) (*expression.Logic, map[string]*Destination) {
			return &expression.Logic{
				Filter: compile(t, expression.Filter, `gen > 0 && set != "tmp"`),
				Route:  compile(t, expression.Route, `gen > 0 ? ["ok"] : []`),
			}, map[string]*Destination{"ok": d}
		}, 0.05},
		{"transform", func(d *Destination) (*expression.Logic, map[string]*Destination) {
			return &expression.Logic{Transform: expression.NewTransform([]expression.SetBin{
				{Name: "where", Program: compile(t, expression.Value, `namespace + "/" + set`)}}, nil)}, nil
		}, 0.05},
	} {
		e, s := pipeline(t, true)
		p := e.opts.Profiles[0]
		p.Logic, p.RouteNames = c.lg(e.opts.Destinations[0])
		frame := typicalFrame()
		for i := 0; i < 5000; i++ {
			step(s, frame)
		}
		drainAll(e, s)
		const per = 2000
		allocs := testing.AllocsPerRun(5, func() {
			for i := 0; i < per; i++ {
				step(s, frame)
			}
			drainAll(e, s)
		}) / per
		if allocs > c.max {
			t.Errorf("%s: %.3f allocs per record, want at most %v", c.name, allocs, c.max)
		}
		e.fold()
		if e.x.records.Get() == 0 || e.x.skippedFilter.Get() != 0 {
			t.Errorf("%s: evaluated %d, filtered %d", c.name, e.x.records.Get(), e.x.skippedFilter.Get())
		}
	}
}

// TestExpressionsConcurrentConnections: several connections on several
// event loops evaluate at once, each with its own Runner: every record
// gets its own computed bins and route (run under -race by make test).
func TestExpressionsConcurrentConnections(t *testing.T) {
	lg := &expression.Logic{
		Route: compile(t, expression.Route, `bins.i % 2 == 0 ? ["a"] : ["b"]`),
		Transform: expression.NewTransform([]expression.SetBin{
			{Name: "d", Program: compile(t, expression.Value, `bins.i * 2`)},
			{Name: "s", Program: compile(t, expression.Value, `namespace + "-" + string(bins.i)`)},
		}, nil),
	}
	a, b := newCapture(t), newCapture(t)
	e := logicEngine(t, lg, a.srv.URL, b.srv.URL)
	const conns, per = 4, 250
	xs := make([]*xdrConn, conns)
	for c := range xs {
		xs[c] = dialXDR(t, e.addr)
	}
	for _, x := range xs { // all at once: the loops evaluate in parallel
		go x.c.Write(frames(per))
	}
	for _, x := range xs {
		if rcs := x.replies(t, per, 10*time.Second); !allRC(rcs, 0) || len(rcs) != per {
			t.Fatalf("replies %v", rcs)
		}
	}
	for dest, c := range map[string]*capture{"a": a, "b": b} {
		lines := c.lines()
		if len(lines) != conns*per/2 {
			t.Errorf("%s: %d messages, want %d", dest, len(lines), conns*per/2)
		}
		for _, l := range lines {
			i := between(l, `{"name":"i","type":"int","value":`, `}`)
			d := between(l, `{"name":"d","type":"int","value":`, `}`)
			s := between(l, `{"name":"s","type":"str","value":"`, `"`)
			n, _ := strconv.Atoi(i)
			if d != strconv.Itoa(2*n) || s != "test-"+i || (n%2 == 0) != (dest == "a") {
				t.Fatalf("%s: i %s d %s s %s", dest, i, d, s)
			}
		}
	}
}

// BenchmarkPipelineBatchedFiltered is BenchmarkPipelineBatched with a
// metadata filter that passes every record: the record path's cost of
// custom logic (the filter, the Runner, the time counted).
func BenchmarkPipelineBatchedFiltered(b *testing.B) {
	e, s := pipeline(b, true)
	e.opts.Profiles[0].Logic = &expression.Logic{Filter: compile(b, expression.Filter, `gen > 0 && set != "tmp"`)}
	frame := typicalFrame()
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	n := 0
	for b.Loop() {
		step(s, frame)
		if n++; n%1024 == 0 {
			for s.w.unanswered() > 2048 {
				s.flush()
			}
		}
	}
	drainAll(e, s)
}
