package dataplane

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/xdrhook/xdrhook/wire"
)

// hold's rule, case by case: replies wait only while fewer than
// holdReplies are collected, at least holdReplies more records are
// unanswered, the first held is younger than ReplyHold, and the engine is
// not draining; sent stops the clock.
func TestReplyHoldRule(t *testing.T) {
	e := loopEngine(t, Options{ReplyHold: 50 * time.Millisecond}, &memSender{}, 1000)
	s := newLoopSession(e)
	s.w = newWindow(e.opts.WindowSize)
	open := func(n int) {
		for range n {
			s.w.open(1, 0, 0) // one destination to go: unanswered
		}
	}
	collected := func(n int) { s.out = make([]byte, n*wire.ReplySize) }

	open(holdReplies)
	collected(1)
	if !s.hold() {
		t.Fatal("1 reply, 32 unanswered: not held")
	}
	if s.heldAt == 0 || len(s.lp.held) != 1 || s.lp.listed.Load() != 1 {
		t.Fatalf("held without its clock or unlisted: heldAt %d, %d listed", s.heldAt, len(s.lp.held))
	}
	first := s.heldAt
	collected(holdReplies - 1)
	if !s.hold() || s.heldAt != first || len(s.lp.held) != 1 {
		t.Fatal("31 replies: not held, the clock restarted or listed twice")
	}
	collected(holdReplies)
	if s.hold() {
		t.Fatal("32 replies held")
	}
	collected(1)
	s.heldAt = monoNow() - int64(50*time.Millisecond)
	if s.hold() {
		t.Fatal("held past ReplyHold")
	}
	s.sent()
	if len(s.out) != 0 || s.heldAt != 0 {
		t.Fatalf("sent left out %d bytes, heldAt %d", len(s.out), s.heldAt)
	}
	// The ticker drops a session that holds nothing from its loop's list.
	e.wakeHeld(nil)
	if len(s.lp.held) != 0 || s.lp.listed.Load() != 0 || s.listed {
		t.Fatalf("%d sessions still listed after the tick", len(s.lp.held))
	}

	collected(1)
	e.draining.Store(true)
	if s.hold() {
		t.Fatal("held while draining")
	}
	e.draining.Store(false)

	s2 := newLoopSession(e)
	s2.w = newWindow(e.opts.WindowSize)
	for range holdReplies - 1 {
		s2.w.open(1, 0, 0)
	}
	s2.out = make([]byte, wire.ReplySize)
	if s2.hold() {
		t.Fatal("31 unanswered: held (the records behind may never fill a write)")
	}

	off := loopEngine(t, Options{}, &memSender{}, 1000)
	s3 := newLoopSession(off)
	s3.w = newWindow(off.opts.WindowSize)
	for range 2 * holdReplies {
		s3.w.open(1, 0, 0)
	}
	s3.out = make([]byte, wire.ReplySize)
	if s3.hold() {
		t.Fatal("held with reply-hold off")
	}
}

