package dataplane

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

// h2Script is an h2c destination (Go's server) that answers the first
// failFirst attempts of each record (by Idempotency-Key) with failStatus,
// the later ones 200, after delay; it counts the attempts and the most
// requests it held at once.
type h2Script struct {
	mu         sync.Mutex
	attempts   map[string]int
	failFirst  int
	failStatus int
	delay      time.Duration
	now, most  atomic.Int32
	addr       string
}

func startH2Script(t *testing.T, s *h2Script) *h2Script {
	s.attempts = map[string]int{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		n := s.now.Add(1)
		defer s.now.Add(-1)
		for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
		}
		s.mu.Lock()
		k := r.Header.Get("Idempotency-Key")
		s.attempts[k]++
		a := s.attempts[k]
		s.mu.Unlock()
		time.Sleep(s.delay)
		if a <= s.failFirst {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(s.failStatus)
			return
		}
		w.WriteHeader(200)
	})
	s.addr = serveH2C(t, h, &http2.Server{MaxConcurrentStreams: 250})
	return s
}

// checkOutcomes sends n records to e, whose destination is s, and checks
// that each is answered rc exactly once after exactly attempts requests,
// and that nothing is left in flight.
func (s *h2Script) checkOutcomes(t *testing.T, e *testEngine, n int, rc byte, attempts int) {
	t.Helper()
	x := dialXDR(t, e.addr)
	x.c.Write(frames(n))
	rcs := x.replies(t, n, 10*time.Second)
	if !allRC(rcs, rc) {
		t.Fatalf("replies %v, want all %d", rcs, rc)
	}
	// Nothing more is answered, and nothing more sent.
	x.c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if k, _ := x.r.Read(make([]byte, 1)); k != 0 {
		t.Fatal("a record answered twice")
	}
	for deadline := time.Now().Add(2 * time.Second); s.now.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if got := s.counts(); len(got) != 1 || got[attempts] != n {
		t.Fatalf("records by attempts: %v, want %d×%d", got, n, attempts)
	}
	if e.InFlight() != 0 {
		t.Fatalf("in flight %d", e.InFlight())
	}
}

// counts is the attempts of each record seen, and how many records.
func (s *h2Script) counts() (perRecord map[int]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	perRecord = map[int]int{}
	for _, a := range s.attempts {
		perRecord[a]++
	}
	return perRecord
}

// startH2Engine runs an engine with one-record bodies to an HTTP/2
// destination at addr.
func startH2Engine(t *testing.T, addr string, o Options, dopts DestinationOptions) *testEngine {
	t.Helper()
	snd, err := newTestHTTP2(HTTPOptions{URLs: []string{"http://" + addr + "/ingest"}, MaxConnsPerEndpoint: 2})
	if err != nil {
		t.Fatal(err)
	}
	dopts.Name, dopts.Sender = "h2", snd
	e := startEngineOn(t, o, ndjsonProfile(), newTestDestination(dopts))
	if (e.dest.async.slots != nil) != asyncSend {
		t.Fatalf("asynchronous path %v, want %v", e.dest.async.slots != nil, asyncSend)
	}
	return e
}

// bothPaths runs test with the asynchronous HTTP/2 path and with workers.
func bothPaths(t *testing.T, test func(t *testing.T)) {
	for _, on := range []bool{true, false} {
		name := "async"
		if !on {
			name = "workers"
		}
		t.Run(name, func(t *testing.T) {
			defer func(was bool) { asyncSend = was }(asyncSend)
			asyncSend = on
			test(t)
		})
	}
}

// The outcomes of one-record HTTP/2 requests are the workers' on the
// asynchronous path: delivered at once, delivered on a retry (the first
// attempt's failure handed to the synchronous attempts), retried until
// MaxAttempts then answered 11, a permanent status answered 4 without
// retry, a call timeout answered 9 — each record answered once, with the
// exact number of attempts.
func TestHTTP2AsyncOutcomes(t *testing.T) {
	const n = 24
	cases := []struct {
		name       string
		failFirst  int
		failStatus int
		delay      time.Duration
		rc         byte
		attempts   int // per record
	}{
		{"delivered", 0, 0, 0, wire.RCOK, 1},
		{"second attempt", 1, 503, 0, wire.RCOK, 2},
		{"third attempt", 2, 500, 0, wire.RCOK, 3},
		{"retries exhausted", 3, 503, 0, wire.RCRetry, 3},
		{"permanent", 1, 400, 0, wire.RCParameter, 1},
		{"call timeout", 0, 0, 250 * time.Millisecond, wire.RCTimeout, 3},
	}
	bothPaths(t, func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s := startH2Script(t, &h2Script{failFirst: c.failFirst, failStatus: c.failStatus, delay: c.delay})
				e := startH2Engine(t, s.addr, Options{ReplyDeadline: 5 * time.Second}, DestinationOptions{
					MaxInFlight: 8, Permanent: StatusRange{400, 400}, CallTimeout: 60 * time.Millisecond,
					Retry: RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond},
				})
				s.checkOutcomes(t, e, n, c.rc, c.attempts)
			})
		}
	})
}

