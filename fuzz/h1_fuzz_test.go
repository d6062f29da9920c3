package fuzz

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/h1client"
)

// FuzzH1Responses feeds arbitrary server bytes, cut at the points cuts
// gives, to h1client's reader with three pipelined requests in flight on
// one connection, sent with Do (a goroutine waiting for each) and again
// with Go (completions run by the reader); then the server's side closes.
// Whatever the bytes, nothing panics, and every request ends exactly once
// — a final response (status 200..999: 1xx are skipped, 101 refused) with
// a kept body within MaxBody, or an error — none hangs. A request the
// server did not process (behind Connection: close) would be re-sent on a
// new connection, which the fake server refuses: it ends with that error.
func FuzzH1Responses(f *testing.F) {
	ok := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	f.Add([]byte(ok+ok+ok), []byte{10, 40, 3})
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n"+
		"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 4\r\n\r\nbusy"+
		"HTTP/1.1 204 No Content\r\n\r\n"), []byte{7, 30, 1, 90})
	f.Add([]byte(ok+"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"+ok), []byte{})
	f.Add([]byte("HTTP/1.0 200 OK\r\nContent-Encoding: gzip\r\n\r\nuntil the end"), []byte{2})
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"+ok), []byte{200})
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\n\r\n"), []byte{})
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"+string(make([]byte, 100))+ok+ok), []byte{1, 1, 1})
	f.Add([]byte("HTTP/1.1 200 OK\r\n X: folded\r\n\r\n"), []byte{})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		if len(data) > 1<<16 {
			return
		}
		fuzzH1Responses(t, data, cuts, false)
		fuzzH1Responses(t, data, cuts, true)
	})
}

// fuzzH1Responses is one run of FuzzH1Responses: the requests sent with
// Go when async, else with Do.
func fuzzH1Responses(t *testing.T, data, cuts []byte, async bool) {
	const maxBody = 64
	cl, srv := net.Pipe()
	defer srv.Close()
	var once sync.Once
	c := h1client.New(h1client.Options{Addr: "fuzz", MaxConns: 1, ConnectTimeout: time.Second, MaxBody: maxBody,
		Dial: func(context.Context) (net.Conn, error) {
			var nc net.Conn
			once.Do(func() { nc = cl })
			if nc == nil {
				return nil, errors.New("one connection only")
			}
			return nc, nil
		}})
	defer c.Close()
	// The server's reader: three requests mean three in flight; then it
	// reads and drops whatever comes (net.Pipe has no buffer).
	inFlight := make(chan struct{})
	go func() {
		br := bufio.NewReader(srv)
		for n := 0; n < 3; n++ {
			r, err := http.ReadRequest(br)
			if err != nil {
				io.Copy(io.Discard, br)
				return
			}
			io.Copy(io.Discard, r.Body)
		}
		close(inFlight)
		io.Copy(io.Discard, br)
	}()
	type res struct {
		status int
		body   int
		err    error
	}
	results := make(chan res, 3)
	var ends [3]atomic.Int32 // completions per request of Go
	for i := 0; i < 3; i++ {
		req := &h1client.Request{Head: []byte("POST /" + string(rune('a'+i)) + " HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 2\r\n\r\n"),
			Body: []byte("{}"), KeepBody: true}
		resp := new(h1client.Response)
		if !async {
			go func() {
				err := c.Do(req, resp, time.Now().Add(5*time.Second))
				results <- res{resp.Status, len(resp.Body), err}
			}()
			continue
		}
		done := func(err error) {
			if ends[i].Add(1) == 1 {
				results <- res{resp.Status, len(resp.Body), err}
			}
		}
		if err := c.Go(req, resp, time.Now().Add(5*time.Second), done); err != nil {
			ends[i].Add(1)
			results <- res{0, 0, err}
		}
	}
	select {
	case <-inFlight:
	case <-time.After(5 * time.Second):
		t.Fatal("requests not sent")
	}
	srv.SetWriteDeadline(time.Now().Add(5 * time.Second))
	rest := data
	for _, cut := range cuts {
		if len(rest) == 0 {
			break
		}
		n := int(cut) % (len(rest) + 1)
		if _, err := srv.Write(rest[:n]); err != nil {
			rest = nil
			break
		}
		rest = rest[n:]
	}
	srv.Write(rest)
	srv.Close()
	for i := 0; i < 3; i++ {
		select {
		case r := <-results:
			if r.err == nil && (r.status < 200 || r.status > 999 || r.body > maxBody) {
				t.Fatalf("status %d, a body of %d bytes, without an error", r.status, r.body)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a request hung")
		}
	}
	c.Close()
	for i := range ends {
		if n := ends[i].Load(); async && n != 1 {
			t.Fatalf("request %d of Go ended %d times", i, n)
		}
	}
}
