package h1client

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// post is a request for path with body, as the caller builds it.
func post(path, body string) *Request {
	return &Request{Head: []byte("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n"), Body: []byte(body), KeepBody: true}
}

// writeCounter counts a connection's write syscalls.
type writeCounter struct {
	net.Conn
	n *atomic.Int64
}

func (c writeCounter) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}

// countingDial dials addr and counts the writes on every connection.
func countingDial(addr string, writes *atomic.Int64) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return writeCounter{nc, writes}, nil
	}
}

// echoStatus is the status the test servers answer path /i with.
func echoStatus(i int) int {
	if i%5 == 0 {
		return 202
	}
	return 200
}

// pipelined starts n requests of Go from 4 goroutines against addr, each
// to its own path /i with body "b<i>", and checks every completion runs
// exactly once with the status and body served (the path and the request
// body echoed back). It returns the writes of the client.
func pipelined(t *testing.T, addr string, maxConns, n int) int64 {
	var writes atomic.Int64
	c := New(Options{Addr: addr, MaxConns: maxConns, MaxPending: 64, Dial: countingDial(addr, &writes)})
	defer c.Close()
	resps := make([]Response, n)
	ends := make([]atomic.Int32, n)
	var wg, started sync.WaitGroup
	wg.Add(n)
	const senders = 4
	started.Add(senders)
	for g := 0; g < senders; g++ {
		go func(g int) {
			defer started.Done()
			for i := g; i < n; i += senders {
				body := "b" + strconv.Itoa(i)
				req := post("/"+strconv.Itoa(i), body)
				err := c.Go(req, &resps[i], time.Now().Add(20*time.Second), func(err error) {
					if ends[i].Add(1) != 1 {
						t.Errorf("request %d ended twice", i)
						return
					}
					want := "/" + strconv.Itoa(i) + " " + body
					if err != nil || resps[i].Status != echoStatus(i) || string(resps[i].Body) != want {
						t.Errorf("request %d: %v, status %d, body %q; want %d %q", i, err, resps[i].Status, resps[i].Body, echoStatus(i), want)
					}
					wg.Done()
				})
				if err != nil {
					t.Errorf("Go %d: %v", i, err)
					wg.Done()
				}
			}
		}(g)
	}
	started.Wait()
	waitGroup(t, &wg, 30*time.Second)
	if c.Dialed() < 1 || c.Dialed() > int64(maxConns) {
		t.Errorf("%d connections dialled, MaxConns %d", c.Dialed(), maxConns)
	}
	return writes.Load()
}

// waitGroup waits for wg, failing the test after d.
func waitGroup(t *testing.T, wg *sync.WaitGroup, d time.Duration) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatal("requests not ended")
	}
}

// seen counts the requests a server saw per path.
type seen struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *seen) add(path string) {
	s.mu.Lock()
	if s.n == nil {
		s.n = map[string]int{}
	}
	s.n[path]++
	s.mu.Unlock()
}

// check asserts /0 ... /n-1 were each seen once, and nothing else.
func (s *seen) check(t *testing.T, n int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.n) != n {
		t.Fatalf("the server saw %d paths, want %d", len(s.n), n)
	}
	for i := 0; i < n; i++ {
		if c := s.n["/"+strconv.Itoa(i)]; c != 1 {
			t.Fatalf("the server saw /%d %d times", i, c)
		}
	}
}

// 2,000 pipelined requests against Go's net/http server, over one and two
// connections.
func TestPipelinedNetHTTP(t *testing.T) {
	for _, conns := range []int{1, 2} {
		t.Run(strconv.Itoa(conns), func(t *testing.T) {
			var s seen
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s.add(r.URL.Path)
				b, _ := io.ReadAll(r.Body)
				i, _ := strconv.Atoi(r.URL.Path[1:])
				w.WriteHeader(echoStatus(i))
				fmt.Fprintf(w, "%s %s", r.URL.Path, b)
			}))
			defer srv.Close()
			const n = 2000
			writes := pipelined(t, srv.Listener.Addr().String(), conns, n)
			s.check(t, n)
			if writes >= n {
				t.Fatalf("%d writes for %d requests", writes, n)
			}
			t.Logf("%d writes for %d requests", writes, n)
		})
	}
}

