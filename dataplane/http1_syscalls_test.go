package dataplane

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// countingConn counts the writes and reads that reach the socket: each is
// one syscall (a read may also be the one Go's netpoller makes before it
// waits, answered EAGAIN inside the runtime and not seen here).
type countingConn struct {
	net.Conn
	writes, reads *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) { c.writes.Add(1); return c.Conn.Write(p) }
func (c countingConn) Read(p []byte) (int, error)  { c.reads.Add(1); return c.Conn.Read(p) }

// TestHTTP1OneWritePerRequest: keep-alive HTTP/1.1 writes each request —
// head and a 12 KB body — in one write and reads its response in one read
// (fasthttp's 4 KiB write buffer made it two writes), and sets no socket
// option per request (deadlines are runtime timers).
func TestHTTP1OneWritePerRequest(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if len(b) == 12000 {
			got.Add(1)
		}
	}))
	defer srv.Close()
	snd, err := newTestHTTP1(HTTPOptions{URLs: []string{srv.URL + "/in"}, MaxConnsPerEndpoint: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	var writes, reads, dials atomic.Int64
	h := snd.(*http1Sender).hosts[0]
	h.Dial = func(addr string) (net.Conn, error) {
		dials.Add(1)
		c, err := fasthttp.DialTimeout(addr, time.Second)
		if err != nil {
			return nil, err
		}
		return countingConn{c, &writes, &reads}, nil
	}
	body := bytes.Repeat([]byte("x"), 12000)
	const n = 200
	for i := range n {
		st, _, err := snd.Do(&Request{Body: body, ContentType: "application/json", Records: 1, IdempotencyKey: []byte("k")}, time.Now().Add(5*time.Second))
		if err != nil || st != 200 {
			t.Fatalf("request %d: %d %v", i, st, err)
		}
	}
	if got.Load() != n || dials.Load() != 1 {
		t.Fatalf("server got %d bodies of 12000 bytes over %d connections, want %d over 1", got.Load(), dials.Load(), n)
	}
	if writes.Load() != n || reads.Load() != n {
		t.Fatalf("%d writes and %d reads for %d requests, want one each", writes.Load(), reads.Load(), n)
	}
}

// TestHTTP1PipelinedWritesCoalesce: with many requests outstanding on one
// pipelined connection, a write carries several of them (without the yield
// before each write, about one write per request).
func TestHTTP1PipelinedWritesCoalesce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {}}
	go srv.Serve(ln)
	defer srv.Shutdown()
	var writes, reads, dials atomic.Int64
	snd, err := newTestHTTP1(HTTPOptions{URLs: []string{"http://" + ln.Addr().String() + "/in"}, MaxConnsPerEndpoint: 1, Pipeline: true,
		pipeDial: func(ctx context.Context, addr string) (net.Conn, error) {
			dials.Add(1)
			c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			return countingConn{c, &writes, &reads}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	const workers, each = 64, 100
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range workers {
		wg.Go(func() {
			for range each {
				st, _, err := snd.Do(&Request{Body: []byte(`{"a":1}`), ContentType: "application/json", Records: 1}, time.Now().Add(10*time.Second))
				if err != nil || st != 200 {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 || dials.Load() != 1 {
		t.Fatalf("%d requests failed, %d connections (want 0 and 1)", failed.Load(), dials.Load())
	}
	if per := float64(writes.Load()) / (workers * each); per > 0.25 {
		t.Fatalf("%.2f writes per request (%d for %d), want several requests a write", per, writes.Load(), workers*each)
	} else {
		t.Logf("%.3f writes, %.3f reads per request", per, float64(reads.Load())/(workers*each))
	}
}
