package reliability

import (
	"fmt"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/sink"
)

// TestDeepPipeline: an XDR side that pipelines 30,000 requests per
// connection on 8 connections toward a destination far slower than its
// rate. With a fixed 4096-slot reply window the frames used to wait unread
// in gnet's inbound buffer (gnet cannot pause reading) past XDR's 10 s:
// RSS 300–480 MiB, connections dropped, a million resends. The window now
// grows by 1024-slot chunks, so every frame is read and answered — 11 at
// once past max-concurrent-records — and memory stays bounded. ~50 s, in
// the system tier like every scenario here.
func TestDeepPipeline(t *testing.T) {
	systemTier(t)
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
		sm.Timeouts, sm.Latency.P99Ms, metricOf(p, "xdrhook_window_full_total"))
	report(t, f)
	if f.MaxRSS > 256<<20 {
		t.Errorf("peak RSS %.1f MiB (DESIGN.md: flat, ≤ 256 MiB at defaults)", mib(f.MaxRSS))
	}
	if sm.Timeouts > 0 {
		t.Errorf("%d connections got no reply within XDR's 10 s", sm.Timeouts)
	}
}
