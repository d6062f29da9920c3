package dataplane

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

// capture is an HTTP destination that records every body it receives and
// answers with a scripted status.
type capture struct {
	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
	paths   []string
	status  atomic.Int32
	delay   atomic.Int64 // ns
	srv     *httptest.Server
}

func newCapture(t *testing.T) *capture {
	c := &capture{}
	c.status.Store(200)
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if d := c.delay.Load(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		st := int(c.status.Load())
		if st == 200 {
			c.mu.Lock()
			c.bodies = append(c.bodies, b)
			c.headers = append(c.headers, r.Header.Clone())
			c.paths = append(c.paths, r.URL.Path)
			c.mu.Unlock()
		}
		if st == 429 || st == 503 {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(st)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *capture) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, b := range c.bodies {
		for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			out = append(out, l)
		}
	}
	return out
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

type testEngine struct {
	*Engine
	addr string
	dest *Destination
}

func startEngine(t *testing.T, o Options, url string, batching bool, dopts DestinationOptions) *testEngine {
	t.Helper()
	p := &Profile{
		NewFramer:  func() encode.Framer { return &encode.NDJSON{Enc: &encode.JSON{}} },
		NewEncoder: func() encode.Encoder { return &encode.JSON{} },
		Batching:   batching, MaxRecords: 100, MaxBytes: 1 << 20, Interval: 20 * time.Millisecond,
	}
	return startEngineWith(t, o, url, p, dopts)
}

// startEngineWith starts an engine with one profile and one HTTP/1.1
// destination at url, every record routed to it.
func startEngineWith(t *testing.T, o Options, url string, p *Profile, dopts DestinationOptions) *testEngine {
	t.Helper()
	snd, err := newTestHTTP1(HTTPOptions{URLs: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	dopts.Name = "test"
	dopts.Sender = snd
	return startEngineOn(t, o, p, newTestDestination(dopts))
}

// startEngineOn starts an engine on a free port with profile p and
// destination d, every record routed to d, on two loops; it is stopped
// when the test ends. o.Logger, if nil, discards.
func startEngineOn(t *testing.T, o Options, p *Profile, d *Destination) *testEngine {
	t.Helper()
	o.Listen = []string{freeAddr(t)}
	o.Profiles = []*Profile{p}
	o.Destinations = []*Destination{d}
	o.Router = &StaticRouter{Profile: p, Dests: []*Destination{d}}
	o.Loops = 2
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e, err := newTestEngine(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.Stop(ctx)
	})
	return &testEngine{Engine: e, addr: o.Listen[0], dest: d}
}

// xdrConn is a minimal XDR side: pipelined frames out, replies in.
type xdrConn struct {
	c net.Conn
	r *bufio.Reader
}

// waitFrames waits until e has received n frames (at most 5 s).
func waitFrames(t *testing.T, e *testEngine, n uint64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); e.m.frames.Get() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d frames arrived", e.m.frames.Get())
		}
		time.Sleep(time.Millisecond)
	}
}

// serveH2C serves h over h2c (prior knowledge) with Go's server s on a
// loopback port, closed at the test's cleanup, and returns its address.
func serveH2C(t *testing.T, h http.Handler, s *http2.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h2c.NewHandler(h, s)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// stopInBackground stops e (graceful, 5 s at most) on a goroutine: the
// test reads the replies meanwhile; Stop's error arrives on the channel.
func stopInBackground(e *testEngine) <-chan error {
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopped <- e.Stop(ctx)
	}()
	return stopped
}

func dialXDR(t *testing.T, addr string) *xdrConn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &xdrConn{c: c, r: bufio.NewReader(c)}
}

func (x *xdrConn) replies(t *testing.T, n int, timeout time.Duration) []byte {
	t.Helper()
	x.c.SetReadDeadline(time.Now().Add(timeout))
	rcs := make([]byte, 0, n)
	buf := make([]byte, wire.ReplySize)
	for len(rcs) < n {
		if _, err := io.ReadFull(x.r, buf); err != nil {
			t.Fatalf("after %d of %d replies: %v", len(rcs), n, err)
		}
		if buf[0] != 2 || buf[1] != 3 || buf[7] != 22 || buf[8] != 22 {
			t.Fatalf("malformed reply %x", buf)
		}
		rcs = append(rcs, buf[13])
	}
	return rcs
}

