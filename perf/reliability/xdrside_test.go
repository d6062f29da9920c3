package reliability

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/sink"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
)

// xdrEnv is a sink, a connector and a healthy emulator stream.
type xdrEnv struct {
	sk   *sink.Sink
	proc *harness.Proc
	w    *watcher
	sim  *xdrsim.Sim
}

func startXDREnv(t *testing.T, c conf, mod func(*xdrsim.Config)) *xdrEnv {
	t.Helper()
	e := &xdrEnv{}
	e.sk = startSink(t, sink.Config{})
	c.URL = e.sk.URL() + "/in"
	e.proc = harness.Connector{Config: c.yaml()}.Start(t)
	e.w = watch(e.proc, 100*time.Millisecond, false)
	cfg := simConfig(e.proc.XDRAddr)
	cfg.Duration = 5 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	e.sim = startSim(t, cfg)
	return e
}

// finish waits for the emulator, verifies, checks that every connection
// and record was let go, and reports.
func (e *xdrEnv) finish(t *testing.T, extra string) {
	t.Helper()
	sm := e.sim.Wait()
	f := verify(t, &sm, e.sk.IDs())
	var active, inflight float64
	if !waitFor(5*time.Second, func() bool {
		active, inflight = metricOf(e.proc, "xdrhook_connections_active"), metricOf(e.proc, "xdrhook_records_in_flight")
		return active == 0 && inflight == 0
	}) {
		t.Errorf("after every client left: %v connections active, %v records in flight", active, inflight)
	}
	f.MaxRSS = e.w.Stop()
	f.Extra = extra
	report(t, f)
	if t.Failed() {
		t.Logf("connector log:\n%s", tail(e.proc.Log(), 30))
	}
}

// TestXDRSide: what XDR's side of the connection can do to the connector
// while a healthy stream flows.
func TestXDRSide(t *testing.T) {
	systemTier(t)
	t.Run("half-frames", testHalfFrames)
	t.Run("512-connections", test512Connections)
	t.Run("health-checks", testHealthChecks)
	t.Run("slow-reader", testSlowReader)
}

// testHalfFrames: clients write part of a frame (or whole frames and part
// of the next) and close.
func testHalfFrames(t *testing.T) {
	e := startXDREnv(t, conf{}, nil)
	var n atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(4 * time.Second)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for time.Now().Before(stop) {
				frames := goodFrames("raw", 3)
				one := len(frames) / 3
				c, err := net.Dial("tcp", e.proc.XDRAddr)
				if err != nil {
					continue
				}
				var cut int
				if r.IntN(2) == 0 {
					cut = 1 + r.IntN(one-1) // inside the first frame (header or body)
				} else {
					cut = one + 1 + r.IntN(2*one-2) // whole frames, then part of one
				}
				c.Write(frames[:cut])
				c.Close()
				n.Add(1)
				time.Sleep(2 * time.Millisecond)
			}
		}(g)
	}
	wg.Wait()
	accepted := metric(t, e.proc, "xdrhook_connections_accepted_total")
	unanswered := metric(t, e.proc, "xdrhook_records_unanswered_on_close_total")
	if accepted < float64(n.Load()) {
		t.Errorf("%d half-frame connections, %v accepted", n.Load(), accepted)
	}
	e.finish(t, fmt.Sprintf("%d connections closed mid-frame; connector: accepted %v, records unanswered on close %v",
		n.Load(), accepted, unanswered))
}

// test512Connections: 512 emulator connections with a window of 8.
func test512Connections(t *testing.T) {
	e := startXDREnv(t, conf{}, func(c *xdrsim.Config) {
		c.Conns, c.Window, c.Duration = 512, 8, 8*time.Second
	})
	var peakConns, peakActive float64
	waitFor(6*time.Second, func() bool {
		peakConns = max(peakConns, float64(e.sim.Snapshot().Connections))
		peakActive = max(peakActive, metricOf(e.proc, "xdrhook_connections_active"))
		return peakActive >= 512
	})
	if peakActive < 512 {
		t.Errorf("only %v connections active at the connector (emulator: %v)", peakActive, peakConns)
	}
	goroutines := metricOf(e.proc, "go_goroutines")
	e.finish(t, fmt.Sprintf("connections active at the connector: %v; connector goroutines %v", peakActive, goroutines))
}

// testHealthChecks: empty connections (connect, close without a byte) at a
// high rate: accepted and closed quietly, counted, no log line each.
func testHealthChecks(t *testing.T) {
	e := startXDREnv(t, conf{}, func(c *xdrsim.Config) { c.HealthInterval = 5 * time.Millisecond })
	var n atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(4 * time.Second)
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if c, err := net.Dial("tcp", e.proc.XDRAddr); err == nil {
					c.Close()
					n.Add(1)
				}
			}
		}()
	}
	var peakActive float64
	for time.Now().Before(stop) {
		peakActive = max(peakActive, metricOf(e.proc, "xdrhook_connections_active"))
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	sm := e.sim.Snapshot()
	total := float64(n.Load() + sm.HealthChecks - sm.HealthCheckErrors)
	var counted, refused float64
	waitFor(5*time.Second, func() bool {
		counted = metricOf(e.proc, "xdrhook_connections_health_checks_total")
		refused = metricOf(e.proc, "xdrhook_connections_refused_total")
		return counted+refused >= total
	})
	if counted+refused < total {
		t.Errorf("%v health checks, %v counted, %v refused", total, counted, refused)
	}
	log := e.proc.Log()
	if k := logLines(log, "level=") - 1 - logLines(log, "max-connections reached"); k > 0 { // 1: the "listening" line
		t.Errorf("%d log lines for health checks:\n%s", k, tail(log, 10))
	}
	e.finish(t, fmt.Sprintf("%v empty connections in 4 s (~%.0f/s): %v counted as health checks, %v refused at max-connections (peak active %v); log lines: %d (max-connections)",
		total, total/4, counted, refused, peakActive, logLines(log, "max-connections reached")))
}

// testSlowReader: a client pipelines frames as fast as it can and never
// reads a reply. The connector must close it (or bound what it buffers);
// the healthy stream must not notice. Its records (namespace "slow") are
// skipped, so replies pile up as fast as the connector can make them.
func testSlowReader(t *testing.T) {
	e := startXDREnv(t, conf{Top: "namespaces:\n  slow: {routing: {mode: skip}}\n"}, func(c *xdrsim.Config) {
		c.Duration = 8 * time.Second
	})
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", e.proc.XDRAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	batch := goodFrames("slow", 2000)
	start := time.Now()
	var sent int64
	var werr error
	for time.Since(start) < 7*time.Second {
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if _, werr = c.Write(batch); werr != nil {
			break
		}
		sent += 2000
	}
	took := time.Since(start)
	closed := metricOf(e.proc, "xdrhook_connections_slow_reader_closed_total")
	rss := e.proc.RSS()
	switch {
	case closed >= 1:
	case rss < 200<<20:
		t.Logf("the slow reader was not closed in %v, but the connector's RSS stays at %.1f MiB", took, mib(rss))
	default:
		t.Errorf("slow reader: not closed after %d frames and the connector's RSS is %.1f MiB", sent, mib(rss))
	}
	e.finish(t, fmt.Sprintf("slow reader wrote %d frames (%.1f MB) and saw %v after %v; slow-reader closes counted %v",
		sent, float64(sent)*float64(len(batch)/2000)/1e6, werr, took.Round(time.Millisecond), closed))
}
