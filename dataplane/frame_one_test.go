package dataplane

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

// oneRecordProfile is batching off with the framing kept (Profile.FrameOne),
// as the config builds it for es-bulk and splunk-hec.
func oneRecordProfile(f func() encode.Framer) *Profile {
	return &Profile{NewFramer: f, FrameOne: true}
}

// With batching off, an es-bulk or splunk-hec body is still that framing,
// holding one record: what the _bulk API and HEC accept (a bare flat-json
// document is answered 400 by both). The single-message headers apply.
func TestFrameOneBodies(t *testing.T) {
	const doc = `{"metadata":{"namespace":"test","set":"s","userKey":0,"digest":"c0aTRBREXZFpiH+a4WI+W49Fiho=","msg":"write","gen":1,"lut":1734388704784,"exp":0},"i":0}`
	for _, tc := range []struct {
		name, contentType, body string
		framer                  func() encode.Framer
	}{
		{"es-bulk", "application/x-ndjson",
			`{"index":{"_index":"s","_id":"7346934414445d9169887f9ae1623e5b8f458a1a"}}` + "\n" + doc + "\n",
			func() encode.Framer { return &encode.ESBulk{} }},
		{"splunk-hec", "application/json",
			`{"time":1734388704.784,"event":` + doc + `,"source":"xdr"}`,
			func() encode.Framer { return &encode.SplunkHEC{Source: "xdr"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCapture(t)
			e := startEngineWith(t, Options{}, c.srv.URL, oneRecordProfile(tc.framer), DestinationOptions{MaxInFlight: 1})
			x := dialXDR(t, e.addr)
			const n = 3
			x.c.Write(frames(n))
			if rcs := x.replies(t, n, 5*time.Second); !allRC(rcs, 0) {
				t.Fatalf("replies %v", rcs)
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			if len(c.bodies) != n {
				t.Fatalf("%d requests, want one per record (%d)", len(c.bodies), n)
			}
			if got := string(c.bodies[0]); got != tc.body {
				t.Fatalf("body\n got %q\nwant %q", got, tc.body)
			}
			h := c.headers[0]
			if h.Get("Content-Type") != tc.contentType {
				t.Fatalf("Content-Type %q, want %q", h.Get("Content-Type"), tc.contentType)
			}
			if k := h.Get("Idempotency-Key"); k != "7346934414445d9169887f9ae1623e5b8f458a1a-1734388704784-1" {
				t.Fatalf("Idempotency-Key %q", k)
			}
		})
	}
}

// A one-record es-bulk body gets the _bulk per-item check: a 200 whose item
// says 429 is not a delivery, and the body is sent again.
func TestFrameOneESBulkItemCheck(t *testing.T) {
	h, requests := esBulkServer(1, 429)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e := startEngineWith(t, Options{}, srv.URL, oneRecordProfile(func() encode.Framer { return &encode.ESBulk{} }),
		DestinationOptions{MaxInFlight: 1, Retry: RetryPolicy{MaxAttempts: 5, InitialBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}})
	x := dialXDR(t, e.addr)
	x.c.Write(frames(1))
	if rcs := x.replies(t, 1, 5*time.Second); rcs[0] != 0 {
		t.Fatalf("reply %d, want 0 after the retry", rcs[0])
	}
	if got := requests.Load(); got != 2 {
		t.Fatalf("%d requests, want 2 (the refused one, then the retry)", got)
	}
	if got := e.dest.m.refusals.Get(); got != 1 {
		t.Fatalf("refusing responses counted %d, want 1", got)
	}
}

// es-bulk with omit-deletes leaves deletes out: with batching off or on, a
// delete sends no request (an empty _bulk body is a 400), is answered 0 and
// counted as skipped for the destination.
func TestOmittedDeletesAreSkipped(t *testing.T) {
	del := record(7)
	del.Kind, del.Bins = wire.KindDelete, nil
	esOmit := func() encode.Framer { return &encode.ESBulk{OmitDeletes: true} }
	for name, p := range map[string]*Profile{
		"batching off": oneRecordProfile(esOmit),
		"batching on":  {NewFramer: esOmit, Batching: true, MaxRecords: 100, MaxBytes: 1 << 20, Interval: 5 * time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			c := newCapture(t)
			e := startEngineWith(t, Options{}, c.srv.URL, p, DestinationOptions{MaxInFlight: 1})
			x := dialXDR(t, e.addr)
			x.c.Write(wire.AppendFrame(nil, del))
			if rcs := x.replies(t, 1, 5*time.Second); rcs[0] != 0 {
				t.Fatalf("reply %d, want 0", rcs[0])
			}
			time.Sleep(30 * time.Millisecond) // past the batch interval
			c.mu.Lock()
			n := len(c.bodies)
			c.mu.Unlock()
			if n != 0 {
				t.Fatalf("%d requests for an omitted delete", n)
			}
			if got := e.dest.m.skipped.Get(); got != 1 {
				t.Fatalf("skipped counted %d, want 1", got)
			}
		})
	}
}

// emptyFramer writes no bytes for a record, as avro-ocf does for a datum of
// a schema with no fields: an empty message, not a record left out.
type emptyFramer struct{}

func (emptyFramer) Begin(dst []byte) []byte { return dst }
func (emptyFramer) Append(dst []byte, _ *wire.Message, _ int64) ([]byte, error) {
	return dst, nil
}
func (emptyFramer) End(dst []byte) []byte { return dst }
func (emptyFramer) ContentType() string   { return "application/octet-stream" }

// Only a framing that says so (encode.Omitter) leaves a record out: a
// message of no bytes is still sent, and answered when the request is.
func TestEmptyMessageIsSentNotSkipped(t *testing.T) {
	c := newCapture(t)
	p := &Profile{NewFramer: func() encode.Framer { return emptyFramer{} }, Batching: true, MaxRecords: 100, MaxBytes: 1 << 20, Interval: 5 * time.Millisecond}
	e := startEngineWith(t, Options{}, c.srv.URL, p, DestinationOptions{MaxInFlight: 1})
	x := dialXDR(t, e.addr)
	x.c.Write(frames(3))
	if rcs := x.replies(t, 3, 5*time.Second); !allRC(rcs, 0) {
		t.Fatalf("replies %v", rcs)
	}
	c.mu.Lock()
	n := len(c.bodies)
	c.mu.Unlock()
	if n == 0 {
		t.Fatal("no request: the empty messages were taken as left out")
	}
	if got := e.dest.m.skipped.Get(); got != 0 {
		t.Fatalf("skipped counted %d, want 0", got)
	}
}
