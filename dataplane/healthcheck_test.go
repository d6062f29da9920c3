package dataplane

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// A connection that never sends a frame (XDR's health check: connect,
// close) costs no reply window (16 bytes × WindowSize, 64 KiB at the
// default): a flood of them once grew the connector's RSS fourfold and
// filled max-connections with sessions the event loops were still
// zeroing. The window and the deadline ticker's tracking start with the
// first frame.
func TestHealthCheckCostsNoWindow(t *testing.T) {
	c := newCapture(t)
	e := startEngine(t, Options{}, c.srv.URL, true, DestinationOptions{})
	tracked := func() int {
		e.sessMu.Lock()
		defer e.sessMu.Unlock()
		return len(e.sessions)
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: active %d, tracked %d, health checks %d", what, e.m.connActive.Get(), tracked(), e.m.connHealthChecks.Get())
			}
		}
	}
	const n = 50
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	wait("open", func() bool { return e.m.connActive.Get() == n })
	if k := tracked(); k != 0 {
		t.Fatalf("%d sessions hold a window before any frame", k)
	}

	x := &xdrConn{c: conns[0], r: bufio.NewReader(conns[0])}
	conns[0].Write(frames(3))
	if rcs := x.replies(t, 3, 5*time.Second); !allRC(rcs, 0) {
		t.Fatalf("replies %v", rcs)
	}
	if k := tracked(); k != 1 {
		t.Fatalf("%d sessions tracked after one connection sent frames", k)
	}
	for _, c := range conns {
		c.Close()
	}
	wait("closed", func() bool {
		return e.m.connActive.Get() == 0 && tracked() == 0 && e.m.connHealthChecks.Get() == n-1
	})
}
