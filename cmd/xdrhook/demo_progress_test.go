package main

import (
	"strings"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/sink"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
)

// TestDemoLineIsPerSecond: the demo's line shows the reply latency of the
// replies of its own second, not of the whole run: after a slow second,
// a fast second reads fast.
func TestDemoLineIsPerSecond(t *testing.T) {
	var hist xdrsim.Histogram
	var pl progressLine
	second := func(lat time.Duration, n int, sum xdrsim.Summary, st sink.Stats) string {
		for range n {
			hist.Record(lat)
		}
		var h xdrsim.HistSnapshot
		hist.Snapshot(&h)
		return pl.next(sum, st, 0, &h)
	}
	l1 := second(40*time.Millisecond, 1000, xdrsim.Summary{ElapsedSeconds: 1, Sent: 1000}, sink.Stats{Records: 900})
	l2 := second(time.Millisecond, 100, xdrsim.Summary{ElapsedSeconds: 2, Sent: 1100}, sink.Stats{Records: 1100})
	l3 := second(0, 0, xdrsim.Summary{ElapsedSeconds: 3, Sent: 1100}, sink.Stats{Records: 1100})
	for _, c := range []struct{ line, want string }{
		{l1, "offered    1000/s  delivered     900/s"},
		{l1, "reply p50 41.9 ms p99 41.9 ms"}, // the upper bound of 40 ms's bucket
		{l2, "offered     100/s  delivered     200/s"},
		{l2, "reply p50 1.0 ms p99 1.0 ms"},
		{l3, "offered       0/s  delivered       0/s"},
		{l3, "reply p50 0.0 ms p99 0.0 ms"},
	} {
		if !strings.Contains(c.line, c.want) {
			t.Errorf("line %q lacks %q", c.line, c.want)
		}
	}
}