func record(i int) *wire.Record {
	var d wire.Digester
	r := &wire.Record{
		Kind: wire.KindWrite, Generation: uint32(i + 1), TTL: wire.TTLNever,
		Namespace: "test", Set: "s", KeyType: wire.ParticleInteger, Key: wire.IntKey(int64(i)),
		LUT:  wire.MakeLUT(1, 1734388704784+int64(i)),
		Bins: []wire.BinSpec{{Name: "i", Type: wire.ParticleInteger, Value: wire.IntValue(int64(i))}},
	}
	r.SetDigest(&d)
	return r
}

func frames(n int) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		b = wire.AppendFrame(b, record(i))
	}
	return b
}

func allRC(rcs []byte, rc byte) bool {
	for _, r := range rcs {
		if r != rc {
			return false
		}
	}
	return true
}

func TestEndToEndBatchedAndSingle(t *testing.T) {
	for _, batching := range []bool{true, false} {
		t.Run(fmt.Sprint("batching=", batching), func(t *testing.T) {
			c := newCapture(t)
			e := startEngine(t, Options{}, c.srv.URL, batching, DestinationOptions{MaxInFlight: 4})
			x := dialXDR(t, e.addr)
			const n = 250
			x.c.Write(frames(n))
			if rcs := x.replies(t, n, 5*time.Second); !allRC(rcs, 0) {
				t.Fatalf("replies %v", rcs)
			}
			lines := c.lines()
			if len(lines) != n {
				t.Fatalf("%d messages delivered, want %d", len(lines), n)
			}
			seen := map[int]bool{}
			for _, l := range lines {
				var m struct {
					Msg  string `json:"msg"`
					Gen  int    `json:"gen"`
					Bins []struct {
						Value int `json:"value"`
					} `json:"bins"`
				}
				if err := json.Unmarshal([]byte(l), &m); err != nil || m.Msg != "write" || len(m.Bins) != 1 || m.Gen != m.Bins[0].Value+1 {
					t.Fatalf("message %s: %v", l, err)
				}
				seen[m.Bins[0].Value] = true
			}
			if len(seen) != n {
				t.Fatalf("%d distinct records", len(seen))
			}
			c.mu.Lock()
			h := c.headers[0]
			c.mu.Unlock()
			if batching {
				if h.Get("Content-Type") != "application/x-ndjson" || h.Get("Xdrhook-Records") == "" {
					t.Fatalf("headers %v", h)
				}
			} else if h.Get("Content-Type") != "application/json" || !strings.Contains(h.Get("Idempotency-Key"), "-1734388704") {
				t.Fatalf("headers %v", h)
			}
		})
	}
}

func TestEndToEndOutcomes(t *testing.T) {
	c := newCapture(t)
	e := startEngine(t, Options{ReplyDeadline: 2 * time.Second}, c.srv.URL, true, DestinationOptions{
		MaxInFlight: 2, Permanent: StatusRange{400, 400},
		Retry: RetryPolicy{MaxAttempts: 2, InitialBackoff: time.Millisecond},
	})
	x := dialXDR(t, e.addr)

	c.status.Store(503)
	x.c.Write(frames(10))
	if rcs := x.replies(t, 10, 5*time.Second); !allRC(rcs, wire.RCRetry) {
		t.Fatalf("503: replies %v, want 11", rcs)
	}
	c.status.Store(400)
	x.c.Write(frames(10))
	if rcs := x.replies(t, 10, 5*time.Second); !allRC(rcs, wire.RCParameter) {
		t.Fatalf("400 permanent: replies %v, want 4", rcs)
	}
	// A destination slower than the reply deadline: answered 11 in time.
	c.status.Store(200)
	c.delay.Store(int64(3 * time.Second))
	start := time.Now()
	x.c.Write(frames(5))
	// Each record is answered 9 (its request timed out) or 11 (the deadline
	// came first); which one depends on timing.
	for _, rc := range x.replies(t, 5, 5*time.Second) {
		if rc != wire.RCRetry && rc != wire.RCTimeout {
			t.Fatalf("slow destination: reply %d, want 9 or 11", rc)
		}
	}
	if took := time.Since(start); took > 2800*time.Millisecond {
		t.Fatalf("answered after %v, deadline 2s", took)
	}
	c.delay.Store(0)
	// A bad frame inside a good stream: answered 4, the stream goes on.
	bad := wire.AppendFrame(nil, record(1))
	bad = append(bad, 0) // a trailing byte after the last op
	wire.PutHeader(bad, wire.TypeMsg, len(bad)-wire.HeaderSize)
	var mixed []byte
	mixed = append(mixed, frames(2)...)
	mixed = append(mixed, bad...)
	mixed = append(mixed, frames(2)...)
	x.c.Write(mixed)
	rcs := x.replies(t, 5, 5*time.Second)
	if !bytes.Equal(rcs, []byte{0, 0, 4, 0, 0}) {
		t.Fatalf("mixed: replies %v", rcs)
	}
	if e.InFlight() != 0 {
		t.Fatalf("in flight %d after all replies", e.InFlight())
	}
}