// fastServer serves h on a loopback port until the test ends.
func fastServer(t testing.TB, h fasthttp.RequestHandler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

// The same against fasthttp's server, which reads pipelined requests from
// its buffer and flushes its answers together.
func TestPipelinedFasthttp(t *testing.T) {
	for _, conns := range []int{1, 2} {
		t.Run(strconv.Itoa(conns), func(t *testing.T) {
			var s seen
			addr := fastServer(t, func(ctx *fasthttp.RequestCtx) {
				p := string(ctx.Path())
				s.add(p)
				i, _ := strconv.Atoi(p[1:])
				ctx.SetStatusCode(echoStatus(i))
				fmt.Fprintf(ctx, "%s %s", p, ctx.PostBody())
			})
			const n = 2000
			writes := pipelined(t, addr, conns, n)
			s.check(t, n)
			if writes >= n {
				t.Fatalf("%d writes for %d requests", writes, n)
			}
			t.Logf("%d writes for %d requests", writes, n)
		})
	}
}

// Do, serially, against net/http: the Response reused, a body kept only on
// 2xx, Retry-After and Content-Encoding reported, MaxBody applied.
func TestDoResponseFields(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/busy":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(503)
			io.WriteString(w, "busy, come back")
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			io.WriteString(w, "\x1f\x8b")
		case "/big":
			io.WriteString(w, strings.Repeat("z", 100))
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	c := New(Options{Addr: srv.Listener.Addr().String(), MaxBody: 10})
	defer c.Close()
	var resp Response
	for _, tc := range []struct {
		path     string
		keep     bool
		status   int
		body     string
		ra       string
		gzip     bool
		tooLarge bool
	}{
		{"/ok", true, 200, "ok", "", false, false},
		{"/busy", true, 503, "", "7", false, false},
		{"/ok", false, 200, "", "", false, false},
		{"/gzip", true, 200, "\x1f\x8b", "", true, false},
		{"/big", true, 200, "zzzzzzzzzz", "", false, true},
		{"/ok", true, 200, "ok", "", false, false},
	} {
		req := post(tc.path, "x")
		req.KeepBody = tc.keep
		if err := c.Do(req, &resp, time.Now().Add(10*time.Second)); err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if resp.Status != tc.status || string(resp.Body) != tc.body || string(resp.RetryAfter) != tc.ra ||
			resp.Gzip != tc.gzip || resp.BodyTooLarge != tc.tooLarge {
			t.Fatalf("%s: %+v, want %d %q %q gzip %v too large %v", tc.path, resp, tc.status, tc.body, tc.ra, tc.gzip, tc.tooLarge)
		}
	}
	if c.Dialed() != 1 {
		t.Fatalf("%d connections dialled", c.Dialed())
	}
}

// rawServer is a scripted HTTP/1.1 server on loopback: the test accepts
// its connections and reads and writes their bytes itself.
type rawServer struct {
	t  *testing.T
	ln net.Listener
}

func newRawServer(t *testing.T) *rawServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &rawServer{t, ln}
}

func (s *rawServer) addr() string { return s.ln.Addr().String() }

type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

// accept waits (a bounded time) for the client's next connection.
func (s *rawServer) accept() *rawConn {
	s.t.Helper()
	s.ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	nc, err := s.ln.Accept()
	if err != nil {
		s.t.Fatalf("accept: %v", err)
	}
	s.t.Cleanup(func() { nc.Close() })
	return &rawConn{s.t, nc, bufio.NewReader(nc)}
}

// request reads one request and returns its path.
func (c *rawConn) request() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	r, err := http.ReadRequest(c.br)
	if err != nil {
		c.t.Fatalf("reading a request: %v", err)
	}
	io.Copy(io.Discard, r.Body)
	return r.URL.Path
}

func (c *rawConn) write(s string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// eof waits for the client to close the connection.
func (c *rawConn) eof() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c.br); err != nil {
		c.t.Fatalf("waiting for the client to close: %v", err)
	}
}

