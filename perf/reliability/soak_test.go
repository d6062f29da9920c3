package reliability

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/sink"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
)

// connTracker wraps the emulator's dialer so that a fault can drop every
// XDR connection at once.
type connTracker struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (c *connTracker) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err == nil {
		c.mu.Lock()
		c.conns[conn] = struct{}{}
		c.mu.Unlock()
	}
	return conn, err
}

func (c *connTracker) dropAll() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.conns)
	for conn := range c.conns {
		conn.Close()
	}
	clear(c.conns)
	return n
}

// TestSoak runs at about half of the peak rate measured first, with a
// fault every period — destination down, destination connections reset,
// a 503 storm with Retry-After, every XDR connection dropped — and checks
// that the connector's RSS and goroutine count stay flat (last third
// against first third) and that nothing is lost. Its length is the -soak
// flag: 20 s by default, a fault every 4 s; `go test ./perf/reliability
// -run TestSoak -soak 10m` (make reliability SOAK=10m): a fault every 30 s.
func TestSoak(t *testing.T) {
	systemTier(t)
	// A fault every 4 s and a sample every second at the default 20 s; a
	// fault every 30 s and a sample every 10 s in a 10-minute soak.
	duration := *soakFlag
	if duration < 8*time.Second {
		t.Fatalf("-soak %v: at least 8s (two fault periods)", duration)
	}
	period := max(4*time.Second, duration/20)
	every := max(time.Second, duration/60)
	sk := startSink(t, sink.Config{})
	px := newProxy(t, sk.Addr(), nil)
	fr := newFront(t, px.URL(), "1")
	p := harness.Connector{Config: conf{URL: fr.URL() + "/in"}.yaml()}.Start(t)

	// Peak: 3 s as fast as the emulator can, through the same chain.
	peakCfg := simConfig(p.XDRAddr)
	peakCfg.Rate, peakCfg.Duration, peakCfg.Window, peakCfg.KeepSettled = 0, 3*time.Second, 256, 0
	peakCfg.Workload.Seed = 99
	pk, err := xdrsim.Run(context.Background(), peakCfg)
	if err != nil {
		t.Fatal(err)
	}
	peak := pk.SettledPerSecond
	rate := max(1000, peak/2)
	t.Logf("peak %.0f records/s (p99 %.1f ms); soak at %.0f/s for %v, a fault every %v", peak, pk.Latency.P99Ms, rate, duration, period)

	ct := &connTracker{conns: map[net.Conn]struct{}{}}
	cfg := simConfig(p.XDRAddr)
	cfg.Rate, cfg.Duration, cfg.Dial = rate, duration, ct.dial
	// A long soak makes more records than the sink keeps ids for (10 M,
	// the peak run's included): check the first 8 M settled, all received
	// before the sink reached its bound.
	partial := rate*duration.Seconds() > 8e6
	if partial {
		cfg.KeepSettled = 8_000_000
	}
	w := watch(p, every, true)
	sim := startSim(t, cfg)
	w.sim.Store(sim)

	faults := []struct {
		name string
		do   func() string
	}{
		{"destination down 2 s", func() string { px.Down(); time.Sleep(2 * time.Second); px.Up(); return "" }},
		{"destination connections reset", func() string { px.Reset(); return "" }},
		{"503 storm 2 s (Retry-After: 1)", func() string {
			fr.storm.Store(503)
			time.Sleep(2 * time.Second)
			fr.storm.Store(0)
			return ""
		}},
		{"XDR connections dropped", func() string { return fmt.Sprintf("%d dropped", ct.dropAll()) }},
	}
	var applied []string
	var recs []time.Duration
	start := time.Now()
	for i := 0; time.Since(start)+period <= duration; i++ {
		time.Sleep(period - time.Duration(int64(time.Since(start))%int64(period)))
		f := faults[i%len(faults)]
		note := f.do()
		applied = append(applied, f.name)
		rec := recovery(sim, time.Now(), period)
		recs = append(recs, rec)
		t.Logf("%6.1fs fault %-32s %s recovered in %v", time.Since(start).Seconds(), f.name, note, rec.Round(time.Millisecond))
	}
	sm := sim.Wait()
	f := verifyIDs(t, &sm, sk.IDs(), partial)
	f.MaxRSS = w.Stop()
	f.Recovery = maxDur(recs)

	samples := w.Samples()
	var prev sample
	for _, s := range samples {
		rate := 0.0
		if dt := (s.At - prev.At).Seconds(); dt > 0 && prev.At > 0 {
			rate = float64(s.Settled-prev.Settled) / dt
		}
		t.Logf("%7.1fs  RSS %6.1f MiB  goroutines %4.0f  settled %8d  (%6.0f/s)", s.At.Seconds(), mib(s.RSS), s.Goroutines, s.Settled, rate)
		prev = s
	}
	n := len(samples) / 3
	if n < 2 {
		t.Fatalf("only %d samples", len(samples))
	}
	var rssA, rssB int64
	var gA, gB []float64
	for _, s := range samples[:n] {
		rssA = max(rssA, s.RSS)
		gA = append(gA, s.Goroutines)
	}
	for _, s := range samples[len(samples)-n:] {
		rssB = max(rssB, s.RSS)
		gB = append(gB, s.Goroutines)
	}
	// Generous: the first third includes warm-up, and a fault may fall in
	// either third.
	if float64(rssB) > 1.5*float64(rssA)+32<<20 {
		t.Errorf("RSS grows: max %.1f MiB in the first third, %.1f MiB in the last", mib(rssA), mib(rssB))
	}
	if median(gB) > 1.5*median(gA)+50 {
		t.Errorf("goroutines grow: median %.0f in the first third, %.0f in the last", median(gA), median(gB))
	}
	f.Extra = fmt.Sprintf("%v at %.0f/s (peak %.0f/s); %d faults; RSS max first/last third %.1f/%.1f MiB; goroutines median first/last third %.0f/%.0f; settled ids checked %d",
		duration, rate, peak, len(applied), mib(rssA), mib(rssB), median(gA), median(gB), sm.Verify.Checked)
	report(t, f)
}
