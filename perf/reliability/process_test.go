package reliability

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/sink"
)

// TestKillAndRestart: the connector is SIGKILLed under load and restarted
// on the same ports, 5 times. Records it had answered 0
// were delivered before the answer; the rest were in flight on connections
// that dropped, and the emulator resends them. Nothing may be lost.
func TestKillAndRestart(t *testing.T) {
	systemTier(t)
	const kills = 5
	sk := startSink(t, sink.Config{})
	conn := harness.Connector{
		Config:  conf{URL: sk.URL() + "/in"}.yaml(),
		XDRPort: harness.FreePort(t), ManagePort: harness.FreePort(t),
	}
	p := conn.Start(t)
	w := watch(p, 50*time.Millisecond, false)
	cfg := simConfig(p.XDRAddr)
	cfg.Rate = 10000
	cfg.Duration = time.Duration(kills)*1500*time.Millisecond + 1500*time.Millisecond
	sim := startSim(t, cfg)

	var downs, recs []time.Duration
	for i := 0; i < kills; i++ {
		time.Sleep(1500 * time.Millisecond)
		w.fold(p)
		killed := time.Now()
		p.Kill()
		before := sim.Snapshot().Settled
		p = conn.Start(t)
		w.swap(p)
		downs = append(downs, time.Since(killed))
		waitFor(20*time.Second, func() bool { return sim.Snapshot().Settled > before })
		recs = append(recs, time.Since(killed))
	}
	sm := sim.Wait()
	f := verify(t, &sm, sk.IDs())
	f.MaxRSS = w.Stop()
	f.Recovery = maxDur(recs)
	f.Extra = fmt.Sprintf("%d SIGKILLs; restart (kill → XDR port up) %v; kill → settling again %v; sim drops %d, connects %d",
		kills, roundAll(downs), roundAll(recs), sm.Drops, sm.Connects)
	if sm.Drops < int64(kills) || sm.Resent == 0 {
		t.Errorf("the kills dropped no connection (%d) or resent nothing (%d)", sm.Drops, sm.Resent)
	}
	report(t, f)
}

// TestSigtermUnderLoad: SIGTERM while records are in flight (a sink with
// 30 ms latency): the connector answers every record it accepted, closes
// its listeners and exits 0 within reply-deadline + 5 s. A connector
// restarted on the same port then takes what the emulator resends (frames
// it wrote after the listener closed), and nothing is lost.
func TestSigtermUnderLoad(t *testing.T) {
	systemTier(t)
	sk := startSink(t, sink.Config{Latency: 30 * time.Millisecond})
	const deadline = 8000
	conn := harness.Connector{
		Config:  conf{URL: sk.URL() + "/in", ReplyDeadline: deadline, Dest: []string{"max-connections-per-endpoint: 32"}}.yaml(),
		XDRPort: harness.FreePort(t), ManagePort: harness.FreePort(t),
	}
	p := conn.Start(t)
	w := watch(p, 50*time.Millisecond, false)
	cfg := simConfig(p.XDRAddr)
	cfg.Rate = 10000
	cfg.Duration = 5 * time.Second
	sim := startSim(t, cfg)

	time.Sleep(2 * time.Second)
	inflight := metricOf(p, "xdrhook_records_in_flight")
	before := sim.Snapshot()
	w.fold(p)
	t0 := time.Now()
	code := p.Term(deadline*time.Millisecond + 10*time.Second)
	took := time.Since(t0)
	time.Sleep(200 * time.Millisecond) // let the emulator see the closes
	after := sim.Snapshot()
	log := p.Log()

	p2 := conn.Start(t)
	w.swap(p2)
	restarted := time.Now()
	sm := sim.Wait()
	f := verify(t, &sm, sk.IDs())
	f.MaxRSS = w.Stop()
	f.Recovery = took
	f.Extra = fmt.Sprintf("exit code %d after %v (in flight at the signal: %.0f); replies after the signal: %d codes %v; records resent after the close: %d; drained by the restarted connector in %v",
		code, took.Round(time.Millisecond), inflight, after.Settled+after.Retries-before.Settled-before.Retries,
		diffCodes(after.Codes, before.Codes), after.Resent-before.Resent, time.Since(restarted).Round(time.Millisecond))
	if code != 0 {
		t.Errorf("exit code %d, want 0\n%s", code, tail(log, 20))
	}
	if took > deadline*time.Millisecond+5*time.Second {
		t.Errorf("SIGTERM took %v, more than reply-deadline + 5 s", took)
	}
	if !strings.Contains(log, "stopped cleanly") {
		t.Errorf("no clean stop in the log:\n%s", tail(log, 20))
	}
	report(t, f)
}

func diffCodes(a, b map[int]int64) map[int]int64 {
	d := map[int]int64{}
	for k, v := range a {
		if x := v - b[k]; x != 0 {
			d[k] = x
		}
	}
	return d
}

func maxDur(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}