func ok(body string) string {
	return "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// outcome is a request's end, as its completion saw it.
type outcome struct {
	i      int
	err    error
	status int
	body   string
	at     time.Duration
}

// flight is requests of Go whose completions are recorded; a second
// completion of one fails the test.
type flight struct {
	t     *testing.T
	c     *Client
	t0    time.Time
	resps []*Response
	ends  []*atomic.Int32
	out   chan outcome
	res   []outcome // the outcomes received, by request
	got   []bool
}

func newFlight(t *testing.T, c *Client) *flight {
	return &flight{t: t, c: c, t0: time.Now(), out: make(chan outcome, 100)}
}

// goReq starts request i (path /i) with its deadline d from now.
func (f *flight) goReq(d time.Duration) int {
	f.t.Helper()
	i := len(f.resps)
	resp, n := new(Response), new(atomic.Int32)
	f.resps, f.ends = append(f.resps, resp), append(f.ends, n)
	err := f.c.Go(post("/"+strconv.Itoa(i), "{}"), resp, time.Now().Add(d), func(err error) {
		if n.Add(1) != 1 {
			f.t.Errorf("request %d ended twice (%v)", i, err)
			return
		}
		f.out <- outcome{i, err, resp.Status, string(resp.Body), time.Since(f.t0)}
	})
	if err != nil {
		f.t.Fatalf("Go %d: %v", i, err)
	}
	return i
}

// wait returns the outcomes of every request started, by request, failing
// the test if one does not end within d.
func (f *flight) wait(d time.Duration) []outcome {
	f.t.Helper()
	for len(f.res) < len(f.resps) {
		f.res, f.got = append(f.res, outcome{}), append(f.got, false)
	}
	timeout := time.After(d)
	for {
		missing := false
		for _, g := range f.got {
			missing = missing || !g
		}
		if !missing {
			return f.res
		}
		select {
		case o := <-f.out:
			f.res[o.i], f.got[o.i] = o, true
		case <-timeout:
			f.t.Fatalf("requests not ended: ended %v", f.got)
		}
	}
}

// none asserts no completion comes within d.
func (f *flight) none(d time.Duration) {
	f.t.Helper()
	select {
	case o := <-f.out:
		f.t.Fatalf("an unexpected completion: %+v (%v)", o, o.err)
	case <-time.After(d):
	}
}

// A response with Connection: close after the first of three pipelined
// requests: the two behind it, unprocessed, are sent again on a new
// connection and answered there; each request ends once.
func TestConnectionCloseResendsTheRest(t *testing.T) {
	s := newRawServer(t)
	c := New(Options{Addr: s.addr(), MaxConns: 1})
	defer c.Close()
	f := newFlight(t, c)
	for i := 0; i < 3; i++ {
		f.goReq(10 * time.Second)
	}
	p := s.accept()
	for i := 0; i < 3; i++ {
		if got := p.request(); got != "/"+strconv.Itoa(i) {
			t.Fatalf("request %d: %s", i, got)
		}
	}
	p.write("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nfirst")
	p.eof()
	p.nc.Close()
	q := s.accept()
	got := []string{q.request(), q.request()}
	if !(got[0] == "/1" && got[1] == "/2" || got[0] == "/2" && got[1] == "/1") {
		t.Fatalf("re-sent %v", got)
	}
	q.write(ok("again " + got[0]))
	q.write(ok("again " + got[1]))
	res := f.wait(10 * time.Second)
	if o := res[0]; o.err != nil || o.status != 200 || o.body != "first" {
		t.Fatalf("request 0: %+v", o)
	}
	for i := 1; i < 3; i++ {
		if o := res[i]; o.err != nil || o.status != 200 || o.body != "again /"+strconv.Itoa(i) {
			t.Fatalf("request %d: %+v", i, o)
		}
	}
	f.none(50 * time.Millisecond)
	if c.Dialed() != 2 {
		t.Fatalf("%d connections dialled", c.Dialed())
	}
}

// The server closes the connection cleanly where a response would start
// (an idle close crossing our requests, a restart): the requests behind
// the last answer were not processed, and are sent again on a new
// connection, where they are answered.
func TestServerClosesMidPipeline(t *testing.T) {
	s := newRawServer(t)
	c := New(Options{Addr: s.addr(), MaxConns: 1})
	defer c.Close()
	f := newFlight(t, c)
	for i := 0; i < 3; i++ {
		f.goReq(10 * time.Second)
	}
	p := s.accept()
	for i := 0; i < 3; i++ {
		p.request()
	}
	p.write(ok("one"))
	p.nc.Close()
	p2 := s.accept()
	p2.request()
	p2.request()
	p2.write(ok("two") + ok("three"))
	res := f.wait(5 * time.Second)
	for i, want := range []string{"one", "two", "three"} {
		if o := res[i]; o.err != nil || o.status != 200 || o.body != want {
			t.Fatalf("request %d: %+v, want %q", i, o, want)
		}
	}
	f.none(50 * time.Millisecond)
	if c.Dialed() != 2 || c.Resent() != 2 {
		t.Fatalf("%d connections dialled, %d requests sent again: want 2 and 2", c.Dialed(), c.Resent())
	}
}

// The server closes in the middle of a response's body: that request ends
// with an error, not with the part of a body.
func TestServerClosesMidBody(t *testing.T) {
	s := newRawServer(t)
	c := New(Options{Addr: s.addr(), MaxConns: 1})
	defer c.Close()
	f := newFlight(t, c)
	f.goReq(10 * time.Second)
	f.goReq(10 * time.Second)
	p := s.accept()
	p.request()
	p.request()
	p.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
	time.Sleep(20 * time.Millisecond)
	p.nc.Close()
	for i, o := range f.wait(5 * time.Second) {
		if o.err == nil {
			t.Fatalf("request %d: %+v", i, o)
		}
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not after 10 s", what)
		}
	}
}

