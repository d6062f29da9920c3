package dataplane

import (
	"bytes"
	"testing"
	"time"
)

// TestHealthCheckQueuedMoveToOther: bodies held by one of two endpoints
// (its server takes them and never answers) and queued behind them are
// delivered by the other when the first is killed: every record is
// answered 0 the first time, with no XDR retry (no 11), and each is
// received by the surviving backend.
func TestHealthCheckQueuedMoveToOther(t *testing.T) {
	for _, proto := range []string{"HTTP_1_1", "HTTP_2"} {
		t.Run(proto, func(t *testing.T) {
			a, b := newKillableBackend(t), newKillableBackend(t)
			b.hold.Store(true)
			e := healthEngine(t, proto == "HTTP_2", a, b)
			x := dialXDR(t, e.addr)
			const n = 300
			x.c.Write(frames(n))
			// b holds requests (its health checks still pass): the bodies
			// routed to it wait on it and behind it.
			waitFor(t, "b holding requests", 5*time.Second, func() bool { return b.held.Load() >= 2 })
			b.kill()
			rcs := x.replies(t, n, 15*time.Second)
			for i, rc := range rcs {
				if rc != 0 {
					var buf bytes.Buffer
					e.WritePrometheus(&buf)
					t.Fatalf("record %d answered %d (replies %v)\n%s", i, rc, rcs, buf.String())
				}
			}
			for i := 0; i < n; i++ {
				if !a.got(i) {
					t.Fatalf("record %d answered 0 but not received by a (b held %d requests)", i, b.held.Load())
				}
			}
			t.Logf("b held %d requests; a received %d lines for %d records", b.held.Load(), a.lines.Load(), n)
		})
	}
}

// pickFor skips the endpoint the request's last attempt failed on while
// another is up (health checks or not), and notes its choice.
func TestPickForAvoidsFailedEndpoint(t *testing.T) {
	var none *endpointHealth
	three := newEndpointHealth(3)
	oneUp := newEndpointHealth(3)
	oneUp.set(0, false)
	oneUp.set(2, false)
	for _, c := range []struct {
		h                 *endpointHealth
		failedOn, next, n int
		want              int
	}{
		{none, 0, 1, 2, 1}, {none, 2, 1, 2, 0}, {none, 1, 1, 2, 1}, {none, 1, 0, 1, 0},
		{three, 3, 2, 3, 0}, {three, 2, 1, 3, 2},
		{oneUp, 2, 1, 3, 1}, // the failed one is the only one up: it again
	} {
		r := &Request{failedOn: c.failedOn}
		if got := c.h.pickFor(r, c.next, c.n); got != c.want || r.endpoint != c.want {
			t.Errorf("failedOn %d next %d of %d: picked %d (noted %d), want %d", c.failedOn, c.next, c.n, got, r.endpoint, c.want)
		}
	}
}
