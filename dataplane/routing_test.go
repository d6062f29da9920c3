package dataplane

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

// multiEngine runs an engine with one destination per URL, fanning every
// record out to all of them.
func multiEngine(t *testing.T, o Options, urls ...string) *testEngine {
	t.Helper()
	var dests []*Destination
	for i, u := range urls {
		snd, err := newTestHTTP1(HTTPOptions{URLs: []string{u}})
		if err != nil {
			t.Fatal(err)
		}
		dests = append(dests, newTestDestination(DestinationOptions{
			Name: string(rune('a' + i)), Sender: snd,
			Retry: RetryPolicy{MaxAttempts: 1},
		}))
	}
	p := &Profile{
		NewFramer: func() encode.Framer { return &encode.NDJSON{Enc: &encode.JSON{}} },
		Batching:  true, MaxRecords: 20, MaxBytes: 1 << 20, Interval: 10 * time.Millisecond,
	}
	if len(o.Listen) == 0 {
		o.Listen = []string{freeAddr(t)}
	}
	o.Profiles, o.Destinations, o.Loops = []*Profile{p}, dests, 2
	o.Router = &StaticRouter{Profile: p, Dests: dests}
	for _, pr := range o.Profiles {
		pr.Ordering = o.LUTCacheTTL > 0
	}
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
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

func TestFanOutSettlesWhenAllSettle(t *testing.T) {
	a, b := newCapture(t), newCapture(t)
	e := multiEngine(t, Options{}, a.srv.URL, b.srv.URL)
	x := dialXDR(t, e.addr)
	x.c.Write(frames(30))
	if rcs := x.replies(t, 30, 5*time.Second); !allRC(rcs, 0) {
		t.Fatalf("both up: %v", rcs)
	}
	if len(a.lines()) != 30 || len(b.lines()) != 30 {
		t.Fatalf("a got %d, b got %d", len(a.lines()), len(b.lines()))
	}
	// One destination failing makes the record's reply a retry, though the
	// other one took it (at-least-once: it will get it again).
	b.status.Store(503)
	x.c.Write(frames(30))
	if rcs := x.replies(t, 30, 5*time.Second); !allRC(rcs, wire.RCRetry) {
		t.Fatalf("one down: %v", rcs)
	}
	if len(a.lines()) != 60 {
		t.Fatalf("a got %d", len(a.lines()))
	}
}

func TestRecordOrderingDropsStaleVersions(t *testing.T) {
	a := newCapture(t)
	e := multiEngine(t, Options{LUTCacheTTL: time.Minute}, a.srv.URL)
	x := dialXDR(t, e.addr)
	newer := record(1)
	older := record(1)
	older.LUT -= 1000
	older.Generation--
	other := record(2)
	var b []byte
	b = wire.AppendFrame(b, newer)
	b = wire.AppendFrame(b, older) // same key, older LUT: stale
	b = wire.AppendFrame(b, other)
	b = wire.AppendFrame(b, newer) // same LUT again: a resend, not stale
	x.c.Write(b)
	if rcs := x.replies(t, 4, 5*time.Second); !allRC(rcs, 0) {
		t.Fatalf("replies %v", rcs)
	}
	lines := a.lines()
	if len(lines) != 3 {
		t.Fatalf("delivered %d messages, want 3 (the stale one skipped): %v", len(lines), lines)
	}
	for _, l := range lines {
		if strings.Contains(l, `"gen":1,`) {
			t.Fatalf("the stale version was sent: %s", l)
		}
	}
	if e.m.skippedStale.Get() != 1 {
		t.Fatalf("stale skips counted %d", e.m.skippedStale.Get())
	}
}

func TestSeveralPortsAndInfoFrames(t *testing.T) {
	a := newCapture(t)
	ports := []string{freeAddr(t), freeAddr(t)}
	e := multiEngine(t, Options{Listen: ports}, a.srv.URL)
	for _, p := range ports {
		x := dialXDR(t, p)
		x.c.Write(frames(5))
		if rcs := x.replies(t, 5, 5*time.Second); !allRC(rcs, 0) {
			t.Fatalf("port %s: %v", p, rcs)
		}
	}
	// An info request (asinfo, or a source without `connector true`): the
	// connection is closed and counted.
	x := dialXDR(t, ports[1])
	info := wire.AppendHeader(nil, wire.TypeInfo, 5)
	x.c.Write(append(info, "node\n"...))
	x.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := x.r.ReadByte(); err != io.EOF {
		t.Fatalf("info frame: %v, want the connection closed", err)
	}
	if e.m.infoFrames.Get() != 1 {
		t.Fatalf("info frames counted %d", e.m.infoFrames.Get())
	}
}

func TestSenderSpreadsOverURLsAndHonoursRetryAfter(t *testing.T) {
	var hits [2]atomic.Int32
	var failed atomic.Bool
	var firstFail, retried atomic.Int64
	mk := func(i int) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			hits[i].Add(1)
			if r.Header.Get("X-Test") == "retry-after" {
				if !failed.Swap(true) {
					firstFail.Store(time.Now().UnixNano())
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(429)
					return
				}
				retried.Store(time.Now().UnixNano())
			}
		}))
	}
	s0, s1 := mk(0), mk(1)
	defer s0.Close()
	defer s1.Close()
	snd, err := newTestHTTP1(HTTPOptions{URLs: []string{s0.URL, s1.URL}})
	if err != nil {
		t.Fatal(err)
	}
	req := &Request{Body: []byte("x\n"), ContentType: "application/x-ndjson", Records: 1}
	for i := 0; i < 10; i++ {
		if st, _, err := snd.Do(req, time.Now().Add(time.Second)); err != nil || st != 200 {
			t.Fatal(st, err)
		}
	}
	if hits[0].Load() != 5 || hits[1].Load() != 5 {
		t.Fatalf("spread %d/%d", hits[0].Load(), hits[1].Load())
	}
	// Retry-After: 1 s is waited for (inside the reply deadline).
	snd2, _ := newTestHTTP1(HTTPOptions{URLs: []string{s0.URL}, Headers: [][2]string{{"X-Test", "retry-after"}}})
	d := newTestDestination(DestinationOptions{Name: "ra", Sender: snd2, Retry: RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond}})
	e := &Engine{opts: Options{ReplyDeadline: 8 * time.Second}, stopping: make(chan struct{}), m: newEngineMetrics(), log: slog.New(slog.DiscardHandler)}
	d.e, d.m = e, newDestMetrics(e.m.set, d)
	if rc := d.deliver(req, time.Now().UnixMilli()); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	if wait := time.Duration(retried.Load() - firstFail.Load()); wait < 900*time.Millisecond {
		t.Fatalf("retried after %v, Retry-After said 1 s", wait)
	}
	// A Retry-After beyond the deadline is not waited for: retry reply now.
	failed.Store(false)
	e.opts.ReplyDeadline = 500 * time.Millisecond
	start := time.Now()
	if rc := d.deliver(req, time.Now().UnixMilli()); rc != wire.RCRetry || time.Since(start) > 400*time.Millisecond {
		t.Fatalf("rc %d after %v", rc, time.Since(start))
	}
}