// A server that reads and never answers: the first request ends with
// ErrTimeout at about its deadline, and the two sent behind it, with later
// deadlines, end then too (their answers cannot come before its).
func TestServerNeverAnswers(t *testing.T) {
	s := newRawServer(t)
	c := New(Options{Addr: s.addr(), MaxConns: 1})
	defer c.Close()
	f := newFlight(t, c)
	const dl = 300 * time.Millisecond
	f.goReq(dl)
	f.goReq(20 * time.Second)
	f.goReq(20 * time.Second)
	p := s.accept()
	for i := 0; i < 3; i++ {
		p.request()
	}
	res := f.wait(10 * time.Second)
	if o := res[0]; o.err != ErrTimeout || o.at < dl || o.at > dl+3*time.Second {
		t.Fatalf("request 0: %+v, want ErrTimeout after about %v", o, dl)
	}
	for i := 1; i < 3; i++ {
		if o := res[i]; o.err != errAheadTimedOut || o.at > dl+3*time.Second {
			t.Fatalf("request %d: %+v, want errAheadTimedOut", i, o)
		}
	}
	p.eof()
	waitFor(t, "the connection forgotten", func() bool { return c.Conns() == 0 })
}

// A request whose response has come in part (its head) times out too.
func TestTimeoutMidResponse(t *testing.T) {
	s := newRawServer(t)
	c := New(Options{Addr: s.addr(), MaxConns: 1})
	defer c.Close()
	f := newFlight(t, c)
	f.goReq(300 * time.Millisecond)
	p := s.accept()
	p.request()
	p.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
	if o := f.wait(10 * time.Second)[0]; o.err != ErrTimeout {
		t.Fatalf("%+v, want ErrTimeout", o)
	}
	p.eof()
}

// The idle timeout closes a connection; the next request dials again.
func TestIdleTimeoutCloses(t *testing.T) {
	s := newRawServer(t)
	c := New(Options{Addr: s.addr(), MaxConns: 1, IdleTimeout: 100 * time.Millisecond})
	defer c.Close()
	f := newFlight(t, c)
	f.goReq(10 * time.Second)
	p := s.accept()
	p.request()
	p.write(ok("a"))
	if o := f.wait(5 * time.Second)[0]; o.err != nil || o.body != "a" {
		t.Fatalf("%+v", o)
	}
	if c.Conns() != 1 {
		t.Fatalf("%d connections", c.Conns())
	}
	p.eof() // the client closed it
	waitFor(t, "the connection forgotten", func() bool { return c.Conns() == 0 })
	f.goReq(10 * time.Second)
	q := s.accept()
	if got := q.request(); got != "/1" {
		t.Fatalf("request %s", got)
	}
	q.write(ok("b"))
	if o := f.wait(5 * time.Second)[1]; o.err != nil || o.body != "b" {
		t.Fatalf("%+v", o)
	}
	if c.Dialed() != 2 {
		t.Fatalf("%d dialled", c.Dialed())
	}
}

// ConnTTL: a connection older than it takes no new request; the next one
// goes on a new connection and the old one is closed.
func TestConnTTLRedials(t *testing.T) {
	var conns sync.Map
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RemoteAddr)
	}))
	srv.Config.ConnState = func(nc net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			conns.Store(nc.RemoteAddr().String(), true)
		}
	}
	srv.Start()
	defer srv.Close()
	c := New(Options{Addr: srv.Listener.Addr().String(), MaxConns: 1, ConnTTL: 100 * time.Millisecond, IdleTimeout: time.Minute})
	defer c.Close()
	var resp Response
	req := post("/", "")
	if err := c.Do(req, &resp, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	first := string(resp.Body)
	time.Sleep(150 * time.Millisecond)
	if err := c.Do(req, &resp, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) == first || c.Dialed() != 2 {
		t.Fatalf("second request from %s (first %s), %d dialled", resp.Body, first, c.Dialed())
	}
	waitFor(t, "the old connection closed", func() bool { _, ok := conns.Load(first); return ok })
}

// Close ends every request in flight with ErrClosed — queued, sent, and
// the one whose response is half read — each once; Go then fails at once.
func TestCloseEndsInFlight(t *testing.T) {
	s := newRawServer(t)
	c := New(Options{Addr: s.addr(), MaxConns: 1})
	f := newFlight(t, c)
	for i := 0; i < 3; i++ {
		f.goReq(10 * time.Second)
	}
	p := s.accept()
	for i := 0; i < 3; i++ {
		p.request()
	}
	p.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc") // the reader waits in the first one's body
	time.Sleep(50 * time.Millisecond)
	c.Close()
	for i, o := range f.wait(5 * time.Second) {
		if o.err != ErrClosed {
			t.Fatalf("request %d: %+v, want ErrClosed", i, o)
		}
	}
	f.none(50 * time.Millisecond)
	done := false
	if err := c.Go(post("/", ""), new(Response), time.Now().Add(time.Second), func(error) { done = true }); err != ErrClosed || done {
		t.Fatalf("Go after Close: %v (done called: %v)", err, done)
	}
	if err := c.Do(post("/", ""), new(Response), time.Now().Add(time.Second)); err != ErrClosed {
		t.Fatalf("Do after Close: %v", err)
	}
	p.eof()
	waitFor(t, "the connection forgotten", func() bool { return c.Conns() == 0 })
}