// MaxInFlight bounds the requests at the destination on the asynchronous
// path as the worker count does, and is reached.
func TestHTTP2AsyncMaxInFlight(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		s := startH2Script(t, &h2Script{delay: 20 * time.Millisecond})
		e := startH2Engine(t, s.addr, Options{}, DestinationOptions{MaxInFlight: 5})
		x := dialXDR(t, e.addr)
		const n = 100
		x.c.Write(frames(n))
		if rcs := x.replies(t, n, 10*time.Second); !allRC(rcs, 0) {
			t.Fatalf("replies %v", rcs)
		}
		if m := s.most.Load(); m != 5 {
			t.Fatalf("at most %d requests at once, want 5", m)
		}
	})
}

// A graceful stop with requests in flight on the asynchronous path answers
// every record delivered, then stops (the destination waits for its
// flights before closing the sender).
func TestHTTP2AsyncGracefulStop(t *testing.T) {
	s := startH2Script(t, &h2Script{delay: 100 * time.Millisecond})
	e := startH2Engine(t, s.addr, Options{}, DestinationOptions{MaxInFlight: 4})
	x := dialXDR(t, e.addr)
	const n = 20
	x.c.Write(frames(n))
	waitFrames(t, e, n)
	stopped := stopInBackground(e)
	if rcs := x.replies(t, n, 5*time.Second); !allRC(rcs, 0) {
		t.Fatalf("replies during shutdown: %v", rcs)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if got := s.counts(); got[1] != n || len(got) != 1 {
		t.Fatalf("records by attempts %v", got)
	}
}

// countDone is a requestDone that hands the outcome over.
type countDone struct{ ch chan int }

func (c countDone) requestDone(status int, _ time.Duration, err error) {
	if err != nil {
		status = -1
	}
	c.ch <- status
}

// goAllocs is the allocations of one request r started with snd's Go and
// answered 200, in steady state (after 100 of them).
func goAllocs(t *testing.T, snd Sender, r *Request) float64 {
	t.Helper()
	as := snd.(asyncSender)
	done := countDone{make(chan int, 1)}
	do := func() {
		as.Go(r, time.Now().Add(5*time.Second), done)
		if st := <-done.ch; st != 200 {
			t.Fatalf("status %d", st)
		}
	}
	for i := 0; i < 100; i++ {
		do()
	}
	return testing.AllocsPerRun(1000, do)
}

// outcome is what one request returned, for comparing Do and Go.
type outcome struct {
	status     int
	err        string
	refusal    string
	superseded int
}

type outcomeDone struct {
	r  *Request
	ch chan outcome
}

func (o outcomeDone) requestDone(status int, _ time.Duration, err error) {
	out := outcome{status: status, refusal: o.r.Refusal, superseded: o.r.Superseded}
	if err != nil {
		out.err = err.Error()
	}
	o.ch <- out
}

// An Elasticsearch _bulk answer is checked on the asynchronous path as by
// Do, over HTTP/2 and pipelined HTTP/1.1: a 200 with a rejected action
// reports the item's status and the refusal, then the taken body its 200.
func TestSenderGoChecksBulkBody(t *testing.T) {
	body := []byte(`{"index":{"_index":"users","_id":"a"}}` + "\n{}\n" + `{"index":{"_index":"users","_id":"b"}}` + "\n{}\n")
	for _, proto := range []string{"h2c", "http1-pipelined"} {
		t.Run(proto, func(t *testing.T) {
			run := func(async bool) (got []outcome) {
				h, hits := esBulkServer(2, 429)
				addr := serveH2C(t, h, &http2.Server{}) // h2c's handler serves HTTP/1.1 too
				o := HTTPOptions{URLs: []string{"http://" + addr + "/_bulk"}, MaxConnsPerEndpoint: 1}
				var snd Sender
				var err error
				if proto == "h2c" {
					snd, err = newTestHTTP2(o)
				} else {
					o.Pipeline = true
					snd, err = newTestHTTP1(o)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer snd.Close()
				for i := 0; i < 3; i++ {
					r := &Request{Body: body, ContentType: encode.ContentTypeNDJSON, Records: 2, Check: new(encode.ESBulk)}
					if async {
						done := outcomeDone{r, make(chan outcome, 1)}
						snd.(asyncSender).Go(r, time.Now().Add(5*time.Second), done)
						got = append(got, <-done.ch)
						continue
					}
					st, _, err := snd.Do(r, time.Now().Add(5*time.Second))
					o := outcome{status: st, refusal: r.Refusal, superseded: r.Superseded}
					if err != nil {
						o.err = err.Error()
					}
					got = append(got, o)
				}
				if hits.Load() != 3 {
					t.Fatalf("%d requests", hits.Load())
				}
				return got
			}
			do, goes := run(false), run(true)
			if do[0].status != 429 || do[0].refusal == "" || do[2].status != 200 || do[2].refusal != "" {
				t.Fatalf("Do: %+v", do)
			}
			for i := range do {
				if do[i] != goes[i] {
					t.Fatalf("request %d: Do %+v, Go %+v", i, do[i], goes[i])
				}
			}
		})
	}
}

// A destination that drops its connections (closed, then back on the same
// address) or goes away gracefully (GOAWAY) under load: on the
// asynchronous path as with workers every record is answered exactly once,
// and every record answered 0 reached the destination (at least once).
func TestHTTP2AsyncDestinationRestarts(t *testing.T) {
	for _, graceful := range []bool{false, true} {
		name := "dropped"
		if graceful {
			name = "goaway"
		}
		t.Run(name, func(t *testing.T) {
			bothPaths(t, func(t *testing.T) {
				var mu sync.Mutex
				got := map[string]int{}
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body)
					time.Sleep(time.Millisecond)
					mu.Lock()
					got[r.Header.Get("Idempotency-Key")]++
					mu.Unlock()
				})
				serve := func(addr string) (*http.Server, *trackingListener) {
					var ln net.Listener
					var err error
					for i := 0; i < 100; i++ {
						if ln, err = net.Listen("tcp", addr); err == nil {
							break
						}
						time.Sleep(10 * time.Millisecond)
					}
					if err != nil {
						t.Fatal(err)
					}
					tl := &trackingListener{Listener: ln}
					h2s := &http2.Server{MaxConcurrentStreams: 100}
					srv := &http.Server{Handler: h2c.NewHandler(h, h2s)}
					http2.ConfigureServer(srv, h2s) // Shutdown sends GOAWAY on the h2c connections too
					go srv.Serve(tl)
					return srv, tl
				}
				srv, tl := serve("127.0.0.1:0")
				addr := tl.Addr().String()
				e := startH2Engine(t, addr, Options{ReplyDeadline: 5 * time.Second}, DestinationOptions{
					MaxInFlight: 16, Retry: RetryPolicy{MaxAttempts: 10, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond},
				})
				x := dialXDR(t, e.addr)
				const n = 3000
				go x.c.Write(frames(n))
				for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
					mu.Lock()
					k := len(got)
					mu.Unlock()
					if k >= n/3 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("%d received", k)
					}
				}
				if graceful {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					go func() { srv.Shutdown(ctx); cancel() }()
				} else {
					srv.Close()
					tl.closeAll() // h2c connections are hijacked: Close does not see them
				}
				srv2, tl2 := serve(addr)
				defer srv2.Close()
				rcs := x.replies(t, n, 20*time.Second)
				ok := 0
				for _, rc := range rcs {
					switch rc {
					case wire.RCOK:
						ok++
					case wire.RCRetry, wire.RCTimeout:
					default:
						t.Fatalf("reply %d", rc)
					}
				}
				x.c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				if k, _ := x.r.Read(make([]byte, 1)); k != 0 {
					t.Fatal("a record answered twice")
				}
				mu.Lock()
				defer mu.Unlock()
				// The fault happened under load: connections were dropped and
				// the client dialled the new server. (Whether a request met a
				// transport error depends on timing: h2client re-sends a
				// stream still in its buffer without one.)
				tl.mu.Lock()
				tl2.mu.Lock()
				dropped, redialled := len(tl.conns), len(tl2.conns)
				tl2.mu.Unlock()
				tl.mu.Unlock()
				if dropped == 0 || redialled == 0 {
					t.Fatalf("%d connections dropped, %d dialled to the new server: the fault did not happen under load", dropped, redialled)
				}
				if len(got) < ok || ok < n*9/10 {
					t.Fatalf("%d answered 0, %d distinct records received, of %d", ok, len(got), n)
				}
				if e.InFlight() != 0 {
					t.Fatalf("in flight %d", e.InFlight())
				}
				t.Logf("%d answered 0 of %d; %d records received; %d retries, %d transport errors", ok, n, len(got), e.dest.m.retries.Get(), e.dest.m.requests[0].Get())
			})
		})
	}
}

// trackingListener remembers its connections, to drop them all.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
}

// TestHTTP2GzipKeepsWorkers: an HTTP/2 destination that gzips its bodies
// keeps the workers (compression side by side), one without gzip the
// dispatcher.
func TestHTTP2GzipKeepsWorkers(t *testing.T) {
	for _, gz := range []bool{false, true} {
		snd, err := newTestHTTP2(HTTPOptions{URLs: []string{"http://127.0.0.1:9/"}, Gzip: gz, GzipThreshold: 1024})
		if err != nil {
			t.Fatal(err)
		}
		d := newTestDestination(DestinationOptions{Name: "d", Sender: snd})
		d.e = &Engine{}
		async := d.startAsync()
		if async == gz {
			t.Errorf("gzip %v: asynchronous path %v", gz, async)
		}
		if async {
			d.mu.Lock()
			d.closed = true
			d.mu.Unlock()
			d.cond.Broadcast()
			d.wg.Wait()
		}
		snd.Close()
	}
}
