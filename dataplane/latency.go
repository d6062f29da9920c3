package dataplane

import (
	"fmt"
	"io"
	"sync/atomic"
)

// replyLatency is the histogram of the time from accepting a record to
// answering it (xdrhook_reply_latency_seconds). Sessions count a flush's
// replies locally and add them here once per flush, so the cost per record
// is a compare loop, not an atomic operation or a lock.
type replyLatency struct {
	buckets [len(latencyBoundsMs) + 1]atomic.Uint64 // last: +Inf
	sumMs   atomic.Uint64
}

var latencyBoundsMs = [...]int64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}

// latencyCounts is one flush's tally.
type latencyCounts struct {
	n     [len(latencyBoundsMs) + 1]uint32
	sumMs uint64
	any   bool
}

func (c *latencyCounts) add(ms int64) {
	if ms < 0 {
		ms = 0
	}
	i := 0
	for i < len(latencyBoundsMs) && ms > latencyBoundsMs[i] {
		i++
	}
	c.n[i]++
	c.sumMs += uint64(ms)
	c.any = true
}

func (h *replyLatency) merge(c *latencyCounts) {
	if !c.any {
		return
	}
	for i, n := range c.n {
		if n != 0 {
			h.buckets[i].Add(uint64(n))
		}
	}
	h.sumMs.Add(c.sumMs)
	*c = latencyCounts{}
}

// write appends the histogram in Prometheus text format.
func (h *replyLatency) write(w io.Writer) {
	const name = "xdrhook_reply_latency_seconds"
	var cum uint64
	for i, ub := range latencyBoundsMs {
		cum += h.buckets[i].Load()
		fmt.Fprintf(w, "%s_bucket{le=\"%g\"} %d\n", name, float64(ub)/1000, cum)
	}
	cum += h.buckets[len(latencyBoundsMs)].Load()
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %g\n%s_count %d\n", name, cum, name, float64(h.sumMs.Load())/1000, name, cum)
}