// A request whose connection cannot be dialled: Go returns the dial's
// error and never calls done.
func TestDialFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c := New(Options{Addr: addr})
	defer c.Close()
	var calls atomic.Int32
	err = c.Go(post("/", ""), new(Response), time.Now().Add(5*time.Second), func(error) { calls.Add(1) })
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Fatalf("Go: %v, want the dial's error", err)
	}
	boom := errors.New("boom")
	c2 := New(Options{Addr: "x", Dial: func(context.Context) (net.Conn, error) { return nil, boom }})
	defer c2.Close()
	if err := c2.Go(post("/", ""), new(Response), time.Now().Add(5*time.Second), func(error) { calls.Add(1) }); err != boom {
		t.Fatalf("Go: %v, want boom", err)
	}
	if err := c2.Do(post("/", ""), new(Response), time.Now().Add(5*time.Second)); err != boom {
		t.Fatalf("Do: %v, want boom", err)
	}
	time.Sleep(50 * time.Millisecond)
	if calls.Load() != 0 || c.Conns() != 0 || c.Dialed() != 0 {
		t.Fatalf("done called %d times; %d connections, %d dialled", calls.Load(), c.Conns(), c.Dialed())
	}
}

// A deadline already past: Go fails at once, done is not called.
func TestGoPastDeadline(t *testing.T) {
	c := New(Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	if err := c.Go(post("/", ""), new(Response), time.Now().Add(-time.Second), func(error) { t.Error("done called") }); err != ErrTimeout {
		t.Fatalf("%v", err)
	}
}

// HTTPS against Go's TLS test server: ALPN http/1.1, the certificate
// checked against the pool given.
func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %v %s", r.Proto, r.TLS != nil, r.URL.Path)
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c := New(Options{Addr: srv.Listener.Addr().String(), MaxConns: 1, TLS: &tls.Config{RootCAs: pool}})
	defer c.Close()
	f := newFlight(t, c)
	for i := 0; i < 20; i++ {
		f.goReq(10 * time.Second)
	}
	for i, o := range f.wait(10 * time.Second) {
		if want := "HTTP/1.1 true /" + strconv.Itoa(i); o.err != nil || o.status != 200 || o.body != want {
			t.Fatalf("request %d: %+v, want %q", i, o, want)
		}
	}
	if c.Dialed() != 1 {
		t.Fatalf("%d dialled", c.Dialed())
	}
	// Without the pool the certificate is refused, from Go.
	c2 := New(Options{Addr: srv.Listener.Addr().String(), TLS: &tls.Config{}})
	defer c2.Close()
	var ce *tls.CertificateVerificationError
	if err := c2.Do(post("/", ""), new(Response), time.Now().Add(5*time.Second)); !errors.As(err, &ce) {
		t.Fatalf("%v, want a certificate verification error", err)
	}
}

// A response that arrives whole, with a part of the next one behind it in
// the same read: its request ends at once, not when the next response has
// come in full.
func TestCompletionNotHeldByNextResponse(t *testing.T) {
	s := newRawServer(t)
	c := New(Options{Addr: s.addr(), MaxConns: 1})
	defer c.Close()
	f := newFlight(t, c)
	f.goReq(20 * time.Second)
	f.goReq(20 * time.Second)
	p := s.accept()
	p.request()
	p.request()
	p.write(ok("first") + "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsec")
	select {
	case o := <-f.out:
		if o.i != 0 || o.err != nil || o.body != "first" {
			t.Fatalf("%+v", o)
		}
		f.res, f.got = []outcome{o, {}}, []bool{true, false}
	case <-time.After(5 * time.Second):
		t.Fatal("the first request did not end while the second's response was incomplete")
	}
	p.write("ond")
	if o := f.wait(5 * time.Second)[1]; o.err != nil || o.body != "second" {
		t.Fatalf("%+v", o)
	}
}

// Requests that start together on a new Client dial MaxConns connections,
// no more: one that saw no connection open before another's dial ended
// must not dial one more.
func TestMaxConnsNotExceeded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	for round := 0; round < 50; round++ {
		var dials atomic.Int32
		c := New(Options{Addr: addr, MaxConns: 1, Dial: func(ctx context.Context) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		}})
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var resp Response
				if err := c.Do(post("/", ""), &resp, time.Now().Add(10*time.Second)); err != nil || resp.Status != 200 {
					t.Errorf("%d, %v", resp.Status, err)
				}
			}()
		}
		wg.Wait()
		c.Close()
		if n := dials.Load(); n != 1 || c.Dialed() != 1 {
			t.Fatalf("round %d: %d dials (%d counted) with MaxConns 1", round, n, c.Dialed())
		}
	}
}

