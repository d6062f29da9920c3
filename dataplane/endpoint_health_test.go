package dataplane

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

// killableBackend is a Go net/http server (HTTP/1.1 and h2c) on a fixed
// loopback address that can be killed (listener and connections closed)
// and restarted on the same address. It notes every record (bin i) it
// received.
type killableBackend struct {
	t      *testing.T
	addr   string
	mu     sync.Mutex
	srv    *http.Server
	conns  []net.Conn
	seen   map[int]int
	lines  atomic.Int64
	checks atomic.Int64
	// hold: POSTs are held unanswered (not noted) until their connection
	// closes; held counts them (endpoint_failover_test.go).
	hold atomic.Bool
	held atomic.Int64
}

var binI = regexp.MustCompile(`"name":"i","type":"int","value":(\d+)`)

func newKillableBackend(t *testing.T) *killableBackend {
	b := &killableBackend{t: t, seen: map[int]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = ln.Addr().String()
	b.serve(ln)
	t.Cleanup(b.kill)
	return b
}

func (b *killableBackend) serve(ln net.Listener) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" {
			b.checks.Add(1)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if b.hold.Load() {
			b.held.Add(1)
			<-r.Context().Done()
			return
		}
		b.mu.Lock()
		for _, m := range binI.FindAllSubmatch(body, -1) {
			i, _ := strconv.Atoi(string(m[1]))
			b.seen[i]++
		}
		b.mu.Unlock()
		b.lines.Add(int64(bytes.Count(body, []byte("\n"))))
	})
	// h2c connections are hijacked: Server.Close does not close them,
	// so kill closes every connection itself.
	srv := &http.Server{Handler: h2c.NewHandler(h, &http2.Server{}), ConnState: func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
		}
	}}
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
	go srv.Serve(ln)
}

func (b *killableBackend) kill() {
	b.mu.Lock()
	srv, conns := b.srv, b.conns
	b.srv, b.conns = nil, nil
	b.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	if srv != nil {
		srv.Close()
	}
}

func (b *killableBackend) restart() {
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ln, err = net.Listen("tcp", b.addr); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		b.t.Fatal(err)
	}
	b.serve(ln)
}

func (b *killableBackend) got(i int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seen[i] > 0
}

