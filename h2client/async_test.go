package h2client

import (
	"context"
	"errors"
	"golang.org/x/net/http2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/h2client/h2ctest"
)

// The protocol tests of Do, each run again with Go: the same frames, the
// same results, through the completion path (a response, a deadline's
// RST_STREAM, GOAWAY and REFUSED_STREAM re-sends, a lost connection).
func TestGoLikeDo(t *testing.T) {
	for name, test := range map[string]func(*testing.T){
		"GoAwayRetriesStreamsAbove":           TestGoAwayRetriesStreamsAbove,
		"RefusedStreamRetried":                TestRefusedStreamRetried,
		"RefusedEveryTime":                    TestRefusedEveryTime,
		"ResetStreamIsAnError":                TestResetStreamIsAnError,
		"ResetNoErrorBeforeEndIsAnError":      TestResetNoErrorBeforeEndIsAnError,
		"ConnectionDropFailsEveryStream":      TestConnectionDropFailsEveryStream,
		"DeadlineResetsStream":                TestDeadlineResetsStream,
		"ResponseShapes":                      TestResponseShapes,
		"UnsentStreamsRetriedOnNewConnection": TestUnsentStreamsRetriedOnNewConnection,
		"FlowControlSend":                     TestFlowControlSend,
	} {
		t.Run(name, func(t *testing.T) {
			viaGo = true
			defer func() { viaGo = false }()
			test(t)
		})
	}
}

// A request of Go in steady state allocates nothing either: the stream
// and the completion are reused.
func TestGoAllocatesNothing(t *testing.T) {
	c := allocTestClient(t)
	req := benchRequest(make([]byte, 200))
	var resp Response
	done := make(chan error, 1)
	cb := func(err error) { done <- err }
	do := func() {
		if err := c.Go(req, &resp, time.Now().Add(5*time.Second), cb); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil || resp.Status != 200 {
			t.Fatalf("status %d, %v", resp.Status, err)
		}
	}
	for i := 0; i < 100; i++ {
		do()
	}
	if a := testing.AllocsPerRun(2000, do); a != 0 {
		t.Fatalf("%v allocations per request", a)
	}
}