// A server that answers the first request of each connection with
// Connection: close: the requests behind it are sent again, each at most
// maxUnprocessed times more, then end with ErrNotProcessed. 7 requests:
// connection r (1..5) gets the 8-r not answered yet and answers one; the
// 2 left after the fifth fail.
func TestResendLimit(t *testing.T) {
	s := newRawServer(t)
	c := New(Options{Addr: s.addr(), MaxConns: 1})
	defer c.Close()
	f := newFlight(t, c)
	for i := 0; i < 7; i++ {
		f.goReq(20 * time.Second)
	}
	answered := map[string]bool{}
	for r := 1; r <= maxUnprocessed+1; r++ {
		p := s.accept()
		var paths []string
		for i := 0; i < 8-r; i++ {
			paths = append(paths, p.request())
		}
		if answered[paths[0]] {
			t.Fatalf("%s sent again after its answer", paths[0])
		}
		answered[paths[0]] = true
		p.write("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(paths[0])) + "\r\n\r\n" + paths[0])
		p.eof()
		p.nc.Close()
	}
	var nOK, nNot int
	for i, o := range f.wait(10 * time.Second) {
		path := "/" + strconv.Itoa(i)
		switch {
		case o.err == nil && o.status == 200 && o.body == path && answered[path]:
			nOK++
		case o.err == ErrNotProcessed && !answered[path]:
			nNot++
		default:
			t.Fatalf("request %d: %+v (%v), answered %v", i, o, o.err, answered[path])
		}
	}
	if nOK != 5 || nNot != 2 || c.Dialed() != 5 || c.Resent() != 6+5+4+3 {
		t.Fatalf("%d ok, %d not processed, %d dialled, %d re-sent", nOK, nNot, c.Dialed(), c.Resent())
	}
	f.none(50 * time.Millisecond)
}

// Every connection has MaxPending requests unanswered: Go waits for an
// answer, and returns ErrTimeout without calling done if none comes by its
// deadline.
func TestMaxPendingWaits(t *testing.T) {
	s := newRawServer(t)
	c := New(Options{Addr: s.addr(), MaxConns: 1, MaxPending: 2})
	defer c.Close()
	f := newFlight(t, c)
	f.goReq(20 * time.Second)
	f.goReq(20 * time.Second)
	p := s.accept()
	p.request()
	p.request()
	t0 := time.Now()
	if err := c.Go(post("/late", ""), new(Response), time.Now().Add(200*time.Millisecond), func(error) { t.Error("done called") }); err != ErrTimeout {
		t.Fatalf("Go: %v, want ErrTimeout", err)
	}
	if d := time.Since(t0); d < 200*time.Millisecond {
		t.Fatalf("Go returned after %v, before its deadline", d)
	}
	started := make(chan error, 1)
	go func() {
		resp := new(Response)
		started <- c.Go(post("/third", ""), resp, time.Now().Add(20*time.Second), func(err error) {
			f.out <- outcome{2, err, resp.Status, string(resp.Body), 0}
		})
	}()
	select {
	case err := <-started:
		t.Fatalf("Go returned (%v) with 2 requests pending, MaxPending 2", err)
	case <-time.After(100 * time.Millisecond):
	}
	p.write(ok("zero"))
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	if got := p.request(); got != "/third" {
		t.Fatalf("request %s", got)
	}
	p.write(ok("one") + ok("three"))
	f.resps = append(f.resps, nil) // the third's outcome comes on f.out
	for i, want := range []string{"zero", "one", "three"} {
		if o := f.wait(5 * time.Second)[i]; o.err != nil || o.body != want {
			t.Fatalf("request %d: %+v", i, o)
		}
	}
	if c.Dialed() != 1 {
		t.Fatalf("%d dialled", c.Dialed())
	}
}

// A call queued on a new connection before its timer exists — another
// request finds the connection in c.conns while its dialler has not called
// run yet — is timed from its deadline, not a period later (up to 1 s).
func TestDeadlineQueuedBeforeRun(t *testing.T) {
	s := newRawServer(t)
	c := New(Options{Addr: s.addr(), IdleTimeout: time.Minute})
	nc, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	cc := newConn(c, nc)
	c.mu.Lock()
	c.conns.Store(&[]*conn{cc}) // as maybeDial does, before run
	c.mu.Unlock()
	errs := make(chan error, 1)
	k := c.calls.Get().(*call)
	dl := time.Now().Add(500 * time.Millisecond) // the period is 1 s
	k.req, k.resp, k.deadline, k.done, k.sent = post("/", ""), new(Response), dl, func(err error) { errs <- err }, 1
	if !cc.enqueue(k, time.Now()) {
		t.Fatal("not queued")
	}
	cc.run()
	cc.mu.Lock()
	at, closed := cc.timerAt, cc.closed
	cc.mu.Unlock()
	if closed {
		t.Skip("the machine stalled past the deadline before the look at the timer")
	}
	if !at.Equal(dl) {
		t.Fatalf("the timer fires in %v, the deadline is in %v", time.Until(at), time.Until(dl))
	}
	select {
	case err := <-errs:
		if err != ErrTimeout {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not ended")
	}
	c.Close()
}

// Many requests of Go at once over two connections while some time out —
// in the server (a slow answer) or before they are sent: each completion
// runs once; a request ends answered, with ErrTimeout, or with
// errAheadTimedOut (behind one that timed out on its connection); calls go
// round the pool under load (run with -race).
func TestGoConcurrentWithDeadlines(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/slow") {
			time.Sleep(30 * time.Millisecond)
		}
		io.WriteString(w, r.URL.Path)
	}))
	defer srv.Close()
	c := New(Options{Addr: srv.Listener.Addr().String(), MaxConns: 2, MaxPending: 16})
	defer c.Close()
	const senders, each = 8, 150
	var ok, timedOut, behind, calls, started atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var resp Response
			done := make(chan error, 2)
			for i := 0; i < each; i++ {
				path := "/" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
				dl := time.Now().Add(10 * time.Second)
				if i%11 == g%11 {
					path = "/slow" + path
					dl = time.Now().Add(time.Duration(i%3) * 10 * time.Millisecond) // some past at once, some in flight
				}
				err := c.Go(post(path, "x"), &resp, dl, func(err error) { calls.Add(1); done <- err })
				if err == nil {
					started.Add(1)
					err = <-done
				}
				switch {
				case err == nil && resp.Status == 200 && string(resp.Body) == path:
					ok.Add(1)
				case err == ErrTimeout:
					timedOut.Add(1)
				case err == errAheadTimedOut:
					behind.Add(1)
				default:
					t.Errorf("%s: status %d %q, %v", path, resp.Status, resp.Body, err)
					return
				}
			}
			select {
			case err := <-done:
				t.Errorf("a completion called twice: %v", err)
			case <-time.After(10 * time.Millisecond):
			}
		}(g)
	}
	wg.Wait()
	if ok.Load()+timedOut.Load()+behind.Load() != senders*each || ok.Load() < senders*each/2 {
		t.Fatalf("%d ok, %d timed out, %d behind of %d", ok.Load(), timedOut.Load(), behind.Load(), senders*each)
	}
	if calls.Load() != started.Load() {
		t.Fatalf("%d completions for %d requests started (Go returned nil)", calls.Load(), started.Load())
	}
	t.Logf("%d ok, %d timed out, %d behind one that timed out, %d completions, %d dialled, %d re-sent",
		ok.Load(), timedOut.Load(), behind.Load(), calls.Load(), c.Dialed(), c.Resent())
}