func TestPipelinedHTTP1(t *testing.T) {
	a := newCapture(t)
	snd, err := newTestHTTP1(HTTPOptions{URLs: []string{a.srv.URL}, Pipeline: true, MaxConnsPerEndpoint: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if st, _, err := snd.Do(&Request{Body: []byte("{}\n"), ContentType: "application/x-ndjson", Records: 1}, time.Now().Add(2*time.Second)); err != nil || st != 200 {
			t.Fatal(st, err)
		}
	}
	if len(a.lines()) != 20 {
		t.Fatalf("%d bodies", len(a.lines()))
	}
	// A refused connection is a transport error, not a status.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	snd2, _ := newTestHTTP1(HTTPOptions{URLs: []string{"http://" + addr}})
	if _, _, err := snd2.Do(&Request{Body: []byte("{}\n")}, time.Now().Add(time.Second)); err == nil {
		t.Fatal("no error from a refused connection")
	}
}

func TestPerRecordPathBatchesPerSet(t *testing.T) {
	a := newCapture(t)
	snd, _ := newTestHTTP1(HTTPOptions{URLs: []string{a.srv.URL + "/api"}})
	d := newTestDestination(DestinationOptions{Name: "p", Sender: snd,
		Path: func(dst []byte, m *wire.Message) []byte {
			dst = append(append(dst, '/'), m.Namespace...)
			return append(append(dst, '/'), m.Set...)
		}})
	p := &Profile{
		NewFramer: func() encode.Framer { return &encode.NDJSON{Enc: &encode.FlatJSON{}} },
		Batching:  true, MaxRecords: 1000, MaxBytes: 1 << 20, Interval: 20 * time.Millisecond,
	}
	o := Options{Listen: []string{freeAddr(t)}, Profiles: []*Profile{p}, Destinations: []*Destination{d},
		Router: &StaticRouter{Profile: p, Dests: []*Destination{d}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	e, err := newTestEngine(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	defer e.Stop(context.Background())
	x := dialXDR(t, o.Listen[0])
	var b []byte
	for i := 0; i < 40; i++ {
		r := record(i)
		r.Set = []string{"a", "b"}[i%2]
		var dg wire.Digester
		r.SetDigest(&dg)
		b = wire.AppendFrame(b, r)
	}
	x.c.Write(b)
	if rcs := x.replies(t, 40, 5*time.Second); !allRC(rcs, 0) {
		t.Fatalf("replies %v", rcs)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	per := map[string]int{}
	for i, p := range a.paths {
		set := strings.TrimPrefix(p, "/api/test/")
		for _, l := range strings.Split(strings.TrimSpace(string(a.bodies[i])), "\n") {
			if !strings.Contains(l, `"set":"`+set+`"`) {
				t.Fatalf("a record of another set in the body for %s: %s", p, l)
			}
			per[set]++
		}
	}
	if per["a"] != 20 || per["b"] != 20 {
		t.Fatalf("records per path %v (paths %v)", per, a.paths)
	}
}
