package dataplane

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
)

// echoBackend is a Go net/http server that takes one-record requests: it
// checks that the body is the one its Idempotency-Key names (so head and
// body of one request were not mixed with another's), counts the
// deliveries of each key and answers the key, so that the client can check
// each response went to its request.
type echoBackend struct {
	addr  string
	mu    sync.Mutex
	got   map[string]int
	bad   atomic.Int64
	conns atomic.Int64
}

// pipeBody is request i's body: distinct per request, ~150 bytes like a
// small json record.
func pipeBody(key string) []byte {
	return fmt.Appendf(nil, `{"metadata":{"key":%q,"namespace":"test","set":"s1","gen":1},"bins":{"name":"Ada Lovelace","age":36,"score":98.25}}`, key)
}

func newEchoBackend(t *testing.T) *echoBackend {
	t.Helper()
	b := &echoBackend{got: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := r.Header.Get("Idempotency-Key")
			body, err := io.ReadAll(r.Body)
			if err != nil || key == "" || !bytes.Equal(body, pipeBody(key)) {
				b.bad.Add(1)
				http.Error(w, "body does not match its key", http.StatusBadRequest)
				return
			}
			b.mu.Lock()
			b.got[key]++
			b.mu.Unlock()
			w.Write([]byte(key))
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				b.conns.Add(1)
			}
		},
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	b.addr = ln.Addr().String()
	return b
}

// echoCheck is a request's check of its response: the body must be its
// own key.
type echoCheck string

func (k echoCheck) CheckResponse(body []byte) (int, int, string) {
	if string(body) != string(k) {
		return 599, 0, fmt.Sprintf("answer %q for request %q", body, string(k))
	}
	return 0, 0, ""
}

// pipelineRun is what pipelineThrough measured.
type pipelineRun struct {
	requests, writes, dials int64
	maxPending              int          // the most requests outstanding on the client at once (sampled)
	retried                 atomic.Int64 // attempts that met a transport error (each sent again)
	resent                  int64        // requests h1client sent again, not processed by the server
	past3                   atomic.Int64 // requests that needed more than 3 attempts
	errs                    []string
}

// pipelineThrough sends n one-record requests to url from 64 goroutines
// over one pipelined connection at a time (http1-pipelining,
// max-connections-per-endpoint 1), each retried on a transport error as
// the destination would (3 attempts by default, after which XDR re-sends;
// here up to 10, counting the requests that needed more). It samples the requests
// outstanding on the client: more than one on one connection is
// pipelining.
func pipelineThrough(t *testing.T, url string, n int) *pipelineRun {
	t.Helper()
	var writes, reads, dials atomic.Int64
	snd, err := newTestHTTP1(HTTPOptions{URLs: []string{url}, Pipeline: true, MaxConnsPerEndpoint: 1,
		pipeDial: func(ctx context.Context, addr string) (net.Conn, error) {
			dials.Add(1)
			c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			return countingConn{c, &writes, &reads}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	run := &pipelineRun{requests: int64(n)}
	pc := snd.(*http1Sender).pipes[0]
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Microsecond):
			}
			run.maxPending = max(run.maxPending, pc.Pending())
		}
	}()
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				key := "k" + strconv.FormatInt(i, 10)
				r := &Request{Body: pipeBody(key), ContentType: "application/json", Records: 1, IdempotencyKey: []byte(key), Check: echoCheck(key)}
				var st int
				var err error
				for attempt := 1; attempt <= 10; attempt++ {
					st, _, err = snd.Do(r, time.Now().Add(10*time.Second))
					if err == nil {
						if attempt > 3 {
							run.past3.Add(1)
						}
						break
					}
					run.retried.Add(1)
				}
				if err != nil || st != 200 || r.Refusal != "" {
					mu.Lock()
					run.errs = append(run.errs, fmt.Sprintf("%s: status %d, err %v, %s", key, st, err, r.Refusal))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	run.writes, run.dials = writes.Load(), dials.Load()
	run.resent = pc.Resent()
	return run
}

// checkDelivered: every key reached the backend exactly once, whole, and
// every response went to its own request.
func checkDelivered(t *testing.T, b *echoBackend, run *pipelineRun) {
	t.Helper()
	if len(run.errs) > 0 {
		t.Errorf("%d of %d requests failed, e.g. %s", len(run.errs), run.requests, run.errs[0])
	}
	if b.bad.Load() != 0 {
		t.Errorf("%d bodies did not match their key", b.bad.Load())
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	missing, dup := 0, 0
	for i := range run.requests {
		switch b.got["k"+strconv.FormatInt(i, 10)] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	if missing != 0 || dup != 0 || int64(len(b.got)) != run.requests {
		t.Errorf("%d keys received of %d: %d missing, %d more than once", len(b.got), run.requests, missing, dup)
	}
}

// TestHTTP1PipeliningInterop sends 3,000 pipelined one-record requests
// with distinct bodies through real servers — Go's net/http directly, and
// nginx, HAProxy and Apache as reverse proxies in front of it (each with
// its default keep-alive limits) — from 64 goroutines over one connection
// at a time, and checks that each was delivered once, whole, and answered
// with its own response, and that requests were outstanding together on
// the connection (pipelined). nginx (keepalive_requests 1000) and Apache
// (MaxKeepAliveRequests 100) close the connection after that many
// responses: the requests pipelined behind the last one fail with EOF,
// unprocessed, and go again on a new connection. The figures go to
// docs/http1-pipelining.md.
func TestHTTP1PipeliningInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("system tier: runs nginx, haproxy and apache2; run by make test-system")
	}
	const n = 3000
	cases := []struct {
		name  string
		front func(t *testing.T, backend string) string // the URL to send to
	}{
		{"go-net-http", func(t *testing.T, backend string) string { return "http://" + backend + "/in" }},
		{"nginx", func(t *testing.T, backend string) string {
			ng := harness.NewNginx(t)
			ng.Start(t, "", fmt.Sprintf("    location / { proxy_pass http://%s; proxy_http_version 1.1; proxy_set_header Connection \"\"; }", backend))
			return "http://" + ng.Addr + "/in"
		}},
		{"haproxy", func(t *testing.T, backend string) string {
			hp := harness.NewHAProxy(t)
			hp.Start(t, "http", "  server s1 "+backend+"\n")
			return "http://" + hp.Addr + "/in"
		}},
		{"apache", func(t *testing.T, backend string) string {
			ap := harness.NewApache(t)
			ap.Start(t, []string{"proxy", "proxy_http"}, fmt.Sprintf("ProxyPass / http://%s/", backend))
			return "http://" + ap.Addr + "/in"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newEchoBackend(t)
			url := c.front(t, b.addr)
			start := time.Now()
			run := pipelineThrough(t, url, n)
			t.Logf("%s: %d requests in %v over %d connection(s) (the backend saw %d), up to %d outstanding, %d writes, %d sent again by the client (not processed: Connection: close ahead), %d sent again after a transport error, %d needed more than 3 attempts",
				c.name, n, time.Since(start).Round(time.Millisecond), run.dials, b.conns.Load(), run.maxPending, run.writes, run.resent, run.retried.Load(), run.past3.Load())
			checkDelivered(t, b, run)
			if run.maxPending < 8 {
				t.Errorf("at most %d requests outstanding: not pipelined", run.maxPending)
			}
		})
	}
}
