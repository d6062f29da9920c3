package dataplane

import (
	"io"
	"log/slog"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/xdrhook/xdrhook/wire"
	"golang.org/x/sys/unix"
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

// wakerEngine starts an engine sending one record per request, and one XDR
// connection whose first record is answered, once its loop's waker runs.
func wakerEngine(t *testing.T) (*xdrConn, *session) {
	t.Helper()
	c := newCapture(t)
	e := startEngine(t, Options{}, c.srv.URL, false, DestinationOptions{MaxInFlight: 8})
	x := dialXDR(t, e.addr)
	x.c.Write(frames(1))
	x.replies(t, 1, 5*time.Second)
	return x, onlySession(t, e)
}

// answersAll sends n records on x and wants every reply OK.
func answersAll(t *testing.T, x *xdrConn, n int) {
	t.Helper()
	x.c.Write(frames(n))
	if rcs := x.replies(t, n, 10*time.Second); !allRC(rcs, wire.RCOK) {
		t.Fatalf("replies %v", rcs)
	}
}

// Records settled by a destination's workers are answered through the
// loop's waker: one connection, records one per request, every reply OK.
func TestLoopWakerAnswersSettledRecords(t *testing.T) {
	x, s := wakerEngine(t)
	answersAll(t, x, 200)
	w := s.lp.waker.Load()
	w.mu.Lock()
	dead := w.dead
	w.mu.Unlock()
	if dead {
		t.Fatal("the waker died")
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
		// Cleared by the loop's flush.
		for deadline := time.Now().Add(5 * time.Second); s.w.wakePending.Load() != 0; runtime.Gosched() {
			if time.Now().After(deadline) {
				t.Fatal("a wake-up was lost")
			}
		}
	}
	for range 100 {
		woken()
	}
	const n = 1000
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range n {
		woken()
	}
	runtime.ReadMemStats(&m1)
	if per := float64(m1.Mallocs-m0.Mallocs) / n; per > 0.05 {
		t.Fatalf("%.3f allocations per wake-up in the process", per)
	}
}

// A waker that dies (its socket closed under it) hands its sessions back
// to gnet's wake-ups: nothing listed is lost, later records are answered.
func TestLoopWakerDeadFallsBack(t *testing.T) {
	x, s := wakerEngine(t)
	s.lp.waker.Load().close()
	answersAll(t, x, 100)
}

// wakeCountingConn counts gnet's wake-ups of its connection.
type wakeCountingConn struct {
	gnet.Conn
	wakes int
}

func (c *wakeCountingConn) Wake(gnet.AsyncCallback) error { c.wakes++; return nil }

// A waker whose byte cannot be written dies at once and hands what it
// listed to gnet's wake-ups, then refuses: nothing listed is lost.
func TestLoopWakerWriteErrorFallsBack(t *testing.T) {
	w, in, err := newWakerPair(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	in.Close()
	if err := unix.Shutdown(w.fd, unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	c := &wakeCountingConn{}
	s := &session{gc: c}
	if !w.wake(s) || c.wakes != 1 || !w.dead {
		t.Fatalf("first wake: %d gnet wake-ups, dead %v", c.wakes, w.dead)
	}
	if w.wake(s) || c.wakes != 1 {
		t.Fatalf("a dead waker took a session (%d gnet wake-ups)", c.wakes)
	}
}

// writeClosingConn stands for a gnet connection whose reply write fails:
// gnet closes the connection inside Write, so OnClose runs there.
type writeClosingConn struct {
	gnet.Conn // what traffic does not call: a nil interface
	h         *gnetHandler
	ctx       any
	writes    int
}

func (c *writeClosingConn) Context() any          { return c.ctx }
func (c *writeClosingConn) InboundBuffered() int  { return 0 }
func (c *writeClosingConn) OutboundBuffered() int { return 0 }
func (c *writeClosingConn) Write(p []byte) (int, error) {
	c.writes++
	c.h.OnClose(c, syscall.ECONNRESET)
	return 0, syscall.ECONNRESET
}

// A reply write that fails closes the connection without deadlocking the
// loop: OnClose takes the loop's mu, which the write used to hold.
func TestReplyWriteFailureClosesConnection(t *testing.T) {
	snd := &gatedSender{open: make(chan struct{})}
	e := loopEngine(t, Options{}, snd, 1)
	s := newLoopSession(e)
	h := &gnetHandler{e: e}
	c := &writeClosingConn{h: h, ctx: s}
	s.gc = c
	if out := feed(t, s, 0, 1); len(out) != 0 {
		t.Fatalf("answered before it was sent: %x", out)
	}
	close(snd.open)
	before := e.m.abandonedOnClose.Get()
	for deadline := time.Now().Add(5 * time.Second); s.w.wakePending.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the record did not settle")
		}
	}
	done := make(chan gnet.Action, 1)
	go func() { done <- h.traffic(c, s) }()
	select {
	case a := <-done:
		if a != gnet.None || c.writes != 1 || !s.closed.Load() {
			t.Fatalf("action %v, %d writes, closed %v", a, c.writes, s.closed.Load())
		}
		if n := e.m.abandonedOnClose.Get() - before; n != 1 {
			t.Fatalf("%d replies counted unanswered, want the 1 that was not written", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the loop deadlocked on its own mu")
	}
}

// gatedSender answers 200 once open is closed: a record settles only after
// the test has looked.
type gatedSender struct{ open chan struct{} }

func (g *gatedSender) Do(*Request, time.Time) (int, time.Duration, error) {
	<-g.open
	return 200, 0, nil
}
func (g *gatedSender) Close() {}
