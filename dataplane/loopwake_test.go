package dataplane

import (
	"runtime"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/wire"
)

// onlySession returns the one session e tracks (one connection, which sent
// a frame), waiting for its loop's waker to run.
func onlySession(t *testing.T, e *testEngine) *session {
	t.Helper()
	ss := e.snapshot(nil)
	if len(ss) != 1 {
		t.Fatalf("%d sessions, want 1", len(ss))
	}
	s := ss[0]
	for deadline := time.Now().Add(5 * time.Second); s.lp.waker.Load() == nil; {
		if time.Now().After(deadline) {
			t.Fatal("the loop's waker did not start")
		}
		time.Sleep(time.Millisecond)
	}
	return s
}

// Records settled by a destination's workers are answered through the
// loop's waker: one connection, records one per request, every reply OK.
func TestLoopWakerAnswersSettledRecords(t *testing.T) {
	c := newCapture(t)
	e := startEngine(t, Options{}, c.srv.URL, false, DestinationOptions{MaxInFlight: 8})
	x := dialXDR(t, e.addr)
	x.c.Write(frames(1))
	x.replies(t, 1, 5*time.Second)
	s := onlySession(t, e)
	const n = 200
	x.c.Write(frames(n))
	if rcs := x.replies(t, n, 10*time.Second); !allRC(rcs, wire.RCOK) {
		t.Fatalf("replies %v", rcs)
	}
	if w := s.lp.waker.Load(); w == nil || w.dead {
		t.Fatal("the waker stopped")
	}
}

// A wake-up costs no allocation anywhere in the process: gnet's Conn.Wake,
// which it replaces, made two (a closure and a queue node).
func TestLoopWakerAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c := newCapture(t)
	e := startEngine(t, Options{}, c.srv.URL, true, DestinationOptions{})
	x := dialXDR(t, e.addr)
	x.c.Write(frames(1)) // the session's window is made on its first frame
	e.sealAll(true)
	x.replies(t, 1, 5*time.Second)
	s := onlySession(t, e)
	woken := func() {
		s.notify()
		for s.w.wakePending.Load() != 0 { // cleared by the loop's flush
			runtime.Gosched()
		}
	}
	for range 100 {
		woken()
	}
	if allocs := testing.AllocsPerRun(500, woken); allocs != 0 {
		t.Fatalf("%v allocations per wake-up", allocs)
	}
}
