package reliability

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/sink"
)

// TestKnownIssueDeepPipeline reproduces an open problem; it runs only with
// XDRHOOK_KNOWN_ISSUES=1 and fails today.
//
// An XDR side that pipelines more requests per connection than the reply
// window (4096) toward a destination slower than its rate: the window
// fills, the connector stops consuming, but gnet keeps reading the socket
// into the connection's inbound buffer (up to MaxInboundStall = 2 ×
// max-frame-bytes + 1 MiB, 33 MiB, per connection). With 8 connections
// the RSS passes 400 MiB, and frames wait in that buffer longer than XDR's
// 10 s reply timeout, so XDR drops the connections and resends everything.
// Nothing is lost (at-least-once holds); memory and latency are not
// bounded as DESIGN.md says.
func TestKnownIssueDeepPipeline(t *testing.T) {
	skipUnderRace(t)
	if os.Getenv("XDRHOOK_KNOWN_ISSUES") == "" {
		t.Skip("known issue (inbound buffering past a full reply window); set XDRHOOK_KNOWN_ISSUES=1 to reproduce")
	}
	sk := startSink(t, sink.Config{Latency: 300 * time.Millisecond})
	p := harness.Connector{Config: conf{URL: sk.URL() + "/in", Dest: []string{"max-in-flight: 4"}}.yaml()}.Start(t)
	w := watch(p, 100*time.Millisecond, false)
	cfg := simConfig(p.XDRAddr)
	cfg.Conns, cfg.Window, cfg.Rate, cfg.Duration = 8, 30000, 0, 4*time.Second
	cfg.DrainTimeout = 60 * time.Second
	sim := startSim(t, cfg)
	sm := sim.Wait()
	f := verify(t, &sm, sk.IDs())
	f.MaxRSS = w.Stop()
	f.Extra = fmt.Sprintf("XDR window 30000 × 8 connections, destination 300 ms × 4 in flight: emulator reply timeouts %d, reply latency p99 %.0f ms; window-full %v",
		sm.Timeouts, sm.Latency.P99Ms, p.Metric("xdrhook_window_full_total"))
	report(t, f)
	if f.MaxRSS > 256<<20 {
		t.Errorf("peak RSS %.1f MiB (DESIGN.md: flat, ≤ 256 MiB at defaults)", mib(f.MaxRSS))
	}
	if sm.Timeouts > 0 {
		t.Errorf("%d connections got no reply within XDR's 10 s", sm.Timeouts)
	}
}