// A server that reads nothing: the write stalls, WriteTimeout fails the
// connection, and the request ends with the write's timeout well before
// its own deadline.
func TestWriteTimeout(t *testing.T) {
	s := newRawServer(t)
	c := New(Options{Addr: s.addr(), MaxConns: 1, WriteTimeout: 200 * time.Millisecond})
	defer c.Close()
	f := newFlight(t, c)
	big := strings.Repeat("x", 32<<20) // more than the sockets' buffers
	resp := new(Response)
	f.resps, f.ends = append(f.resps, resp), append(f.ends, new(atomic.Int32))
	if err := c.Go(post("/big", big), resp, time.Now().Add(30*time.Second), func(err error) { f.out <- outcome{0, err, 0, "", time.Since(f.t0)} }); err != nil {
		t.Fatal(err)
	}
	s.accept() // and never read
	o := f.wait(20 * time.Second)[0]
	if !errors.Is(o.err, os.ErrDeadlineExceeded) || !strings.Contains(o.err.Error(), "write") {
		t.Fatalf("%+v (%v), want the write's timeout", o, o.err)
	}
	waitFor(t, "the connection forgotten", func() bool { return c.Conns() == 0 })
}

// A failed dial is not paid again by every request for dialBackoff: with
// one connection open and busy, the requests queue on it instead.
func TestDialFailureBacksOff(t *testing.T) {
	s := newRawServer(t)
	var dials atomic.Int32
	c := New(Options{Addr: s.addr(), MaxConns: 2, Dial: func(ctx context.Context) (net.Conn, error) {
		if dials.Add(1) > 1 {
			return nil, errors.New("refused")
		}
		return (&net.Dialer{}).DialContext(ctx, "tcp", s.addr())
	}})
	defer c.Close()
	f := newFlight(t, c)
	for i := 0; i < 4; i++ {
		f.goReq(10 * time.Second)
	}
	p := s.accept()
	for i := 0; i < 4; i++ {
		p.request()
	}
	p.write(ok("a") + ok("b") + ok("c") + ok("d"))
	for i, o := range f.wait(5 * time.Second) {
		if o.err != nil || o.status != 200 {
			t.Fatalf("request %d: %+v", i, o)
		}
	}
	// The second dial runs on a goroutine of its own, maybe after the
	// responses: wait for it, then make sure no third follows at once.
	for deadline := time.Now().Add(5 * time.Second); dials.Load() < 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if n := dials.Load(); n != 2 {
		t.Fatalf("%d dials, want 2: the one that worked, one that failed", n)
	}
}