func TestEndToEndOversizedFrameClosesOnlyThatConnection(t *testing.T) {
	c := newCapture(t)
	e := startEngine(t, Options{MaxFrameBytes: 1024}, c.srv.URL, true, DestinationOptions{})
	good := dialXDR(t, e.addr)
	bad := dialXDR(t, e.addr)
	bad.c.Write(wire.AppendHeader(nil, wire.TypeMsg, 1<<30))
	bad.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := bad.r.ReadByte(); err != io.EOF {
		t.Fatalf("oversized frame: %v, want the connection closed", err)
	}
	good.c.Write(frames(20))
	if rcs := good.replies(t, 20, 5*time.Second); !allRC(rcs, 0) {
		t.Fatalf("healthy connection: %v", rcs)
	}
}

func TestBackpressureDeadDestination(t *testing.T) {
	// A destination that accepts connections and never answers: the engine
	// must answer 11 within the deadline and refuse beyond its queue, with
	// the number of records in flight bounded.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c)
		}
	}()
	e := startEngine(t, Options{ReplyDeadline: time.Second, MaxConcurrentRecords: 500}, "http://"+ln.Addr().String(), true,
		DestinationOptions{MaxInFlight: 2, MaxQueued: 2})
	x := dialXDR(t, e.addr)
	const n = 3000
	go x.c.Write(frames(n))
	rcs := x.replies(t, n, 10*time.Second)
	if !allRC(rcs, wire.RCRetry) && !allRC(rcs, wire.RCTimeout) {
		counts := map[byte]int{}
		for _, r := range rcs {
			counts[r]++
		}
		for rc := range counts {
			if rc != wire.RCRetry && rc != wire.RCTimeout {
				t.Fatalf("replies by code %v", counts)
			}
		}
	}
	if e.InFlight() != 0 {
		t.Fatalf("in flight %d", e.InFlight())
	}
}

func TestManageEndpoints(t *testing.T) {
	c := newCapture(t)
	e := startEngine(t, Options{}, c.srv.URL, true, DestinationOptions{})
	x := dialXDR(t, e.addr)
	x.c.Write(frames(3))
	x.replies(t, 3, 5*time.Second)
	srv := httptest.NewServer(e.ManageHandler())
	defer srv.Close()
	get := func(p string) (int, string) {
		r, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	if st, _ := get("/healthz"); st != 200 {
		t.Fatalf("healthz %d", st)
	}
	if st, b := get("/readyz"); st != 200 {
		t.Fatalf("readyz %d %s", st, b)
	}
	st, text := get("/metrics")
	for _, want := range []string{
		`xdrhook_records_received_total{kind="write"} 3`,
		`xdrhook_replies_total{rc="0"} 3`,
		`xdrhook_records_settled_total{destination="test",outcome="delivered"} 3`,
		`xdrhook_connections_active 1`,
		`xdrhook_records_in_flight 0`,
		`process_resident_memory_bytes`,
	} {
		if st != 200 || !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if _, p := get("/manage/rest/v1/prometheus"); !strings.Contains(p, "xdrhook_replies_total") {
		t.Error("/manage/rest/v1/prometheus")
	}
	_, js := get("/manage/rest/v1/metrics")
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil || m["xdrhook_records_in_flight"] != 0.0 {
		t.Fatalf("json metrics: %v %v", err, m["xdrhook_records_in_flight"])
	}
}
