package dataplane

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// The bytes are free when every reader the transport read from is closed,
// or was never read (no stream holds it; x/net returns a dial error without
// closing the body); a reader not read by then gets EOF, not the bytes.
func TestSentBodyRelease(t *testing.T) {
	sb := newSentBody([]byte("abc"))
	r := sb.reader()
	if !sb.release() {
		t.Fatal("a body never read is not released")
	}
	if n, err := r.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("a late Read of a released body got %d bytes, %v", n, err)
	}

	sb = newSentBody([]byte("abc"))
	r = sb.reader()
	if n, _ := r.Read(make([]byte, 1)); n != 1 {
		t.Fatal("read")
	}
	go func() { time.Sleep(20 * time.Millisecond); r.Close() }()
	if !sb.release() {
		t.Fatal("a body closed after a read is not released")
	}

	sb = newSentBody([]byte("abc"))
	sb.reader().Read(make([]byte, 1))
	start := time.Now()
	if sb.release() {
		t.Fatal("a body read and never closed is released")
	}
	if d := time.Since(start); d < closeWait {
		t.Fatalf("gave up after %v, want %v", d, closeWait)
	}
}

// x/net closes the body of an attempt whose connection turned out unusable
// and retries the request: the retry's reader (GetBody) must read the
// whole body from the start, and a reader closed before it read anything
// must not hold the bytes.
func TestSentBodyRetryReadsAgain(t *testing.T) {
	sb := newSentBody([]byte("abcdef"))
	first := sb.reader()
	first.Close() // cleanupWriteRequest, before any read
	if n, err := first.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("a closed reader read %d bytes, %v", n, err)
	}
	rc, _ := sb.getBody()
	got, err := io.ReadAll(rc)
	if err != nil || string(got) != "abcdef" {
		t.Fatalf("the retry read %q, %v; want the whole body", got, err)
	}
	rc.Close()
	if !sb.release() {
		t.Fatal("every reader is closed, yet the body is held")
	}
}

// A destination that answers before reading the body (a 503 at the
// headers) makes x/net return from RoundTrip while it may still be writing.
// Do must not return before the transport let go of the body: the caller
// reuses its buffer at once (under -race, the writes below would race with
// a transport still reading it).
func TestHTTP2DoReturnsWhenTheBodyIsFree(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable) // without reading the body
	})
	srv := &http.Server{Handler: h2c.NewHandler(h, &http2.Server{})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	snd, err := NewHTTP2Sender(testHTTPOptions(HTTPOptions{URLs: []string{"http://" + ln.Addr().String() + "/"}, MaxConnsPerEndpoint: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	body := make([]byte, 4<<20) // far past the 64 KiB flow-control window
	for i := 0; i < 5; i++ {
		r := Request{Body: body, ContentType: "application/json", Records: 1}
		status, _, err := snd.Do(&r, time.Now().Add(5*time.Second))
		if err != nil || status != http.StatusServiceUnavailable {
			t.Fatalf("status %d, %v", status, err)
		}
		if r.Retained {
			t.Fatal("the transport kept the body past the cancelled request")
		}
		for j := range body {
			body[j] = byte(i) // the buffer's next use
		}
	}
}

// A pipelined HTTP/1.1 request past its deadline stays with fasthttp's
// writer, which may write the body later: Do says so (Retained), and the
// destination then leaves the buffer to the garbage collector.
func TestHTTP1PipelineTimeoutRetainsTheBody(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accepts and never reads: the write blocks
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(3 * time.Second)
		}
	}()
	snd, err := NewHTTP1Sender(testHTTPOptions(HTTPOptions{URLs: []string{"http://" + ln.Addr().String() + "/"}, Pipeline: true, MaxConnsPerEndpoint: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	r := Request{Body: make([]byte, 32<<20), ContentType: "application/json", Records: 1}
	if _, _, err := snd.Do(&r, time.Now().Add(200*time.Millisecond)); err != ErrTimeout {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	if !r.Retained {
		t.Fatal("a pipelined body past its deadline is not marked retained")
	}
}