// A batched destination's bodies (4 of 700 KB in flight, 2.8 MB a round
// of the writer) allocate nothing either: the write buffers grown for them
// are kept (internal/writebuf), not grown again from nothing for every write.
func TestGoBatchBodiesAllocateNothing(t *testing.T) {
	c := allocTestClient(t)
	const inFlight = 4
	req := benchRequest(make([]byte, 700<<10))
	resps := make([]Response, inFlight)
	done := make(chan error, inFlight)
	cb := func(err error) { done <- err }
	do := func() {
		for i := range resps {
			if err := c.Go(req, &resps[i], time.Now().Add(5*time.Second), cb); err != nil {
				t.Fatal(err)
			}
		}
		for range resps {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		for i := range resps {
			if resps[i].Status != 200 {
				t.Fatalf("status %d", resps[i].Status)
			}
		}
	}
	for i := 0; i < 20; i++ {
		do()
	}
	if a := testing.AllocsPerRun(100, do); a != 0 {
		t.Fatalf("%v allocations per %d bodies", a, inFlight)
	}
}

// Many requests of Go at once, each completed exactly once, while others
// time out and reset their streams: stream objects go round the pool
// under load (run with -race).
func TestGoConcurrentWithDeadlines(t *testing.T) {
	srv := h2ctest.ForTest(t)
	c := New(Options{Addr: srv.Addr, MaxConns: 2, MaxStreams: 16})
	defer c.Close()
	const senders, each = 8, 300
	var ok, timedOut, calls, started atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			req := benchRequest(make([]byte, 100))
			var resp Response
			done := make(chan error, 2)
			for i := 0; i < each; i++ {
				dl := time.Now().Add(5 * time.Second)
				if i%7 == g%7 {
					dl = time.Now().Add(time.Duration(i%4) * 60 * time.Microsecond) // some expire first, some in flight
				}
				err := c.Go(req, &resp, dl, func(err error) { calls.Add(1); done <- err })
				if err == nil {
					started.Add(1)
					err = <-done
				}
				switch {
				case err == nil && resp.Status == 200:
					ok.Add(1)
				case errors.Is(err, ErrTimeout):
					timedOut.Add(1)
				default:
					t.Errorf("status %d, %v", resp.Status, err)
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
	if ok.Load()+timedOut.Load() != senders*each || ok.Load() < senders*each/2 {
		t.Fatalf("%d ok, %d timed out of %d", ok.Load(), timedOut.Load(), senders*each)
	}
	if calls.Load() != started.Load() {
		t.Fatalf("%d completions for %d requests started (Go returned nil)", calls.Load(), started.Load())
	}
	t.Logf("%d ok, %d timed out, %d completions", ok.Load(), timedOut.Load(), calls.Load())
}

// Close fails the requests of Go in flight: each completion runs once,
// with ErrClosed.
func TestGoClose(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	errs := make(chan error, 3)
	req := benchRequest(nil)
	resps := make([]Response, 3)
	if err := c.Go(req, &resps[0], time.Now().Add(5*time.Second), func(e error) { errs <- e }); err != nil {
		t.Fatal(err)
	}
	p := l.accept()
	p.handshake()
	p.request()
	for i := 1; i < 3; i++ {
		if err := c.Go(req, &resps[i], time.Now().Add(5*time.Second), func(e error) { errs <- e }); err != nil {
			t.Fatal(err)
		}
		p.request()
	}
	c.Close()
	for i := 0; i < 3; i++ {
		select {
		case err := <-errs:
			if err != ErrClosed {
				t.Fatalf("completion %d: %v", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("completion missing")
		}
	}
	select {
	case err := <-errs:
		t.Fatalf("a fourth completion: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
}

// A request of Go with a deadline earlier than those of the requests before
// it ends at its own deadline, not theirs nor the watchdog's next round
// (1.25 s with opts): the watchdog is moved earlier for it. The stream is
// reset (CANCEL) and the one before it is still answered.
func TestGoEarlierDeadlineAfterLater(t *testing.T) {
	l := listen(t)
	c := l.client(opts())
	viaGo = true
	defer func() { viaGo = false }()
	long := goDo(c, "", 5*time.Second, false)
	p := l.accept()
	p.handshake()
	id1 := p.request().StreamID
	start := time.Now()
	short := goDo(c, "", 150*time.Millisecond, false)
	id2 := p.request().StreamID
	if r := wait(t, short); r.err != ErrTimeout {
		t.Fatalf("%+v", r)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 900*time.Millisecond {
		t.Fatalf("timed out after %v, want soon after 150ms", d)
	}
	f, ok := p.next().(*http2.RSTStreamFrame)
	if !ok || f.StreamID != id2 || f.ErrCode != http2.ErrCodeCancel {
		t.Fatalf("%v", f)
	}
	p.respond(id1, "200", "")
	if r := wait(t, long); r.err != nil || r.status != 200 {
		t.Fatalf("%+v", r)
	}
}

// BenchmarkH2Go: 64 requests of Go in flight on one connection over
// loopback h2c to h2ctest, started by one goroutine as the dataplane's
// dispatcher does (compare BenchmarkH2Request/parallel64: 64 goroutines in
// Do); writes/op is the client's write syscalls per request, cpu-µs/op the
// process's CPU (client and server) per request.
func BenchmarkH2Go(b *testing.B) { benchGo(b, 200, 64) }

// BenchmarkH2GoBatchBody: a batched destination's requests, 8 bodies of
// 700 KB (500 typical records) in flight on one connection.
func BenchmarkH2GoBatchBody(b *testing.B) { benchGo(b, 700<<10, 8) }

func benchGo(b *testing.B, bodySize, inFlight int) {
	srv := h2ctest.ForTest(b)
	var writes atomic.Int64
	c := New(Options{Addr: srv.Addr, MaxConns: 1, Dial: func(ctx context.Context) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", srv.Addr)
		return writeCounter{nc, &writes}, err
	}})
	defer c.Close()
	b.SetBytes(int64(bodySize))
	req := benchRequest(make([]byte, bodySize))
	resps := make([]Response, inFlight)
	free := make(chan int, inFlight)
	dones := make([]func(error), inFlight)
	for i := range dones {
		dones[i] = func(err error) {
			if err != nil || resps[i].Status != 200 {
				b.Errorf("status %d, %v", resps[i].Status, err)
			}
			free <- i
		}
		free <- i
	}
	b.ReportAllocs()
	var r0, r1 syscall.Rusage
	syscall.Getrusage(0, &r0)
	w0 := writes.Load()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		i := <-free
		if err := c.Go(req, &resps[i], time.Now().Add(5*time.Second), dones[i]); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < inFlight; i++ {
		<-free
	}
	b.StopTimer()
	syscall.Getrusage(0, &r1)
	cpu := r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano()
	b.ReportMetric(float64(cpu)/1e3/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(writes.Load()-w0)/float64(b.N), "writes/op")
}
