// Package scaleout runs xdrhook as a cluster of nodes behind one XDR DC, as
// it is deployed to scale out: three `xdrhook run` processes on loopback,
// one sink, and the XDR emulator spreading records round-robin over the
// three (xdrsim Config.Targets, as node-address-port lists them). One node
// is killed mid-stream, another is stopped gracefully and restarted on the
// same port; no record may be lost.
package scaleout

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/harness/prom"
	"github.com/xdrhook/xdrhook/perf/sink"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
)

// nodeConfig is one node's config: every node has the same (nodes are
// stateless), only the ports differ.
func nodeConfig(sinkURL string) string {
	return `service:
  port: {{XDR_PORT}}
  address: 127.0.0.1
  manage: {port: {{MANAGE_PORT}}}
  reply-deadline: 3000
destinations:
  sink: {urls: ["` + sinkURL + `/ingest"], call-timeout: 2000}
routing: {mode: static, destination: sink}
format: {mode: flat-json}
batching: {max-records: 100, batch-interval: 20}
logging: {level: warn}
`
}

// received sums xdrhook_records_received_total over its kinds (-1: the
// scrape failed).
func received(p *harness.Proc) int64 {
	m, err := prom.Scrape(p.MetricsURL())
	if err != nil {
		return -1
	}
	return int64(m.Sum("xdrhook_records_received_total"))
}

