package dataplane

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

// memSender keeps a copy of every body it is given and answers 200.
type memSender struct {
	mu     sync.Mutex
	bodies []string
}

func (m *memSender) Do(r *Request, _ time.Time) (int, time.Duration, error) {
	m.mu.Lock()
	m.bodies = append(m.bodies, string(r.Body))
	m.mu.Unlock()
	return 200, 0, nil
}
func (m *memSender) Close() {}

func (m *memSender) got() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.bodies...)
}

// loopEngine builds an engine without listeners (its loops are made by
// the test) batching NDJSON into one destination that snd stands for.
func loopEngine(t *testing.T, o Options, snd Sender, maxRecords int) *Engine {
	t.Helper()
	d := newTestDestination(DestinationOptions{Name: "mem", Sender: snd, MaxInFlight: 1})
	p := &Profile{
		NewFramer:  func() encode.Framer { return &encode.NDJSON{Enc: &encode.JSON{}} },
		NewEncoder: func() encode.Encoder { return &encode.JSON{} },
		Batching:   true, MaxRecords: maxRecords, MaxBytes: 1 << 20, Interval: time.Second,
		Ordering: o.LUTCacheTTL > 0,
	}
	o.Listen = []string{"unused"}
	o.Profiles, o.Destinations = []*Profile{p}, []*Destination{d}
	o.Router = &StaticRouter{Profile: p, Dests: []*Destination{d}}
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := newTestEngine(o)
	if err != nil {
		t.Fatal(err)
	}
	d.start()
	t.Cleanup(d.stop)
	return e
}

// feed hands s the frames of records from..to-1 as its loop's owner does and
// returns the replies written at the end of the batch.
func feed(t *testing.T, s *session, from, to int) []byte {
	t.Helper()
	s.lp.mu.Lock()
	defer s.lp.mu.Unlock()
	for i := from; i < to; i++ {
		if s.consume(wire.AppendFrame(nil, record(i)), wire.TypeMsg) != frameDone {
			t.Fatalf("record %d not consumed", i)
		}
	}
	return bytes.Clone(s.flush())
}

// settle waits until n records of s are answered and returns their codes.
func settle(t *testing.T, s *session, n int) []byte {
	t.Helper()
	var rcs []byte
	for deadline := time.Now().Add(5 * time.Second); len(rcs) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d answered", len(rcs), n)
		}
		s.lp.mu.Lock()
		rcs = append(rcs, replyCodes(s.flush())...)
		s.lp.mu.Unlock()
	}
	return rcs
}

func newLoopSession(e *Engine) *session {
	s := e.newSession(e.newLoop())
	s.wake = func() {}
	return s
}

// Each loop fills bodies of its own: max-records counts a loop's records,
// and the ticker seals each loop's body when its interval has elapsed.
func TestLoopsFillTheirOwnBodies(t *testing.T) {
	snd := &memSender{}
	e := loopEngine(t, Options{}, snd, 3)
	a, b := newLoopSession(e), newLoopSession(e)
	t0 := time.Now() // the retry budget runs from the records' accept time
	e.clock.set(t0)
	feed(t, a, 0, 2)
	feed(t, b, 10, 12)
	// a's third record: a's body is full, b's is not. The body is sealed
	// inside feed, and a worker may settle it before feed's own flush,
	// which then returns (some of) its replies.
	early := replyCodes(feed(t, a, 2, 3))
	if rcs := append(early, settle(t, a, 3-len(early))...); len(rcs) != 3 || !allRC(rcs, 0) {
		t.Fatalf("a: %v", rcs)
	}
	if got := snd.got(); len(got) != 1 || strings.Count(got[0], "\n") != 3 || !strings.Contains(got[0], `"gen":1,`) || strings.Contains(got[0], `"gen":11,`) {
		t.Fatalf("after a's third record: %q", got)
	}
	e.clock.set(t0.Add(999 * time.Millisecond))
	e.sealAll(false)
	if len(snd.got()) != 1 {
		t.Fatal("b's body sealed before its interval")
	}
	e.clock.set(t0.Add(time.Second))
	e.sealAll(false)
	if rcs := settle(t, b, 2); !allRC(rcs, 0) {
		t.Fatalf("b: %v", rcs)
	}
	got := snd.got()
	if len(got) != 2 || strings.Count(got[1], "\n") != 2 || !strings.Contains(got[1], `"gen":11,`) || !strings.Contains(got[1], `"gen":12,`) {
		t.Fatalf("b's body: %q", got)
	}
}

