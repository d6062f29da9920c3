package dataplane

import (
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// A destination that answers before reading the body (a 503 at the
// headers) ends the stream while DATA still waits for flow-control window:
// Do must return with no reference to the body left (h2client drops the
// unsent DATA with the stream and copied what it framed), because the
// caller reuses its buffer at once (under -race, the writes below would
// race with a transport still reading it).
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
		for j := range body {
			body[j] = byte(i) // the buffer's next use
		}
	}
}

// A pipelined HTTP/1.1 request past its deadline leaves no reference to
// its body either: h1client copied it into the connection's write buffer,
// so the caller reuses the buffer at once (under -race, the writes below
// would race with a writer still reading it).
func TestHTTP1PipelineTimeoutFreesTheBody(t *testing.T) {
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
	body := make([]byte, 32<<20)
	r := Request{Body: body, ContentType: "application/json", Records: 1}
	if _, _, err := snd.Do(&r, time.Now().Add(200*time.Millisecond)); err != ErrTimeout {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	for j := range body {
		body[j] = 1 // the buffer's next use
	}
}