// TestScaleOutNodeFailures: the timeline (about 12 s in all):
//
//	0 s    the emulator starts: 3 nodes, 4 connections each, 4,000 records/s
//	2 s    node 0 is SIGKILLed: what it had in flight is re-sent to the others
//	3.5 s  node 1 is SIGTERMed (it answers everything it accepted, then
//	       exits 0) and restarted on the same port; it is back in the
//	       rotation once a health check connects
//	8 s    no new records; the rest settles
//
// Every record must settle with 0 and be in the sink (Verify: Missing 0);
// node 2 carries more than its third; node 1 carries records again after
// its restart.
func TestScaleOutNodeFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("system tier: run by make test-system")
	}
	sk := harness.StartSink(t, sink.Config{})

	cfgText := nodeConfig(sk.URL())
	var nodes [3]*harness.Proc
	var ports [3][2]int
	for i := range nodes {
		ports[i] = [2]int{harness.FreePort(t), harness.FreePort(t)}
		nodes[i] = harness.Connector{Config: cfgText, XDRPort: ports[i][0], ManagePort: ports[i][1]}.Start(t)
	}
	addrs := []string{nodes[0].XDRAddr, nodes[1].XDRAddr, nodes[2].XDRAddr}

	w := xdrsim.DefaultWorkload()
	w.Size = xdrsim.SizeSmall
	w.Keys = 50000
	const (
		rate     = 4000
		duration = 8 * time.Second
	)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	sim, err := xdrsim.Start(ctx, xdrsim.Config{
		Targets:        addrs,
		Conns:          4,
		Window:         64,
		Rate:           rate,
		Duration:       duration,
		HealthInterval: 250 * time.Millisecond,
		ReplyTimeout:   5 * time.Second, // > reply-deadline: a live node always answers first
		DrainTimeout:   15 * time.Second,
		Workload:       w,
		KeepSettled:    rate * 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	at := func(d time.Duration) { time.Sleep(time.Until(start.Add(d))) }

	at(2 * time.Second)
	nodes[0].Kill()
	killedAt := sim.Snapshot()
	t.Logf("%4.1fs  node 0 SIGKILLed  (settled so far: %s)", time.Since(start).Seconds(), perNode(killedAt))

	at(3500 * time.Millisecond)
	termStart := time.Now()
	if rc := nodes[1].Term(15 * time.Second); rc != 0 {
		t.Errorf("node 1: exit code %d after SIGTERM, want 0\n%s", rc, nodes[1].Log())
	}
	t.Logf("%4.1fs  node 1 SIGTERMed: exited after %v", time.Since(start).Seconds(), time.Since(termStart).Round(time.Millisecond))
	nodes[1] = harness.Connector{Config: cfgText, XDRPort: ports[1][0], ManagePort: ports[1][1]}.Start(t)
	restartedAt := sim.Snapshot()
	t.Logf("%4.1fs  node 1 restarted on the same port  (settled so far: %s)", time.Since(start).Seconds(), perNode(restartedAt))

	sm := sim.Wait()
	elapsed := time.Since(start)
	// The untouched node's cost: the numbers deploy/kubernetes sizes from.
	cpu2, rss2 := nodes[2].CPU(), nodes[2].PeakRSS()
	v := xdrsim.Verify(&sm, sk.IDs())
	sm.Verify = &v
	t.Logf("%4.1fs  done\n%s", elapsed.Seconds(), sm.String())

	t.Logf("records per node (settled with 0 on the node's connections, as the emulator counted them):")
	t.Logf("  %-6s %-16s %9s %9s %9s %9s %9s %6s  %s", "node", "address", "settled", "share", "sent", "retries", "resent", "downs", "after")
	for i, tg := range sm.Targets {
		after := ""
		switch i {
		case 0:
			after = fmt.Sprintf("killed at 2 s: +%d after the kill", tg.Settled-killedAt.Targets[i].Settled)
		case 1:
			after = fmt.Sprintf("restarted: +%d after the restart, received by the new process %d", tg.Settled-restartedAt.Targets[i].Settled, received(nodes[1]))
		case 2:
			after = fmt.Sprintf("untouched: received %d", received(nodes[2]))
		}
		t.Logf("  %-6d %-16s %9d %8.1f%% %9d %9d %9d %6d  %s", i, tg.Target, tg.Settled,
			100*float64(tg.Settled)/float64(max(1, sm.Settled)), tg.Sent, tg.Retries, tg.Resent, tg.Downs, after)
	}
	if n := sm.Targets[2].Settled; n > 0 {
		t.Logf("node 2 cost: CPU %v for %d records (%.0f µs/record, %.2f cores at %.0f records/s), peak RSS %.1f MiB",
			cpu2.Round(time.Millisecond), n, float64(cpu2.Microseconds())/float64(n),
			cpu2.Seconds()/elapsed.Seconds(), float64(n)/elapsed.Seconds(), float64(rss2)/(1<<20))
	}
	st := sk.Stats()
	t.Logf("sink: %d records accepted, %d distinct ids, %d duplicates (at-least-once), %d invalid requests",
		st.Records, st.DistinctIDs, st.Duplicates, st.Invalid)
	t.Logf("verify: checked %d, missing %d, duplicates %d", v.Checked, v.Missing, v.Duplicates)

	// Every record made was settled with 0 and is in the sink.
	if sm.Unsettled != 0 || sm.Abandoned != 0 || sm.Settled != sm.Generated {
		t.Errorf("generated %d settled %d abandoned %d unsettled %d", sm.Generated, sm.Settled, sm.Abandoned, sm.Unsettled)
	}
	if v.Missing != 0 || v.Checked != sm.Settled || v.Truncated {
		t.Errorf("verify: %+v", v)
	}
	if st.Invalid != 0 {
		t.Errorf("sink: %d invalid requests: %s", st.Invalid, st.LastInvalid)
	}
	if sm.Generated < rate*int64(duration/time.Second)*7/10 {
		t.Errorf("generated %d: the cluster did not keep up with %d/s", sm.Generated, rate)
	}
	t0, t1, t2 := sm.Targets[0], sm.Targets[1], sm.Targets[2]
	// Node 0 is dead: out of the rotation, its in-flight records re-sent.
	if t0.Up || t0.Downs == 0 || t0.Settled-killedAt.Targets[0].Settled > 4*64 {
		t.Errorf("node 0 after the kill: %+v", t0)
	}
	// Node 1 went away (its connections ended with the old process; a stop
	// takes milliseconds, so the new one may listen before the emulator
	// fails a connect and counts the node down), came back and carried
	// records again.
	if !t1.Up || t1.Drops == 0 || t1.Settled-restartedAt.Targets[1].Settled < 1000 || received(nodes[1]) <= 0 {
		t.Errorf("node 1 after the restart: %+v (received by the new process: %d)", t1, received(nodes[1]))
	}
	// The survivor carried the load: well over a third.
	if share := float64(t2.Settled) / float64(sm.Settled); share < 0.40 || t2.Downs != 0 {
		t.Errorf("node 2 settled %.0f%% of the records (downs %d), want > 40%%", 100*share, t2.Downs)
	}
	if elapsed > 30*time.Second {
		t.Errorf("took %v", elapsed)
	}
}

func perNode(sm xdrsim.Summary) string {
	var parts []string
	for i, t := range sm.Targets {
		parts = append(parts, fmt.Sprintf("node %d %d", i, t.Settled))
	}
	return strings.Join(parts, ", ")
}