// A request queued behind others that passes its deadline ends at once
// with ErrTimeout, without closing the connection: the one ahead of it,
// maybe processed already, is answered, the late one's response is
// dropped, and the one behind gets its own.
func TestTimeoutBehindDoesNotCutAhead(t *testing.T) {
	s := newRawServer(t)
	c := New(Options{Addr: s.addr(), MaxConns: 1})
	defer c.Close()
	f := newFlight(t, c)
	f.goReq(10 * time.Second)
	f.goReq(100 * time.Millisecond)
	f.goReq(10 * time.Second)
	p := s.accept()
	for i := 0; i < 3; i++ {
		p.request()
	}
	select {
	case o := <-f.out:
		if o.i != 1 || !errors.Is(o.err, ErrTimeout) {
			t.Fatalf("first to end: %+v, want request 1 with ErrTimeout", o)
		}
		f.res, f.got = []outcome{{}, o, {}}, []bool{false, true, false}
	case <-time.After(5 * time.Second):
		t.Fatal("the request past its deadline did not end")
	}
	p.write(ok("zero") + ok("one, late") + ok("two"))
	res := f.wait(5 * time.Second)
	if res[0].err != nil || res[0].body != "zero" || res[2].err != nil || res[2].body != "two" {
		t.Fatalf("outcomes %+v", res)
	}
	f.none(50 * time.Millisecond)
	if c.Dialed() != 1 {
		t.Fatalf("%d connections dialled, want 1", c.Dialed())
	}
}

// A response framed two ways (Transfer-Encoding and Content-Length) closes
// the connection, and the request sent behind it ends with a transport
// error, not re-sent: the server did not say it would not process it.
func TestDistrustedFramingDoesNotResend(t *testing.T) {
	s := newRawServer(t)
	c := New(Options{Addr: s.addr(), MaxConns: 1})
	defer c.Close()
	f := newFlight(t, c)
	f.goReq(10 * time.Second)
	f.goReq(10 * time.Second)
	p := s.accept()
	p.request()
	p.request()
	p.write("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
	res := f.wait(5 * time.Second)
	if res[0].err != nil || res[0].body != "ok" {
		t.Fatalf("request 0: %+v", res[0])
	}
	if res[1].err == nil || errors.Is(res[1].err, ErrTimeout) || !errors.Is(res[1].err, errDistrust) {
		t.Fatalf("request 1: %+v, want the connection's failure", res[1])
	}
	if c.Resent() != 0 || c.Dialed() != 1 {
		t.Fatalf("resent %d, dialled %d: want 0 and 1", c.Resent(), c.Dialed())
	}
}

// WriteTimeout is renewed per chunk written: a request far larger than
// what the socket buffers hold and the server reads within it goes out, at
// the server's pace.
func TestWriteTimeoutPerChunk(t *testing.T) {
	s := newRawServer(t)
	const wt = 400 * time.Millisecond
	c := New(Options{Addr: s.addr(), MaxConns: 1, WriteTimeout: wt})
	defer c.Close()
	body := strings.Repeat("x", 16<<20)
	req := &Request{Head: []byte("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"), Body: []byte(body)}
	errc := make(chan error, 1)
	var resp Response
	go func() { errc <- c.Do(req, &resp, time.Now().Add(60*time.Second)) }()
	p := s.accept()
	p.nc.(*net.TCPConn).SetReadBuffer(64 << 10)
	p.nc.SetReadDeadline(time.Now().Add(50 * time.Second))
	start := time.Now()
	buf := make([]byte, 64<<10)
	for n := 0; n < len(req.Head)+len(body); {
		k, err := p.br.Read(buf)
		if err != nil {
			t.Fatalf("after %d bytes: %v", n, err)
		}
		n += k
		time.Sleep(5 * time.Millisecond) // at most 13 MB/s: 16 MiB take 1.3 s or more, a 256 KiB chunk ~20 ms
	}
	if d := time.Since(start); d < 3*wt {
		t.Fatalf("read in %v: the write never waited longer than WriteTimeout (%v)", d, wt)
	}
	p.write(ok("done"))
	if err := <-errc; err != nil || resp.Status != 200 {
		t.Fatalf("status %d, %v", resp.Status, err)
	}
}
