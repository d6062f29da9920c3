package xdrsim

import (
	"flag"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/sink"
)

// idRecorder keeps the ids answered 0 by any of several test connectors,
// as a sink behind a connector cluster would.
type idRecorder struct {
	mu  sync.Mutex
	set *sink.IDSet
}

func newIDRecorder() *idRecorder { return &idRecorder{set: sink.NewIDSet(0)} }

// ok records f as delivered and returns 0.
func (r *idRecorder) ok(f *frameInfo) int {
	var id sink.ID
	id.Namespace = string(f.msg.Namespace)
	copy(id.Digest[:], f.msg.Digest)
	id.LUT = f.lut
	r.mu.Lock()
	r.set.Add(id)
	r.mu.Unlock()
	return 0
}

func (r *idRecorder) verify(t *testing.T, sm *Summary) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	v := Verify(sm, r.set)
	if v.Missing != 0 || v.Checked != sm.Settled {
		t.Errorf("verify: checked %d (settled %d) missing %d: %v", v.Checked, sm.Settled, v.Missing, v.MissingSample)
	}
}

func frameCount(c *testConnector) int {
	f, _, _, _ := c.snapshot()
	return len(f)
}

// checkPerTarget asserts that the per-target counters add up to the totals.
func checkPerTarget(t *testing.T, sm Summary) {
	t.Helper()
	var settled, abandoned, sent, resent int64
	for _, tg := range sm.Targets {
		settled += tg.Settled
		abandoned += tg.Abandoned
		sent += tg.Sent
		resent += tg.Resent
	}
	if settled != sm.Settled || abandoned != sm.Abandoned || sent != sm.Sent || resent != sm.Resent {
		t.Errorf("per target: settled %d abandoned %d sent %d resent %d; totals %d %d %d %d",
			settled, abandoned, sent, resent, sm.Settled, sm.Abandoned, sm.Sent, sm.Resent)
	}
}

// TestTargetsRoundRobin: three healthy nodes get exactly a third of the
// records each, one record at a time in rotation, and the summary says so
// per target. Target and Targets combine (Target first).
func TestTargetsRoundRobin(t *testing.T) {
	rec := newIDRecorder()
	var cs []*testConnector
	for i := 0; i < 3; i++ {
		c := newTestConnector(t, rec.ok)
		c.delay = 200 * time.Microsecond
		cs = append(cs, c)
	}
	cfg := testConfig(cs[0].addr(), 3000)
	cfg.Targets = []string{cs[1].addr(), cs[2].addr(), cs[0].addr()} // Target repeated: once
	cfg.HealthInterval = 20 * time.Millisecond
	// Every node is up: no reply may time out, even under -race on a
	// loaded machine (300 ms was exceeded at load 19 on 2 cores).
	cfg.ReplyTimeout = 5 * time.Second
	sm := run(t, cfg)
	checkExact(t, sm)
	checkPerTarget(t, sm)
	if len(sm.Targets) != 3 {
		t.Fatalf("targets %+v", sm.Targets)
	}
	for i, c := range cs {
		tg := sm.Targets[i]
		if tg.Target != c.addr() || !tg.Up || tg.Downs != 0 {
			t.Errorf("target %d: %+v, want %s up", i, tg, c.addr())
		}
		if tg.Settled != 1000 || frameCount(c) != 1000 {
			t.Errorf("target %s: settled %d, connector got %d frames; want 1000 each", tg.Target, tg.Settled, frameCount(c))
		}
		if tg.Connects != int64(cfg.Conns) {
			t.Errorf("target %s: %d connects, want %d", tg.Target, tg.Connects, cfg.Conns)
		}
		if p := sm.Target(c.addr()); p == nil || p.Settled != tg.Settled {
			t.Errorf("Summary.Target(%s) = %+v", c.addr(), p)
		}
	}
	if sm.Resent != 0 || sm.Reassigned != 0 {
		t.Errorf("resent %d reassigned %d with every node up", sm.Resent, sm.Reassigned)
	}
	rec.verify(t, &sm)
	if s := sm.String(); !strings.Contains(s, "target "+cs[1].addr()+" (up, down 0×): settled 1000") {
		t.Errorf("summary text:\n%s", s)
	}
}

// TestTargetDeadSkipped: a node that refuses connections from the start is
// skipped; everything goes to the others, and its health checks keep
// failing.
func TestTargetDeadSkipped(t *testing.T) {
	rec := newIDRecorder()
	a := newTestConnector(t, rec.ok)
	b := newTestConnector(t, rec.ok)
	dead := newTestConnector(t, rec.ok)
	deadAddr := dead.addr()
	dead.close()
	cfg := testConfig("", 2000)
	cfg.Targets = []string{a.addr(), deadAddr, b.addr()}
	cfg.HealthInterval = 20 * time.Millisecond
	cfg.Rate = 5000 // 0.4 s: a few health checks
	sm := run(t, cfg)
	checkExact(t, sm)
	checkPerTarget(t, sm)
	if sm.Settled != 2000 {
		t.Errorf("settled %d, want 2000", sm.Settled)
	}
	d := sm.Target(deadAddr)
	if d == nil || d.Up || d.Downs == 0 || d.Settled != 0 || d.Connects != 0 || d.HealthCheckErrors < 3 {
		t.Errorf("dead target: %+v", d)
	}
	na, nb := sm.Target(a.addr()).Settled, sm.Target(b.addr()).Settled
	if na+nb != 2000 || na < 800 || nb < 800 {
		t.Errorf("survivors settled %d and %d, want about 1000 each", na, nb)
	}
	rec.verify(t, &sm)
}

