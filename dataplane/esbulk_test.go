package dataplane

import (
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

// esBulkServer answers every _bulk request 200, as Elasticsearch does, and
// reports per item: the first `rejected` requests get one action rejected
// with the given item status, the rest are taken.
func esBulkServer(rejected int64, itemStatus int) (http.Handler, *atomic.Int64) {
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if n.Add(1) <= rejected {
			w.Write([]byte(`{"took":2,"errors":true,"items":[{"index":{"_index":"users","_id":"a","status":201}},` +
				`{"index":{"_index":"users","_id":"b","status":` + strconv.Itoa(itemStatus) + `,"error":{"type":"some_exception","reason":"refused"}}}]}`))
			return
		}
		w.Write([]byte(`{"took":2,"errors":false,"items":[{"index":{"_index":"users","_id":"a","status":201}},{"index":{"_index":"users","_id":"b","status":201}}]}`))
	})
	return h, &n
}

func esDestination(t *testing.T, snd Sender, permanent StatusSet) *Destination {
	t.Helper()
	o := DestinationOptions{Name: "es", Sender: snd, Retry: RetryPolicy{MaxAttempts: 5, InitialBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}}
	if permanent != nil {
		o.Permanent = permanent
	}
	d := newTestDestination(o)
	e := &Engine{opts: Options{ReplyDeadline: 8 * time.Second}, stopping: make(chan struct{}), m: newEngineMetrics(), log: slog.New(slog.DiscardHandler)}
	d.e, d.m = e, newDestMetrics(e.m.set, d)
	return d
}

// A 200 whose bulk items say some actions were rejected (429) is not a
// delivery: the body is sent again until every action is taken. An item
// refused for good (400, listed as permanent) drops the records (reply 4),
// and without that listing they are retried. Over HTTP/1.1 (fasthttp) and
// h2c (x/net/http2) against real servers.
func TestESBulkItemFailuresAreNotDeliveries(t *testing.T) {
	body := []byte(`{"index":{"_index":"users","_id":"a"}}` + "\n{}\n" + `{"index":{"_index":"users","_id":"b"}}` + "\n{}\n")
	newSender := map[string]func(t *testing.T, h http.Handler) Sender{
		"http1": func(t *testing.T, h http.Handler) Sender {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: h}
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })
			snd, err := newTestHTTP1(HTTPOptions{URLs: []string{"http://" + ln.Addr().String() + "/_bulk"}})
			if err != nil {
				t.Fatal(err)
			}
			return snd
		},
		"h2c": func(t *testing.T, h http.Handler) Sender {
			addr := serveH2C(t, h, &http2.Server{})
			snd, err := newTestHTTP2(HTTPOptions{URLs: []string{"http://" + addr + "/_bulk"}, MaxConnsPerEndpoint: 1})
			if err != nil {
				t.Fatal(err)
			}
			return snd
		},
	}
	for name, mk := range newSender {
		t.Run(name+"/rejected then taken", func(t *testing.T) {
			h, hits := esBulkServer(2, 429)
			d := esDestination(t, mk(t, h), nil)
			req := &Request{Body: body, ContentType: encode.ContentTypeNDJSON, Records: 2, Check: new(encode.ESBulk)}
			if rc := d.deliver(req, time.Now().UnixMilli()); rc != wire.RCOK {
				t.Fatalf("rc %d", rc)
			}
			if hits.Load() != 3 {
				t.Fatalf("%d requests, want 3 (two refused in part, one taken)", hits.Load())
			}
			if got := d.m.refusals.Get(); got != 2 {
				t.Fatalf("refusals counted %d, want 2", got)
			}
			if got := d.m.retries.Get(); got != 2 {
				t.Fatalf("retries counted %d, want 2", got)
			}
		})
		t.Run(name+"/refused for good", func(t *testing.T) {
			h, hits := esBulkServer(100, 400)
			d := esDestination(t, mk(t, h), StatusRange{400, 400})
			req := &Request{Body: body, ContentType: encode.ContentTypeNDJSON, Records: 2, Check: new(encode.ESBulk)}
			if rc := d.deliver(req, time.Now().UnixMilli()); rc != wire.RCParameter {
				t.Fatalf("rc %d, want %d", rc, wire.RCParameter)
			}
			if hits.Load() != 1 || !strings.Contains(req.Refusal, "1 of 2 bulk actions failed; status 400") {
				t.Fatalf("%d requests, refusal %q", hits.Load(), req.Refusal)
			}
		})
		t.Run(name+"/refused, not listed as permanent", func(t *testing.T) {
			h, hits := esBulkServer(100, 400)
			d := esDestination(t, mk(t, h), nil)
			req := &Request{Body: body, ContentType: encode.ContentTypeNDJSON, Records: 2, Check: new(encode.ESBulk)}
			if rc := d.deliver(req, time.Now().UnixMilli()); rc != wire.RCRetry {
				t.Fatalf("rc %d, want %d", rc, wire.RCRetry)
			}
			if hits.Load() != 5 {
				t.Fatalf("%d requests, want 5 (every attempt)", hits.Load())
			}
		})
		t.Run(name+"/unchecked body is delivered", func(t *testing.T) {
			h, _ := esBulkServer(100, 429)
			d := esDestination(t, mk(t, h), nil)
			req := &Request{Body: body, ContentType: encode.ContentTypeNDJSON, Records: 2}
			if rc := d.deliver(req, time.Now().UnixMilli()); rc != wire.RCOK {
				t.Fatalf("rc %d: a body without Check is judged by its status alone", rc)
			}
		})
	}
}
