package dataplane

import (
	"bytes"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

// The pipelined head's fast path (an endpoint's prefix and the
// per-request tail) sends the fields fasthttp's header would, with the
// same values: compared line by line, in any order, against the head
// built field by field.
func TestPipelinedHeadFastPathMatches(t *testing.T) {
	snd, err := newTestHTTP1(HTTPOptions{URLs: []string{"http://Example.COM:8080/in/x?q=1"}, Pipeline: true,
		UserAgent: "xdrhook-test", Headers: [][2]string{{"x-team", "search"}, {"Content-Type", "application/vnd.custom"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	s := snd.(*http1Sender)
	if s.prefixes == nil {
		t.Fatal("no fast path for headers that leave the per-request fields alone")
	}
	lines := func(head []byte) (string, []string) {
		ls := bytes.Split(bytes.TrimSuffix(head, []byte("\r\n\r\n")), []byte("\r\n"))
		var out []string
		for _, l := range ls[1:] {
			out = append(out, string(l))
		}
		slices.Sort(out)
		return string(ls[0]), out
	}
	for _, r := range []Request{
		{Body: []byte(`{"a":1}`), ContentType: "application/json", Records: 1},
		{Body: []byte(`{"a":1}` + "\n" + `{"b":2}` + "\n"), ContentType: "application/x-ndjson", Records: 2},
		{Body: []byte(`{"a":1}`), ContentType: "application/json", Records: 1, IdempotencyKey: []byte("3-00ab")},
		{Body: make([]byte, 70000), ContentType: "application/json", Records: 5000},
	} {
		c, _, err := s.preparePipelined(&r)
		if err != nil {
			t.Fatal(err)
		}
		fast := bytes.Clone(c.head)
		s.putCall(c)
		pre := s.prefixes
		s.prefixes = nil
		c, _, err = s.preparePipelined(&r)
		s.prefixes = pre
		if err != nil {
			t.Fatal(err)
		}
		slow := bytes.Clone(c.head)
		s.putCall(c)
		fl, fh := lines(fast)
		sl, sh := lines(slow)
		if fl != sl || !slices.Equal(fh, sh) || !bytes.HasSuffix(fast, []byte("\r\n\r\n")) {
			t.Fatalf("fast path:\n%s\nfield by field:\n%s", fast, slow)
		}
		if !bytes.Contains(fast, []byte("\r\nContent-Type: application/vnd.custom\r\n")) || !bytes.HasPrefix(fast, []byte("POST /in/x?q=1 HTTP/1.1\r\n")) {
			t.Fatalf("head:\n%s", fast)
		}
	}
	for _, h := range [][2]string{{"Content-Length", "1"}, {"idempotency-key", "1"}, {"Xdrhook-Records", "1"}, {"Transfer-Encoding", "1"},
		{"Trailer", "Idempotency-Key"}, {"Content-Type", ""}} {
		snd, err := newTestHTTP1(HTTPOptions{URLs: []string{"http://127.0.0.1:1/"}, Pipeline: true, Headers: [][2]string{h}})
		if err != nil {
			t.Fatal(err)
		}
		if snd.(*http1Sender).prefixes != nil {
			t.Errorf("a destination header %s kept the fast path", h)
		}
		snd.Close()
	}
}

// The outcomes of one-record pipelined HTTP/1.1 requests on the
// asynchronous path are the workers': delivered at once, on the second or
// third attempt, retries exhausted then answered 11, a permanent status
// answered 4 — each record answered once, with the exact number of
// attempts (Go's server: it serves a pipelined connection in order).
func TestHTTP1PipelinedAsyncOutcomes(t *testing.T) {
	const n = 24
	cases := []struct {
		name       string
		failFirst  int
		failStatus int
		rc         byte
		attempts   int // per record
	}{
		{"delivered", 0, 0, wire.RCOK, 1},
		{"second attempt", 1, 503, wire.RCOK, 2},
		{"third attempt", 2, 500, wire.RCOK, 3},
		{"retries exhausted", 3, 503, wire.RCRetry, 3},
		{"permanent", 1, 400, wire.RCParameter, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := startH2Script(t, &h2Script{failFirst: c.failFirst, failStatus: c.failStatus}) // h2c's handler serves HTTP/1.1 too
			snd, err := newTestHTTP1(HTTPOptions{URLs: []string{"http://" + s.addr + "/ingest"}, MaxConnsPerEndpoint: 2, Pipeline: true})
			if err != nil {
				t.Fatal(err)
			}
			e := startEngineOn(t, Options{ReplyDeadline: 5 * time.Second}, ndjsonProfile(), newTestDestination(DestinationOptions{
				Name: "h1", Sender: snd, MaxInFlight: 8, Permanent: StatusRange{400, 400}, CallTimeout: time.Second,
				Retry: RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond},
			}))
			if e.dest.async.slots == nil {
				t.Fatal("a pipelined destination without the asynchronous path")
			}
			s.checkOutcomes(t, e, n, c.rc, c.attempts)
		})
	}
}

// ndjsonProfile is NDJSON of JSON, 100 records or 1 MiB a body at most,
// sealed after 20 ms.
func ndjsonProfile() *Profile {
	return &Profile{
		NewFramer:  func() encode.Framer { return &encode.NDJSON{Enc: &encode.JSON{}} },
		NewEncoder: func() encode.Encoder { return &encode.JSON{} },
		MaxRecords: 100, MaxBytes: 1 << 20, Interval: 20 * time.Millisecond,
	}
}

// A pipelined request started with Go allocates nothing in steady state,
// head, completion and all (fasthttp's server does not allocate either).
func TestHTTP1PipelinedSenderGoAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {}}
	go srv.Serve(ln)
	defer srv.Shutdown()
	snd, err := newTestHTTP1(HTTPOptions{URLs: []string{"http://" + ln.Addr().String() + "/ingest"}, MaxConnsPerEndpoint: 1, Pipeline: true,
		Headers: [][2]string{{"X-Tenant", "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	body := []byte(`{"key":"k","bins":{"a":1}}` + "\n")
	for _, r := range []*Request{
		{Body: body, ContentType: "application/json", Records: 1, IdempotencyKey: []byte("3-0123456789abcdef")}, // the head's fast path
		{Body: body, ContentType: "application/json", Records: 1, Path: []byte("/users/k")},                     // field by field
	} {
		if a := goAllocs(t, snd, r); a != 0 {
			t.Fatalf("%s: %v allocations per request", r.Path, a)
		}
	}
}