// healthEngine starts an engine with one destination over the backends'
// URLs, checked every 150 ms (down after 2 failures, up after 3 passes).
func healthEngine(t *testing.T, h2 bool, bs ...*killableBackend) *testEngine {
	t.Helper()
	o := HTTPOptions{MaxConnsPerEndpoint: 2}
	for _, b := range bs {
		o.URLs = append(o.URLs, "http://"+b.addr+"/bulk")
	}
	var snd Sender
	var err error
	if h2 {
		snd, err = newTestHTTP2(o)
	} else {
		snd, err = newTestHTTP1(o)
	}
	if err != nil {
		t.Fatal(err)
	}
	d := newTestDestination(DestinationOptions{
		Name: "search", Sender: snd, MaxInFlight: 4, CallTimeout: time.Second,
		Retry: RetryPolicy{MaxAttempts: 5, InitialBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
		HealthCheck: &HealthCheckOptions{
			Interval: 150 * time.Millisecond, Timeout: 140 * time.Millisecond,
			HealthyThreshold: 3, UnhealthyThreshold: 2, Method: "GET", Expected: StatusRange{200, 499},
		},
	})
	p := &Profile{
		NewFramer: func() encode.Framer { return &encode.NDJSON{Enc: &encode.JSON{}} },
		Batching:  true, MaxRecords: 20, MaxBytes: 1 << 20, Interval: 5 * time.Millisecond,
	}
	return startEngineOn(t, Options{}, p, d)
}

// deliverAll sends records lo..hi-1 as XDR does: every one answered other
// than 0 is sent again, until all are answered 0. It returns the number of
// sends that were answered 11.
func deliverAll(t *testing.T, x *xdrConn, lo, hi int) int {
	t.Helper()
	pending := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		pending = append(pending, i)
	}
	retried := 0
	for round := 0; len(pending) > 0; round++ {
		if round > 200 {
			t.Fatalf("records %v still not answered 0", pending)
		}
		var out []byte
		for _, i := range pending {
			out = appendFrame(out, i)
		}
		x.c.Write(out)
		rcs := x.replies(t, len(pending), 15*time.Second)
		next := pending[:0]
		for k, rc := range rcs {
			if rc != 0 {
				next = append(next, pending[k])
				retried++
			}
		}
		pending = next
		if len(pending) > 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return retried
}

func metricLine(t *testing.T, e *Engine, prefix string) string {
	t.Helper()
	var buf bytes.Buffer
	e.WritePrometheus(&buf)
	for _, l := range bytes.Split(buf.Bytes(), []byte("\n")) {
		if bytes.HasPrefix(l, []byte(prefix)) {
			return string(l)
		}
	}
	t.Fatalf("no metric %s in\n%s", prefix, buf.String())
	return ""
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestHealthCheckKillAndRestart: two real backends, one killed while
// records flow and restarted. Its endpoint leaves the round robin after
// two failed checks (xdrhook_endpoint_up 0), every record is still
// answered 0 eventually (the killed one's requests go to the other), and
// after three passing checks it is back and gets records again.
func TestHealthCheckKillAndRestart(t *testing.T) {
	for _, proto := range []string{"HTTP_1_1", "HTTP_2"} {
		t.Run(proto, func(t *testing.T) {
			a, b := newKillableBackend(t), newKillableBackend(t)
			e := healthEngine(t, proto == "HTTP_2", a, b)
			x := dialXDR(t, e.addr)
			upB := `xdrhook_endpoint_up{destination="search",url="http://` + b.addr + `/bulk"}`

			if r := deliverAll(t, x, 0, 400); r != 0 {
				t.Fatalf("%d retries with both backends up (%s)", r, metricLine(t, e.Engine, `xdrhook_records_refused_unhealthy_total`))
			}
			if a.lines.Load() == 0 || b.lines.Load() == 0 {
				t.Fatalf("both up: a got %d, b got %d", a.lines.Load(), b.lines.Load())
			}
			if got := metricLine(t, e.Engine, upB); got != upB+" 1" {
				t.Fatalf("metric %q", got)
			}

			b.kill()
			// Records keep flowing while b dies and is found out.
			deliverAll(t, x, 400, 800)
			waitFor(t, "b out of the round robin", 2*time.Second, func() bool { return metricLine(t, e.Engine, upB) == upB+" 0" })
			if err := e.Ready(); err != nil {
				t.Fatalf("ready with a up: %v", err)
			}
			bBefore := b.lines.Load()
			if r := deliverAll(t, x, 800, 1200); r != 0 {
				t.Fatalf("%d retries with b out of the round robin", r)
			}

			b.restart()
			waitFor(t, "b back in the round robin", 3*time.Second, func() bool { return metricLine(t, e.Engine, upB) == upB+" 1" })
			if n := b.checks.Load(); n < 3 {
				t.Fatalf("b back after %d checks", n)
			}
			if r := deliverAll(t, x, 1200, 1600); r != 0 {
				t.Fatalf("%d retries after b came back", r)
			}
			if b.lines.Load() == bBefore {
				t.Fatalf("b got no records after it came back (a %d, b %d)", a.lines.Load(), b.lines.Load())
			}
			for i := 0; i < 1600; i++ {
				if !a.got(i) && !b.got(i) {
					t.Fatalf("record %d answered 0 but received by neither backend", i)
				}
			}
			t.Logf("a received %d, b %d lines for 1600 records", a.lines.Load(), b.lines.Load())
		})
	}
}

// TestHealthCheckAllDownAnswersAtOnce: with every endpoint down, records
// are answered 11 at once (not at the 8 s reply deadline), /readyz says not
// ready, and the refusals are counted.
func TestHealthCheckAllDownAnswersAtOnce(t *testing.T) {
	a, b := newKillableBackend(t), newKillableBackend(t)
	e := healthEngine(t, false, a, b)
	x := dialXDR(t, e.addr)
	a.kill()
	b.kill()
	waitFor(t, "both out", 2*time.Second, func() bool { return e.dest.unhealthy() })
	if err := e.Ready(); err == nil {
		t.Fatal("ready with no endpoint up")
	}
	start := time.Now()
	x.c.Write(frames(50))
	rcs := x.replies(t, 50, 5*time.Second)
	if took := time.Since(start); !allRC(rcs, 11) || took > time.Second {
		t.Fatalf("replies %v after %v", rcs, took)
	}
	if got := metricLine(t, e.Engine, `xdrhook_records_refused_unhealthy_total{destination="search"}`); got != `xdrhook_records_refused_unhealthy_total{destination="search"} 50` {
		t.Fatalf("metric %q", got)
	}
	a.restart()
	waitFor(t, "a back", 3*time.Second, func() bool { return e.Ready() == nil })
	if r := deliverAll(t, x, 0, 50); r != 0 {
		t.Fatalf("%d retries after a came back", r)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://u:p@127.0.0.1:9200/_bulk?token=s3cret#f": "http://127.0.0.1:9200/_bulk",
		"https://search.example/a\"b":                    "https://search.example/a%22b",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func appendFrame(b []byte, i int) []byte { return wire.AppendFrame(b, record(i)) }

// TestHealthCheckBusyEndpointStaysUp: an endpoint whose only connection is
// busy with slow requests (300 ms each, twice the check's timeout) is slow,
// not dead: its checks go on their own connection and pass.
func TestHealthCheckBusyEndpointStaysUp(t *testing.T) {
	for _, pipelined := range []bool{false, true} {
		t.Run(fmt.Sprint("pipelined=", pipelined), func(t *testing.T) {
			var posts atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == "POST" {
					posts.Add(1)
					time.Sleep(300 * time.Millisecond)
				}
			}))
			defer srv.Close()
			snd, err := newTestHTTP1(HTTPOptions{URLs: []string{srv.URL}, MaxConnsPerEndpoint: 1, Pipeline: pipelined})
			if err != nil {
				t.Fatal(err)
			}
			d := newTestDestination(DestinationOptions{Name: "slow", Sender: snd, HealthCheck: &HealthCheckOptions{
				Interval: 50 * time.Millisecond, Timeout: 150 * time.Millisecond,
				HealthyThreshold: 1, UnhealthyThreshold: 1, Method: "GET", Expected: StatusRange{200, 499},
			}})
			// New wires the destination's health checker; the engine is not started.
			if _, err := newTestEngine(Options{Listen: []string{freeAddr(t)}, Router: &StaticRouter{}, Destinations: []*Destination{d},
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err != nil {
				t.Fatal(err)
			}
			d.startHealthChecks()
			defer d.stopHealthChecks()
			var wg sync.WaitGroup
			for w := 0; w < 3; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					snd.Do(&Request{Body: []byte("{}\n"), Records: 1}, time.Now().Add(2*time.Second))
				}()
			}
			for end := time.Now().Add(800 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
				if d.unhealthy() {
					t.Fatalf("a busy endpoint was taken out (%d posts served)", posts.Load())
				}
			}
			wg.Wait()
		})
	}
}
