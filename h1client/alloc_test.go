package h1client

import (
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// allocServer is an in-process fasthttp server answering 200 with a small
// body: it allocates nothing per request, so what is counted is the client.
func allocServer(t *testing.T) string {
	return fastServer(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(200)
		ctx.SetBodyString(`{"ok":true}`)
	})
}

// A request of Go in steady state allocates nothing: the call is pooled,
// the write buffers and the queue are reused, the completion runs on the
// reader.
func TestGoAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c := New(Options{Addr: allocServer(t), MaxConns: 1})
	defer c.Close()
	req := post("/ingest", string(make([]byte, 200)))
	var resp Response
	done := make(chan error, 1)
	cb := func(err error) { done <- err }
	do := func() {
		if err := c.Go(req, &resp, time.Now().Add(5*time.Second), cb); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil || resp.Status != 200 || string(resp.Body) != `{"ok":true}` {
			t.Fatalf("status %d %q, %v", resp.Status, resp.Body, err)
		}
	}
	for i := 0; i < 100; i++ {
		do()
	}
	if a := testing.AllocsPerRun(2000, do); a != 0 {
		t.Fatalf("%v allocations per request", a)
	}
}

// Do allocates nothing either, one at a time and 8 at once (pipelined on
// one connection).
func TestDoAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c := New(Options{Addr: allocServer(t), MaxConns: 1})
	defer c.Close()
	req := post("/ingest", string(make([]byte, 200)))
	var resp Response
	do := func() {
		if err := c.Do(req, &resp, time.Now().Add(5*time.Second)); err != nil || resp.Status != 200 || string(resp.Body) != `{"ok":true}` {
			t.Fatalf("status %d %q, %v", resp.Status, resp.Body, err)
		}
	}
	for i := 0; i < 100; i++ {
		do()
	}
	if a := testing.AllocsPerRun(2000, do); a != 0 {
		t.Fatalf("%v allocations per request", a)
	}

	const g, n = 8, 500
	run := func() {
		var wg sync.WaitGroup
		for i := 0; i < g; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := post("/ingest", string(make([]byte, 200)))
				var resp Response
				for j := 0; j < n; j++ {
					if err := c.Do(req, &resp, time.Now().Add(5*time.Second)); err != nil || resp.Status != 200 {
						t.Errorf("status %d, %v", resp.Status, err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	run()
	// The goroutines, their requests and bodies are the test's: about 8×6
	// per run.
	if a := testing.AllocsPerRun(5, run); a > 100 {
		t.Fatalf("%v allocations per %d requests", a, g*n)
	}
}