// An XDR connection with 256 records in flight, one record per request:
// its replies go out at least holdReplies to a write except at the end,
// where fewer than holdReplies are left in flight; every record is
// answered 0.
func TestRepliesHeldUnderDeepPipeline(t *testing.T) {
	a := newCapture(t)
	e := startEngine(t, Options{ReplyHold: time.Second}, a.srv.URL, false, DestinationOptions{})
	x := dialXDR(t, e.addr)
	const n, inFlight = 2048, 256
	credit := make(chan struct{}, inFlight)
	for range inFlight {
		credit <- struct{}{}
	}
	go func() {
		for i := range n {
			<-credit
			if _, err := x.c.Write(wire.AppendFrame(nil, record(i))); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, wire.ReplySize)
	x.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for i := range n {
		if _, err := io.ReadFull(x.r, buf); err != nil {
			t.Fatalf("after %d of %d replies: %v", i, n, err)
		}
		if buf[13] != 0 {
			t.Fatalf("reply %d: rc %d", i, buf[13])
		}
		credit <- struct{}{}
	}
	writes, replies := e.replyWrites()
	t.Logf("%d replies in %d writes", replies, writes)
	// Full writes, plus one per collect at the end (fewer than 2 ×
	// holdReplies left then), plus a few for the scheduler's hiccups.
	if most := uint64(n/holdReplies + 2*holdReplies + 8); replies != n || writes > most {
		t.Fatalf("%d replies in %d writes, want %d in at most %d", replies, writes, n, most)
	}
}

// Replies held while the other records of the connection stop settling
// (a destination that holds them) go out once they have waited ReplyHold,
// woken by the ticker: not before, and not when the rest settle.
func TestHeldRepliesWrittenWhenTheRestStall(t *testing.T) {
	const fast, slow = 10, 40
	release := make(chan struct{})
	gen := regexp.MustCompile(`"gen":(\d+)`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		m := gen.FindSubmatch(b)
		if m == nil {
			http.Error(w, "no gen", 400)
			return
		}
		if g, _ := strconv.Atoi(string(m[1])); g > fast { // record(i) has gen i+1
			<-release
		}
	}))
	t.Cleanup(srv.Close)
	snd, err := newTestHTTP1(HTTPOptions{URLs: []string{srv.URL}, MaxConnsPerEndpoint: fast + slow})
	if err != nil {
		t.Fatal(err)
	}
	const hold = 100 * time.Millisecond
	e := startEngineOn(t, Options{ReplyHold: hold}, ndjsonProfile(), newTestDestination(DestinationOptions{Name: "test", Sender: snd, MaxInFlight: fast + slow}))
	t.Cleanup(func() { close(release) }) // before the engine stops: it waits for them
	x := dialXDR(t, e.addr)
	start := time.Now()
	x.c.Write(frames(fast + slow))
	rcs := x.replies(t, fast, 5*time.Second)
	took := time.Since(start)
	if !allRC(rcs, 0) {
		t.Fatalf("replies %v", rcs)
	}
	if took < hold || took > 3*time.Second {
		t.Fatalf("the first %d replies came after %v, want after the hold (%v) and well before the others settle", fast, took, hold)
	}
	t.Logf("the first %d replies after %v", fast, took)
}

// The ticker wakes a holding connection once its hold is due, not before;
// a connection closed while holding counts its held replies as unanswered
// (XDR sends those records again) and leaves the list.
func TestHeldRepliesWokenWhenDueAndForgottenAtClose(t *testing.T) {
	e := loopEngine(t, Options{ReplyHold: 50 * time.Millisecond}, &memSender{}, 1000)
	s := newLoopSession(e)
	var wakes int
	s.wake = func() { wakes++ }
	s.w = newWindow(e.opts.WindowSize)
	for range holdReplies {
		s.w.open(1, 0, 0)
	}
	s.out = make([]byte, 3*wire.ReplySize)
	if !s.hold() {
		t.Fatal("not held")
	}
	e.wakeHeld(nil)
	if wakes != 0 {
		t.Fatalf("woken %d times before the hold is due", wakes)
	}
	s.heldAt = monoNow() - int64(50*time.Millisecond)
	e.wakeHeld(nil)
	if wakes != 1 {
		t.Fatalf("woken %d times once due, want 1", wakes)
	}

	before := e.m.abandonedOnClose.Get()
	s.lp.mu.Lock()
	s.close()
	s.lp.mu.Unlock()
	// 32 records unanswered and the 3 held replies.
	if got := e.m.abandonedOnClose.Get() - before; got != holdReplies+3 {
		t.Fatalf("%d counted unanswered at close, want %d", got, holdReplies+3)
	}
	e.wakeHeld(nil)
	if len(s.lp.held) != 0 || wakes != 1 {
		t.Fatalf("closed session: %d listed, %d wakes", len(s.lp.held), wakes)
	}
}

// Stopping the engine while connections hold replies loses none: every
// record sent before the stop is answered before the connection closes.
func TestStopWhileHoldingAnswersEverything(t *testing.T) {
	addr := serveH2C(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(2 * time.Millisecond)
	}), &http2.Server{})
	snd, err := newTestHTTP2(HTTPOptions{URLs: []string{"http://" + addr}})
	if err != nil {
		t.Fatal(err)
	}
	e := startEngineOn(t, Options{ReplyHold: time.Second}, ndjsonProfile(), newTestDestination(DestinationOptions{Name: "test", Sender: snd, MaxInFlight: 64}))
	stopAnswersAll(t, e, 512)
}