// max-concurrent-records is a hard bound over all loops: a loop takes credit
// in chunks, and is refused (11) once the budget is spent, at most two
// chunks per other loop early. Credit comes back as records are answered
// and, from idle loops, at the next ticks.
func TestCreditBoundsRecordsAcrossLoops(t *testing.T) {
	for _, maxRec := range []int{10, 1000} {
		e := loopEngine(t, Options{MaxConcurrentRecords: maxRec, Loops: 2}, &memSender{}, 1<<20)
		chunk := int(e.chunk)
		a, b := newLoopSession(e), newLoopSession(e)
		// Bodies stay open (interval 1 s, clock still): records stay in flight.
		n := maxRec*6/10 + 1
		if out := feed(t, a, 0, n); len(out) != 0 {
			t.Fatalf("max %d: a answered %d early", maxRec, len(out)/wire.ReplySize)
		}
		feed(t, b, 0, n) // refusals wait behind b's first records: replies go in order
		e.fold()
		refused := int(e.m.overload.Get())
		admitted := 2*n - refused
		if admitted > maxRec || admitted < maxRec-2*chunk {
			t.Fatalf("max %d, chunk %d: %d admitted", maxRec, chunk, admitted)
		}
		if got := e.InFlight(); got != int64(2*n) { // refused ones are in flight until written
			t.Fatalf("max %d: in flight %d", maxRec, got)
		}
		e.sealAll(true)
		settle(t, a, n)
		rcs := settle(t, b, n)
		if k := bytes.Count(rcs, []byte{wire.RCRetry}); k != refused || !allRC(rcs[:n-refused], 0) {
			t.Fatalf("max %d: b's replies %v, %d refused", maxRec, rcs, refused)
		}
		if got := e.InFlight(); got != 0 {
			t.Fatalf("max %d: in flight %d", maxRec, got)
		}
		e.sealAll(false) // marks the loops idle
		e.sealAll(false) // and takes their credit back
		if got := e.credit.Load(); got != int64(maxRec) {
			t.Fatalf("max %d: %d of the budget back", maxRec, got)
		}
		// All of it is free for one loop.
		if out := feed(t, b, 0, maxRec); len(out) != 0 {
			t.Fatalf("max %d: %d refused with the budget free", maxRec, len(out)/wire.ReplySize)
		}
		e.sealAll(true)
		settle(t, b, maxRec)
	}
}

// The counters a record touches are per loop and summed at a scrape.
func TestLoopCountersFoldedAtScrape(t *testing.T) {
	e := loopEngine(t, Options{}, &memSender{}, 1<<20)
	a, b := newLoopSession(e), newLoopSession(e)
	feed(t, a, 0, 3)
	feed(t, b, 0, 4)
	e.sealAll(true)
	settle(t, a, 3)
	settle(t, b, 4)
	var buf bytes.Buffer
	e.WritePrometheus(&buf)
	for _, want := range []string{
		`xdrhook_records_received_total{kind="write"} 7` + "\n",
		`xdrhook_frames_received_total{type="msg"} 7` + "\n",
		`xdrhook_replies_total{rc="0"} 7` + "\n",
		`xdrhook_reply_latency_seconds_count 7` + "\n",
		"xdrhook_records_in_flight 0\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if n := len(wire.AppendFrame(nil, record(0))); e.m.bytesIn.Get() != uint64(3*n+4*len(wire.AppendFrame(nil, record(3)))) {
		t.Errorf("bytes in %d", e.m.bytesIn.Get())
	}
}

// Record-ordering holds across loops: the LUT cache is the node's, so an
// older version arriving on another loop's connection is still stale.
func TestRecordOrderingAcrossLoops(t *testing.T) {
	snd := &memSender{}
	e := loopEngine(t, Options{LUTCacheTTL: time.Minute}, snd, 1<<20)
	a, b := newLoopSession(e), newLoopSession(e)
	newer, older := record(1), record(1)
	older.LUT -= 1000
	older.Generation--
	feedRecord := func(s *session, r *wire.Record) {
		s.lp.mu.Lock()
		s.consume(wire.AppendFrame(nil, r), wire.TypeMsg)
		s.lp.mu.Unlock()
	}
	feedRecord(a, newer)
	feedRecord(b, older)
	if rcs := settle(t, b, 1); rcs[0] != 0 || e.m.skippedStale.Get() != 1 {
		t.Fatalf("older on loop b: rc %v, stale %d", rcs, e.m.skippedStale.Get())
	}
	e.sealAll(true)
	settle(t, a, 1)
	if got := snd.got(); len(got) != 1 || strings.Count(got[0], "\n") != 1 || !strings.Contains(got[0], `"gen":2,`) {
		t.Fatalf("sent %q", got)
	}
}

// Records settled together are answered in one write per connection: a
// destination settles every record of a body before it wakes the
// connection. A body of 100 records makes at most two writes: the batch of
// frames that sealed it may flush a prefix settled meanwhile, the wake the
// rest.
func TestRepliesCoalescedPerConnection(t *testing.T) {
	a := newCapture(t)
	e := startEngine(t, Options{}, a.srv.URL, true, DestinationOptions{})
	x := dialXDR(t, e.addr)
	x.c.Write(frames(100)) // max-records 100: one body
	if rcs := x.replies(t, 100, 5*time.Second); !allRC(rcs, 0) {
		t.Fatalf("replies %v", rcs)
	}
	writes, replies := e.replyWrites()
	if replies != 100 || writes < 1 || writes > 2 {
		t.Fatalf("%d replies in %d writes", replies, writes)
	}
	// The scrape has the writes, for replies per write.
	var buf bytes.Buffer
	e.WritePrometheus(&buf)
	if want := fmt.Sprintf("\nxdrhook_reply_writes_total %d\n", writes); !strings.Contains(buf.String(), want) {
		t.Errorf("scrape lacks %q", strings.TrimSpace(want))
	}
	if got := a.lines(); len(got) != 100 {
		t.Fatalf("%d records delivered", len(got))
	}
}