// TestTargetFailsAndReturns: a node dies mid-stream (listener and
// connections closed, requests in flight unanswered); what was in flight on
// it and what was dealt to it is re-sent to the others; while it is down it
// gets nothing; when it listens again a health check puts it back in the
// rotation and it carries records again. Nothing settled is lost.
func TestTargetFailsAndReturns(t *testing.T) {
	rec := newIDRecorder()
	a := newTestConnector(t, rec.ok)
	c := newTestConnector(t, rec.ok)
	var (
		mu      sync.Mutex
		killed  = make(chan struct{})
		seen    int
		lostIDs []string // frames b received and never answered
	)
	var b *testConnector
	b = newTestConnector(t, func(f *frameInfo) int {
		mu.Lock()
		defer mu.Unlock()
		seen++
		switch {
		case seen < 300:
			return rec.ok(f)
		case seen == 300:
			close(killed)
			go b.close() // not from this goroutine: close waits for it
		}
		lostIDs = append(lostIDs, f.digest)
		return actSilence
	})
	bAddr := b.addr()
	cfg := testConfig("", 6000)
	cfg.Targets = []string{a.addr(), bAddr, c.addr()}
	cfg.Rate = 6000 // about 1 s
	cfg.HealthInterval = 20 * time.Millisecond
	cfg.ReplyTimeout = 5 * time.Second // resends must come from the closed connections, not a timeout
	done := make(chan Summary)
	go func() {
		sm, err := Run(t.Context(), cfg)
		if err != nil {
			t.Error(err)
		}
		done <- sm
	}()
	<-killed
	time.Sleep(300 * time.Millisecond) // down for a while
	var b2 *testConnector
	for i := 0; ; i++ { // the port is free again once b's close is through
		ln, err := net.Listen("tcp", bAddr)
		if err == nil {
			ln.Close()
			b2 = newTestConnectorAt(t, bAddr, rec.ok)
			break
		}
		if i == 100 {
			t.Fatalf("cannot listen again on %s: %v", bAddr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var sm Summary
	select {
	case sm = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("no end")
	}
	t.Logf("%s", sm.String())
	checkExact(t, sm)
	checkPerTarget(t, sm)
	if sm.Settled != 6000 {
		t.Errorf("settled %d, want 6000", sm.Settled)
	}
	tb := sm.Target(bAddr)
	if tb.Downs == 0 || !tb.Up || tb.HealthCheckErrors == 0 || tb.Resent == 0 {
		t.Errorf("node b: %+v: want taken down (failed health checks), resent, and back up", tb)
	}
	if frameCount(b2) == 0 {
		t.Error("node b got nothing after it came back")
	}
	mu.Lock()
	if len(lostIDs) == 0 {
		t.Error("node b had nothing in flight when it died: the test tests nothing")
	}
	mu.Unlock()
	// The survivors carried more than their third.
	if na, nc := sm.Target(a.addr()).Settled, sm.Target(c.addr()).Settled; na <= 2000 || nc <= 2000 {
		t.Errorf("survivors settled %d and %d", na, nc)
	}
	rec.verify(t, &sm)
}

// TestTargetsSlowNodeHoldsRotation: the rotation is strict, as XDR's: a
// node that answers slowly gets its share all the same (the others wait
// for it), bounded by its backlog.
func TestTargetsSlowNodeHoldsRotation(t *testing.T) {
	fast := newTestConnector(t, func(*frameInfo) int { return 0 })
	slow := newTestConnector(t, func(*frameInfo) int { return 0 })
	slow.delay = 2 * time.Millisecond
	cfg := testConfig("", 900)
	cfg.Targets = []string{fast.addr(), slow.addr()}
	cfg.KeepSettled = 0
	sm := run(t, cfg)
	checkExact(t, sm)
	if f, s := sm.Targets[0].Settled, sm.Targets[1].Settled; f != 450 || s != 450 {
		t.Errorf("fast settled %d, slow %d: want 450 each", f, s)
	}
}

func TestTargetsConfig(t *testing.T) {
	for _, tc := range []struct {
		target  string
		targets []string
		want    string // joined, or "error"
	}{
		{"a:1", nil, "a:1"},
		{"", []string{"a:1", "b:2"}, "a:1,b:2"},
		{"b:2", []string{"a:1", "b:2"}, "b:2,a:1"},
		{"", []string{"a:1", "a:1"}, "error"},
		{"", []string{"a:1", ""}, "error"},
		{"", nil, "error"},
	} {
		cfg := Config{Target: tc.target, Targets: tc.targets}
		err := cfg.normalize()
		got := strings.Join(cfg.Targets, ",")
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("Target %q Targets %q: %s (%v), want %s", tc.target, tc.targets, got, err, tc.want)
		}
	}
	// The command line's flag: repeatable, comma lists.
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var l TargetList
	fs.Var(&l, "target", "")
	if err := fs.Parse([]string{"--target", "h1:8901, h2:8901", "--target", "h3:8901"}); err != nil {
		t.Fatal(err)
	}
	if l.String() != "h1:8901,h2:8901,h3:8901" {
		t.Errorf("targets %q", l.String())
	}
	for _, bad := range [][]string{{"--target", "h1"}, {"--target", ","}, {"--target", "h1:1", "--target", "h1:1"}} {
		var l TargetList
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.Var(&l, "target", "")
		if err := fs.Parse(bad); err == nil {
			t.Errorf("%q accepted: %v", bad, l)
		}
	}
}
