package reliability

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/sink"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
	"github.com/xdrhook/xdrhook/wire"
)

// TestDeepPipeline: an XDR side that pipelines 30,000 requests per
// connection on 8 connections toward a destination far slower than its
// rate. With a fixed 4096-slot reply window the frames used to wait unread
// in gnet's inbound buffer (gnet cannot pause reading) past XDR's 10 s:
// RSS 300–480 MiB, connections dropped, a million resends. The window now
// grows by 1024-slot chunks, so every frame is read and answered — 11 at
// once past max-concurrent-records — and memory stays bounded. ~40 s, in
// the system tier like every scenario here.
//
// The load is a count, not a duration: the destination takes at most
// 4 × 500 records per 300 ms (6.7k/s), and what the emulator made in a
// fixed 4 s varied with the machine (346k–382k, 52–69 s to drain, past the
// 60 s drain timeout on CI). 240,000 is one full window on every
// connection: ~36–44 s.
func TestDeepPipeline(t *testing.T) {
	systemTier(t)
	sk := startSink(t, sink.Config{Latency: 300 * time.Millisecond})
	p := harness.Connector{Config: conf{URL: sk.URL() + "/in", Dest: []string{"max-in-flight: 4"}}.yaml()}.Start(t)
	w := watch(p, 100*time.Millisecond, false)
	cfg := simConfig(p.XDRAddr)
	cfg.Conns, cfg.Window, cfg.Rate, cfg.Count = 8, 30000, 0, 240_000
	cfg.DrainTimeout = 90 * time.Second
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

// deepDefaults is a connector at its destination defaults with batching
// off (one json record per request), which issue 14 sizes the defaults
// for: only the retry policy is written, at its default values, because
// conf writes one otherwise.
func deepDefaults(url string) conf {
	return conf{URL: url, Batching: "off", Format: "{mode: json}",
		Retry: "{max-attempts: 3, initial-backoff: 50, max-backoff: 1000}"}
}

// deepSim keeps 4,096 small records in flight (4 connections × 1024) as
// fast as the connector answers.
func deepSim(target string, d time.Duration) xdrsim.Config {
	cfg := simConfig(target)
	cfg.Conns, cfg.Window, cfg.Rate, cfg.Duration = 4, 1024, 0, d
	cfg.Workload.Size, cfg.Workload.Compress = 150, 0
	return cfg
}

// TestDeepPipelineDefaultsHealthy: 4,096 records in flight to a healthy
// local destination at the defaults get answers of 11 for at most 0.05 per
// delivered record. With the queue bound at 1024 bodies it was 3.0–3.4:
// the bodies beyond it were refused, answered, re-sent (issue 14).
func TestDeepPipelineDefaultsHealthy(t *testing.T) {
	systemTier(t)
	sk := startSink(t, sink.Config{})
	p := harness.Connector{Config: deepDefaults(sk.URL() + "/in").yaml()}.Start(t)
	w := watch(p, 100*time.Millisecond, false)
	sim := startSim(t, deepSim(p.XDRAddr, 6*time.Second))
	sm := sim.Wait()
	f := verify(t, &sm, sk.IDs())
	f.MaxRSS = w.Stop()
	r11 := float64(sm.Codes[int(wire.RCRetry)]) / float64(max(sm.Settled, 1))
	f.Extra = fmt.Sprintf("4,096 in flight, defaults, batching off: %.4f answers of 11 per delivered record (refused %v), %.0f records/s, reply p99 %.0f ms",
		r11, metricOf(p, `xdrhook_records_refused_backpressure_total{destination="sink"}`), sm.SettledPerSecond, sm.Latency.P99Ms)
	report(t, f)
	if r11 > 0.05 {
		t.Errorf("%.4f answers of 11 per delivered record, want ≤ 0.05\n%s", r11, &sm)
	}
	if sm.Settled < 10_000 {
		t.Errorf("only %d records settled in 6 s", sm.Settled)
	}
}

// TestDeepPipelineSlowDestination: the same sender toward a destination
// that takes 20 ms a request (8 connections: 400 records/s, 10 s for
// 4,096) still gets 11s, at once rather than at the reply deadline, while
// the queue stays bounded: once the destination's speed is known (after
// the first burst, which is admitted and partly ages out) a body is queued
// only if a worker would take it within half the reply deadline.
func TestDeepPipelineSlowDestination(t *testing.T) {
	systemTier(t)
	sk := startSink(t, sink.Config{Latency: 20 * time.Millisecond})
	p := harness.Connector{Config: deepDefaults(sk.URL() + "/in").yaml()}.Start(t)
	w := watch(p, 100*time.Millisecond, false)
	const queued = `xdrhook_requests_queued{destination="sink"}`
	var peak atomic.Int64
	stop := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if v := int64(metricOf(p, queued)); v > peak.Load() {
				peak.Store(v)
			}
		}
	}()
	cfg := deepSim(p.XDRAddr, 0)
	cfg.Count, cfg.DrainTimeout = 10_000, 60*time.Second
	sim := startSim(t, cfg)
	// Past the first burst's deadline: the queue holds what the
	// destination takes in half the reply deadline (4 s × 400/s), not 4,096.
	time.Sleep(9 * time.Second)
	peak.Store(0)
	time.Sleep(4 * time.Second)
	steady := peak.Load()
	sm := sim.Wait()
	close(stop)
	<-polled
	f := verify(t, &sm, sk.IDs())
	f.MaxRSS = w.Stop()
	refused := metricOf(p, `xdrhook_records_refused_backpressure_total{destination="sink"}`)
	expired := metricOf(p, `xdrhook_batches_deadline_total{destination="sink"}`)
	r11 := sm.Codes[int(wire.RCRetry)]
	f.Extra = fmt.Sprintf("4,096 in flight, destination 20 ms × 8 connections: %d delivered, %d answers of 11 (refused at once %.0f, aged out in the queue %.0f), queue peak %d after the first burst",
		sm.Settled, r11, refused, expired, steady)
	report(t, f)
	if float64(r11) < float64(sm.Settled) || refused < float64(sm.Settled) {
		t.Errorf("a destination too slow for 4,096 in flight: %d answers of 11, %.0f refused at once, for %d delivered", r11, refused, sm.Settled)
	}
	if steady > 2400 {
		t.Errorf("queue held %d bodies after the first burst, want ≤ 2400 (~4 s × 400/s, and some)", steady)
	}
	if expired > 4096 {
		t.Errorf("%.0f bodies aged out in the queue: more than the first burst of 4,096", expired)
	}
	if refused < 4*expired {
		t.Errorf("%.0f records refused at once, %.0f bodies aged out in the queue: the 11s should mostly come at once", refused, expired)
	}
	if sm.Timeouts > 0 {
		t.Errorf("%d connections got no reply within XDR's 10 s", sm.Timeouts)
	}
}
